"""Exceptions a user can cause; the command line prints them in one line.

Any other exception is a bug, in minivae or in code a reader edited: the
command line lets its traceback through (minivae/commands/cli.py).
"""


class ArgumentError(ValueError):
    """A bad argument: a value, shape, dtype, flag or path that the caller gave.

    A ValueError, so a library user's `except ValueError` keeps catching it;
    the command line prints it as one line (a plain ValueError from NumPy is a
    bug in the code, and keeps its traceback).
    """


class NonFiniteError(ArgumentError):
    """Finite inputs gave an inf or NaN result (an overflow): the message names the inputs.

    An ArgumentError like every other bad-argument error; the training loop
    tells it apart to report a diverged run.
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


class GraderError(RuntimeError):
    """The grader cannot run students' code here (its child process did not start): the
    machine's problem, not the student's, so no one is scored."""


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


# What `python -m minivae …` reports as one line on stderr, without a traceback: minivae's
# own errors, each raised where minivae refuses what a user gave it (what the filesystem
# refuses for a path the user named is turned into one of them where it happens).  The
# command line also prints a MemoryError in one line ("out of memory").
USER_ERRORS = (ArgumentError, EnvironmentVariableError, DataError, CheckpointError,
               RunInUseError, WriteError, GraderError)
