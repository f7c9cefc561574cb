"""Numba twins of minivae.losses: the KL of Eq. 7 and the Bernoulli −log P(X|z).

Each computes its value and its gradient in one pass, summing each row in
float64; exp and the per-pixel log stay with NumPy (SIMD).  In float32 the
cross-entropy takes one log per row instead of one per pixel (_xent_product).
"""
import math

import numpy as np

from .jit import like, rjit
from .layers import exp_neg_abs


@rjit
def _xent_combine(logits, x, e, log_u, nll, dlogits):
    """nll[n] = ∑_d max(l, 0) − l·x + log1p(e),  dlogits = sig(l) − x,  e = exp(−|l|).

    log1p(e) comes from log_u = log(u), u = 1 + e rounded, as
    log(u) · e / (u − 1), and as e itself where u rounds to 1 (Goldberg 1991,
    "What every computer scientist should know about floating-point
    arithmetic", Theorem 4: within a few ulps when log is accurate; u − 1 is
    exact for u in [1, 2]).  The factor e / (u − 1) undoes the rounding of
    1 + e, which plain log(1 + e) would carry into a relative error of up to
    100% for e near the precision's epsilon.  Why not np.log1p: NumPy's log1p
    has no SIMD version, and was 6× slower than its log on these arrays.
    """
    zero, one = logits.dtype.type(0), logits.dtype.type(1)
    for n in range(logits.shape[0]):
        l, t, e_n, lu, dl = logits[n], x[n], e[n], log_u[n], dlogits[n]
        acc = 0.0
        for d in range(l.size):
            u = one + e_n[d]
            log1p_e = e_n[d] if u == one else lu[d] * (e_n[d] / (u - one))
            acc += max(l[d], zero) - l[d] * t[d] + log1p_e
            s = one / u
            dl[d] = (s if l[d] >= zero else e_n[d] * s) - t[d]
        nll[n] = acc


TINY = 2.0 ** -29       # a float32 e at least this large makes 1 + e exact in float64
PRODUCT_MAX_D = 1023    # ∏ (1 + e) ≤ 2ᴰ stays below float64's largest number, 2¹⁰²⁴


@rjit
def _xent_product(logits, x, e, nll, dlogits):
    """_xent_combine for float32 logits, one log per row instead of one per pixel:

        ∑_d log1p(e_d) = log ∏_d (1 + e_d),   the product in float64

    Each factor 1 + e is exact in float64 for a float32 e ≥ 2⁻²⁹ (TINY); a
    smaller e goes into the sum as itself, as log1p(e) = e to within e/2 <
    2⁻³⁰ relative.  The product's D roundings (2⁻⁵³ each) leave the row
    within about a float32 ulp.  Needs D ≤ PRODUCT_MAX_D.
    """
    zero, one, tiny = logits.dtype.type(0), logits.dtype.type(1), logits.dtype.type(TINY)
    for n in range(logits.shape[0]):
        l, t, e_n, dl = logits[n], x[n], e[n], dlogits[n]
        acc, prod = 0.0, 1.0
        for d in range(l.size):
            big = e_n[d] if e_n[d] >= tiny else zero
            prod *= 1.0 + big
            acc += max(l[d], zero) - l[d] * t[d] + (e_n[d] - big)
            s = one / (one + e_n[d])
            dl[d] = (s if l[d] >= zero else e_n[d] * s) - t[d]
        nll[n] = acc + math.log(prod)


def bernoulli_nll_and_grad(x_logits, x):
    e = exp_neg_abs(x_logits)
    nll, dlogits = np.empty(x_logits.shape[0], x_logits.dtype), like(x_logits)
    if x_logits.dtype == np.float32 and x_logits.shape[1] <= PRODUCT_MAX_D:
        _xent_product(x_logits, x, e, nll, dlogits)
    else:
        log_u = np.add(e, 1, out=like(e))
        _xent_combine(x_logits, x, e, np.log(log_u, out=log_u), nll, dlogits)
    return nll, dlogits


@rjit
def _kl(mu, log_var, var, kl, dlog_var):
    """kl[n] = ½ ∑_j (var + mu² − 1 − lv),  dlog_var = ½ (var − 1),  var = exp(lv)."""
    half, one = mu.dtype.type(0.5), mu.dtype.type(1)
    for n in range(mu.shape[0]):
        m, lv, var_n, dlv = mu[n], log_var[n], var[n], dlog_var[n]
        acc = 0.0
        for j in range(m.size):
            acc += var_n[j] + m[j] * m[j] - one - lv[j]
            dlv[j] = half * (var_n[j] - one)
        kl[n] = 0.5 * acc


def kl_normal_and_grads(mu, log_var):
    kl, dlog_var = np.empty(mu.shape[0], mu.dtype), like(mu)
    _kl(mu, log_var, np.exp(log_var), kl, dlog_var)
    return kl, mu.copy(), dlog_var
