"""The checks a public function or method makes of its arguments, and of its result.

Each public method of the maths (a layer's forward and backward, a model's
loss_and_grads, encode, sample, ...) and each loss function a user calls
checks its arguments in its first lines with the functions below, which
raise an ArgumentError (a ValueError) that names the argument and says what
was expected, so a wrong call fails at the door instead of deep in a matrix
product.  Where a result can overflow to inf or NaN, a last line
(`finite_result`) raises NonFiniteError naming the inputs.  Inside, a model
calls the maths functions themselves, which check nothing: no training step
scans an activation twice.  NumPy's floating-point settings are the
caller's: with np.seterr(over="raise") an overflow raises FloatingPointError
where it happens.
"""
import math
import operator
import os
import tempfile
from pathlib import Path

import numpy as np

from .environment import existing_ancestor
from .errors import ArgumentError, NonFiniteError


def as_float_array(name, a, dtype, ndim=2, cols=None, rows=None, unit_interval=False,
                   min_rows=0):
    """Check that `a` is a finite `dtype` array of the expected shape; return it.

    No silent casting: a float32 array passed to a float64 model is an error,
    because an implicit upcast would double memory and hide a bug.
    min_rows: the least number of rows (1 for a batch a mean is taken over).
    """
    if not isinstance(a, np.ndarray):
        raise ArgumentError(f"{name} must be a numpy array, got {type(a).__name__}")
    if dtype is None:
        if a.dtype not in (np.float32, np.float64):
            raise ArgumentError(f"{name} must be float32 or float64, got dtype {a.dtype}")
    elif a.dtype != dtype:
        raise ArgumentError(f"{name} has dtype {a.dtype}, expected {np.dtype(dtype)} "
                         f"(the model's dtype; convert with {name}.astype(np.{np.dtype(dtype)}))")
    if a.ndim != ndim:
        raise ArgumentError(f"{name} must be {ndim}-D, got shape {a.shape}")
    if cols is not None and a.shape[-1] != cols:
        raise ArgumentError(f"{name} must have {cols} columns, got shape {a.shape}")
    if rows is not None and a.shape[0] != rows:
        raise ArgumentError(f"{name} must have {rows} rows (one per example), got shape {a.shape}")
    if min_rows and a.shape[0] < min_rows:
        raise ArgumentError(f"{name} has {a.shape[0]} rows, at least {min_rows} needed "
                         f"(an empty batch has no mean)")
    if unit_interval:
        in_unit_interval(name, a, "for the Bernoulli likelihood")
    elif not np.isfinite(a).all():
        raise ArgumentError(f"{name} contains NaN or inf")
    return a


def in_unit_interval(name, a, why):
    """Check that every value of array `a` is finite and in [0, 1]: its min and max are
    the whole check, as a NaN makes both NaN and NaN ≥ 0 is false."""
    if not a.size:
        return
    lo, hi = a.min(), a.max()
    if not (0 <= lo and hi <= 1):
        if not np.isfinite(a).all():
            raise ArgumentError(f"{name} contains NaN or inf")
        raise ArgumentError(f"{name} must lie in [0, 1] {why}, got values in [{lo:.4g}, {hi:.4g}]")


def same_array(name, a, like_name, like, unit_interval=False):
    """`a` checked like as_float_array, with the dtype and shape of the checked array `like`."""
    if isinstance(a, np.ndarray) and a.ndim == like.ndim and a.shape != like.shape:
        raise ArgumentError(f"{name} has shape {a.shape}, {like_name} {like.shape}; they must match")
    return as_float_array(name, a, like.dtype, ndim=like.ndim, unit_interval=unit_interval)


def float_operand(name, a, dtype=None):
    """A finite float32/float64 array of any shape, or a real number (a 0-d float64 array).

    dtype: the dtype required of an array (that of the other array arguments).
    """
    if isinstance(a, (int, float, np.integer, np.floating)) and not isinstance(a, (bool, np.bool_)):
        a = np.asarray(a, dtype=np.float64 if dtype is None else dtype)
        if not np.isfinite(a):
            raise ArgumentError(f"{name} must be finite, got {a}")
        return a
    return as_float_array(name, a, dtype, ndim=np.ndim(a) if isinstance(a, np.ndarray) else 2)


def finite_result(names, *arrays):
    """Raise NonFiniteError, naming the inputs, when a result overflowed to inf or NaN."""
    for a in arrays:
        if not np.isfinite(a).all():
            raise NonFiniteError(f"the result for these {', '.join(names)} is not finite: "
                                 f"it overflows {np.asarray(a).dtype} (values too large?)")


def available_memory():
    """Bytes of memory free for new allocations (Linux: MemAvailable), or None if unknown."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, OSError, ValueError):
        return None


def check_memory(what, nbytes):
    """Raise an ArgumentError saying how much memory `what` needs when more than is available.

    Called before a large allocation, so the answer comes at once instead of
    as a MemoryError (or the system's out-of-memory killer) later.
    """
    free = available_memory()
    if free is not None and nbytes > free:
        raise ArgumentError(f"{what} would need {nbytes / 2**30:,.1f} GiB of memory, but only "
                         f"{free / 2**30:,.1f} GiB is available")


def writable_dir(what, path):
    """Check that directory `path` takes new files, or can be made; return it as a Path.

    Probes with a temporary file in `path` or its nearest existing ancestor
    (removed at once), so nothing is left behind; permission bits alone say
    little (root passes them, a read-only filesystem or /proc does not).
    """
    path = Path(path)
    try:
        if path.exists() and not path.is_dir():
            raise ArgumentError(f"{what} {path} is a file, not a directory")
        ancestor = existing_ancestor(path)
        if not ancestor.is_dir():
            raise ArgumentError(f"{what} {path} cannot be made: {ancestor} is "
                             f"{'a file' if ancestor.exists() else 'missing'}")
        with tempfile.TemporaryFile(dir=ancestor):
            pass
    except OSError as e:
        raise ArgumentError(f"{what} {path} is not writable ({e.strerror or e})") from None
    return path


def integer(name, n, least=1, allow_none=False):
    """An int (bool excluded) that is at least `least`; None passes if allow_none."""
    if n is None and allow_none:
        return None
    try:
        if isinstance(n, bool):
            raise TypeError
        n = operator.index(n)
    except TypeError:
        raise ArgumentError(f"{name} must be an integer, got {n!r}") from None
    if n < least:
        what = "a positive integer" if least == 1 else f"an integer >= {least}"
        raise ArgumentError(f"{name} must be {what}, got {n!r}")
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
        raise ArgumentError(f"{name} must be a number, got {v!r}") from None
    if not (math.isfinite(v) and (v > low if low_open else v >= low) and v < high):
        interval = f"{'(' if low_open else '['}{low}, {high})"
        raise ArgumentError(f"{name} must lie in {interval}, got {v!r}")
    return v


def generator(name, rng):
    """A np.random.Generator: every random draw in minivae comes from one passed in."""
    if not isinstance(rng, np.random.Generator):
        raise ArgumentError(f"{name} must be a np.random.Generator, got {rng!r:.40}")
    return rng


def choice(name, v, options):
    if v not in options:
        raise ArgumentError(f"{name} must be one of {', '.join(map(str, options))}; got {v!r}")
    return v


def float_dtype(dtype):
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise ArgumentError(f"dtype must be float32 or float64, got {dtype!r}") from None
    if dt not in (np.float32, np.float64):
        raise ArgumentError(f"dtype must be float32 or float64, got {dt}")
    return dt
