"""One writer per run folder: a lock that dies with the process holding it.

`train` holds RunLock(run_dir) from before it writes anything into the folder
until it returns, for a fresh run and a resumed one alike.  The lock is an
OS file lock (fcntl.flock) on the file LOCK_NAME in the folder, so the
kernel releases it when the process ends however it ends, kill -9 included:
no stale lock is ever left behind to be cleared by hand.  The file holds the
holder's pid, for the message a second writer gets:

    runs/x is in use by another minivae train (pid 4242)

A clean release removes the file (and the folders the lock made, if nothing
else was written there).  A file left by a killed process is simply
locked again.  Where fcntl does not exist (Windows), there is no lock.
"""
import os
import time
from pathlib import Path

from ..errors import RunInUseError

try:
    import fcntl
except ImportError:             # not POSIX
    fcntl = None

LOCK_NAME = ".train.lock"


class RunLock:
    """`with RunLock(run_dir):` — the run folder is this process's alone (see above)."""

    def __init__(self, run_dir):
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / LOCK_NAME
        self._fd = None
        self._made = []            # folders the lock made, deepest first

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, *exc):
        self.release()

    def acquire(self):
        """Take the lock, making the folder if needed; RunInUseError if another process has it."""
        if fcntl is None:
            return
        while True:
            if not self.run_dir.is_dir():
                missing = [self.run_dir, *self.run_dir.parents]
                missing = missing[:next(i for i, d in enumerate(missing) if d.exists())]
                self.run_dir.mkdir(parents=True, exist_ok=True)
                self._made = self._made or missing
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            except FileNotFoundError:       # a releasing holder removed the folder just now
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise RunInUseError(f"{self.run_dir} is in use by another minivae train "
                                    f"({_holder(self.path)})") from None
            except BaseException:
                os.close(fd)
                raise
            if _is_still(fd, self.path):
                break
            os.close(fd)        # the holder released and removed this file as we opened it
        try:
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
        except OSError:         # a full disk: the lock holds all the same, without its pid
            pass
        self._fd = fd

    def release(self):
        """Remove the lock file while still holding it, then let go."""
        if self._fd is None:
            return
        try:
            # Removed before the unlock: a process that opened it meanwhile finds, once it
            # gets the lock, that the path no longer names its file (_is_still), and retries.
            self.path.unlink(missing_ok=True)
        except OSError:
            pass
        os.close(self._fd)
        self._fd = None
        for folder in self._made:           # only while empty: a run that wrote nothing
            try:
                folder.rmdir()
            except OSError:
                break


def _is_still(fd, path):
    """Whether `path` still names the file open as `fd`."""
    try:
        a, b = os.fstat(fd), os.stat(path)
    except FileNotFoundError:
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def _holder(path, wait=0.5):
    """'pid N' of the lock's holder; it writes its pid right after locking, so wait a moment."""
    deadline = time.monotonic() + wait
    while True:
        try:
            pid = path.read_text().strip()
        except (OSError, UnicodeDecodeError):
            pid = ""
        if pid.isdigit():
            return f"pid {pid}"
        if time.monotonic() > deadline:
            return "pid unknown"
        time.sleep(0.02)
