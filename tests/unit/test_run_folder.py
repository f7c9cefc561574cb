"""One run, one folder, nothing lost: what `train` does with its run folder
(minivae/files/run_folder.py), in process and then as an operator tries it, with real
processes.  The lock itself: test_run_lock.py.

In process, tiny models on 300 digits (a second or two each): resuming into another
run's folder, the one commit point per epoch (a death between the checkpoint and the
history files, Ctrl-C there), a full disk, stale temporary files, and default run names.

Real processes: two trains racing for one folder, a folder whose lock another process
holds, SIGTERM in the middle of a run, and a full disk: a tiny tmpfs where the test may
mount one (root), else a writer patched to raise ENOSPC.
"""
import errno
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest

import minivae.train as train_module
from minivae import model as model_module
from minivae.commands.cli import main
from minivae.config import TrainConfig, default_run_dir
from minivae.errors import WriteError
from minivae.files import atomic, run_folder
from minivae.files.checkpoint import read_meta
from minivae.files.run_lock import RunLock
from minivae.train import train
from train_tools import small64, tiny  # noqa: F401  (small64 is a fixture)


def run_train(config, arrays, resume=None):
    return train(config, resume=resume, progress=False, x_train=arrays[0], x_test=arrays[1])


def sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def hashes(folder):
    return {p.name: sha(p) for p in sorted(folder.iterdir())}


class Killed(BaseException):
    """Stands for kill -9: nothing in minivae catches it, nothing after it runs."""


# --- --resume into another run's folder --------------------------------------------------
def test_resume_into_another_runs_folder_is_refused_and_both_runs_stay(tmp_path, small64):
    a, b = tmp_path / "a", tmp_path / "b"
    run_train(tiny(a, epochs=1), small64)
    run_train(tiny(b, epochs=1, hidden=(8,), seed=5), small64)     # another run, another shape
    before = hashes(a), hashes(b)
    with pytest.raises(ValueError, match=f"{b} already holds another run"):
        run_train(tiny(b, epochs=2), small64, resume=a / "last.npz")
    assert (hashes(a), hashes(b)) == before
    # allowed: an empty folder (a copy of the run continues there) and its own folder
    run_train(tiny(tmp_path / "c", epochs=2), small64, resume=a / "last.npz")
    assert read_meta(tmp_path / "c" / "last.npz")["epoch"] == 2 and hashes(a) == before[0]
    run_train(tiny(a, epochs=2), small64, resume=a / "last.npz")
    assert read_meta(a / "last.npz")["epoch"] == 2


# --- one commit point per epoch ------------------------------------------------------------
def _raise_in_history_write(monkeypatch, epoch, exception):
    """Raise `exception` when the history files are written after epoch `epoch`'s checkpoint."""
    real = train_module.write_history

    def write_history(run_dir, history):
        if len(history) == epoch:
            raise exception
        return real(run_dir, history)
    monkeypatch.setattr(train_module, "write_history", write_history)


def test_a_death_between_checkpoint_and_history_is_made_good_on_resume(tmp_path, small64, monkeypatch):
    """Killed after the last epoch's last.npz is in place, before history.* and its figures."""
    _raise_in_history_write(monkeypatch, 2, Killed)
    with pytest.raises(Killed):
        run_train(tiny(tmp_path / "r", images=True), small64)
    monkeypatch.undo()
    d = tmp_path / "r"
    assert read_meta(d / "last.npz")["epoch"] == 2
    assert len(json.loads((d / "history.json").read_text())) == 1     # one epoch behind
    assert not (d / "samples_epoch002.png").exists()
    result = run_train(None, small64, resume=d / "last.npz")                 # nothing left to train
    saved = read_meta(d / "last.npz")["history"]
    assert [r["epoch"] for r in saved] == [1, 2] and result.history == saved
    assert json.loads((d / "history.json").read_text()) == saved
    assert (d / "history.csv").read_text().count("\n") == 3             # header + 2 epochs
    assert (d / "samples_epoch002.png").stat().st_size > 0


def test_ctrl_c_after_the_checkpoint_names_the_epoch_it_holds(tmp_path, small64, monkeypatch, capsys):
    _raise_in_history_write(monkeypatch, 2, KeyboardInterrupt)
    with pytest.raises(KeyboardInterrupt):
        run_train(tiny(tmp_path / "r", epochs=3), small64)
    ckpt = tmp_path / "r" / "last.npz"
    assert read_meta(ckpt)["epoch"] == 2
    err = capsys.readouterr().err.strip()
    assert err == (f"interrupted after saving epoch 2: the last checkpoint, {ckpt} (after epoch 2), "
                   f"is intact; continue with: python -m minivae train --resume {ckpt}")


# --- a full disk ----------------------------------------------------------------------------
def test_a_full_disk_keeps_the_previous_figures_and_the_checkpoint(tmp_path, small64, monkeypatch):
    """The PNGs of epoch 2 find the disk full (ENOSPC from fsync, as a real disk gives it)."""
    d = tmp_path / "r"
    run_train(tiny(d, epochs=1, images=True), small64)
    before = hashes(d)
    real = atomic.os.fsync

    def full_for_figures(fd):
        if ".png." in os.readlink(f"/proc/self/fd/{fd}"):       # .NAME.png.XXXX.part
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(fd)
    monkeypatch.setattr(atomic.os, "fsync", full_for_figures)
    with pytest.raises(WriteError) as info:
        run_train(tiny(d, epochs=2, images=True), small64, resume=d / "last.npz")
    monkeypatch.undo()
    ckpt = d / "last.npz"
    assert str(info.value) == (
        f"cannot write {d / 'recon_epoch002.png'}: No space left on device; nothing was written; "
        f"the last checkpoint, {ckpt} (after epoch 2), is intact; free some space, then "
        f"continue with: python -m minivae train --resume {ckpt}")
    assert info.value.errno == errno.ENOSPC
    after = hashes(d)
    assert {n: after[n] for n in before if n.endswith(".png")} == \
        {n: h for n, h in before.items() if n.endswith(".png")}
    assert "recon_epoch002.png" not in after
    assert read_meta(ckpt)["epoch"] == 2               # the epoch's commit point came first
    assert not [p for p in d.iterdir() if p.name.startswith(".")]


def test_no_room_for_a_checkpoint_stops_before_an_epoch_is_trained(tmp_path, small64, monkeypatch):
    d = tmp_path / "r"
    run_train(tiny(d, epochs=1), small64)
    before = hashes(d)
    monkeypatch.setattr(run_folder.shutil, "disk_usage", lambda path: SimpleNamespace(free=1000))
    steps = []
    real = model_module.VAE.loss_and_grads
    monkeypatch.setattr(model_module.VAE, "loss_and_grads",
                        lambda self, *a, **k: steps.append(1) or real(self, *a, **k))
    with pytest.raises(WriteError, match=rf"{d} has 0.0 MB free, but the next checkpoint needs "
                                         rf"about 0.\d MB; the last checkpoint, .*after epoch 1"):
        run_train(tiny(d, epochs=2), small64, resume=d / "last.npz")
    assert steps == [] and hashes(d) == before


# --- leftovers and names ---------------------------------------------------------------------
def test_temporary_files_of_killed_writes_are_removed_at_the_next_start(tmp_path, small64):
    """A killed write of any file a run writes leaves .NAME.XXXX.part beside it: each is
    removed when the run continues, and a temporary file of another program stays."""
    d = tmp_path / "r"
    run_train(tiny(d, epochs=1, images=True), small64)
    written = sorted(p.name for p in d.iterdir())
    assert len(written) == 6, written           # last.npz, history.*, loss_curve, recon, samples
    ours = [d / f".{name}.k3j2.part" for name in written]
    theirs = d / ".notes.txt.q1.part"                   # not a file train writes: kept
    for p in ours + [theirs]:
        p.write_bytes(b"\0" * 1000)
    run_train(tiny(d, epochs=2), small64, resume=d / "last.npz")
    assert not any(p.exists() for p in ours) and theirs.exists()


def test_default_run_names_started_in_one_second_differ():
    config = TrainConfig.from_preset("doersch")
    names = {default_run_dir(config).name for _ in range(50)}
    assert len(names) == 50 and all(n.startswith("doersch-") for n in names)


# === real processes ======================================================================
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


# --- a full disk, for real -----------------------------------------------------------------
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
