"""The two terms of the objective, with their gradients (Doersch §2.1–2.2, §2.4.3).

Sign convention, once for the whole package: the ELBO is the right side of
Eq. 5, E_{z~Q}[log P(X|z)] − D[Q(z|X) ‖ P(z)], and the code minimizes its
one-sample estimate with the sign flipped, −(Eq. 9):

    loss = −log P(X|z) + D[Q(z|X) ‖ P(z)],   z ~ Q(z|X)

in nats, summed over pixels and latent dims, averaged over the batch.  Every
function below returns per-example values (N,) and the gradient of their sum.
The first term is called `recon_nll` everywhere (a positive number of nats).
"""
from typing import NamedTuple

import numpy as np

from . import kernels

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
    return kernels.kl_normal(mu, log_var)


def kl_gaussians(mu0, log_var0, mu1, log_var1):
    """D[N(mu0, diag e^lv0) ‖ N(mu1, diag e^lv1)] per example (value only).

    KL = ½ Σ_k ( e^(lv0−lv1) + (mu1 − mu0)² e^(−lv1) − 1 + lv1 − lv0 )   [Eq. 6,
    diagonal Σ: the trace, quadratic form and log-determinant split per dim]
    Arguments broadcast; the last axis is the latent axis k.
    """
    mu0, log_var0, mu1, log_var1 = np.broadcast_arrays(mu0, log_var0, mu1, log_var1)
    return 0.5 * (np.exp(log_var0 - log_var1) + (mu1 - mu0) ** 2 * np.exp(-log_var1)
                  - 1 + log_var1 - log_var0).sum(axis=-1)


def bernoulli_nll(x_logits, x):
    """−log P(X|z) for X ~ Bernoulli(sig(x_logits)), per example (§1.1, binary X).

    nll = Σ_d max(l, 0) − l·x + log1p(exp(−|l|))        (never log sig(l): stable)
    ∂nll/∂l = sig(l) − x,    sig = the logistic sigmoid
    x may be any value in [0, 1]: then nll is the cross-entropy §4.1 uses, the
    expected −log P(X′|z) of a binarized X′ with P(X′_d = 1) = x_d.
    Returns (nll (N,), dlogits (N, D)).
    """
    return kernels.bernoulli_nll(x_logits, x)


def gaussian_nll(x_mean, x, sigma):
    """−log N(x | x_mean, σ² I) per example, constant included (§1.1, §2.4.3; σ = sigma).

    nll = ½ ‖x − x_mean‖² / σ² + (D/2) log(2π σ²)
    ∂nll/∂x_mean = (x_mean − x) / σ²
    Returns (nll (N,), dx_mean (N, D)).
    """
    r = x_mean - x
    D = x.shape[1]
    nll = 0.5 * (r * r).sum(axis=1) / sigma ** 2 + 0.5 * D * (LOG_2PI + 2 * np.log(sigma))
    return nll.astype(x.dtype, copy=False), r / np.asarray(sigma ** 2, dtype=x.dtype)


def log_normal(z, mu, log_var):
    """log N(z | mu, diag exp(log_var)) summed over the last axis.

    Used for the importance weights P(z)/Q(z|X) of minivae.evaluate, which go
    beyond the paper (Rezende et al. 2014; Burda et al. 2016).
    """
    return -0.5 * (LOG_2PI + log_var + (z - mu) ** 2 * np.exp(-log_var)).sum(axis=-1)
