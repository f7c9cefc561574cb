"""What `train` checks in a run folder before writing into it (while holding its lock, run_lock.py).

    check_new_run        a fresh run needs a folder that holds no run
    check_continuing     a resumed run continues in its checkpoint's own folder,
                         or starts a copy in a folder that holds no run
    check_room           room for one more checkpoint, before an epoch is trained
    clear_leftovers      temporary files of writes that kill -9 stopped

A folder holds a run when it has any of RUN_FILES.
"""
import errno
import os
import shlex
import shutil
from pathlib import Path

from ..errors import ArgumentError, WriteError
from .atomic import remove_stale_temporaries

CHECKPOINT = "last.npz"
RUN_FILES = (CHECKPOINT, "history.json", "history.csv")
WRITTEN = RUN_FILES + ("recon_epoch*.png", "samples_epoch*.png", "loss_curve.png")   # globs
HEADROOM = 2 ** 16      # bytes beyond the arrays: the JSON entries, zip headers


def _run_files(run_dir):
    return [name for name in RUN_FILES if os.path.lexists(Path(run_dir) / name)]


def check_new_run(run_dir):
    """ArgumentError when run_dir already holds a run."""
    found = _run_files(run_dir)
    if found:
        raise ArgumentError(f"{run_dir} already holds a run ({found[0]}); resume it with "
                            f"--resume {shlex.quote(str(Path(run_dir) / CHECKPOINT))} or choose another --out")


def check_continuing(run_dir, checkpoint):
    """Whether run_dir's last.npz is `checkpoint` (the run continues where it was).

    Otherwise run_dir must hold no run: a copy of the checkpoint's run starts
    there.  An ArgumentError refuses a folder that holds another run.
    """
    own = Path(run_dir) / CHECKPOINT
    try:
        if own.exists() and os.path.samefile(own, checkpoint):
            return True
    except OSError:
        pass
    found = _run_files(run_dir)
    if found:
        raise ArgumentError(f"{run_dir} already holds another run ({found[0]}), which continuing "
                            f"{checkpoint} there would overwrite; resume that run with --resume "
                            f"{shlex.quote(str(own))}, or give --out a folder that holds no run")
    return False


def check_room(run_dir, nbytes):
    """WriteError (ENOSPC) when run_dir's filesystem has no room for nbytes + HEADROOM."""
    free = shutil.disk_usage(run_dir).free
    if free < nbytes + HEADROOM:
        error = WriteError(f"{run_dir} has {free / 1e6:.1f} MB free, but the next checkpoint "
                           f"needs about {(nbytes + HEADROOM) / 1e6:.1f} MB")
        error.errno = errno.ENOSPC
        raise error


def clear_leftovers(run_dir):
    """Remove the temporary files killed writes of train's files left; return the bytes freed."""
    return remove_stale_temporaries(run_dir, WRITTEN)
