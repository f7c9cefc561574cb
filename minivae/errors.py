"""Exceptions a user can cause; the command line prints them in one line."""


class NonFiniteError(ValueError):
    """Finite inputs gave an inf or NaN result (an overflow): the message names the inputs.

    A ValueError like every other bad-argument error; the training loop tells
    it apart to report a diverged run.
    """


class DataError(RuntimeError):
    """MNIST is missing, corrupt, or could not be downloaded; the message says what to do."""


class CheckpointError(RuntimeError):
    """A checkpoint file is missing, truncated, damaged or not minivae's."""


# What `python -m minivae …` reports as one line on stderr, without a traceback.
# OSError: what the filesystem refuses (a missing or unwritable path, a directory
# where a file should be); MemoryError: a request larger than the machine.
USER_ERRORS = (ValueError, OSError, MemoryError, CheckpointError, DataError)
