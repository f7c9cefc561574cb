"""Numba twins of minivae.reparam: z = mu + std ⊙ eps and its backward (Eq. 10).

exp stays with NumPy (SIMD); the products and sums are one fused pass.
"""
import numpy as np

from .jit import jit, like


@jit
def _reparam(mu, std, eps, z):
    for n in range(mu.shape[0]):
        m, s, e, out = mu[n], std[n], eps[n], z[n]
        for k in range(m.size):
            out[k] = m[k] + s[k] * e[k]


@jit
def _reparam_grad(dz, std, eps, dlog_var):
    half = dz.dtype.type(0.5)
    for n in range(dz.shape[0]):
        g, s, e, out = dz[n], std[n], eps[n], dlog_var[n]
        for k in range(g.size):
            out[k] = g[k] * e[k] * (half * s[k])


def reparam_forward(mu, log_var, eps):
    std, z = np.exp(0.5 * log_var), like(mu)
    _reparam(mu, std, eps, z)
    return z, std


def reparam_backward(dz, std, eps):
    dlog_var = like(dz)
    _reparam_grad(dz, std, eps, dlog_var)
    return dz, dlog_var
