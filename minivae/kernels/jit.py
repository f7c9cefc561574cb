"""The Numba options every twin in minivae.kernels is compiled with, its cache, and two helpers.

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
import atexit
import shutil
import sys
import tempfile

import numba
import numpy as np
from numba.core.caching import FunctionCache

NO_CACHE = ("minivae: Numba can keep its compiled kernels neither beside minivae (a read-only "
            "install) nor in your home folder (not writable), so it compiles them into a "
            "temporary folder, again in every run; set NUMBA_CACHE_DIR to a writable folder "
            "to keep them")


def _probe():
    pass


def ensure_cache_folder():
    """Give Numba a temporary cache folder when it finds no writable one of its own.

    Numba keeps compiled code in the package's __pycache__, else in the
    user's cache folder, else in $NUMBA_CACHE_DIR; with none writable, every
    cache=True function would fail to compile with "no locator available".
    Returns the temporary folder (removed at exit), or None when Numba has one.
    """
    try:
        FunctionCache(_probe)                # what @jit(cache=True) does for a function here
        return None
    except RuntimeError:
        pass
    folder = tempfile.mkdtemp(prefix="minivae-numba-")
    numba.config.CACHE_DIR = folder
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    print(NO_CACHE, file=sys.stderr)
    return folder


ensure_cache_folder()           # before any twin below is decorated
_OPTIONS = dict(cache=True, error_model="numpy", nogil=True)
jit = numba.njit(**_OPTIONS)
rjit = numba.njit(fastmath={"reassoc"}, **_OPTIONS)


def like(a):
    """An uninitialized array of a's shape and dtype (C order)."""
    return np.empty(a.shape, a.dtype)


def flat(a):
    """a as 1-D: a view when contiguous, else a contiguous copy (inputs only)."""
    return a.reshape(-1)
