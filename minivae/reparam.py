"""Reparameterization trick as a layer of its own (Doersch §2.2, Eq. 10, Fig. 4).

Sampling z directly from N(mu, Σ), Σ = diag exp(log_var), is a node
backpropagation cannot pass (Fig. 4, left).  Drawing eps ~ N(0, I) outside
the network makes z a deterministic, differentiable function of (mu, log_var)
(Fig. 4, right).

log_var is always log diag Σ, the log of the variance (the paper's reference
code carries the log of the standard deviation instead; the two differ by a
factor of 2 and nothing else).  σ is not used here: in minivae, as in the
paper, σ is only the Gaussian decoder's noise (§2.4.3).  Shapes: N batch,
K latent dimensions.

As in minivae.layers, the two functions trust their caller (the layer's
methods check), and each hands its work to its Numba twin
(minivae/kernels/reparam.py) when the numba backend is on, the default;
`--backend numpy` (or MINIVAE_BACKEND=numpy) runs the NumPy lines below.
"""
from typing import NamedTuple

import numpy as np

from . import kernels
from .errors import ArgumentError
from .validate import as_float_array, finite_result, same_array

twin = kernels.twins(__name__)      # each function's Numba twin, or None: see the docstring


def reparam_forward(mu, log_var, eps):
    """z = mu + Σ^{1/2} ⊙ eps = mu + std ⊙ eps,   std = exp(½ log_var)      [Eq. 10]

    mu, log_var, eps (N, K) -> (z, std), each (N, K).
    """
    if twin.reparam_forward:
        return twin.reparam_forward(mu, log_var, eps)
    std = np.exp(0.5 * log_var)
    return mu + std * eps, std


def reparam_backward(dz, std, eps):
    """∂z/∂mu = 1,   ∂z/∂log_var = ½ std ⊙ eps  (= ½ (z − mu)), so

        dmu = dz,    dlog_var = dz ⊙ eps ⊙ ½ std.
    """
    if twin.reparam_backward:
        return twin.reparam_backward(dz, std, eps)
    return dz, dz * eps * (0.5 * std)


class ReparamCache(NamedTuple):
    std: np.ndarray         # (N, K) exp(½ log_var)
    eps: np.ndarray         # (N, K) the noise that was used


def _check_forward(mu, log_var, eps, rng):
    as_float_array("mu", mu, None)
    same_array("log_var", log_var, "mu", mu)
    if eps is not None:
        same_array("eps", eps, "mu", mu)
    elif not isinstance(rng, np.random.Generator):
        raise ArgumentError(f"pass either eps (N, K) or rng (a np.random.Generator), "
                            f"got rng={rng!r:.40}")


def _check_backward(dz, cache):
    if not isinstance(cache, ReparamCache):
        raise ArgumentError(f"cache must be the ReparamCache forward returned, got "
                            f"{type(cache).__name__}")
    same_array("dz", dz, "cache.eps", cache.eps)


class Reparameterize:
    """Layer mapping (mu, log_var, eps) to z: reparam_forward and reparam_backward.

    Gradients flow to mu and log_var; eps is an input like the data.
    """
    params = grads = {}

    def forward(self, mu, log_var, eps=None, rng=None):
        """mu, log_var (N, K); eps (N, K), or drawn from `rng` when eps is None.

        Returns (z (N, K), cache).
        """
        _check_forward(mu, log_var, eps, rng)
        if eps is None:
            eps = rng.standard_normal(mu.shape, dtype=mu.dtype)
        z, std = reparam_forward(mu, log_var, eps)
        finite_result(("mu", "log_var", "eps"), z)
        return z, ReparamCache(std, eps)

    def backward(self, dz, cache):
        """dz (N, K) -> (dmu, dlog_var), each (N, K)."""
        _check_backward(dz, cache)
        dmu, dlog_var = reparam_backward(dz, cache.std, cache.eps)
        finite_result(("dz",), dlog_var)
        return dmu, dlog_var
