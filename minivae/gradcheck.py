"""Gradient checking by central differences: the method every check uses.

`python -m minivae gradcheck` (minivae/commands/gradcheck.py) runs it on
every layer, loss and model; the tests and lesson 03 use it too.

For a scalar function f of an array a, the numerical derivative of entry i is

    n_i = ( f(a + h e_i) − f(a − h e_i) ) / (2h)          (error O(h²))

and the analytic gradient g passes when the relative error

    rel_error(g, n) = max_i |g_i − n_i| / max( max_i |g_i| + max_i |n_i|, TINY )

is below a threshold.  Normalizing by the array's scale rather than entry by
entry keeps gradients that are zero (a dead ReLU, a bias no example reaches)
from dividing rounding noise by zero, yet any entry wrong by more than the
threshold times the gradient's scale fails.  In float64 with h = 1e-5 a
correct gradient gives ~1e-9 or less.
"""
import numpy as np

TINY = 1e-300


def rel_error(analytic, numeric):
    """Scale-normalized max relative error between two arrays (formula above)."""
    a, n = np.asarray(analytic, dtype=np.float64), np.asarray(numeric, dtype=np.float64)
    if a.shape != n.shape:
        raise ValueError(f"shapes differ: analytic {a.shape} vs numeric {n.shape}")
    if a.size == 0:
        return 0.0
    scale = np.abs(a).max() + np.abs(n).max()
    return float(np.abs(a - n).max() / max(scale, TINY))


def numerical_grad(f, a, h=1e-5):
    """∂f/∂a by central differences; f() reads `a`, which is perturbed in place.

    f takes no arguments and returns a scalar; `a` is restored afterwards.
    """
    grad = np.zeros(a.shape, dtype=np.float64)
    flat, gflat = a.reshape(-1), grad.reshape(-1)
    if not np.shares_memory(flat, a):
        raise ValueError("the array must be contiguous so it can be perturbed in place")
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + h
        f_plus = f()
        flat[i] = old - h
        f_minus = f()
        flat[i] = old
        gflat[i] = (f_plus - f_minus) / (2 * h)
    return grad


def check(f, arrays, analytic, h=1e-5):
    """Max rel_error over several arrays: arrays[k] against analytic[k]."""
    return max(rel_error(g, numerical_grad(f, a, h)) for a, g in zip(arrays, analytic))
