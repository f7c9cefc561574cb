"""One run, one folder, nothing lost: what `train` does with its run folder.

The lock itself is tested in test_run_lock.py and, with two real processes
racing, in tests/commands/test_run_folder.py.  Here: resuming into another
run's folder, the one commit point per epoch (a death between the checkpoint
and the history files, Ctrl-C there), a full disk, stale temporary files,
and default run names.  Tiny models on 300 digits: each test takes a second
or two.
"""
import errno
import hashlib
import json
import os
from types import SimpleNamespace

import pytest

import minivae.train as train_module
from minivae import model as model_module
from minivae.config import TrainConfig, default_run_dir
from minivae.errors import WriteError
from minivae.files import atomic, run_folder
from minivae.files.checkpoint import read_meta
from minivae.train import train
from train_tools import small64, tiny  # noqa: F401  (small64 is a fixture)


def run(config, arrays, resume=None):
    return train(config, resume=resume, progress=False, x_train=arrays[0], x_test=arrays[1])


def hashes(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


class Killed(BaseException):
    """Stands for kill -9: nothing in minivae catches it, nothing after it runs."""


# --- --resume into another run's folder --------------------------------------------------
def test_resume_into_another_runs_folder_is_refused_and_both_runs_stay(tmp_path, small64):
    a, b = tmp_path / "a", tmp_path / "b"
    run(tiny(a, epochs=1), small64)
    run(tiny(b, epochs=1, hidden=(8,), seed=5), small64)           # another run, another shape
    before = hashes(a), hashes(b)
    with pytest.raises(ValueError, match=f"{b} already holds another run"):
        run(tiny(b, epochs=2), small64, resume=a / "last.npz")
    assert (hashes(a), hashes(b)) == before
    # allowed: an empty folder (a copy of the run continues there) and its own folder
    run(tiny(tmp_path / "c", epochs=2), small64, resume=a / "last.npz")
    assert read_meta(tmp_path / "c" / "last.npz")["epoch"] == 2 and hashes(a) == before[0]
    run(tiny(a, epochs=2), small64, resume=a / "last.npz")
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
        run(tiny(tmp_path / "r", images=True), small64)
    monkeypatch.undo()
    d = tmp_path / "r"
    assert read_meta(d / "last.npz")["epoch"] == 2
    assert len(json.loads((d / "history.json").read_text())) == 1     # one epoch behind
    assert not (d / "samples_epoch002.png").exists()
    result = run(None, small64, resume=d / "last.npz")                       # nothing left to train
    saved = read_meta(d / "last.npz")["history"]
    assert [r["epoch"] for r in saved] == [1, 2] and result.history == saved
    assert json.loads((d / "history.json").read_text()) == saved
    assert (d / "history.csv").read_text().count("\n") == 3             # header + 2 epochs
    assert (d / "samples_epoch002.png").stat().st_size > 0


def test_ctrl_c_after_the_checkpoint_names_the_epoch_it_holds(tmp_path, small64, monkeypatch, capsys):
    _raise_in_history_write(monkeypatch, 2, KeyboardInterrupt)
    with pytest.raises(KeyboardInterrupt):
        run(tiny(tmp_path / "r", epochs=3), small64)
    ckpt = tmp_path / "r" / "last.npz"
    assert read_meta(ckpt)["epoch"] == 2
    err = capsys.readouterr().err.strip()
    assert err == (f"interrupted after saving epoch 2: the last checkpoint, {ckpt} (after epoch 2), "
                   f"is intact; continue with: python -m minivae train --resume {ckpt}")


# --- a full disk ----------------------------------------------------------------------------
def test_a_full_disk_keeps_the_previous_figures_and_the_checkpoint(tmp_path, small64, monkeypatch):
    """The PNGs of epoch 2 find the disk full (ENOSPC from fsync, as a real disk gives it)."""
    d = tmp_path / "r"
    run(tiny(d, epochs=1, images=True), small64)
    before = hashes(d)
    real = atomic.os.fsync

    def full_for_figures(fd):
        if ".png." in os.readlink(f"/proc/self/fd/{fd}"):       # .NAME.png.XXXX.part
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(fd)
    monkeypatch.setattr(atomic.os, "fsync", full_for_figures)
    with pytest.raises(WriteError) as info:
        run(tiny(d, epochs=2, images=True), small64, resume=d / "last.npz")
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
    run(tiny(d, epochs=1), small64)
    before = hashes(d)
    monkeypatch.setattr(run_folder.shutil, "disk_usage", lambda path: SimpleNamespace(free=1000))
    steps = []
    real = model_module.VAE.loss_and_grads
    monkeypatch.setattr(model_module.VAE, "loss_and_grads",
                        lambda self, *a, **k: steps.append(1) or real(self, *a, **k))
    with pytest.raises(WriteError, match=rf"{d} has 0.0 MB free, but the next checkpoint needs "
                                         rf"about 0.\d MB; the last checkpoint, .*after epoch 1"):
        run(tiny(d, epochs=2), small64, resume=d / "last.npz")
    assert steps == [] and hashes(d) == before


# --- leftovers and names ---------------------------------------------------------------------
def test_temporary_files_of_killed_writes_are_removed_at_the_next_start(tmp_path, small64):
    d = tmp_path / "r"
    run(tiny(d, epochs=1), small64)
    ours = [d / ".last.npz.k3j2.part", d / ".recon_epoch001.png.x9.part", d / ".history.csv.a.part"]
    theirs = d / ".notes.txt.q1.part"                   # not a file train writes: kept
    for p in ours + [theirs]:
        p.write_bytes(b"\0" * 1000)
    run(tiny(d, epochs=2), small64, resume=d / "last.npz")
    assert not any(p.exists() for p in ours) and theirs.exists()


def test_default_run_names_started_in_one_second_differ():
    config = TrainConfig.from_preset("doersch")
    names = {default_run_dir(config).name for _ in range(50)}
    assert len(names) == 50 and all(n.startswith("doersch-") for n in names)
