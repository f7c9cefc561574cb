"""Exceptions a user can cause; the command line prints them in one line."""
from .data import DataError


class CheckpointError(RuntimeError):
    """A checkpoint file is missing, truncated, damaged or not minivae's."""


# What `python -m minivae …` reports as one line on stderr, without a traceback.
USER_ERRORS = (ValueError, FileNotFoundError, PermissionError, CheckpointError, DataError)
