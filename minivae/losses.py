"""The two terms of the objective, with their gradients (Doersch §2.1–2.2, §2.4.3).

Sign convention, once for the whole package: the ELBO is the right side of
Eq. 5, E_{z~Q}[log P(X|z)] − D[Q(z|X) ‖ P(z)], and the code minimizes its
one-sample estimate with the sign flipped, −(Eq. 9):

    loss = −log P(X|z) + D[Q(z|X) ‖ P(z)],   z ~ Q(z|X)

in nats, summed over pixels and latent dims, averaged over the batch.  Every
function below returns per-example values (N,); those a model trains on also
return the gradient of their sum.
The first term is called `recon_nll` everywhere: −log P(X|z), a positive
number of nats for binary X (a density's −log can be negative: the Gaussian's).
Shapes: N batch, D data dimensions, K latent dimensions.

The three terms a model trains on come twice: the formula with its gradient,
`kl_normal_and_grads`, `bernoulli_nll_and_grad`, `gaussian_nll_and_grad`,
which a model calls on arrays it checked at its own door, and `kl_normal`,
`bernoulli_nll`, `gaussian_nll`, the same for any other caller, with its
arguments checked (ArgumentError) and its result too (NonFiniteError).  The
first two formulas hand their work to their Numba twins
(minivae/kernels/losses.py) when the numba backend is on, the default;
`--backend numpy` (or MINIVAE_BACKEND=numpy) runs the NumPy lines below, and
a formula you edited runs as edited on either backend (minivae/kernels/).
"""
from typing import NamedTuple

import numpy as np

from . import kernels
from .errors import ArgumentError
from .validate import as_float_array, finite_result, float_operand, real, same_array

LOG_2PI = np.log(2 * np.pi)
twin = kernels.twins(__name__)      # each formula's Numba twin, or None: see the docstring


class ELBOTerms(NamedTuple):
    """Per-example terms of Eq. 5's right side, in nats: elbo = −recon_nll − kl."""
    elbo: np.ndarray        # (N,)
    recon_nll: np.ndarray   # (N,) −E_{z~Q}[log P(X|z)], averaged over the samples drawn
    kl: np.ndarray          # (N,) D[Q(z|X) ‖ P(z)], closed form (Eq. 7)


def kl_normal_and_grads(mu, log_var):
    """D[N(mu, Σ) ‖ N(0, I)] per example, closed form, for diagonal Σ = diag exp(log_var).

        KL = ½ ∑_j (exp(lv_j) + mu_j² − 1 − lv_j)        [Eq. 7: tr Σ, μᵀμ, −K, −log det Σ]
        ∂KL/∂mu = mu,    ∂KL/∂lv = ½ (exp(lv) − 1)

    mu, log_var (N, K) -> (kl (N,), dmu (N, K), dlog_var (N, K)).
    """
    if twin.kl_normal_and_grads:
        return twin.kl_normal_and_grads(mu, log_var)
    var = np.exp(log_var)
    kl = 0.5 * (var + mu * mu - 1 - log_var).sum(axis=1)
    return kl, mu.copy(), 0.5 * (var - 1)


def kl_normal(mu, log_var):
    """kl_normal_and_grads (Eq. 7) with its arguments checked, then its result."""
    as_float_array("mu", mu, None)
    same_array("log_var", log_var, "mu", mu)
    kl, dmu, dlog_var = kl_normal_and_grads(mu, log_var)
    finite_result(("mu", "log_var"), kl, dlog_var)
    return kl, dmu, dlog_var


def bernoulli_nll_and_grad(x_logits, x):
    """−log P(X|z) for X ~ Bernoulli(sig(x_logits)), per example (§1.1, binary X).

        nll = ∑_d max(l, 0) − l·x + log(1 + exp(−|l|))      (never log sig(l): stable)
        ∂nll/∂l = sig(l) − x,    sig = the logistic sigmoid

    x may be any value in [0, 1]: then nll is the cross-entropy §4.1 trains on,
    the expected −log P(X′|z) of a binarized X′ with P(X′_d = 1) = x_d.
    x_logits, x (N, D) -> (nll (N,), dx_logits (N, D)).
    """
    if twin.bernoulli_nll_and_grad:
        return twin.bernoulli_nll_and_grad(x_logits, x)
    e = np.exp(-np.abs(x_logits))                      # in (0, 1]: nothing overflows
    nll = (np.maximum(x_logits, 0) - x_logits * x + np.log1p(e)).sum(axis=1)
    sig = np.where(x_logits >= 0, 1 / (1 + e), e / (1 + e))     # sig(l), from the same e
    return nll, sig.astype(x_logits.dtype, copy=False) - x


def bernoulli_nll(x_logits, x):
    """bernoulli_nll_and_grad with its arguments checked (x in [0, 1]), then its result."""
    as_float_array("x_logits", x_logits, None)
    same_array("x", x, "x_logits", x_logits, unit_interval=True)
    nll, dx_logits = bernoulli_nll_and_grad(x_logits, x)
    finite_result(("x_logits", "x"), nll, dx_logits)
    return nll, dx_logits


def gaussian_nll_and_grad(x_mean, x, sigma):
    """−log N(x | x_mean, σ² I) per example, constant included (§1.1, §2.4.3; σ = sigma).

        nll = ½ ‖x − x_mean‖² / σ² + (D/2) log(2π σ²)
        ∂nll/∂x_mean = (x_mean − x) / σ²

    x_mean, x (N, D) -> (nll (N,), dx_mean (N, D)).
    """
    r = x_mean - x
    D = x.shape[1]
    var = np.float64(sigma) ** 2
    nll = 0.5 * (r * r).sum(axis=1) / var + 0.5 * D * (LOG_2PI + 2 * np.log(sigma))
    return nll.astype(x.dtype, copy=False), r / np.asarray(var, dtype=x.dtype)


def gaussian_nll(x_mean, x, sigma):
    """gaussian_nll_and_grad with its arguments checked (sigma > 0), then its result."""
    as_float_array("x_mean", x_mean, None)
    same_array("x", x, "x_mean", x_mean)
    real("sigma", sigma, 0, np.inf, low_open=True)
    nll, dx_mean = gaussian_nll_and_grad(x_mean, x, sigma)
    finite_result(("x_mean", "x", "sigma"), nll, dx_mean)
    return nll, dx_mean


def kl_gaussians(mu0, log_var0, mu1, log_var1):
    """D[N(mu0, diag e^lv0) ‖ N(mu1, diag e^lv1)] per example (value only).

        KL = ½ ∑_j ( e^(lv0−lv1) + (mu1 − mu0)² e^(−lv1) − 1 + lv1 − lv0 )     [Eq. 6,
        diagonal Σ: the trace, quadratic form and log-determinant split per dim]

    Arguments broadcast (arrays or numbers); the last axis is the latent axis.
    """
    names = ("mu0", "log_var0", "mu1", "log_var1")
    mu0, log_var0, mu1, log_var1 = _operands(names, (mu0, log_var0, mu1, log_var1))
    kl = 0.5 * (np.exp(log_var0 - log_var1) + (mu1 - mu0) ** 2 * np.exp(-log_var1)
                - 1 + log_var1 - log_var0).sum(axis=-1)
    finite_result(names, kl)
    return kl


def log_normal(z, mu, log_var):
    """log N(z | mu, diag exp(log_var)) summed over the last axis.

        log N = −½ ∑_j (log 2π + lv_j + (z_j − mu_j)² exp(−lv_j))

    Used for the importance weights P(z)/Q(z|X) of minivae.evaluate, which go
    beyond the paper (Rezende et al. 2014; Burda et al. 2016).
    Arguments broadcast (arrays or numbers); the last axis is the latent axis.
    """
    z, mu, log_var = _operands(("z", "mu", "log_var"), (z, mu, log_var))
    log_p = -0.5 * (LOG_2PI + log_var + (z - mu) ** 2 * np.exp(-log_var)).sum(axis=-1)
    finite_result(("z", "mu", "log_var"), log_p)
    return log_p


def _operands(names, values):
    """Arguments of a broadcasting function as arrays of one dtype (numbers included).

    They must broadcast to a shape with at least one axis (the latent axis).
    """
    arrays = [v for v in values if isinstance(v, np.ndarray)]
    dtype = arrays[0].dtype if arrays and arrays[0].dtype in (np.float32, np.float64) else None
    out = [float_operand(n, v, dtype) for n, v in zip(names, values)]
    try:
        shape = np.broadcast_shapes(*(a.shape for a in out))
    except ValueError:
        raise ArgumentError(f"{', '.join(names)} do not broadcast together: shapes "
                            f"{', '.join(str(a.shape) for a in out)}") from None
    if not shape:
        raise ArgumentError(f"at least one of {', '.join(names)} must have the latent axis "
                            "(be at least 1-D)")
    return out
