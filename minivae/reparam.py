"""Reparameterization trick as a layer of its own (Doersch §2.2, Eq. 10, Fig. 4).

    z = mu + Σ^{1/2} ⊙ eps = mu + std ⊙ eps,   std = exp(½ log_var),   eps ~ N(0, I)

Sampling z directly from N(mu, Σ), Σ = diag exp(log_var), is a node backpropagation
cannot pass (Fig. 4, left).  Drawing eps outside the network makes z a
deterministic, differentiable function of (mu, log_var) (Fig. 4, right):

    ∂z/∂mu = 1,      ∂z/∂log_var = ½ exp(½ log_var) ⊙ eps = ½ (z − mu)

log_var is always log diag Σ, the log of the variance (the paper's reference
code carries the log of the standard deviation instead; the two differ by a
factor of 2 and nothing else).  σ is not used here: in minivae, as in the
paper, σ is only the Gaussian decoder's noise (§2.4.3).
"""
from typing import NamedTuple

import numpy as np

from . import kernels
from .checks import as_float_array, finite_result, same_array


class ReparamCache(NamedTuple):
    std: np.ndarray         # (N, K) exp(½ log_var)
    eps: np.ndarray         # (N, K) the noise that was used


class Reparameterize:
    """Layer mapping (mu, log_var, eps) to z; gradients flow to mu and log_var."""
    params = grads = {}

    def forward(self, mu, log_var, eps=None, rng=None):
        """mu, log_var (N, K); eps (N, K), or drawn from `rng` when eps is None.

        Returns (z, cache).
        """
        as_float_array("mu", mu, None)
        same_array("log_var", log_var, "mu", mu)
        if eps is None:
            if not isinstance(rng, np.random.Generator):
                raise ValueError(f"pass either eps (N, K) or rng (a np.random.Generator), "
                                 f"got rng={rng!r:.40}")
            eps = rng.standard_normal(mu.shape, dtype=mu.dtype)
        same_array("eps", eps, "mu", mu)
        with np.errstate(all="ignore"):             # an overflow is reported just below
            z, std = kernels.reparam_forward(mu, log_var, eps)
        finite_result(("mu", "log_var", "eps"), z)
        return z, ReparamCache(std, eps)

    def backward(self, dz, cache):
        """dz (N, K) -> (dmu, dlog_var), each (N, K)."""
        if not isinstance(cache, ReparamCache):
            raise ValueError(f"cache must be the ReparamCache forward returned, got "
                             f"{type(cache).__name__}")
        same_array("dz", dz, "cache.eps", cache.eps)
        with np.errstate(all="ignore"):             # an overflow is reported just below
            dmu, dlog_var = kernels.reparam_backward(dz, cache.std, cache.eps)
        finite_result(("dz",), dlog_var)
        return dmu, dlog_var
