"""Testing a trained VAE: the ELBO (Doersch §2.3), and log P(X) by importance sampling.

The right side of Eq. 5 is a lower bound on log P(X).  Its gap is
D[Q(z|X) ‖ P(z|X)], so a tighter number needs log P(X) itself.  §2.3 only
says that sampling z from Q(z|X) estimates the *bound's* expectation far
faster than sampling z from the prior; it gives no estimator of log P(X).
The one here goes beyond the paper: importance sampling with weights
P(z)/Q(z|X) (Rezende et al. 2014, "Stochastic backpropagation and approximate
inference in deep generative models"), whose k-sample log-mean-exp is the
bound of Burda et al. 2016 ("Importance weighted autoencoders"); k is the
number of samples per example, IWAE's k (the lessons and exercises call it S).
The estimate of P(X) is unbiased:

    P(X) = E_{z~Q(z|X)}[ P(X|z) P(z) / Q(z|X) ]
    log P(X) ≈ log (1/k) ∑ᵢ exp(log P(X|zᵢ) + log P(zᵢ) − log Q(zᵢ|X)),  zᵢ ~ Q(z|X)

By Jensen the estimate is biased low, by less as k grows; k = 1 gives the
ELBO in expectation, and it never falls below it on average.

Sign convention: `evaluate_elbo` reports −ELBO and −log P(X|z), the costs
training minimizes (positive nats for binary X); `log_px_importance` returns
log P(X) itself.
"""
import sys

import numpy as np

from .batches import binarize_dynamic, binarize_threshold
from .errors import ArgumentError
from .losses import LOG_2PI, log_normal
from .progress import ProgressBar
from .validate import choice, positive_int

BINARIZE = ("none", "dynamic", "threshold")
IS_ROWS = 4096      # decoder rows per pass in log_px_importance: bounds memory at any k


def prepare(x, binarize, rng=None):
    """Test data as the model sees it: as is, thresholded at ½, or one fixed Bernoulli draw.

    "dynamic" training redraws every pixel each time (dynamic binarization,
    as in Burda et al. 2016; beyond the paper, whose §4.2 redraws only the
    CVAE's input column); for a test set that must not change between
    evaluations, one draw from `rng` is taken instead.
    """
    if binarize == "none":
        return x
    if binarize == "threshold":
        return binarize_threshold(x, 0.5)
    if binarize == "dynamic":
        if rng is None:
            raise ArgumentError("binarize='dynamic' needs an rng for its one fixed draw")
        return binarize_dynamic(x, rng)
    choice("binarize", binarize, BINARIZE)


def evaluate_elbo(model, x, rng, batch_size=1000) -> dict:
    """Mean over x (N, D) of −ELBO and its two parts, one ε per image (Eq. 5, Eq. 7).

    Returns {"neg_elbo", "recon_nll", "kl"} in nats (Python floats), with
    recon_nll = −log P(X|z) (positive for binary X) and neg_elbo = recon_nll + kl.
    """
    batch_size = positive_int("batch_size", batch_size)
    n = positive_int("number of examples", x.shape[0])
    recon_nll = kl = 0.0
    for start in range(0, n, batch_size):
        terms = model.elbo(x[start:start + batch_size], rng)
        recon_nll += float(np.sum(terms.recon_nll, dtype=np.float64))
        kl += float(np.sum(terms.kl, dtype=np.float64))
    return {"neg_elbo": (recon_nll + kl) / n, "recon_nll": recon_nll / n, "kl": kl / n}


def importance_log_weights(model, xb, mu, log_var, eps):
    """log P(X|z) + log P(z) − log Q(z|X) for S samples z = mu + Σ^{1/2} ⊙ eps of each of B examples.

    xb (B, D); mu, log_var (B, K); eps (S, B, K)  ->  (S, B) float64.
    log Q(z|X) is written with eps itself, −½ ∑_j (log 2π + log_var_j + eps_j²):
    recovering eps as (z − mu)/std would cancel catastrophically when std ≪ |mu|
    (a float32 model's confident posteriors), biasing every weight.
    """
    S, B, K = eps.shape
    mu64, log_var64, eps64 = (a.astype(np.float64) for a in (mu, log_var, eps))
    z = mu64 + np.exp(0.5 * log_var64) * eps64                         # (S, B, K)  Eq. 10
    x_rep = np.broadcast_to(xb, (S, *xb.shape)).reshape(S * B, -1)     # (S·B, D)
    log_px_z = model.log_likelihood(x_rep, z.reshape(S * B, K).astype(model.dtype)).reshape(S, B)
    log_pz = log_normal(z, 0.0, 0.0)                                   # (S, B)  prior N(0, I)
    log_qz = -0.5 * (LOG_2PI + log_var64 + eps64 ** 2).sum(axis=-1)    # (S, B)  Q(z|X)
    return log_px_z.astype(np.float64) + log_pz - log_qz


def log_px_importance(model, x, k, rng, batch_size=None, progress=False) -> np.ndarray:
    """Importance-sampled log P(X) per example, x (N, D) -> (N,) float64, in nats.

    k samples zᵢ ~ Q(z|X) per example, weights combined with log-sum-exp.
    Work is cut into passes of at most IS_ROWS decoder rows (batch_size
    examples × a chunk of the k samples); each pass's log-sum-exp is kept
    and the chunks are combined at the end, so memory does not grow with k.
    batch_size: examples encoded together (default: as many as fit in one
    pass with all k samples, at least 1).
    progress: a progress bar on stderr counting the N·k samples (with its ETA).
    """
    from scipy.special import logsumexp     # here, not at the top: `train` does not need it
    k = positive_int("k", k)
    n = positive_int("number of examples", x.shape[0])
    if batch_size is None:
        batch_size = max(1, IS_ROWS // k)
    batch_size = positive_int("batch_size", batch_size)
    chunk = max(1, min(k, IS_ROWS // batch_size))         # samples per pass
    out = np.empty(n, dtype=np.float64)
    bar = ProgressBar(total=n * k, desc=f"log P(X), k={k}", unit="sample", unit_scale=True,
                      leave=False, mininterval=0.5, file=sys.stderr, disable=not progress)
    with bar:
        for start in range(0, n, batch_size):
            xb = x[start:start + batch_size]                   # (B, D)
            mu, log_var = model.encode(xb)                     # (B, K) each
            parts = []                                         # one (B,) log-sum-exp per chunk
            for s0 in range(0, k, chunk):
                S = min(chunk, k - s0)
                eps = rng.standard_normal((S, *mu.shape), dtype=mu.dtype)
                parts.append(logsumexp(importance_log_weights(model, xb, mu, log_var, eps), axis=0))
                bar.update(S * len(xb))
            out[start:start + len(xb)] = logsumexp(np.stack(parts), axis=0) - np.log(k)
    return out
