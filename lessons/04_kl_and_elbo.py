"""Lesson 04: the KL divergence and the evidence lower bound, checked exactly (Doersch §2.1–2.2, Eqs. 2–7).

Run:  python lessons/04_kl_and_elbo.py [--quick] [--seed S] [--out DIR]
"""
# %% [markdown]
# # 04 — KL divergence and the ELBO (§2.1–2.2, Eqs. 2–7)
#
# Everything a VAE optimizes rests on two facts from §2.1–2.2:
#
# * **Eq. 5**, log P(X) − D[Q(z|X) ‖ P(z|X)] = E_{z~Q}[log P(X|z)] − D[Q(z|X) ‖ P(z)],
#   an identity (not an approximation) that holds for *every* Q.  Its right
#   side (the ELBO) is what we can compute; its left side is what we want
#   (log P(X)) minus a non-negative error term.
# * **Eqs. 6–7**, the closed-form KL between Gaussians, which is why the KL
#   term of the loss needs no sampling.
#
# Part 1 checks minivae's closed-form KLs against brute-force Monte Carlo
# averages of log Q(z) − log P(z) (the definition, Eq. 2's form).  Part 2
# builds a model small enough that *every* quantity in Eq. 5 has a closed
# form — a linear decoder with Gaussian noise — and verifies the identity to
# rounding error, shows the bound is tight when Q is the true posterior, and
# plots how the gap grows as Q moves away.

# %%
import time

import numpy as np
from scipy import stats

from minivae import lesson
from minivae.losses import gaussian_nll, kl_gaussians, kl_normal, log_normal
from minivae.reparam import Reparameterize

args = lesson.parse_args(__doc__)
plt = lesson.setup_matplotlib()
rng = np.random.default_rng(args.seed)              # Monte Carlo draws
rng_setup = np.random.default_rng([args.seed, 4])   # the problems themselves, same with --quick
t_start = time.perf_counter()
n_mc = 20_000 if args.quick else 200_000          # Monte Carlo samples per check

# %% [markdown]
# ## Part 1 — closed-form KL against Monte Carlo (Eqs. 6–7)
#
# The KL divergence is an expectation, D[Q ‖ P] = E_{z~Q}[log Q(z) − log P(z)],
# so averaging log Q(z) − log P(z) over samples z ~ Q estimates it, with a
# standard error of (sample std)/√n.  Three cases:
#
# 1. a diagonal Q against the prior N(0, I) — Eq. 7, `minivae.losses.kl_normal`,
#    the VAE's KL term;
# 2. a diagonal Q against another diagonal Gaussian — Eq. 6,
#    `minivae.losses.kl_gaussians`;
# 3. full covariances — Eq. 6 in matrix form, written below (`kl_full`);
#    Part 2 needs it because the true posterior is correlated.
#
# The z-score (closed − MC)/SE should look like a draw from N(0, 1): |z| above
# 4 would mean the formula and the definition disagree.

# %%
def kl_full(mu0, cov0, mu1, cov1):
    """D[N(mu0, cov0) ‖ N(mu1, cov1)] for full covariances (Eq. 6).

    ½ ( tr(cov1⁻¹ cov0) + (mu1 − mu0)ᵀ cov1⁻¹ (mu1 − mu0) − k + log det cov1 − log det cov0 )
    mu (k,), cov (k, k) symmetric positive definite.
    """
    k = mu0.shape[0]
    L1 = np.linalg.cholesky(cov1)
    A = np.linalg.solve(L1, cov0)                   # L1⁻¹ cov0
    trace = np.trace(np.linalg.solve(L1.T, A))      # tr(cov1⁻¹ cov0)
    d = np.linalg.solve(L1, mu1 - mu0)              # whitened mean difference
    logdet1 = 2 * np.log(np.diag(L1)).sum()
    logdet0 = np.linalg.slogdet(cov0)[1]
    return 0.5 * (trace + d @ d - k + logdet1 - logdet0)


def mc_report(name, closed, samples):
    """Print the closed form beside the Monte Carlo mean ± SE; return the z-score."""
    est, se = samples.mean(), samples.std(ddof=1) / np.sqrt(samples.size)
    zscore = (closed - est) / se
    print(f"  {name:<34} closed form {closed:.5f} nats | MC {est:.5f} ± {se:.5f} nats "
          f"(n = {samples.size}) | z-score {zscore:+.2f}")
    return zscore


reparam = Reparameterize()
K = 3
mu_q = np.array([[0.8, -1.2, 0.3]])                 # (1, K) one Q, as the encoder would emit
lv_q = np.array([[-0.7, 0.4, -1.5]])                # log σ², per dim
eps = rng.standard_normal((n_mc, K))
z_q, _ = reparam.forward(np.repeat(mu_q, n_mc, 0), np.repeat(lv_q, n_mc, 0), eps)  # z ~ Q (Eq. 10)
log_q = log_normal(z_q, mu_q, lv_q)                 # (n,)

print("Part 1: closed-form KL vs Monte Carlo of E_Q[log Q(z) - log P(z)]")
mc_runs = {}
closed = kl_normal(mu_q, lv_q)[0][0]
mc_runs["Eq. 7: Q vs N(0, I)"] = (closed, log_q - log_normal(z_q, 0.0, 0.0))
mu_p, lv_p = np.array([0.5, 0.0, -0.4]), np.array([0.3, -0.2, 0.1])
closed = kl_gaussians(mu_q, lv_q, mu_p, lv_p)[0]
mc_runs["Eq. 6 (diagonal): Q vs N(m1, S1)"] = (closed, log_q - log_normal(z_q, mu_p, lv_p))
A = rng_setup.standard_normal((K, K))
cov_a = A @ A.T / K + 0.3 * np.eye(K)               # a correlated Gaussian
cov_b = np.diag(np.exp(lv_p)) + 0.4 * np.outer([1, -1, 1], [1, -1, 1]) / 3
m_a = np.array([0.2, -0.5, 1.0])
z_a = stats.multivariate_normal(m_a, cov_a).rvs(n_mc, random_state=rng)
closed = kl_full(m_a, cov_a, mu_p, cov_b)
mc_runs["Eq. 6 (full covariance)"] = (closed, stats.multivariate_normal(m_a, cov_a).logpdf(z_a)
                                      - stats.multivariate_normal(mu_p, cov_b).logpdf(z_a))
for name, (c, s) in mc_runs.items():
    mc_report(name, c, s)
diag_check = abs(kl_full(mu_q[0], np.diag(np.exp(lv_q[0])), mu_p, np.diag(np.exp(lv_p)))
                 - kl_gaussians(mu_q, lv_q, mu_p, lv_p)[0])
print(f"  kl_full on diagonal covariances vs kl_gaussians: |difference| = {diag_check:.1e} nats")

# %% [markdown]
# The figure `04_kl_mc.png` shows each running Monte Carlo average (with its
# ±2 SE band) closing in on the closed-form value as n grows like 1/√n.

# %%
fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
for ax, (name, (c, s)) in zip(axes, mc_runs.items()):
    n = np.arange(1, s.size + 1)
    run_mean = np.cumsum(s) / n
    run_se = s.std(ddof=1) / np.sqrt(n)
    keep = n >= 10
    ax.fill_between(n[keep], (run_mean - 2 * run_se)[keep], (run_mean + 2 * run_se)[keep],
                    color="C0", alpha=0.25, label="MC ± 2 SE")
    ax.plot(n[keep], run_mean[keep], color="C0", lw=1, label="running MC average")
    ax.axhline(c, color="k", ls="--", lw=1.2, label="closed form")
    ax.set_xscale("log")
    ax.set(title=name, xlabel="number of samples n", ylabel="KL estimate (nats)")
    ax.set_ylim(c - 0.6 * max(c, 0.5), c + 0.6 * max(c, 0.5))
    ax.legend(fontsize=8)
fig.suptitle("Part 1: Monte Carlo averages of log Q(z) − log P(z) converge to Eqs. 6–7")
fig.tight_layout()
lesson.save(fig, args, "04_kl_mc")

# %% [markdown]
# ## Part 2 — Eq. 5, exactly, on a linear-Gaussian model
#
# Take k = 2 latent dims, D = 5 observed dims and the decoder
#
#     z ~ N(0, I),      P(X|z) = N(X | W z + b, σ² I)          (Eq. 1 with a linear f)
#
# Then everything is Gaussian and known in closed form:
#
# * the evidence:   P(X) = N(X | b, W Wᵀ + σ² I);
# * the posterior:  P(z|X) = N(m, S) with S = (I + WᵀW/σ²)⁻¹, m = S Wᵀ(X − b)/σ²;
# * for any Gaussian Q = N(mq, Sq), the reconstruction term
#   E_{z~Q}[log P(X|z)] = −(D/2) log(2πσ²) − (‖X − W mq − b‖² + tr(W Sq Wᵀ)) / (2σ²).
#
# The left side of Eq. 5 uses log P(X) and D[Q ‖ P(z|X)]; the right side uses
# the reconstruction term and D[Q ‖ P(z)].  They share no intermediate
# quantity, so their agreement to ~1e-12 is a real check of the identity.

# %%
k, D, sigma = 2, 5, 0.5
W = rng_setup.standard_normal((D, k))
W[:, 1] = 0.8 * W[:, 0] + 0.5 * W[:, 1]             # nearly parallel columns: a correlated posterior
b = 0.5 * rng_setup.standard_normal(D)
x = W @ rng_setup.standard_normal(k) + b + sigma * rng_setup.standard_normal(D)     # one datapoint X

log_px = stats.multivariate_normal(b, W @ W.T + sigma ** 2 * np.eye(D)).logpdf(x)
precision = np.eye(k) + W.T @ W / sigma ** 2                           # S⁻¹
S_post = np.linalg.inv(precision)
m_post = S_post @ W.T @ (x - b) / sigma ** 2
rho = S_post[0, 1] / np.sqrt(S_post[0, 0] * S_post[1, 1])


def recon_term(mq, Sq):
    """E_{z~Q}[log P(X|z)] for Q = N(mq, Sq), closed form (see above)."""
    r = x - W @ mq - b
    return -0.5 * D * np.log(2 * np.pi * sigma ** 2) - (r @ r + np.trace(W @ Sq @ W.T)) / (2 * sigma ** 2)


def elbo(mq, Sq):
    """Right side of Eq. 5: E_Q[log P(X|z)] − D[Q ‖ N(0, I)]."""
    return recon_term(mq, Sq) - kl_full(mq, Sq, np.zeros(k), np.eye(k))


def eq5_left(mq, Sq):
    """Left side of Eq. 5: log P(X) − D[Q ‖ P(z|X)]."""
    return log_px - kl_full(mq, Sq, m_post, S_post)


print(f"Part 2: linear-Gaussian model, k = {k}, D = {D}, sigma = {sigma}")
print(f"  log P(X) = {log_px:.6f} nats; posterior mean {np.round(m_post, 4)}, "
      f"posterior correlation rho = {rho:.12f}")
Bq = rng_setup.standard_normal((k, k))
queries = {"full-covariance Q": (m_post + rng_setup.standard_normal(k), Bq @ Bq.T + 0.1 * np.eye(k)),
           "diagonal Q": (rng_setup.standard_normal(k), np.diag(np.exp(rng_setup.standard_normal(k))))}
for name, (mq, Sq) in queries.items():
    left, right = eq5_left(mq, Sq), elbo(mq, Sq)
    print(f"  Eq. 5, {name:<18} left {left:.15f} | right {right:.15f} | "
          f"|left - right| = {abs(left - right):.1e} nats")
mq, Sq = queries["diagonal Q"]
kl_lib = kl_normal(mq[None], np.log(np.diag(Sq))[None])[0][0]
print(f"  diagonal Q: D[Q||P(z)] by kl_full {kl_full(mq, Sq, np.zeros(k), np.eye(k)):.12f}, "
      f"by minivae kl_normal (Eq. 7) {kl_lib:.12f}")

# %% [markdown]
# The VAE never computes the reconstruction term exactly: it samples z from
# Q (Eq. 10) and evaluates −log P(X|z) with `minivae.losses.gaussian_nll`.
# That estimate is unbiased — here is the check against the closed form.

# %%
mq, Sq = queries["full-covariance Q"]
zs = stats.multivariate_normal(mq, Sq).rvs(n_mc, random_state=rng)     # (n, k)
x_mean = zs @ W.T + b                                                  # (n, D) decoder output f(z)
log_lik = -gaussian_nll(x_mean, np.broadcast_to(x, x_mean.shape), sigma)[0]
mc_report("E_Q[log P(X|z)], full-covariance Q", recon_term(mq, Sq), log_lik)

# %% [markdown]
# ### When is the bound tight?
#
# When Q is the true posterior the error term vanishes and the ELBO equals
# log P(X).  Moving Q away opens a gap of exactly D[Q ‖ P(z|X)].  Two ways
# to move it, each with a gap we can predict by hand:
#
# * shift the mean by t posterior standard deviations along a direction
#   (mean m + t·S^½ u, ‖u‖ = 1, same covariance): gap = t²/2;
# * scale the covariance by s² (mean m, covariance s² S): gap = ½ k (s² − 1 − ln s²).
#
# A VAE's Q is diagonal.  The best diagonal Q has the posterior's mean and
# variances 1/(S⁻¹)ᵢᵢ, and its gap −½ ln(1 − ρ²) is never zero when the
# posterior is correlated (ρ ≠ 0): the approximation error §2.4.1 discusses.

# %%
L_post = np.linalg.cholesky(S_post)
u = np.array([np.cos(0.7), np.sin(0.7)])            # any unit vector
shift_dir = L_post @ u                               # one posterior sd along u


def gap(mq, Sq):
    return log_px - elbo(mq, Sq)


print("  tightness and gap (gap = log P(X) - ELBO, computed from the right side of Eq. 5)")
print(f"  Q = P(z|X): ELBO = {elbo(m_post, S_post):.12f}, log P(X) = {log_px:.12f}, "
      f"gap = {gap(m_post, S_post):.1e} nats")
for t in (0.5, 1.0, 2.0):
    print(f"  shift t = {t:.1f}: gap = {gap(m_post + t * shift_dir, S_post):.12f} nats, "
          f"D[Q||P(z|X)] = {kl_full(m_post + t * shift_dir, S_post, m_post, S_post):.12f} nats")
for s in (0.5, 2.0):
    print(f"  scale s = {s:.1f}: gap = {gap(m_post, s ** 2 * S_post):.12f} nats, "
          f"D[Q||P(z|X)] = {kl_full(m_post, s ** 2 * S_post, m_post, S_post):.12f} nats")
S_diag = np.diag(1 / np.diag(precision))             # best diagonal Q (mean-field)
print(f"  best diagonal Q: gap = {gap(m_post, S_diag):.12f} nats "
      f"(-1/2 ln(1 - rho^2) = {-0.5 * np.log1p(-rho ** 2):.12f})")

# %%
ts = np.linspace(-3, 3, 121)
ss = np.exp(np.linspace(np.log(0.2), np.log(5), 121))
elbo_t = np.array([elbo(m_post + t * shift_dir, S_post) for t in ts])
elbo_s = np.array([elbo(m_post, s ** 2 * S_post) for s in ss])
t_pts, s_pts = ts[::10], ss[::10]
left_t = [eq5_left(m_post + t * shift_dir, S_post) for t in t_pts]
left_s = [eq5_left(m_post, s ** 2 * S_post) for s in s_pts]

fig, axes = plt.subplots(1, 3, figsize=(14.5, 4.5))
ax = axes[0]
circle = np.stack([np.cos(np.linspace(0, 2 * np.pi, 200)), np.sin(np.linspace(0, 2 * np.pi, 200))])
for r in (1, 2, 3):                                  # 1, 2, 3-sd ellipses: m + r·chol(S)·(cos, sin)
    post = m_post[:, None] + r * L_post @ circle
    diag = m_post[:, None] + r * np.sqrt(np.diag(S_diag))[:, None] * circle
    ax.plot(*post, color="C0", lw=1.5, label="true posterior P(z|X)" if r == 1 else None)
    ax.plot(*diag, color="C1", lw=1.2, ls="--", label="best diagonal Q" if r == 1 else None)
path = m_post + np.outer(ts, shift_dir)
ax.plot(path[:, 0], path[:, 1], color="C3", lw=1.5, label="means of shifted Q (t = −3…3)")
ax.plot(*m_post, "k+", ms=10)
ax.set(title=f"latent space: 1, 2, 3-sd ellipses (ρ = {rho:.2f})", xlabel="z₁", ylabel="z₂")
ax.set_aspect("equal", adjustable="datalim")
ax.legend(fontsize=7.5, loc="upper right")
for ax, xs, curve, px, pl, xlabel, title in (
        (axes[1], ts, elbo_t, t_pts, left_t, "shift t (posterior sds along u)", "moving Q's mean"),
        (axes[2], ss, elbo_s, s_pts, left_s, "scale s of Q's std (s = 1: posterior)", "scaling Q's covariance")):
    ax.axhline(log_px, color="k", lw=1.2, label="log P(X)")
    ax.plot(xs, curve, color="C0", lw=2, label="ELBO: E_Q[log P(X|z)] − D[Q‖P(z)]")
    ax.fill_between(xs, curve, log_px, color="C3", alpha=0.15, label="gap = D[Q‖P(z|X)]")
    ax.plot(px, pl, "o", color="C3", ms=5, label="log P(X) − D[Q‖P(z|X)] (left side)")
    ax.set(title=f"Eq. 5 while {title}", xlabel=xlabel, ylabel="nats")
    ax.set_ylim(log_px - 6, log_px + 1)
    ax.legend(fontsize=7.5, loc="lower center")
axes[2].set_xscale("log")
axes[2].set_xticks([0.2, 0.5, 1, 2, 5], labels=["0.2", "0.5", "1", "2", "5"])
axes[2].minorticks_off()
fig.suptitle("Part 2: the ELBO touches log P(X) only at the true posterior; the gap is D[Q‖P(z|X)]")
fig.tight_layout()
lesson.save(fig, args, "04_eq5_gap")

print(f"lesson 04 done in {time.perf_counter() - t_start:.1f} s")
