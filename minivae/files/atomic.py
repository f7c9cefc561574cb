"""Atomic file writes: a file appears complete, or not at all.

The bytes go to a hidden temporary file in the target's own directory (the
same filesystem, so the final rename is atomic), are flushed to disk, may be
verified, and only then renamed over the target.  Anything that stops the
write (an error, a failed check, Ctrl-C) removes the temporary file and
leaves whatever was at the target before untouched.  Checkpoints, history
files and MNIST downloads are all written this way.
"""
import os
import tempfile
from pathlib import Path


def atomic_write(path, write, verify=None):
    """Call write(binary file object) on a temporary file, then rename it to `path`.

    verify: optional function of the temporary file's Path, called after the
    data is on disk and before the rename; it raises to reject the content.
    The new file gets mode 0644 (mkstemp's 0600 would hide data from other users).
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        if verify is not None:
            verify(Path(tmp))
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _sync_dir(path.parent)


def _sync_dir(directory):
    """Make a rename in `directory` durable (POSIX; a no-op where it cannot be done)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
