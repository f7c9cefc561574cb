"""Exceptions a user can cause; the command line prints them in one line."""


class CheckpointError(RuntimeError):
    """A checkpoint file is missing, truncated, damaged or not minivae's."""


def _user_errors():
    errors = [ValueError, FileNotFoundError, PermissionError, CheckpointError]
    try:
        from .data import DataError
        errors.append(DataError)
    except ImportError:         # data module not present
        pass
    return tuple(errors)


USER_ERRORS = _user_errors()
