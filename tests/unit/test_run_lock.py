"""The run folder's lock (minivae/files/run_lock.py): one holder, released however it ends."""
import os
import signal
import subprocess
import sys
import time

import pytest

from minivae.errors import RunInUseError
from minivae.files.run_lock import LOCK_NAME, RunLock


def test_a_second_lock_is_refused_naming_the_holders_pid(tmp_path):
    run = tmp_path / "runs" / "x"
    with RunLock(run):
        assert (run / LOCK_NAME).read_text() == f"{os.getpid()}\n"
        with pytest.raises(RunInUseError) as info:
            with RunLock(run):
                pass
        assert str(info.value) == f"{run} is in use by another minivae train (pid {os.getpid()})"
    with RunLock(run):              # released: taken again at once
        pass


def test_release_leaves_no_file_and_no_folder_it_made_empty(tmp_path):
    made, kept = tmp_path / "runs" / "made", tmp_path / "kept"
    kept.mkdir()
    with RunLock(made), RunLock(kept):
        (kept / "x").write_text("x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept"]   # runs/made: made, unused
    assert sorted(p.name for p in kept.iterdir()) == ["x"]          # the lock file is gone


HOLD = """
import sys, time
from minivae.files.run_lock import RunLock
with RunLock(sys.argv[1]):
    print("locked", flush=True)
    time.sleep(60)
"""


def test_the_lock_dies_with_its_process(tmp_path):
    """kill -9 leaves the lock file but never a lock: the next writer takes it."""
    run = tmp_path / "run"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(run)], stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout.readline() == "locked\n"
        with pytest.raises(RunInUseError, match=f"pid {holder.pid}"):
            RunLock(run).acquire()
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(30)
        holder.stdout.close()
    assert (run / LOCK_NAME).exists()                       # left behind by kill -9 ...
    deadline = time.monotonic() + 10
    while True:                                             # ... and free once the kernel saw the death
        try:
            with RunLock(run):
                break
        except RunInUseError:
            assert time.monotonic() < deadline
            time.sleep(0.05)
