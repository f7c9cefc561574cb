"""The two terms of the objective, with their gradients (Doersch §2.1–2.2, §2.4.3).

Sign convention, once for the whole package: the ELBO is the right side of
Eq. 5, E_{z~Q}[log P(X|z)] − D[Q(z|X) ‖ P(z)], and the code minimizes its
one-sample estimate with the sign flipped, −(Eq. 9):

    loss = −log P(X|z) + D[Q(z|X) ‖ P(z)],   z ~ Q(z|X)

in nats, summed over pixels and latent dims, averaged over the batch.  Every
function below returns per-example values (N,) and the gradient of their sum.
The first term is called `recon_nll` everywhere (a positive number of nats).

Each function checks its arguments (minivae.checks: float32/float64 arrays of
matching shapes, finite) and raises a ValueError naming the bad one; a result
that overflows raises checks.NonFiniteError naming the inputs, so no inf or
NaN and no NumPy warning comes out.  The models call the unchecked kernels
(and `_gaussian_nll`) directly on inputs they have checked already.
"""
from typing import NamedTuple

import numpy as np

from . import kernels
from .checks import as_float_array, finite_result, float_operand, real, same_array

LOG_2PI = np.log(2 * np.pi)


class ELBOTerms(NamedTuple):
    """Per-example terms of Eq. 5's right side, in nats: elbo = −recon_nll − kl."""
    elbo: np.ndarray        # (N,)
    recon_nll: np.ndarray   # (N,) −E_{z~Q}[log P(X|z)], averaged over the samples drawn
    kl: np.ndarray          # (N,) D[Q(z|X) ‖ P(z)], closed form (Eq. 7)


def kl_normal(mu, log_var):
    """D[N(mu, Σ) ‖ N(0, I)] per example, closed form, for diagonal Σ = diag exp(log_var).

    KL = ½ Σ_k (exp(lv_k) + mu_k² − 1 − lv_k)            [Eq. 7, tr and det of a diagonal Σ]
    ∂KL/∂mu = mu,   ∂KL/∂lv = ½ (exp(lv) − 1)
    mu, log_var (N, K) -> (kl (N,), dmu (N, K), dlog_var (N, K)).
    """
    as_float_array("mu", mu, None)
    same_array("log_var", log_var, "mu", mu)
    with np.errstate(all="ignore"):             # an overflow is reported just below
        kl, dmu, dlog_var = kernels.kl_normal(mu, log_var)
    finite_result(("mu", "log_var"), kl, dlog_var)
    return kl, dmu, dlog_var


def kl_gaussians(mu0, log_var0, mu1, log_var1):
    """D[N(mu0, diag e^lv0) ‖ N(mu1, diag e^lv1)] per example (value only).

    KL = ½ Σ_k ( e^(lv0−lv1) + (mu1 − mu0)² e^(−lv1) − 1 + lv1 − lv0 )   [Eq. 6,
    diagonal Σ: the trace, quadratic form and log-determinant split per dim]
    Arguments broadcast (arrays or numbers); the last axis is the latent axis k.
    """
    names = ("mu0", "log_var0", "mu1", "log_var1")
    mu0, log_var0, mu1, log_var1 = _operands(names, (mu0, log_var0, mu1, log_var1))
    with np.errstate(all="ignore"):             # an overflow is reported just below
        kl = 0.5 * (np.exp(log_var0 - log_var1) + (mu1 - mu0) ** 2 * np.exp(-log_var1)
                    - 1 + log_var1 - log_var0).sum(axis=-1)
    finite_result(names, kl)
    return kl


def bernoulli_nll(x_logits, x):
    """−log P(X|z) for X ~ Bernoulli(sig(x_logits)), per example (§1.1, binary X).

    nll = Σ_d max(l, 0) − l·x + log1p(exp(−|l|))        (never log sig(l): stable)
    ∂nll/∂l = sig(l) − x,    sig = the logistic sigmoid
    x may be any value in [0, 1]: then nll is the cross-entropy §4.1 uses, the
    expected −log P(X′|z) of a binarized X′ with P(X′_d = 1) = x_d.
    Returns (nll (N,), dlogits (N, D)).
    """
    as_float_array("x_logits", x_logits, None)
    same_array("x", x, "x_logits", x_logits, unit_interval=True)
    with np.errstate(all="ignore"):             # an overflow is reported just below
        nll, dlogits = kernels.bernoulli_nll(x_logits, x)
    finite_result(("x_logits", "x"), nll)
    return nll, dlogits


def gaussian_nll(x_mean, x, sigma):
    """−log N(x | x_mean, σ² I) per example, constant included (§1.1, §2.4.3; σ = sigma).

    nll = ½ ‖x − x_mean‖² / σ² + (D/2) log(2π σ²)
    ∂nll/∂x_mean = (x_mean − x) / σ²
    Returns (nll (N,), dx_mean (N, D)).
    """
    as_float_array("x_mean", x_mean, None)
    same_array("x", x, "x_mean", x_mean)
    sigma = real("sigma", sigma, 0, np.inf, low_open=True)
    with np.errstate(all="ignore"):             # an overflow is reported just below
        nll, dx_mean = _gaussian_nll(x_mean, x, sigma)
    finite_result(("x_mean", "x", "sigma"), nll, dx_mean)
    return nll, dx_mean


def _gaussian_nll(x_mean, x, sigma):
    """gaussian_nll without the checks, for inputs a model has checked."""
    r = x_mean - x
    D = x.shape[1]
    var = np.float64(sigma) ** 2
    nll = 0.5 * (r * r).sum(axis=1) / var + 0.5 * D * (LOG_2PI + 2 * np.log(sigma))
    return nll.astype(x.dtype, copy=False), r / np.asarray(var, dtype=x.dtype)


def log_normal(z, mu, log_var):
    """log N(z | mu, diag exp(log_var)) summed over the last axis.

    Used for the importance weights P(z)/Q(z|X) of minivae.evaluate, which go
    beyond the paper (Rezende et al. 2014; Burda et al. 2016).
    Arguments broadcast (arrays or numbers); the last axis is the latent axis k.
    """
    names = ("z", "mu", "log_var")
    z, mu, log_var = _operands(names, (z, mu, log_var))
    with np.errstate(all="ignore"):             # an overflow is reported just below
        log_p = -0.5 * (LOG_2PI + log_var + (z - mu) ** 2 * np.exp(-log_var)).sum(axis=-1)
    finite_result(names, log_p)
    return log_p


def _operands(names, values):
    """Checked arguments of a broadcasting function: arrays of one dtype, or numbers.

    They must broadcast to a shape with at least one axis (the latent axis).
    """
    arrays = [v for v in values if isinstance(v, np.ndarray)]
    dtype = arrays[0].dtype if arrays and arrays[0].dtype in (np.float32, np.float64) else None
    out = [float_operand(n, v, dtype) for n, v in zip(names, values)]
    try:
        shape = np.broadcast_shapes(*(a.shape for a in out))
    except ValueError:
        raise ValueError(f"{', '.join(names)} do not broadcast together: shapes "
                         f"{', '.join(str(a.shape) for a in out)}") from None
    if not shape:
        raise ValueError(f"at least one of {', '.join(names)} must have the latent axis "
                         "(be at least 1-D)")
    return out
