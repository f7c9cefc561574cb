"""Input validation shared by every public entry point and command.

Each check raises a ValueError that names the argument and says what was
expected, so a wrong call fails at the door instead of deep in a matmul.
Every other module validates through these functions.
"""
import math
import operator

import numpy as np


def as_float_array(name, a, dtype, ndim=2, cols=None, rows=None, unit_interval=False):
    """Check that `a` is a finite `dtype` array of the expected shape; return it.

    No silent casting: a float32 array passed to a float64 model is an error,
    because an implicit upcast would double memory and hide a bug.
    """
    if not isinstance(a, np.ndarray):
        raise ValueError(f"{name} must be a numpy array, got {type(a).__name__}")
    if dtype is None:
        if a.dtype not in (np.float32, np.float64):
            raise ValueError(f"{name} must be float32 or float64, got dtype {a.dtype}")
    elif a.dtype != dtype:
        raise ValueError(f"{name} has dtype {a.dtype}, expected {np.dtype(dtype)} "
                         f"(the model's dtype; convert with {name}.astype(np.{np.dtype(dtype)}))")
    if a.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {a.shape}")
    if cols is not None and a.shape[-1] != cols:
        raise ValueError(f"{name} must have {cols} columns, got shape {a.shape}")
    if rows is not None and a.shape[0] != rows:
        raise ValueError(f"{name} must have {rows} rows (one per example), got shape {a.shape}")
    if not np.isfinite(a).all():
        raise ValueError(f"{name} contains NaN or inf")
    if unit_interval and a.size and (a.min() < 0 or a.max() > 1):
        raise ValueError(f"{name} must lie in [0, 1] for the Bernoulli likelihood, "
                         f"got values in [{a.min():.4g}, {a.max():.4g}]")
    return a


def integer(name, n, least=1, allow_none=False):
    """An int (bool excluded) that is at least `least`; None passes if allow_none."""
    if n is None and allow_none:
        return None
    try:
        if isinstance(n, bool):
            raise TypeError
        n = operator.index(n)
    except TypeError:
        raise ValueError(f"{name} must be an integer, got {n!r}") from None
    if n < least:
        what = "a positive integer" if least == 1 else f"an integer >= {least}"
        raise ValueError(f"{name} must be {what}, got {n!r}")
    return n


def positive_int(name, n, allow_none=False):
    return integer(name, n, 1, allow_none)


def real(name, v, low=-math.inf, high=math.inf, low_open=False):
    """A finite float in [low, high), or (low, high) with low_open."""
    try:
        if isinstance(v, (bool, str)):
            raise TypeError
        v = float(v)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {v!r}") from None
    if not (math.isfinite(v) and (v > low if low_open else v >= low) and v < high):
        interval = f"{'(' if low_open else '['}{low}, {high})"
        raise ValueError(f"{name} must lie in {interval}, got {v!r}")
    return v


def choice(name, v, options):
    if v not in options:
        raise ValueError(f"{name} must be one of {', '.join(map(str, options))}; got {v!r}")
    return v


def float_dtype(dtype):
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise ValueError(f"dtype must be float32 or float64, got {dtype!r}") from None
    if dt not in (np.float32, np.float64):
        raise ValueError(f"dtype must be float32 or float64, got {dt}")
    return dt
