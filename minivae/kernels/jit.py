"""The Numba options every twin in minivae.kernels is compiled with, and two helpers.

    cache=True           the machine code is kept on disk and loaded in
                         milliseconds the next time (the first compile takes seconds)
    error_model="numpy"  x/0 gives inf instead of raising, which lets LLVM vectorize
    nogil=True           the GIL is released, so the optimizer update can run on
                         two Python threads (update_threads.py)

`rjit` adds fastmath={"reassoc"}: reassociating a sum lets LLVM vectorize it.
Loops walk row views (`row = y[n]`), the form LLVM vectorizes here; 2-D
indexing mixed with flat indices ran 5× slower.

What runs where was decided by measurement (`python -m minivae bench`):
matrix products stay with BLAS (np.matmul, out=): the loop in matmul.py is
several times slower than OpenBLAS, and np.dot inside @njit would call a
second BLAS copy whose threads fight the first.  exp and log stay with NumPy,
whose SIMD versions beat the scalar libm calls Numba makes without Intel's
SVML.  The elementwise work around them is fused into single passes.
"""
import numba
import numpy as np

_OPTIONS = dict(cache=True, error_model="numpy", nogil=True)
jit = numba.njit(**_OPTIONS)
rjit = numba.njit(fastmath={"reassoc"}, **_OPTIONS)


def like(a):
    """An uninitialized array of a's shape and dtype (C order)."""
    return np.empty(a.shape, a.dtype)


def flat(a):
    """a as 1-D: a view when contiguous, else a contiguous copy (inputs only)."""
    return a.reshape(-1)
