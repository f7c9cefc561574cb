"""Lesson 09: zero approximation error in 1-D, measured (Doersch Appendix A, Eqs. 14–21).

Run:  python lessons/09_appendix_1d.py [--quick] [--seed S] [--out DIR]
"""
# %% [markdown]
# # 09 — Appendix A in numbers: a 1-D VAE can be exact as σ → 0
#
# Appendix A argues that, in one dimension, nothing is lost by the VAE's
# two approximations (a Gaussian P(X|z) with a fixed σ, and a Gaussian
# Q(z|X)) once σ is small.  The proof builds the ideal pieces by hand:
#
# * decoder  f = F⁻¹∘G  (F the CDF of the target P_gt, G the standard normal
#   CDF), so that P_σ(X) = ∫ N(X | f(z), σ²) N(z | 0, 1) dz  (the model inside Eq. 14's objective)
#   tends to P_gt;
# * encoder  Q_σ(z|X) = N(z | g(X), (g′(X) σ)²)  with  g = f⁻¹ = G⁻¹∘F,
#   so that the gap D[Q_σ(z|X) ‖ P_σ(z|X)] of Eq. 5 tends to 0 (Eqs. 15–21).
#
# The appendix only says "→ 0".  Here we build f and g numerically for a
# two-bump target, compute both gaps by quadrature for σ from 0.3 down to
# 0.001, and read off *how fast* they vanish.  Then we train minivae's own
# 1-D VAE and compare the decoder it learns with F⁻¹∘G.

# %%
import os

# The VAE below multiplies 256×64 matrices: BLAS threads only cost time there
# (and a lot of it on a busy machine).  Has no effect if numpy is already loaded.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import time

import numpy as np
from scipy.special import log_ndtr, ndtri_exp

from minivae import VAE, lesson
from minivae.optim import Adam

args = lesson.parse_args(__doc__)
plt = lesson.setup_matplotlib()
rng = np.random.default_rng(args.seed)
t_start = time.perf_counter()
HALF_LOG_2PI = 0.5 * np.log(2 * np.pi)

# %% [markdown]
# ## The target and the two maps
#
# P_gt = 0.6·N(−1, 0.6²) + 0.4·N(1.5, 0.8²): smooth, positive everywhere and
# with bounded derivatives, as the appendix assumes.  g(X) = G⁻¹(F(X)) is
# computed from log F (or log(1 − F) right of the median) so it stays exact
# far into the tails; g′ = P_gt(X) / N(g(X)).  f = g⁻¹ has no formula: we
# interpolate a table of g and polish with one Newton step on g(x) = z.

# %%
WEIGHTS, MEANS, SDS = np.array([0.6, 0.4]), np.array([-1.0, 1.5]), np.array([0.6, 0.8])


def p_gt(x, extra_var=0.0):
    """Mixture density; with extra_var = σ² it is P_gt convolved with N(0, σ²)."""
    sd = np.sqrt(SDS ** 2 + extra_var)
    u = (np.asarray(x)[..., None] - MEANS) / sd
    return (WEIGHTS * np.exp(-0.5 * u * u) / (sd * np.sqrt(2 * np.pi))).sum(-1)


def p_gt_derivs(x):
    """(P_gt′(x), P_gt″(x)) in closed form."""
    u = (np.asarray(x)[..., None] - MEANS) / SDS
    comp = WEIGHTS * np.exp(-0.5 * u * u) / (SDS * np.sqrt(2 * np.pi))
    return (comp * -u / SDS).sum(-1), (comp * (u * u - 1) / SDS ** 2).sum(-1)


def _log_mix(log_terms):
    return np.logaddexp(log_terms[..., 0], log_terms[..., 1])


def g(x):
    """g(X) = G⁻¹(F(X)), the inverse of f, accurate in both tails."""
    u = (np.asarray(x, dtype=np.float64)[..., None] - MEANS) / SDS
    log_F = _log_mix(np.log(WEIGHTS) + log_ndtr(u))
    log_sf = _log_mix(np.log(WEIGHTS) + log_ndtr(-u))
    half = np.log(0.5)
    return np.where(log_F < half, ndtri_exp(np.minimum(log_F, half)),
                    -ndtri_exp(np.minimum(log_sf, half)))


def g_prime(x, gx):
    """g′(X) = P_gt(X) / N(g(X) | 0, 1)."""
    u = (np.asarray(x)[..., None] - MEANS) / SDS
    log_p = _log_mix(np.log(WEIGHTS / SDS) - HALF_LOG_2PI - 0.5 * u * u)
    return np.exp(log_p + HALF_LOG_2PI + 0.5 * gx * gx)


_X_TABLE = np.linspace(-15.0, 15.0, 30_001)
_Z_TABLE = g(_X_TABLE)


def f(z):
    """f(z) = F⁻¹(G(z)): table interpolation, then one Newton step on g(x) = z."""
    x = np.interp(z, _Z_TABLE, _X_TABLE)
    gx = g(x)
    return x - (gx - z) / g_prime(x, gx)


z_check = np.linspace(-8, 8, 2001)
print("target P_gt = 0.6 N(-1, 0.6^2) + 0.4 N(1.5, 0.8^2)")
print(f"  f = F^-1 o G inverted numerically: max |g(f(z)) - z| over z in [-8, 8] = "
      f"{np.abs(g(f(z_check)) - z_check).max():.1e}")

# %% [markdown]
# ## The gaps, by quadrature
#
# **P_σ(X)**, the marginal of Eq. 14's model: because f is increasing,
# N(X | f(z), σ²) exceeds e⁻⁵⁰ of its peak only for z in
# [g(X − 10σ), g(X + 10σ)]; we integrate over that window with the
# trapezoid rule.  Substituting x′ = f(z) turns the
# integral into P_gt convolved with N(0, σ²) — for a Gaussian mixture that is
# the same mixture with every variance grown by σ², which we use as a check.
#
# **Distances to P_gt.** Convolving with a narrow Gaussian adds
# (σ²/2)·P_gt″ + O(σ⁴), so TV = ½∫|P_σ − P_gt| ≈ (σ²/4)∫|P_gt″| falls like σ²,
# and KL(P_gt ‖ P_σ) ≈ ½∫(P_σ − P_gt)²/P_gt ≈ (σ⁴/8)∫P_gt″²/P_gt like σ⁴.
# (KL is computed as ∫P_gt·(u − log(1+u)), u = P_σ/P_gt − 1: equal to
# ∫P_gt log(P_gt/P_σ) because ∫P_gt·u = ∫(P_σ − P_gt) = 0, and free of
# the cancellation of two nearly equal logs.)
#
# **The posterior gap** D[Q_σ(z|X) ‖ P_σ(z|X)], with
# P_σ(z|X) = N(X | f(z), σ²) N(z) / P_σ(X), is an integral over Q_σ.  In
# Q's own units t = (z − g(X)) / (g′σ), expanding f to second order (the
# appendix's Taylor step) and the prior to first, log P_σ(t|X) = log N(t) − σ(a t³ + b t) + O(σ²) with
# a = −g″/(2g′) (the curvature of g, the term Eq. 21 points at) and
# b = g·g′ (the slope of the prior N(z), which the proof folds into its
# constant C).  The KL of N(0, 1) from such a tilted density is half the
# variance of the tilt:  D ≈ (σ²/2)·(15a² + 6ab + b²).  So both gaps vanish
# as a power of σ, and we can predict the constants.

# %%
REACH = 10.0                                 # the window's half-width, in σ's of N(X | f(z), σ²)


def trapezoid_weights(n, step):
    w = np.full(n, step)
    w[[0, -1]] *= 0.5
    return w


def p_sigma(x, sigma, n_nodes):
    """P_σ(X) = ∫ N(X | f(z), σ²) N(z) dz, trapezoid over z in [g(X − 10σ), g(X + 10σ)]."""
    lo, hi = g(x - REACH * sigma), g(x + REACH * sigma)
    z = lo[:, None] + (hi - lo)[:, None] * np.linspace(0.0, 1.0, n_nodes)    # (nX, n_nodes)
    log_integrand = (-0.5 * ((x[:, None] - f(z)) / sigma) ** 2 - np.log(sigma)
                     - 0.5 * z * z - 2 * HALF_LOG_2PI)
    return np.exp(log_integrand) @ trapezoid_weights(n_nodes, 1.0) * (hi - lo) / (n_nodes - 1)


T_GRID = np.linspace(-12.0, 12.0, 2401)      # Q_σ in its own standard units
T_W = trapezoid_weights(T_GRID.size, T_GRID[1] - T_GRID[0])


def posterior_gap(x, sigma, n_nodes):
    """D[Q_σ(z|X) ‖ P_σ(z|X)] in nats, for each X in x."""
    gx = g(x)
    scale = g_prime(x, gx) * sigma                                # Q_σ's standard deviation
    z = gx[:, None] + scale[:, None] * T_GRID                     # (nX, nT)
    log_q = -0.5 * T_GRID ** 2 - HALF_LOG_2PI - np.log(scale)[:, None]
    log_post = (-0.5 * ((x[:, None] - f(z)) / sigma) ** 2 - np.log(sigma) - 0.5 * z * z
                - 2 * HALF_LOG_2PI - np.log(p_sigma(x, sigma, n_nodes))[:, None])
    q_t = np.exp(-0.5 * T_GRID ** 2 - HALF_LOG_2PI)               # Q's density in t
    return (q_t * (log_q - log_post)) @ T_W


n_sigma, n_x, n_nodes = (6, 1201, 201) if args.quick else (16, 1201, 401)
sigmas = np.logspace(-0.5, -3.0, n_sigma)                         # 0.316 … 0.001
x_grid = np.linspace(-7.0, 9.0, n_x)                              # P_gt < 1e-10 outside
x_w = trapezoid_weights(n_x, x_grid[1] - x_grid[0])
z_probe = np.array([-2.0, -1.0, 0.0, 1.0, 2.0])
x_probe = f(z_probe)                                              # X at those quantiles of P_gt

p = p_gt(x_grid)
kl, tv, post, conv_err = [], [], [], 0.0
for s in sigmas:
    q = p_sigma(x_grid, s, n_nodes)
    conv_err = max(conv_err, np.abs(q - p_gt(x_grid, s * s)).max())
    u = (q - p) / p
    kl.append(p * (u - np.log1p(u)) @ x_w)
    tv.append(0.5 * np.abs(q - p) @ x_w)
    post.append(posterior_gap(x_probe, s, n_nodes))
kl, tv, post = np.array(kl), np.array(tv), np.array(post)        # (nσ,), (nσ,), (nσ, 5)

print(f"  P_sigma by quadrature vs closed form P_gt * N(0, sigma^2): max |diff| = {conv_err:.1e}")
print("\n  sigma        KL(P_gt||P_s)  TV(P_gt,P_s)   D[Q||P(z|X)] (nats) at X = "
      + "  ".join(f"{v:.3f}" for v in x_probe))
for i, s in enumerate(sigmas):
    print(f"  {s:.5e}  {kl[i]:12.4e}  {tv[i]:12.4e}   "
          + "  ".join(f"{v:.3e}" for v in post[i]))

# %% [markdown]
# ## How fast: slopes on log–log axes, and the predicted constants
#
# The slope is fitted over σ ≤ 0.01, where the leading term dominates.  The
# constants come from the expansions above: for the marginal, integrals of
# P_gt″; for the posterior, a and b from g′ and
# g″ = (P_gt′ + P_gt·g·g′) / N(g) (differentiate g′ = P_gt / N(g)).

# %%
FIT_MAX = 0.0101                                                   # σ ≤ 0.01


def slope(y):
    sel = sigmas <= FIT_MAX
    return np.polyfit(np.log(sigmas[sel]), np.log(y[sel]), 1)[0]


d1, d2 = p_gt_derivs(x_grid)
c_kl = (d2 ** 2 / p) @ x_w / 8
c_tv = np.abs(d2) @ x_w / 4
gp = g_prime(x_probe, z_probe)
g2 = (p_gt_derivs(x_probe)[0] + p_gt(x_probe) * z_probe * gp) * np.exp(HALF_LOG_2PI + 0.5 * z_probe ** 2)
a, b = -g2 / (2 * gp), z_probe * gp
c_post = 0.5 * (15 * a ** 2 + 6 * a * b + b ** 2)
s_min = sigmas[-1]
print(f"\nfitted log-log slopes over sigma <= 0.01 ({(sigmas <= FIT_MAX).sum()} points):")
print(f"  KL(P_gt||P_sigma): slope {slope(kl):.4f} (theory 4); KL/sigma^4 at sigma={s_min:g}: "
      f"{kl[-1] / s_min ** 4:.5f} (theory (1/8) int P''^2/P = {c_kl:.5f})")
print(f"  TV(P_gt, P_sigma): slope {slope(tv):.4f} (theory 2); TV/sigma^2 at sigma={s_min:g}: "
      f"{tv[-1] / s_min ** 2:.5f} (theory (1/4) int |P''| = {c_tv:.5f})")
for j in range(len(x_probe)):
    print(f"  posterior gap at X={x_probe[j]:+.4f} (g(X)={z_probe[j]:+.0f}): slope {slope(post[:, j]):.4f} "
          f"(theory 2); D/sigma^2 at sigma={s_min:g}: {post[-1, j] / s_min ** 2:.5f} "
          f"(theory {c_post[j]:.5f}; curvature a={a[j]:+.4f}, prior b={b[j]:+.4f})")

# %% [markdown]
# **Figure 1.** Top left: P_σ for σ ≈ 0.3 and 0.1 against P_gt; the
# valley fills in and the peaks drop by the σ²/2·P_gt″ of the expansion.
# Top right: at X = f(−1) the true posterior P_σ(z|X) (solid) and Q_σ
# (dashed) in Q's units, for σ ≈ 0.3 and 0.03: shifted and skewed at the
# large σ, nearly on top of Q at the small one.  Bottom: the gaps on
# log–log axes, with dotted lines of the predicted slope and constant.
# Look at the printed a and b: at the median (g = 0) b vanishes and the gap
# is all curvature, while towards the tails the prior term b is the larger.

# %%
def nearest_sigma(target):
    return sigmas[np.argmin(np.abs(np.log(sigmas / target)))]


fig, ax = plt.subplots(2, 2, figsize=(11.5, 8.5))
xs = np.linspace(-4, 5.5, 600)
ax[0, 0].plot(xs, p_gt(xs), "k", lw=2.5, label="P_gt")
for s, c in zip((nearest_sigma(0.3), nearest_sigma(0.1)), ("C3", "C1")):
    ax[0, 0].plot(xs, p_sigma(xs, s, n_nodes), color=c, lw=1.2, label=f"P_σ, σ = {s:.3f}")
ax[0, 0].set(title="the model's marginal P_σ tends to P_gt", xlabel="X", ylabel="density")
ax[0, 0].legend(fontsize=8)

j_show = 1                                                   # X at g(X) = −1
x1 = x_probe[j_show:j_show + 1]
for s, c in zip((nearest_sigma(0.3), nearest_sigma(0.03)), ("C3", "C2")):
    scale = g_prime(x1, g(x1))[0] * s
    zt = g(x1)[0] + scale * T_GRID
    post_t = np.exp(-0.5 * ((x1[0] - f(zt)) / s) ** 2 - 0.5 * zt ** 2) * scale
    post_t /= post_t @ T_W
    ax[0, 1].plot(T_GRID, post_t, color=c, lw=1.8, label=f"P_σ(z|X), σ = {s:.3f}")
ax[0, 1].plot(T_GRID, np.exp(-0.5 * T_GRID ** 2 - HALF_LOG_2PI), "k--", lw=1.2, label="Q_σ(z|X)")
ax[0, 1].set(xlim=(-4, 4), title=f"posterior at X = {x1[0]:.3f}, in units of Q's sd",
             xlabel="t = (z − g(X)) / (g′(X) σ)", ylabel="density in t")
ax[0, 1].legend(fontsize=8)

for y, c, k, name in ((kl, c_kl, 4, "KL(P_gt‖P_σ)"), (tv, c_tv, 2, "TV(P_gt, P_σ)")):
    ax[1, 0].loglog(sigmas, y, "o-", ms=4, label=f"{name}: slope {slope(y):.3f}")
    ax[1, 0].loglog(sigmas, c * sigmas ** k, "k:", lw=1)
ax[1, 0].set(title="marginal gap (dotted: c·σ^k predicted)", xlabel="σ", ylabel="distance")
ax[1, 0].legend(fontsize=8)
for j in range(len(x_probe)):
    ax[1, 1].loglog(sigmas, post[:, j], "o-", ms=3,
                    label=f"X = {x_probe[j]:+.2f} (g = {z_probe[j]:+.0f}): slope {slope(post[:, j]):.3f}")
    ax[1, 1].loglog(sigmas, c_post[j] * sigmas ** 2, "k:", lw=0.8)
ax[1, 1].set(title="D[Q_σ(z|X) ‖ P_σ(z|X)] (dotted: ½(15a²+6ab+b²)σ²)", xlabel="σ", ylabel="nats")
ax[1, 1].legend(fontsize=7)
fig.suptitle("Appendix A: both gaps vanish as σ → 0 — the marginal like σ⁴ (KL) / σ² (TV), "
             "the posterior like σ²")
fig.tight_layout()
lesson.save(fig, args, "09_appendix_a_gaps")

# %% [markdown]
# ## What a real VAE learns
#
# The appendix assumes "arbitrarily powerful learners".  A small one will do:
# minivae's VAE with x and z both 1-D, a Gaussian P(X|z) with σ = 0.1,
# two hidden layers, float64, Adam, trained on fresh samples from P_gt.
# The prior N(0, 1) is symmetric, so f(−z) serves exactly as well as f(z):
# we compare the learned decoder mean with both F⁻¹∘G and its mirror image
# and keep the closer one.  With σ fixed at 0.1 the optimum is not exactly
# F⁻¹∘G (the decoder noise widens P_σ a little), so expect closeness, not
# equality.  Two checks that must hold: the average −ELBO on fresh data
# can't fall below the entropy H(P_gt) (−ELBO ≥ −log P_model(X), and the
# cross-entropy E_gt[−log P_model] ≥ H(P_gt)); and, if training found the
# appendix's solution, the encoder's sd ≈ |g′(X)|·σ.

# %%
def sample_p_gt(n, rng):
    k = (rng.random(n) < WEIGHTS[1]).astype(int)
    return (MEANS[k] + SDS[k] * rng.standard_normal(n))[:, None]


SIGMA_DEC = 0.1
hidden, steps, lr, batch = ((32, 32), 600, 3e-3, 256) if args.quick else ((64, 64), 4000, 1e-3, 256)
vae = VAE(x_dim=1, hidden=hidden, z_dim=1, likelihood="gaussian", sigma=SIGMA_DEC,
          dtype=np.float64, seed=args.seed)
opt = Adam(vae.flat_params, vae.flat_grads, lr=lr)
t0 = time.perf_counter()
for step in range(steps):
    x = sample_p_gt(batch, rng)
    loss, _ = vae.loss_and_grads(x, rng.standard_normal((batch, 1)))
    opt.step()
train_time = time.perf_counter() - t0

n_eval = 20_000
terms = vae.elbo(sample_p_gt(n_eval, rng), rng)
neg_elbo, neg_elbo_se = -terms.elbo.mean(), terms.elbo.std(ddof=1) / np.sqrt(n_eval)
entropy = -(p * np.log(p)) @ x_w
z_eval = np.linspace(-5, 5, 2001)
z_w = np.exp(-0.5 * z_eval ** 2 - HALF_LOG_2PI) * (z_eval[1] - z_eval[0])   # ≈ N(0, 1) weights
f_learned = vae.decode(z_eval[:, None])[:, 0]
rms = {name: np.sqrt((f_learned - ref) ** 2 @ z_w) for name, ref in
       (("f(z)", f(z_eval)), ("f(-z)", f(-z_eval)))}
best = min(rms, key=rms.get)
sign = 1.0 if best == "f(z)" else -1.0
f_spread = np.sqrt((f(z_eval) - f(z_eval) @ z_w) ** 2 @ z_w)
x_in = x_grid[(x_grid > -2.5) & (x_grid < 4)][:, None]
mu, log_var = vae.encode(x_in)
sd_ratio = np.exp(0.5 * log_var[:, 0]) / (g_prime(x_in[:, 0], g(x_in[:, 0])) * SIGMA_DEC)

print(f"\n1-D VAE: hidden {hidden}, decoder sigma {SIGMA_DEC}, Adam lr {lr}, "
      f"{steps} steps of batch {batch}: {train_time:.1f} s")
print(f"  -ELBO on {n_eval} fresh samples: {neg_elbo:.4f} +/- {neg_elbo_se:.4f} nats "
      f"(lower bound H(P_gt) = {entropy:.4f} nats)")
print(f"  RMS over z ~ N(0,1) of decoder mean - f(z): {rms['f(z)']:.4f}; - f(-z): {rms['f(-z)']:.4f} "
      f"(spread of f itself: {f_spread:.4f}) -> learned {best}")
print(f"  encoder sd / (|g'(X)| sigma) over X in [-2.5, 4]: median {np.median(sd_ratio):.3f}, "
      f"range {sd_ratio.min():.3f} .. {sd_ratio.max():.3f}")

# %% [markdown]
# **Figure 2.** Left: the learned decoder mean against F⁻¹∘G (mirrored if
# the VAE chose −z).  Middle: the encoder mean against g (same mirror).
# Right: samples X = f(z) + σ·ε from the trained model over P_gt.

# %%
fig, ax = plt.subplots(1, 3, figsize=(14, 4))
zs = np.linspace(-3, 3, 400)
ax[0].plot(zs, f(sign * zs), "k", lw=2.5,
           label="f(z) = F⁻¹(G(z))" if sign > 0 else "f(−z) = F⁻¹(G(−z)), mirrored")
ax[0].plot(zs, vae.decode(zs[:, None])[:, 0], "C1", lw=1.5, label="learned decoder mean")
ax[0].set(title=f"decoder mean (RMS gap {rms[best]:.3f})", xlabel="z", ylabel="X")
ax[0].legend(fontsize=8)
ax[1].plot(x_in[:, 0], sign * g(x_in[:, 0]), "k", lw=2.5,
           label="g(X) = G⁻¹(F(X))" if sign > 0 else "−g(X), mirrored")
ax[1].plot(x_in[:, 0], mu[:, 0], "C1", lw=1.5, label="learned μ(X)")
ax[1].set(title="encoder mean", xlabel="X", ylabel="z")
ax[1].legend(fontsize=8)
x_model = vae.decode(rng.standard_normal((50_000, 1)))[:, 0] + SIGMA_DEC * rng.standard_normal(50_000)
ax[2].hist(x_model, bins=150, range=(-4, 5.5), density=True, color="C1", alpha=0.5, label="VAE samples")
ax[2].plot(xs, p_gt(xs), "k", lw=2, label="P_gt")
ax[2].set(title=f"−ELBO {neg_elbo:.3f} vs H(P_gt) {entropy:.3f} nats", xlabel="X", ylabel="density")
ax[2].legend(fontsize=8)
fig.suptitle("A trained 1-D VAE finds (a mirror image of) the appendix's construction")
fig.tight_layout()
lesson.save(fig, args, "09_appendix_a_vae")
print(f"\ntotal time {time.perf_counter() - t_start:.1f} s")
