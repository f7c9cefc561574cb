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
"""
from typing import NamedTuple

import numpy as np

from .kernels import accelerated
from .validate import as_float_array, boundary, same_array


@accelerated
def reparam_forward(mu, log_var, eps):
    """z = mu + Σ^{1/2} ⊙ eps = mu + std ⊙ eps,   std = exp(½ log_var)      [Eq. 10]

    mu, log_var, eps (N, K) -> (z, std), each (N, K).
    """
    std = np.exp(0.5 * log_var)
    return mu + std * eps, std


@accelerated
def reparam_backward(dz, std, eps):
    """∂z/∂mu = 1,   ∂z/∂log_var = ½ std ⊙ eps  (= ½ (z − mu)), so

        dmu = dz,    dlog_var = dz ⊙ eps ⊙ ½ std.
    """
    return dz, dz * eps * (0.5 * std)


class ReparamCache(NamedTuple):
    std: np.ndarray         # (N, K) exp(½ log_var)
    eps: np.ndarray         # (N, K) the noise that was used


def _check_forward(layer, mu, log_var, eps=None, rng=None):
    as_float_array("mu", mu, None)
    same_array("log_var", log_var, "mu", mu)
    if eps is not None:
        same_array("eps", eps, "mu", mu)
    elif not isinstance(rng, np.random.Generator):
        raise ValueError(f"pass either eps (N, K) or rng (a np.random.Generator), "
                         f"got rng={rng!r:.40}")


def _check_backward(layer, dz, cache):
    if not isinstance(cache, ReparamCache):
        raise ValueError(f"cache must be the ReparamCache forward returned, got "
                         f"{type(cache).__name__}")
    same_array("dz", dz, "cache.eps", cache.eps)


class Reparameterize:
    """Layer mapping (mu, log_var, eps) to z: reparam_forward and reparam_backward.

    Gradients flow to mu and log_var; eps is an input like the data.
    """
    params = grads = {}

    @boundary(_check_forward, blame=("mu", "log_var", "eps"))
    def forward(self, mu, log_var, eps=None, rng=None):
        """mu, log_var (N, K); eps (N, K), or drawn from `rng` when eps is None.

        Returns (z (N, K), cache).
        """
        if eps is None:
            eps = rng.standard_normal(mu.shape, dtype=mu.dtype)
        z, std = reparam_forward(mu, log_var, eps)
        return z, ReparamCache(std, eps)

    @boundary(_check_backward, blame=("dz",))
    def backward(self, dz, cache):
        """dz (N, K) -> (dmu, dlog_var), each (N, K)."""
        return reparam_backward(dz, cache.std, cache.eps)
