"""One run, one folder, nothing lost, tried as an operator tries it: real processes.

Two trains racing for one folder, a folder whose lock another process holds,
SIGTERM in the middle of a run, and a full disk: a tiny tmpfs where the test
may mount one (root), else a writer patched to raise ENOSPC.
"""
import errno
import hashlib
import os
import re
import signal
import subprocess
import sys

import numpy as np
import pytest

from minivae.commands.cli import main
from minivae.files import atomic
from minivae.files.checkpoint import read_meta
from minivae.files.run_lock import RunLock


def _env(**extra):
    return {**os.environ, "MPLBACKEND": "Agg", "OPENBLAS_NUM_THREADS": "1",
            "MINIVAE_MNIST_MIRROR": "http://127.0.0.1:9/", **extra}


def _train(mnist_dir, out, *flags):
    return [sys.executable, "-m", "minivae", "train", "--data", str(mnist_dir), "--hidden", "16",
            "--z-dim", "2", "--subset", "2000", "--test-subset", "100", "--batch-size", "50",
            "--no-images", "--out", str(out), *map(str, flags)]


def _start(argv, **kw):
    return subprocess.Popen(argv, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, **kw)


def sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_two_trains_racing_for_one_folder_exactly_one_trains(tmp_path, mnist_dir):
    out = tmp_path / "run"
    procs = [_start(_train(mnist_dir, out, "--epochs", "3", "--seed", seed)) for seed in (1, 2)]
    results = [(p.pid, seed, *p.communicate(timeout=120), p.returncode)
               for p, seed in zip(procs, (1, 2))]
    won = [r for r in results if r[4] == 0]
    lost = [r for r in results if r[4] != 0]
    assert len(won) == 1 and len(lost) == 1, [(r[1], r[4], r[3]) for r in results]
    winner_pid, winner_seed, out_text = won[0][0], won[0][1], won[0][2]
    assert lost[0][4] == 2 and "done:" not in lost[0][2]
    lines = lost[0][3].strip().splitlines()
    assert lines in ([f"minivae train: error: {out} is in use by another minivae train "
                      f"(pid {winner_pid})"],
                     [f"minivae train: error: {out} already holds a run (last.npz); resume it "
                      f"with --resume {out / 'last.npz'} or choose another --out"]), lines
    meta = read_meta(out / "last.npz")
    assert meta["config"]["seed"] == winner_seed and meta["epoch"] == 3
    assert (out / "history.csv").read_text().count("\n") == 4


def test_a_folder_whose_lock_is_held_is_refused_before_anything_is_written(tmp_path, mnist_dir):
    out = tmp_path / "run"
    with RunLock(out):
        proc = _start(_train(mnist_dir, out, "--epochs", "1"))
        _, err = proc.communicate(timeout=120)
        assert sorted(p.name for p in out.iterdir()) == [".train.lock"]
    assert proc.returncode == 2
    assert err.strip().splitlines() == [
        f"minivae train: error: {out} is in use by another minivae train (pid {os.getpid()})"]


def test_sigterm_stops_like_ctrl_c_and_names_the_checkpoint(tmp_path, mnist_dir):
    out, err_file = tmp_path / "run", tmp_path / "stderr"
    with open(err_file, "w") as err_sink:       # a file, not a pipe nobody reads while we wait
        proc = subprocess.Popen(_train(mnist_dir, out, "--epochs", "1000"), env=_env(),
                                stdout=subprocess.PIPE, stderr=err_sink, text=True)
        for line in proc.stdout:                # one line per epoch
            if re.match(r"epoch +1/1000 ", line):
                break
        proc.send_signal(signal.SIGTERM)        # in epoch 2, or just after saving it
        proc.communicate(timeout=60)
    ckpt = out / "last.npz"
    lines = [x.split("\r")[-1].strip() for x in err_file.read_text().split("\n")]
    lines = [x for x in lines if x and "batch/s" not in x]       # without the progress bar
    assert proc.returncode == 143, lines
    epoch = read_meta(ckpt)["epoch"]
    assert re.fullmatch(rf"stopped by SIGTERM (during epoch {epoch + 1}|after saving epoch {epoch}): "
                        rf"the last checkpoint, {ckpt} \(after epoch {epoch}\), is intact; "
                        rf"continue with: python -m minivae train --resume {ckpt}", lines[0]), lines
    assert lines[1:] == ["minivae train: stopped by SIGTERM"]


# --- a full disk ------------------------------------------------------------------------------
@pytest.fixture
def tiny_disk(tmp_path):
    """A 2 MiB tmpfs (needs root and a mount that works), else skip."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(disk)],
                             capture_output=True)
    if mounted.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (test_sample_on_a_full_disk_patched covers it)")
    yield disk
    subprocess.run(["umount", str(disk)], check=True)


def _fill(disk):
    with open(disk / "filler", "wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * 4096)
        except OSError as e:
            assert e.errno == errno.ENOSPC


@pytest.fixture
def ckpt(tiny_run):
    return tiny_run / "last.npz"


def test_sample_and_train_on_a_full_tmpfs(tiny_disk, ckpt, mnist_dir, capsys):
    png = tiny_disk / "samples.png"
    assert main(["sample", "--checkpoint", str(ckpt), "--out", str(png), "--n", "4"]) == 0
    run = tiny_disk / "run"
    assert main(["train", "--resume", str(ckpt), "--out", str(run), "--epochs", "2",
                 "--data", str(mnist_dir), "--quiet"]) == 0
    before = sha(png), sha(run / "last.npz")
    _fill(tiny_disk)
    capsys.readouterr()
    assert main(["sample", "--checkpoint", str(ckpt), "--out", str(png), "--n", "400"]) == 2
    assert capsys.readouterr().err == (f"minivae sample: error: cannot write {png}: No space left "
                                       "on device; the file there before is unchanged\n")
    assert main(["train", "--resume", str(run / "last.npz"), "--epochs", "3", "--data",
                 str(mnist_dir), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert re.fullmatch(rf"minivae train: error: {run} has 0\.\d MB free, but the next checkpoint "
                        rf"needs about 0\.\d MB; the last checkpoint, {run}/last.npz \(after epoch "
                        rf"2\), is intact; free some space, then continue with: python -m minivae "
                        rf"train --resume {run}/last.npz\n", err), err
    assert (sha(png), sha(run / "last.npz")) == before
    assert sorted(p.name for p in tiny_disk.iterdir()) == ["filler", "run", "samples.png"]
    assert not [p for p in run.iterdir() if p.name.startswith(".")]


def test_sample_on_a_full_disk_patched(tmp_path, ckpt, capsys, monkeypatch):
    """The same without a tmpfs: the bytes reach the disk, fsync finds it full."""
    png = tmp_path / "samples.png"
    assert main(["sample", "--checkpoint", str(ckpt), "--out", str(png), "--n", "4"]) == 0
    before = sha(png)

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(atomic.os, "fsync", full)
    capsys.readouterr()
    assert main(["sample", "--checkpoint", str(ckpt), "--out", str(png), "--n", "9"]) == 2
    assert capsys.readouterr().err == (f"minivae sample: error: cannot write {png}: No space left "
                                       "on device; the file there before is unchanged\n")
    assert sha(png) == before and sorted(p.name for p in tmp_path.iterdir()) == ["samples.png"]
    np.testing.assert_array_equal(np.frombuffer(png.read_bytes()[:8], np.uint8),
                                  np.frombuffer(b"\x89PNG\r\n\x1a\n", np.uint8))


def test_a_file_size_limit_is_named_and_the_command_to_continue_is_shell_quoted(tmp_path,
                                                                                mnist_dir):
    """EFBIG is not a full disk: the message names the limit (ulimit -f), and the command
    it suggests runs as printed, spaces and all."""
    import resource
    import shlex
    run = tmp_path / "with space" / "run 1"
    first = subprocess.run(_train(mnist_dir, run, "--epochs", 1, "--quiet"), env=_env(),
                           capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    before, limit = sha(run / "last.npz"), (run / "last.npz").stat().st_size // 2

    def small_files():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    resumed = subprocess.run([sys.executable, "-m", "minivae", "train", "--resume",
                              str(run / "last.npz"), "--epochs", "2", "--quiet"], env=_env(),
                             capture_output=True, text=True, timeout=300, preexec_fn=small_files)
    assert resumed.returncode == 2
    ckpt = run / "last.npz"
    assert resumed.stderr == (
        f"minivae train: error: cannot write {ckpt}: File too large: this process may write "
        f"files of at most {limit:,} bytes (ulimit -f); the file there before is unchanged; "
        f"the last checkpoint, {ckpt} (after epoch 1), is intact; raise the file-size limit, "
        f"then continue with: python -m minivae train --resume {shlex.quote(str(ckpt))}\n")
    assert sha(ckpt) == before
    suggested = resumed.stderr.rsplit("continue with: ", 1)[1].strip()
    assert shlex.split(suggested)[-1] == str(ckpt)          # the shell reads the path whole
