"""Minibatch indices and binarization of [0, 1] pixels (Doersch §4).

Randomness comes only from the `np.random.Generator` passed in, so every draw
is repeatable.
"""
import numpy as np

from .errors import ArgumentError
from .validate import generator, in_unit_interval, positive_int


def _float_array(x) -> np.ndarray:
    x = np.asarray(x)
    if x.dtype.kind != "f":
        raise ArgumentError(f"x must be a float array, got dtype {x.dtype}")
    return x


def binarize_dynamic(x, rng) -> np.ndarray:
    """A fresh Bernoulli(x) draw per pixel, same dtype as x.

    Used for the CVAE's input column, which §4.2 redraws every time a digit is
    used, and for "dynamic binarization" of a VAE's training data (as in
    Burda et al. 2016; beyond the paper, whose §4.1 VAE trains on grey levels).

    x: (...) float in [0, 1]; each call gives new 0/1 values with E[out] = x.
    """
    generator("rng", rng)
    x = _float_array(x)
    in_unit_interval("x", x, "(pixels scaled by 1/255)")
    # u < x with u ~ U[0, 1) is 1 with probability x; draw u in x's precision when numpy can.
    u = rng.random(x.shape, dtype=x.dtype if x.dtype in (np.float32, np.float64) else np.float64)
    return (u < x).astype(x.dtype)


def binarize_threshold(x, threshold=0.5) -> np.ndarray:
    """Fixed binarization: 1 where x > threshold, else 0; same dtype as x."""
    x = _float_array(x)
    return (x > threshold).astype(x.dtype)


def iterate_minibatches(n, batch_size, rng=None, shuffle=True, drop_last=False):
    """Iterator of int64 index arrays covering range(n) once, `batch_size` at a time.

    shuffle=True draws a fresh permutation from `rng` (required then);
    drop_last=True skips a final batch shorter than `batch_size`.
    Arguments are checked at the call, not at the first `next()`.
    """
    n, batch_size = positive_int("n", n), positive_int("batch_size", batch_size)
    if shuffle:
        generator("rng", rng)
    order = rng.permutation(n) if shuffle else np.arange(n, dtype=np.int64)
    stop = n - n % batch_size if drop_last else n
    return (order[start:start + batch_size] for start in range(0, stop, batch_size))
