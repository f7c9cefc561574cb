"""What a matrix product is, spelled out as loops, for reading and for the benchmark.

Never on the training path: every backend leaves its products to BLAS
(np.matmul), whose tiled, vectorized, threaded kernels are several times
faster than this loop; `python -m minivae bench` shows by how much.
"""
import numpy as np

from ..errors import ArgumentError
from .jit import jit


@jit
def _matmul_loops(a, b, c):
    """c[n, h] = ∑_d a[n, d] b[d, h].

    Loop order n, d, h: the inner loop walks a row of b and a row of c side by
    side, so it vectorizes.  BLAS adds cache blocking, hand-tuned register
    tiles and threads on top.
    """
    for n in range(a.shape[0]):
        c_n = c[n]
        c_n[:] = 0
        for d in range(a.shape[1]):
            a_nd, b_d = a[n, d], b[d]
            for h in range(c_n.size):
                c_n[h] += a_nd * b_d[h]


def matmul(a, b, out=None):
    """a (N, D) @ b (D, H) by the loops above."""
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0]:
        raise ArgumentError(f"matmul: shapes {a.shape} and {b.shape} do not multiply")
    c = np.empty((a.shape[0], b.shape[1]), np.result_type(a, b)) if out is None else out
    _matmul_loops(a, b, c)
    return c
