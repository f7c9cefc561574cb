"""Exceptions a user can cause; the command line prints them in one line."""


class ArgumentError(ValueError):
    """A bad argument: a value, shape, dtype, flag or path that the caller gave.

    A ValueError, so a library user's `except ValueError` keeps catching it;
    the command line prints it as one line (a plain ValueError from NumPy is a
    bug in the code, and keeps its traceback).
    """


class NonFiniteError(ValueError):
    """Finite inputs gave an inf or NaN result (an overflow): the message names the inputs.

    A ValueError like every other bad-argument error; the training loop tells
    it apart to report a diverged run.
    """


class DataError(RuntimeError):
    """MNIST is missing, corrupt, or could not be downloaded; the message says what to do."""


class CheckpointError(RuntimeError):
    """A checkpoint file is missing, truncated, damaged or not minivae's."""


class EnvironmentVariableError(ValueError):
    """An environment variable holds a value minivae does not understand.

    The message names the variable, its value and the values it accepts
    (minivae/environment.py reads them all).
    """


class RunInUseError(RuntimeError):
    """Another process is training in the same run folder (it holds the folder's lock)."""


class WriteError(OSError):
    """A file could not be written (a full disk, a read-only filesystem, …).

    The message names the file and says what is still intact; `errno` is the
    underlying error's (ENOSPC, EROFS, …).
    """


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised as an exception so a command stops as cleanly as on Ctrl-C.

    A KeyboardInterrupt, so every clean-up that runs on Ctrl-C runs on it too;
    only the command line turns SIGTERM into it (a library leaves signals alone).
    """


# What `python -m minivae …` reports as one line on stderr, without a traceback.
# OSError: what the filesystem refuses (a missing or unwritable path, a directory
# where a file should be); MemoryError: a request larger than the machine.
USER_ERRORS = (ValueError, OSError, MemoryError, CheckpointError, DataError, RunInUseError)
