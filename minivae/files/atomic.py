"""Atomic file writes: a file appears complete, or not at all.

The bytes go to a hidden temporary file in the target's own directory (the
same filesystem, so the final rename is atomic), are flushed to disk, may be
verified, and only then renamed over the target.  Anything that stops the
write (an error, a failed check, Ctrl-C) removes the temporary file and
leaves whatever was at the target before untouched.  Checkpoints, history
files, figures, notebooks and MNIST downloads are all written this way.

When the filesystem refuses (a full disk, a read-only mount), the error is a
WriteError whose one line names the file and says that what was there
before is unchanged.  Only `kill -9` (or a power cut) can leave a temporary
file behind; `remove_stale_temporaries` clears those at the next start.
"""
import errno
import os
import tempfile
from pathlib import Path

from ..errors import WriteError

TEMPORARY = ".{name}.*.part"        # glob of atomic_write's temporary files for target `name`
# errors of the disk rather than of the data being written (download_to's
# write() also reads the network, whose OSErrors must pass through unchanged)
DISK_ERRNOS = {getattr(errno, name) for name in ("ENOSPC", "EROFS", "EDQUOT", "EFBIG", "EIO")
               if hasattr(errno, name)}


def atomic_write(path, write, verify=None):
    """Call write(binary file object) on a temporary file, then rename it to `path`.

    verify: optional function of the temporary file's Path, called after the
    data is on disk and before the rename; it raises to reject the content.
    The new file gets mode 0644 (mkstemp's 0600 would hide data from other users).
    """
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    except OSError as e:
        raise _refused(path, e) from None
    try:
        f = os.fdopen(fd, "wb")
        try:
            write(f)
            _own(path, f.flush)
            _own(path, os.fsync, f.fileno())
        except OSError as e:
            if e.errno in DISK_ERRNOS and not isinstance(e, WriteError):
                raise _refused(path, e) from None
            raise
        finally:
            try:
                f.close()           # after a failure its buffer cannot be flushed either
            except OSError:
                pass
        if verify is not None:
            verify(Path(tmp))
        _own(path, os.chmod, tmp, 0o644)
        _own(path, os.replace, tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _sync_dir(path.parent)


def atomic_write_text(path, text):
    """atomic_write a str, encoded as UTF-8."""
    atomic_write(path, lambda f: f.write(text.encode("utf-8")))


def make_dirs(path):
    """Make folder `path` and its missing parents; a WriteError naming it when refused."""
    try:
        Path(path).mkdir(parents=True, exist_ok=True)
    except OSError as e:
        why = {errno.EEXIST: "a file of that name is in the way",
               errno.ENOTDIR: "a file stands where one of its parent folders would be"}
        error = WriteError(f"cannot make the folder {path}: {why.get(e.errno, e.strerror or e)}")
        error.errno = e.errno
        raise error from None


def _own(path, step, *args):
    """step(*args), a file operation of atomic_write's own: its OSError becomes a WriteError."""
    try:
        return step(*args)
    except WriteError:
        raise
    except OSError as e:
        raise _refused(path, e) from None


def _refused(path, e):
    """The one-line WriteError for `path`, saying why and what is intact."""
    intact = ("the file there before is unchanged" if os.path.lexists(path)
              else "nothing was written")
    why = e.strerror or e
    if e.errno == errno.EFBIG:
        why = f"{why}: {file_size_limit()}"
    error = WriteError(f"cannot write {path}: {why}; {intact}")
    error.errno = e.errno
    return error


def file_size_limit():
    """What limits a file's size here, for a message: the process's RLIMIT_FSIZE (`ulimit -f`)
    when one is set, else the filesystem's own largest file."""
    try:
        import resource
        soft = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
    except (ImportError, OSError, ValueError):
        soft = None
    if soft is None or soft == resource.RLIM_INFINITY:
        return "larger than the filesystem's largest file"
    return f"this process may write files of at most {soft:,} bytes (ulimit -f)"


def remove_stale_temporaries(directory, names):
    """Delete temporary files that killed writes of these target names left in `directory`.

    names: file names or globs ("last.npz", "recon_epoch*.png").  Only safe
    while no other process writes them (train holds the run folder's lock).
    Returns the bytes freed.
    """
    freed = 0
    for name in names:
        for tmp in Path(directory).glob(TEMPORARY.format(name=name)):
            try:
                size = tmp.stat().st_size
                tmp.unlink()
            except OSError:
                continue
            freed += size
    return freed


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
