"""Lesson 04: from the KL divergence to the ELBO, each step checked exactly (Doersch §2.1–2.2, Eqs. 2–9; §2.4.1).

Run:  python lessons/04_kl_and_elbo.py [--quick] [--seed S] [--out DIR]
"""
# %% [markdown]
# # 04 — From the KL divergence to the ELBO (§2.1–2.2, Eqs. 2–9; §2.4.1)
#
# §2.1 derives the VAE's objective in four short steps, for one datapoint X
# and any distribution Q over z:
#
# * **Eq. 2**, the definition: D[Q(z) ‖ P(z|X)] = E_{z~Q}[log Q(z) − log P(z|X)].
# * **Eq. 3**, Bayes' rule inside it, log P(z|X) = log P(X|z) + log P(z) − log P(X):
#   D[Q(z) ‖ P(z|X)] = E_{z~Q}[log Q(z) − log P(X|z) − log P(z)] + log P(X).
#   log P(X) is a constant in z, so it moves outside E_{z~Q}.
# * **Eq. 4**, rearranged, with part of the expectation gathered into a KL to the prior:
#   log P(X) − D[Q(z) ‖ P(z|X)] = E_{z~Q}[log P(X|z)] − D[Q(z) ‖ P(z)].
# * **Eq. 5**, the same with a Q that depends on X, Q(z|X): the VAE's
#   objective.  The right side (the ELBO) is computable; the left side is what
#   we want, log P(X), minus a non-negative error term.
#
# §2.2 then makes Q(z|X) a Gaussian with diagonal Σ, so the KL to the prior
# has the closed form of Eqs. 6–7, averages over the data (Eq. 8), and keeps
# one sample of X and of z per term (Eq. 9), whose average over a minibatch
# estimates Eq. 8.
#
# Every step is checked here on a model small enough that *every* quantity
# has a closed form: a linear decoder with Gaussian noise.  The last part
# takes up §2.4.1's argument that many decoders give the same P(X) and that
# the error term D[Q(z|X) ‖ P(z|X)] favours one whose posterior Q can match.
# §2.4.1 makes it about posteriors that are not Gaussian; here the posterior
# is Gaussian but correlated, and Q is diagonal, so we apply the argument to
# that mismatch instead (our own reading, not the paper's).
#
# 1. the model and its exact log P(X) and posterior;
# 2. Eqs. 2 → 3 → 4 → 5, one numerical check per step;
# 3. Eqs. 6–7, the closed-form KLs, against Monte Carlo;
# 4. Eqs. 8–9: the average over the data, estimated by minibatch averages of Eq. 9;
# 5. when the bound is tight, and the best diagonal Q;
# 6. §2.4.1: same P(X), different decoders.

# %%
import time

import numpy as np
from scipy import stats

from minivae import losses
from minivae.classroom import lesson
from minivae.gradcheck import numerical_grad, rel_error
from minivae.losses import gaussian_nll, kl_gaussians, log_normal
from minivae.reparam import Reparameterize

args = lesson.parse_args(__doc__)
plt = lesson.setup_matplotlib()
rng = np.random.default_rng(args.seed)              # Monte Carlo draws
rng_setup = np.random.default_rng([args.seed, 4])   # the model and Q, the same with --quick
t_start = time.perf_counter()
n_mc = 20_000 if args.quick else 200_000            # Monte Carlo samples per check
n_data = 2_000 if args.quick else 20_000            # size of the dataset for Eqs. 8–9
reparam = Reparameterize()

# %% [markdown]
# ## Eq. 7 in code: the KL term and its gradients
#
# §2.2 makes Q(z|X) = N(μ(X), Σ(X)) with diagonal Σ, and the KL term of
# Eq. 5 against the prior N(0, I) then has the closed form of Eq. 7:
#
#     D[N(μ, Σ) ‖ N(0, I)] = ½ (tr Σ + μᵀμ − K − log det Σ) = ½ ∑_j (exp(lv_j) + μ_j² − 1 − lv_j)
#
# with lv = log_var = log diag Σ (so tr Σ = ∑_j exp(lv_j) and
# log det Σ = ∑_j lv_j).  Training needs its gradient with respect to μ and
# to log_var, one term at a time.  The next cell computes both; the cell
# after it checks them against central differences.  Parts 2–4 use this
# `kl_normal`, the same function as `minivae.losses.kl_normal`.

# %%
import numpy as np


def kl_normal(mu, log_var):
    """D[N(mu, Σ) ‖ N(0, I)] per example for diagonal Σ = diag exp(log_var), with its gradients.

        KL = ½ ∑_j (exp(log_var_j) + mu_j² − 1 − log_var_j)        [Eq. 7]

    mu, log_var (N, K) -> (kl (N,), dmu = ∂KL/∂mu (N, K), dlog_var = ∂KL/∂log_var (N, K)).
    """
    var = np.exp(log_var)
    kl = 0.5 * (var + mu * mu - 1 - log_var).sum(axis=1)
    ### BEGIN SOLUTION
    dmu, dlog_var = mu.copy(), 0.5 * (var - 1)       # ∂KL/∂mu = mu, ∂KL/∂log_var = ½ (exp(log_var) − 1)
    ### END SOLUTION
    return kl, dmu, dlog_var


# %%
rng_check = np.random.default_rng([args.seed, 7])
mu_c, lv_c = rng_check.standard_normal((4, 3)), rng_check.standard_normal((4, 3))
kl_c, dmu_c, dlv_c = kl_normal(mu_c, lv_c)
print("Eq. 7: kl_normal's gradients against central differences of sum_n KL_n "
      "(float64, h = 1e-5, threshold 1e-7)")
for name, a, grad in (("dKL/dmu", mu_c, dmu_c), ("dKL/dlog_var", lv_c, dlv_c)):
    err = rel_error(grad, numerical_grad(lambda: kl_normal(mu_c, lv_c)[0].sum(), a))
    print(f"  {name:<13} max rel. error {err:.2e}  {'pass' if err < 1e-7 else 'FAIL'}")
print(f"  against minivae.losses.kl_normal: max |difference| "
      f"{max(np.abs(a - b).max() for a, b in zip((kl_c, dmu_c, dlv_c), losses.kl_normal(mu_c, lv_c))):.1e}")

# %% [markdown]
# ## Part 1 — a model where everything is exact
#
# Take K = 2 latent dims (the k of the paper's Eqs. 6–7; minivae's `z_dim`),
# D = 5 observed dims and Eq. 1 with a linear f:
#
#     z ~ N(0, I),      P(X|z) = N(X | W z + b, σ² I),      σ the decoder noise.
#
# Then everything is Gaussian and known in closed form:
#
# * the evidence:   P(X) = N(X | b, W Wᵀ + σ² I);
# * the posterior:  P(z|X) = N(m, S) with S = (I + WᵀW/σ²)⁻¹ and
#   m = S Wᵀ(X − b)/σ² (complete the square in z in log P(X|z) + log P(z));
# * for any Gaussian Q = N(mq, Sq), the expected log-likelihood (`e_log_lik`)
#   E_{z~Q}[log P(X|z)] = −(D/2) log(2πσ²) − (‖X − W mq − b‖² + tr(W Sq Wᵀ)) / (2σ²).
#   It is the first term of Eq. 5's right side, with the plus sign: the
#   negative of the expected reconstruction cost, which the code calls
#   `recon_nll` = −log P(X|z).
#
# The model is printed in full so the numbers can be redone by hand or by
# another program.

# %%
K, D, sigma = 2, 5, 0.5
W = rng_setup.standard_normal((D, K))
W[:, 1] = 0.8 * W[:, 0] + 0.5 * W[:, 1]             # nearly parallel columns: a correlated posterior
b = 0.5 * rng_setup.standard_normal(D)
x = W @ rng_setup.standard_normal(K) + b + sigma * rng_setup.standard_normal(D)     # one datapoint X
Bq = rng_setup.standard_normal((K, K))
m_q, S_q = rng_setup.standard_normal(K), Bq @ Bq.T + 0.1 * np.eye(K)               # a Q that ignores X


def log_px_of(W, X):
    """log P(X) = log N(X | b, W Wᵀ + σ² I); X (D,) or (N, D)."""
    return stats.multivariate_normal(b, W @ W.T + sigma ** 2 * np.eye(D)).logpdf(X)


def posterior(W, X):
    """P(z|X) = N(m, S): (m (K,) or (N, K), S (K, K), S⁻¹ (K, K))."""
    precision = np.eye(K) + W.T @ W / sigma ** 2
    S = np.linalg.inv(precision)
    return (X - b) @ W @ S / sigma ** 2, S, precision     # m = S Wᵀ(X − b)/σ², row-wise


def kl_full(mu0, cov0, mu1, cov1):
    """D[N(mu0, cov0) ‖ N(mu1, cov1)] for full covariances (Eq. 6).

    ½ ( tr(cov1⁻¹ cov0) + (mu1 − mu0)ᵀ cov1⁻¹ (mu1 − mu0) − K + log det cov1 − log det cov0 )
    mu (K,), cov (K, K) symmetric positive definite.
    """
    L1 = np.linalg.cholesky(cov1)
    trace = np.trace(np.linalg.solve(L1.T, np.linalg.solve(L1, cov0)))    # tr(cov1⁻¹ cov0)
    d = np.linalg.solve(L1, mu1 - mu0)                                     # whitened mean difference
    logdet1 = 2 * np.log(np.diag(L1)).sum()
    return 0.5 * (trace + d @ d - len(mu0) + logdet1 - np.linalg.slogdet(cov0)[1])


def e_log_lik(mq, Sq, W=W, X=x):
    """E_{z~Q}[log P(X|z)] for Q = N(mq, Sq), closed form (see above)."""
    r = X - W @ mq - b
    return -0.5 * D * np.log(2 * np.pi * sigma ** 2) - (r @ r + np.trace(W @ Sq @ W.T)) / (2 * sigma ** 2)


def elbo(mq, Sq, W=W, X=x):
    """Right side of Eqs. 4–5: E_Q[log P(X|z)] − D[Q ‖ N(0, I)]."""
    return e_log_lik(mq, Sq, W, X) - kl_full(mq, Sq, np.zeros(K), np.eye(K))


log_px = log_px_of(W, x)
m_post, S_post, precision = posterior(W, x)
rho = S_post[0, 1] / np.sqrt(S_post[0, 0] * S_post[1, 1])
print(f"Part 1: linear-Gaussian model, K = {K}, D = {D}, sigma = {sigma}")
print(f"  W = {W.tolist()}")
print(f"  b = {b.tolist()}")
print(f"  X = {x.tolist()}")
print(f"  log P(X) = {log_px:.12f} nats; posterior mean {np.round(m_post, 4)}, "
      f"posterior correlation rho = {rho:.12f}")

# %% [markdown]
# ## Part 2 — Eqs. 2 → 3 → 4 → 5, one check per step
#
# Take a Q = N(mq, Sq) that knows nothing about X (the derivation allows any
# Q).  **Eq. 2** is an expectation, so averaging log Q(z) − log P(z|X) over
# draws z ~ Q estimates it; the closed form of Eq. 6 must fall within a few
# standard errors.  **Eq. 3** rests on Bayes' rule, which holds for every
# single z, so we check it sample by sample.  Then we check the whole of
# Eq. 3 with every expectation in closed form:
# E_Q[log Q] = −½(K log 2π + log det Sq + K) and
# E_Q[log P(z)] = −½(K log 2π + ‖mq‖² + tr Sq).
# **Eq. 4** compares log P(X) − D[Q ‖ P(z|X)] with
# E_Q[log P(X|z)] − D[Q ‖ P(z)].  The two sides share no intermediate
# quantity, so agreement to rounding error is a real check.  **Eq. 5** is
# Eq. 4 with Q chosen per datapoint.  For it we use an *encoder*
# μ(X) = 0.8 · m(X), a deliberately imperfect mean, and a diagonal Σ, and
# check both sides on a whole dataset drawn from the model.

# %%
def mc_report(name, closed, samples):
    """Print the closed form beside the Monte Carlo mean ± SE; return the z-score."""
    est, se = samples.mean(), samples.std(ddof=1) / np.sqrt(samples.size)
    zscore = (closed - est) / se
    print(f"  {name:<42} closed form {closed:.5f} nats | MC {est:.5f} ± {se:.5f} nats "
          f"(n = {samples.size}) | z-score {zscore:+.2f}")
    return zscore


print(f"\nPart 2: the derivation, for Q = N(mq, Sq) with mq = {m_q.tolist()}, Sq = {S_q.tolist()}")
z = stats.multivariate_normal(m_q, S_q).rvs(n_mc, random_state=rng)          # (n, K) z ~ Q
log_q = stats.multivariate_normal(m_q, S_q).logpdf(z)
log_post = stats.multivariate_normal(m_post, S_post).logpdf(z)               # log P(z|X)
log_lik = -gaussian_nll(z @ W.T + b, np.broadcast_to(x, (n_mc, D)), sigma)[0]   # log P(X|z)
log_prior = log_normal(z, 0.0, 0.0)                                          # log P(z)
d_post = kl_full(m_q, S_q, m_post, S_post)
mc_report("Eq. 2: E_Q[log Q(z) - log P(z|X)]", d_post, log_q - log_post)
bayes = np.abs(log_post - (log_lik + log_prior - log_px)).max()
print(f"  Eq. 3, Bayes' rule at each of {n_mc} samples: "
      f"max |log P(z|X) - (log P(X|z) + log P(z) - log P(X))| = {bayes:.1e} nats")
e_log_q = -0.5 * (K * np.log(2 * np.pi) + np.linalg.slogdet(S_q)[1] + K)
e_log_prior = -0.5 * (K * np.log(2 * np.pi) + m_q @ m_q + np.trace(S_q))
eq3 = e_log_q - e_log_lik(m_q, S_q) - e_log_prior + log_px
print(f"  Eq. 3: E_Q[log Q - log P(X|z) - log P(z)] + log P(X) = {eq3:.12f} | "
      f"D[Q||P(z|X)] by Eq. 6 = {d_post:.12f}")
eq4_left, eq4_right = log_px - d_post, elbo(m_q, S_q)
print(f"  Eq. 4: left log P(X) - D[Q||P(z|X)] = {eq4_left:.12f} | "
      f"right E_Q[log P(X|z)] - D[Q||P(z)] = {eq4_right:.12f} | difference {abs(eq4_left - eq4_right):.1e}")

# %% [markdown]
# For Eq. 5 the dataset is n_data points drawn from the model itself
# (z ~ N(0, I), then X ~ P(X|z)).  The encoder gives every X its own
# Q(z|X) = N(μ(X), Σ): μ(X) = 0.8 m(X) and Σ = diag(1/(S⁻¹)ᵢᵢ) (Part 5 says
# where that Σ comes from).  The left side uses log P(X) and Eq. 6 against
# the exact posterior; the right side uses the expected log-likelihood
# E_Q[log P(X|z)] (`e_log_lik_data`) and `kl_normal` above, the
# VAE's own Eq. 7.

# %%
SHRINK = 0.8                                         # the encoder's deliberate error in the mean
rng_data = np.random.default_rng([args.seed, 40])
X_data = rng_data.standard_normal((n_data, K)) @ W.T + b + sigma * rng_data.standard_normal((n_data, D))
m_data, _, _ = posterior(W, X_data)                  # (N, K) exact posterior means
mu_enc = SHRINK * m_data                             # (N, K) μ(X)
var_enc = 1 / np.diag(precision)                     # (K,)  diagonal of Σ, the same for every X
lv_enc = np.broadcast_to(np.log(var_enc), mu_enc.shape)    # (N, K) log_var = log diag Σ


def kl_to_posterior(mu, var):
    """D[N(mu, diag var) ‖ P(z|X)] row-wise (Eq. 6 with cov1 = S): mu (N, K), var (K,) -> (N,)."""
    dm = m_data - mu
    return 0.5 * (np.diag(precision) @ var + np.einsum("ni,ij,nj->n", dm, precision, dm) - K
                  - np.linalg.slogdet(precision)[1] - np.log(var).sum())


log_px_data = log_px_of(W, X_data)                   # (N,)
gap_data = kl_to_posterior(mu_enc, var_enc)          # (N,) D[Q(z|X) ‖ P(z|X)]
left = log_px_data - gap_data
resid = X_data - mu_enc @ W.T - b
e_log_lik_data = (-0.5 * D * np.log(2 * np.pi * sigma ** 2)
                  - ((resid ** 2).sum(1) + np.trace(W @ np.diag(var_enc) @ W.T)) / (2 * sigma ** 2))
right = e_log_lik_data - kl_normal(mu_enc, lv_enc)[0]    # E_Q[log P(X|z)] − D[Q(z|X) ‖ P(z)]
print(f"  Eq. 5 for each of {n_data} datapoints X (encoder mu(X) = {SHRINK} x posterior mean, diagonal Sigma): "
      f"max |left - right| = {np.abs(left - right).max():.1e} nats; "
      f"D[Q(z|X)||P(z|X)] from {gap_data.min():.4f} to {gap_data.max():.4f} nats")

# %% [markdown]
# ## Part 3 — the closed-form KLs of §2.2 against Monte Carlo (Eqs. 6–7)
#
# With Q(z|X) Gaussian, D[Q(z|X) ‖ P(z)] needs no sampling.  Three cases,
# each against the Monte Carlo average of log Q(z) − log P(z) (Eq. 2's form):
#
# 1. a diagonal Q against the prior N(0, I): Eq. 7, `kl_normal` (written at
#    the top, as `minivae.losses.kl_normal`), the VAE's KL term;
# 2. a diagonal Q against another diagonal Gaussian: Eq. 6,
#    `minivae.losses.kl_gaussians`;
# 3. full covariances: Eq. 6 in matrix form, `kl_full` above.
#
# The z-score (closed − MC)/SE should look like a draw from N(0, 1); |z|
# above 4 would mean the formula and the definition disagree.  The last row
# checks the expected log-likelihood E_Q[log P(X|z)] the same way: the VAE
# never computes it exactly, but samples z from Q (Eq. 10) and evaluates the
# reconstruction cost `recon_nll` = −log P(X|z) with
# `minivae.losses.gaussian_nll`, the same quantity with the opposite sign.

# %%
mu_1 = np.array([[0.8, -1.2, 0.3]])                 # (1, 3) one Q in 3-D, as the encoder would emit
lv_1 = np.array([[-0.7, 0.4, -1.5]])                # log_var = log diag Σ, per dim
eps = rng.standard_normal((n_mc, 3))
z_1, _ = reparam.forward(np.repeat(mu_1, n_mc, 0), np.repeat(lv_1, n_mc, 0), eps)  # z ~ Q (Eq. 10)
log_q1 = log_normal(z_1, mu_1, lv_1)                # (n,)
mu_p, lv_p = np.array([0.5, 0.0, -0.4]), np.array([0.3, -0.2, 0.1])
A = rng_setup.standard_normal((3, 3))
cov_a = A @ A.T / 3 + 0.3 * np.eye(3)               # a correlated Gaussian
cov_b = np.diag(np.exp(lv_p)) + 0.4 * np.outer([1, -1, 1], [1, -1, 1]) / 3
m_a = np.array([0.2, -0.5, 1.0])
z_a = stats.multivariate_normal(m_a, cov_a).rvs(n_mc, random_state=rng)

print("\nPart 3: closed-form KL vs Monte Carlo of E_Q[log Q(z) - log P(z)]")
mc_runs = {
    "Eq. 7: Q vs N(0, I)": (kl_normal(mu_1, lv_1)[0][0], log_q1 - log_normal(z_1, 0.0, 0.0)),
    "Eq. 6 (diagonal): Q vs N(m1, S1)": (kl_gaussians(mu_1, lv_1, mu_p, lv_p)[0],
                                         log_q1 - log_normal(z_1, mu_p, lv_p)),
    "Eq. 6 (full covariance)": (kl_full(m_a, cov_a, mu_p, cov_b),
                                stats.multivariate_normal(m_a, cov_a).logpdf(z_a)
                                - stats.multivariate_normal(mu_p, cov_b).logpdf(z_a))}
for name, (c, s) in mc_runs.items():
    mc_report(name, c, s)
diag_check = abs(kl_full(mu_1[0], np.diag(np.exp(lv_1[0])), mu_p, np.diag(np.exp(lv_p)))
                 - kl_gaussians(mu_1, lv_1, mu_p, lv_p)[0])
print(f"  kl_full on diagonal covariances vs kl_gaussians: |difference| = {diag_check:.1e} nats")
z_r = stats.multivariate_normal(m_q, S_q).rvs(n_mc, random_state=rng)
x_mean = z_r @ W.T + b                               # (n, D) decoder output f(z)
mc_report("E_Q[log P(X|z)] (Part 2's Q)", e_log_lik(m_q, S_q),
          -gaussian_nll(x_mean, np.broadcast_to(x, x_mean.shape), sigma)[0])

# %% [markdown]
# The figure `04_kl_mc.png` shows each running Monte Carlo average (with its
# ±2 SE band) closing in on the closed-form value as n grows, like 1/√n.

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
fig.suptitle("Part 3: Monte Carlo averages of log Q(z) − log P(z) converge to Eqs. 6–7")
fig.tight_layout()
lesson.save(fig, args, "04_kl_mc")

# %% [markdown]
# ## Part 4 — averaging over the data (Eq. 8), estimated by minibatch averages of Eq. 9
#
# Training maximizes Eq. 5 on average over the dataset: **Eq. 8** puts
# E_{X~D} in front of both sides.  Its right side still has an expectation
# over z inside.  §2.2 keeps one X and one z per term, **Eq. 9**:
# log P(X|z) − D[Q(z|X) ‖ P(z)], with z drawn from Q(z|X) (here through
# Eq. 10).  Eq. 9 itself is for a single X and a single z; averaged over a
# minibatch of such terms, it is an unbiased estimate of Eq. 8's right
# side, so the mean of many minibatch averages must land within a few
# standard errors of the exact dataset average.  (The VAE's loss is
# −(Eq. 9), averaged over the batch.)

# %%
print("\nPart 4: Eq. 8 over the dataset, and minibatch estimates from Eq. 9")
se_right = right.std(ddof=1) / np.sqrt(n_data)
print(f"  Eq. 8 over {n_data} datapoints: mean left {left.mean():.6f} | mean right {right.mean():.6f} "
      f"± {se_right:.6f} (SE over datapoints); mean log P(X) {log_px_data.mean():.6f}")
batch = 100
order = rng.permutation(n_data)
eps_b = rng.standard_normal((n_data, K))
z_b, _ = reparam.forward(mu_enc[order], lv_enc[order], eps_b)                  # one z per X (Eq. 10)
eq9 = (-gaussian_nll(z_b @ W.T + b, X_data[order], sigma)[0]
       - kl_normal(mu_enc[order], lv_enc[order])[0])                          # (N,) one Eq. 9 per X
batch_means = eq9.reshape(-1, batch).mean(axis=1)
print(f"  Eq. 9, one z per X, minibatches of {batch}: mean of {len(batch_means)} batch averages "
      f"{batch_means.mean():.4f} ± {batch_means.std(ddof=1) / np.sqrt(len(batch_means)):.4f} (SE); "
      f"one batch scatters with sd {batch_means.std(ddof=1):.4f}")

# %% [markdown]
# ## Part 5 — when is the bound tight?  The best diagonal Q
#
# When Q is the true posterior the error term vanishes and the ELBO equals
# log P(X).  Moving Q away opens a gap of exactly D[Q ‖ P(z|X)].  Two ways
# to move it, each with a gap we can predict by hand:
#
# * shift the mean by t posterior standard deviations along a direction
#   (mean m + t·S^½ u, ‖u‖ = 1, same covariance): gap = t²/2;
# * scale the covariance by s² (mean m, covariance s² S): gap = ½ K (s² − 1 − ln s²).
#
# A VAE's Q is diagonal (§2.2).  **The best diagonal Q** has the posterior's
# mean and variances vᵢ = 1/(S⁻¹)ᵢᵢ.  Why: for Q = N(mq, diag v), Eq. 6 gives
# D[Q ‖ P(z|X)] = ½ ∑ᵢ ((S⁻¹)ᵢᵢ vᵢ − ln vᵢ) + ½ (mq − m)ᵀ S⁻¹ (mq − m) + const.
# Each vᵢ sits in its own term, which is smallest where its derivative
# ½((S⁻¹)ᵢᵢ − 1/vᵢ) vanishes, and the quadratic term is zero at mq = m.
# Its gap is ½ (∑ᵢ ln (S⁻¹)ᵢᵢ − ln det S⁻¹).  That is ≥ 0, with equality only
# when S⁻¹ is diagonal (Hadamard's inequality).  Only for K = 2 does it
# reduce to −½ ln(1 − ρ²), with ρ the posterior correlation; for larger K no
# single ρ describes it.  For this decoder, no diagonal Q closes the gap.
# §2.4.1's approximation error is about a different mismatch, a posterior
# that is not Gaussian at all; reading the diagonal-versus-correlated gap as
# a case of it is this lesson's own reading (Part 6 says so again).

# %%
L_post = np.linalg.cholesky(S_post)
u = np.array([np.cos(0.7), np.sin(0.7)])            # any unit vector
shift_dir = L_post @ u                               # one posterior sd along u


def gap(mq, Sq, W=W, X=x):
    """log P(X) − ELBO, from the right side of Eq. 5 only."""
    return log_px_of(W, X) - elbo(mq, Sq, W, X)


def diag_gap(W):
    """Gap of the best diagonal Q: ½ (∑ᵢ ln (S⁻¹)ᵢᵢ − ln det S⁻¹), S⁻¹ = I + WᵀW/σ²."""
    P = np.eye(K) + W.T @ W / sigma ** 2
    return 0.5 * (np.log(np.diag(P)).sum() - np.linalg.slogdet(P)[1])


print("\nPart 5: tightness and gap (gap = log P(X) - ELBO, computed from the right side of Eq. 5)")
print(f"  Q = P(z|X): ELBO = {elbo(m_post, S_post):.12f}, log P(X) = {log_px:.12f}, "
      f"gap = {gap(m_post, S_post):.1e} nats")
for t in (0.5, 1.0, 2.0):
    print(f"  shift t = {t:.1f}: gap = {gap(m_post + t * shift_dir, S_post):.12f} nats, "
          f"D[Q||P(z|X)] = {kl_full(m_post + t * shift_dir, S_post, m_post, S_post):.12f} nats")
for s in (0.5, 2.0):
    print(f"  scale s = {s:.1f}: gap = {gap(m_post, s ** 2 * S_post):.12f} nats, "
          f"D[Q||P(z|X)] = {kl_full(m_post, s ** 2 * S_post, m_post, S_post):.12f} nats")
S_diag = np.diag(var_enc)                            # best diagonal Q: variances 1/(S⁻¹)ᵢᵢ
print(f"  best diagonal Q: variances 1/(S^-1)_ii = {var_enc.tolist()}; gap = {gap(m_post, S_diag):.12f} nats; "
      f"1/2 (sum ln (S^-1)_ii - ln det S^-1) = {diag_gap(W):.12f}; "
      f"K = 2 only: -1/2 ln(1 - rho^2) = {-0.5 * np.log1p(-rho ** 2):.12f}")

# %%
ts = np.linspace(-3, 3, 121)
ss = np.exp(np.linspace(np.log(0.2), np.log(5), 121))
elbo_t = np.array([elbo(m_post + t * shift_dir, S_post) for t in ts])
elbo_s = np.array([elbo(m_post, s ** 2 * S_post) for s in ss])
t_pts, s_pts = ts[::10], ss[::10]
left_t = [log_px - kl_full(m_post + t * shift_dir, S_post, m_post, S_post) for t in t_pts]
left_s = [log_px - kl_full(m_post, s ** 2 * S_post, m_post, S_post) for s in s_pts]
circle = np.stack([np.cos(np.linspace(0, 2 * np.pi, 200)), np.sin(np.linspace(0, 2 * np.pi, 200))])

fig, axes = plt.subplots(1, 3, figsize=(14.5, 4.5))
ax = axes[0]
for r in (1, 2, 3):                                  # 1, 2, 3-sd ellipses: m + r·chol(S)·(cos, sin)
    ax.plot(*(m_post[:, None] + r * L_post @ circle), color="C0", lw=1.5,
            label="true posterior P(z|X)" if r == 1 else None)
    ax.plot(*(m_post[:, None] + r * np.sqrt(var_enc)[:, None] * circle), color="C1", lw=1.2, ls="--",
            label="best diagonal Q" if r == 1 else None)
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
fig.suptitle("Part 5: the ELBO touches log P(X) only at the true posterior; the gap is D[Q‖P(z|X)]")
fig.tight_layout()
lesson.save(fig, args, "04_eq5_gap")

# %% [markdown]
# ## Part 6 — §2.4.1: many decoders give the same P(X)
#
# §2.4.1 grants that for a *fixed* decoder the posterior need not be
# Gaussian, so the error term may never vanish.  But many decoders give the
# same P(X), and the error term pulls training toward one whose posterior is
# of Q's form.  The paper says this about Gaussianity.  In our linear model
# the posterior is always Gaussian but correlated, and §2.2's Q is diagonal,
# so we read "of Q's form" as "diagonal Gaussian" (this reading is ours, not
# the paper's).  Part 5 showed that for our W no diagonal Q closes the gap.
# On this model the family of equivalent decoders is easy to write down.
# For any orthogonal R (RRᵀ = I), the decoder W·R gives
# P(X) = N(X | b, W R Rᵀ Wᵀ + σ² I) = N(X | b, W Wᵀ + σ² I): the same
# distribution, since the decoder W·R computes W(Rz), and Rz ~ N(0, I)
# whenever z is (its covariance is R Rᵀ = I).  Its posterior precision
# is I + RᵀWᵀWR/σ².  With R the orthogonal eigenvectors of WᵀW this is
# diagonal, so the posterior is diagonal and the best diagonal Q matches it
# exactly: the gap goes to 0.
#
# Training does not need to know R.  In K = 2 dimensions a rotation is one
# angle θ.  Over the family W·R(θ), log P(X) is flat and the mean ELBO
# (with the best diagonal Q) is mean log P(X) − gap(θ).  So gradient ascent
# on the ELBO alone moves θ to a decoder with a diagonal posterior.  Here θ
# is the only thing trained, with the gradient by central differences.
# (A real VAE also trains the encoder and all of W; this isolates the pull
# that §2.4.1 describes.)

# %%
def rotation(theta):
    return np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])


_, R = np.linalg.eigh(W.T @ W)                       # columns: orthonormal eigenvectors of WᵀW
W_R = W @ R
m_R, S_R, _ = posterior(W_R, x)
rho_R = S_R[0, 1] / np.sqrt(S_R[0, 0] * S_R[1, 1])
print("\nPart 6 (§2.4.1): the decoder W·R, R the orthogonal eigenvectors of W^T W")
print(f"  R = {R.tolist()}; max |R^T R - I| = {np.abs(R.T @ R - np.eye(K)).max():.1e}")
print(f"  log P(X): with W {log_px:.12f} | with W·R {log_px_of(W_R, x):.12f} | "
      f"mean over the dataset with W {log_px_data.mean():.12f} | with W·R {log_px_of(W_R, X_data).mean():.12f}")
print(f"  posterior correlation: with W {rho:.6f} | with W·R {rho_R:.2e}")
print(f"  best diagonal Q: gap with W {diag_gap(W):.12f} nats | with W·R {diag_gap(W_R):.2e} nats "
      f"(checked on X: {gap(m_R, np.diag(np.diag(S_R)), W_R):.2e})")

thetas = np.linspace(-np.pi / 2, np.pi / 2, 181)
gaps = np.array([diag_gap(W @ rotation(th)) for th in thetas])
theta, lr, h, path = 0.0, 0.2, 1e-6, [0.0]
for _ in range(30):                                  # ascend mean ELBO(θ) = mean log P(X) − gap(θ)
    grad = -(diag_gap(W @ rotation(theta + h)) - diag_gap(W @ rotation(theta - h))) / (2 * h)
    theta += lr * grad
    path.append(theta)
path = np.array(path)
drift = max(abs(log_px_of(W @ rotation(th), X_data).mean() - log_px_data.mean()) for th in path[::10])
print(f"  gradient ascent on the mean ELBO over W·R(theta), {len(path) - 1} steps from theta = 0: "
      f"gap {diag_gap(W):.6f} -> {diag_gap(W @ rotation(theta)):.2e} nats, theta = {theta:.6f}; "
      f"mean log P(X) changed by at most {drift:.1e}")

fig, axes = plt.subplots(1, 2, figsize=(12, 4.6))
ax = axes[0]
for mm, SS, color, name in ((m_post, S_post, "C0", "decoder W"), (m_R, S_R, "C2", "decoder W·R")):
    Lc = np.linalg.cholesky(SS)
    v = 1 / np.diag(np.linalg.inv(SS))
    for r in (1, 2):
        ax.plot(*(mm[:, None] + r * Lc @ circle), color=color, lw=1.5,
                label=f"P(z|X), {name}" if r == 1 else None)
        ax.plot(*(mm[:, None] + r * np.sqrt(v)[:, None] * circle), color=color, lw=1.2, ls="--",
                label=f"best diagonal Q, {name}" + (" (on top of P(z|X))" if name == "decoder W·R" else "")
                if r == 1 else None)
ax.set(title="same P(X), two decoders: 1, 2-sd ellipses", xlabel="z₁", ylabel="z₂")
ax.set_aspect("equal", adjustable="datalim")
ax.legend(fontsize=7.5)
ax = axes[1]
mean_lpx = log_px_data.mean()
ax.axhline(mean_lpx, color="k", lw=1.2, label="mean log P(X) (the same for every θ)")
ax.plot(thetas, mean_lpx - gaps, color="C0", lw=2, label="mean ELBO, best diagonal Q")
ax.plot(path, mean_lpx - np.array([diag_gap(W @ rotation(th)) for th in path]), "o", color="C3", ms=4,
        label="gradient ascent on the ELBO from θ = 0")
ax.set(title="decoders W·R(θ): the ELBO picks a diagonal posterior", xlabel="rotation angle θ (radians)",
       ylabel="nats")
ax.set_ylim(mean_lpx - 1.5 * gaps.max(), mean_lpx + 0.1 * gaps.max())
ax.legend(fontsize=7.5, loc="lower center")
fig.tight_layout()
lesson.save(fig, args, "04_same_px")
print(f"lesson 04 done in {time.perf_counter() - t_start:.1f} s")

# %% [markdown]
# ## Exercises
#
# Change one thing, write down your prediction, then run with `--quick`
# (about 6 s here, with other jobs on both cores).  The numbers quoted are
# what `--quick` printed here with seed 0.
#
# 1. **Less decoder noise.**  Set `sigma = 0.1` in Part 1.  Will the
#    posterior be more or less correlated, and will the best diagonal Q's gap
#    grow or shrink?  *What should happen:* ρ goes from −0.80 to −0.87 and the
#    gap from 0.52 to 0.71 nats, because WᵀW/σ² now dominates the posterior
#    precision.  Part 6's 30 ascent steps no longer settle: θ jumps back and
#    forth across the minimum (−0.51, −0.80, …) and the gap stays near 0.13
#    nats.  The gap's curvature at the minimum has risen from about 8 to
#    about 14 per rad², and a step of 0.2 overshoots once 0.2 × curvature
#    exceeds 2.  It is a small instance of §2.4.1's remark that a small σ
#    makes gradients badly scaled.
# 2. **Less parallel columns.**  Delete the line
#    `W[:, 1] = 0.8 * W[:, 0] + 0.5 * W[:, 1]`.  *What should happen:* |ρ|
#    drops to 0.42 and the best diagonal gap to 0.095 nats, still not 0.
#    Only when WᵀW is diagonal (orthogonal columns, as for W·R in Part 6)
#    does the gap vanish.
# 3. **A perfect encoder mean.**  Set `SHRINK = 1.0`.  Predict the printed
#    range of D[Q(z|X) ‖ P(z|X)] over the dataset, and Eq. 8's mean left
#    side.  *What should happen:* the range collapses to a single value,
#    0.5205 nats, the best diagonal gap of Part 5, the same for every X.  The
#    mean left side is mean log P(X) − 0.5205 (−5.6331 − 0.5205 = −6.1537).
#    The remaining error comes from the diagonal Σ alone.
# 4. **More samples.**  Run without `--quick` (10× the Monte Carlo samples,
#    10× the data).  *What should happen:* every standard error in Parts 2–4
#    shrinks by about √10 ≈ 3.2 (Eq. 2's from 0.147 to 0.046), while the
#    z-scores stay of order 1.  The exact identities (Eq. 3's Bayes' rule,
#    Eqs. 4–5) stay at rounding error whatever n is.
# 5. **Derive the KL term yourself.**  Copy exercise 4 with
#    `python -m minivae exercise 4 --out DIR`: Eq. 7 in closed form and its
#    gradients with respect to mu and log_var.  Grade it with
#    `python -m minivae check DIR/ex04_kl.py`.  *What should happen:* before
#    you write anything, each part reports "not implemented yet".  With
#    ½ (exp(log_var) − 1) for ∂KL/∂log_var all three parts pass, with
#    finite-difference errors near 1e-11.  Drop the −1 and part 3 fails with
#    the hint that names it.  Exercise 6 (`ex06_vae_loss_and_grads.py`) then
#    assembles −(Eq. 9) for a whole VAE.
