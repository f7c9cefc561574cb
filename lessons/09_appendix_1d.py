"""Lesson 09: zero approximation error in 1-D, measured (Doersch §2.4.1 and Appendix A, Eqs. 14–21).

Run:  python lessons/09_appendix_1d.py [--quick] [--seed S] [--out DIR]
"""
# %% [markdown]
# # 09 — Appendix A in numbers: a 1-D VAE can be exact as σ → 0 (§2.4.1, Appendix A)
#
# §2.4.1 looks at the error term of Eq. 5, D[Q(z|X) ‖ P(z|X)].  For a fixed
# decoder f the true posterior P(z|X) need not be Gaussian, so a Gaussian
# Q might never match it.  But many decoders give the same P(X), and the
# error term pulls training towards one whose posterior Q *can* match.
# Does such a decoder exist?  §2.4.1 answers: in 1-D, yes, provided the
# decoder noise σ is small relative to the curvature of the target's CDF,
# and Appendix A proves it.  The proof builds the ideal pieces by hand.
# Its symbols, which this lesson keeps:
#
# * P_gt, the 1-D target density, with CDF F; G is the CDF of N(0, 1);
# * σ, the decoder noise: P_σ(X|z) = N(X | f(z), σ²) with z ~ N(0, 1), and
#   P_σ(X) = ∫ P_σ(X|z) N(z | 0, 1) dz, the model's marginal;
# * decoder  f = F⁻¹∘G (lesson 01's inverse transform sampling), which makes
#   P_σ(X) tend to P_gt as σ → 0;
# * g = f⁻¹ = G⁻¹∘F (a different g from Fig. 2's ring map in lesson 01),
#   and the encoder  Q_σ(z|X) = N(z | g(X), (g′(X) σ)²): its mean is g(X)
#   and its standard deviation (Σ^{1/2}) is g′(X)·σ;
# * the proof then shows that the gap D[Q_σ(z|X) ‖ P_σ(z|X)] tends to 0,
#   working in a rescaled variable z⁰ (defined below) in which Q does not
#   depend on σ.
#
# The appendix only says "→ 0".  Here we build f and g numerically for a
# two-bump target, compute both gaps by quadrature for σ from 0.3 down to
# 0.001, and read off *how fast* they vanish.  We then test the appendix's
# closing remark, that the error is mostly the curvature of g: it holds for
# the best Gaussian Q, while the proof's own Q_σ also pays for the prior's
# slope.  Last, we train minivae's own 1-D VAE and compare the decoder it
# learns with F⁻¹∘G.

# %%
import time

import numpy as np
from scipy.optimize import brentq, minimize

from minivae import VAE
from minivae.classroom import lesson
from minivae.kernels import threads
from minivae.optim import Adam

args = lesson.parse_args(__doc__)
plt = lesson.setup_matplotlib()
rng = np.random.default_rng(args.seed)
t_start = time.perf_counter()

# %% [markdown]
# ## The target and the two maps
#
# P_gt = 0.6·N(−1, 0.6²) + 0.4·N(1.5, 0.8²): smooth, positive everywhere and
# with bounded derivatives, as the appendix assumes.  g(X) = G⁻¹(F(X)) is
# computed from log F (or log(1 − F) right of the median) so it stays exact
# far into the tails.  Its slope g′ follows from F = G∘g by the chain rule,
# and is computed in logs for the same reason.  f = g⁻¹ has no formula: we
# interpolate a table of g and polish with one Newton step on g(x) = z.

# %%
import numpy as np
from scipy.special import log_ndtr, ndtri_exp

HALF_LOG_2PI = 0.5 * np.log(2 * np.pi)
WEIGHTS, MEANS, SDS = np.array([0.6, 0.4]), np.array([-1.0, 1.5]), np.array([0.6, 0.8])
with np.errstate(divide="ignore"):                # a zero weight gives log 0 = -inf, which is fine
    LOG_W = np.log(WEIGHTS)


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
    log_F = _log_mix(LOG_W + log_ndtr(u))
    log_sf = _log_mix(LOG_W + log_ndtr(-u))
    half = np.log(0.5)
    return np.where(log_F < half, ndtri_exp(np.minimum(log_F, half)),
                    -ndtri_exp(np.minimum(log_sf, half)))


def g_prime(x, gx):
    """g′(X), the slope of g = G⁻¹∘F, at X with gx = g(X)."""
    ### BEGIN SOLUTION
    # F = G∘g, so P_gt(X) = N(g(X) | 0, 1) g′(X): g′(X) = P_gt(X) / N(g(X) | 0, 1), in logs
    u = (np.asarray(x)[..., None] - MEANS) / SDS
    log_p = _log_mix(LOG_W - np.log(SDS) - HALF_LOG_2PI - 0.5 * u * u)
    return np.exp(log_p + HALF_LOG_2PI + 0.5 * gx * gx)
    ### END SOLUTION


_X_TABLE = np.linspace(-15.0, 15.0, 30_001)
_Z_TABLE = g(_X_TABLE)


def f(z):
    """f(z) = F⁻¹(G(z)): table interpolation, then one Newton step on g(x) = z."""
    x = np.interp(z, _Z_TABLE, _X_TABLE)
    gx = g(x)
    return x - (gx - z) / g_prime(x, gx)


# %%
z_check = np.linspace(-8, 8, 2001)
print("target P_gt = " + " + ".join(f"{w:g} N({m:g}, {sd:g}^2)" for w, m, sd in zip(WEIGHTS, MEANS, SDS)))
print(f"  f = F^-1 o G inverted numerically: max |g(f(z)) - z| over z in [-8, 8] = "
      f"{np.abs(g(f(z_check)) - z_check).max():.1e}")

# %% [markdown]
# ## The gaps, by quadrature
#
# **P_σ(X)**, the model's marginal: because f is increasing,
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
# P_σ(z|X) = N(X | f(z), σ²) N(z) / P_σ(X), is an integral over Q_σ.  The
# appendix rescales z to z⁰ = g(X) + (z − g(X))/σ, in which Q becomes
# Q⁰ = N(g(X), g′(X)²), free of σ, and the KL is unchanged.  We go one step
# further and standardize, t = (z⁰ − g(X))/g′(X) = (z − g(X))/(g′(X)σ), so
# that Q is N(0, 1) in t.  Expanding f to second order (the appendix's
# Taylor step) and the prior to first,
# log P_σ(t|X) = log N(t) − σ(a t³ + b t) + O(σ²), with two numbers of our own:
#
# * a = −g″/(2g′), the curvature of g (what the appendix's Eq. 21 points at);
# * b = g·g′, the slope of the prior N(z) across Q's width.  The proof
#   writes the prior as P(r), r = g(X) + (z⁰ − g(X))·σ, and folds it into
#   its normalizing constant C, because P(r) tends to a constant as σ → 0.
#
# The KL of N(0, 1) from such a tilted density is half the variance of the
# tilt:  D ≈ (σ²/2)·(15a² + 6ab + b²).  So both gaps vanish as a power of σ,
# and we can predict the constants.

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
# **Plot 9.1.** Top left: P_σ for σ ≈ 0.3 and 0.1 against P_gt; the
# valley fills in and the peaks drop by the σ²/2·P_gt″ of the expansion.
# Top right: at X = f(−1) the true posterior P_σ(z|X) (solid) and Q_σ
# (dashed) in Q's units, for σ ≈ 0.3 and 0.03: shifted and skewed at the
# large σ, nearly on top of Q at the small one.  Bottom: the gaps on
# log–log axes, with dotted lines of the predicted slope and constant.  The
# printed a and b show that Q_σ's gap depends on the prior's slope b as
# well as on the curvature a; the next section asks whether every Gaussian
# Q must pay for b.

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
ax[0, 1].set(xlim=(-4, 4), title=f"posterior at X = {x1[0]:.3f}, in units of Q's std",
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
fig.suptitle("Plot 9.1: both gaps of Appendix A vanish as σ → 0 — the marginal like σ⁴ (KL) / σ² (TV), "
             "the posterior like σ²")
fig.tight_layout()
lesson.save(fig, args, "09_appendix_a_gaps")

# %% [markdown]
# ## Curvature or prior slope?  It depends on the Q
#
# The appendix closes with its reading of Eq. 21: most of the approximation
# error comes from g's curvature, and so from the curvature of the target's
# CDF.  Yet Q_σ's gap above, ½(15a² + 6ab + b²)σ², holds the prior's slope
# b at the same order as the curvature a, and in the tails b is much the
# larger.  Both readings are right, each for a different Q.
#
# Split the tilt with the Hermite polynomial He₃(t) = t³ − 3t:
#
#     a·t³ + b·t = a·He₃(t) + (3a + b)·t.
#
# Under Q_σ, which is N(0, 1) in t, the two parts are uncorrelated
# (E[He₃(t)·t] = E[t⁴] − 3E[t²] = 0) with variances 6a² and (3a + b)², so
# Q_σ's gap splits in two:
#
#     ½(15a² + 6ab + b²)σ² = 3a²σ² + ½(3a + b)²σ².
#
# The second part is only a misplaced mean: N(t)·exp(−σct) is, up to a
# constant, the Gaussian N(t | −σc, 1).  A Gaussian Q whose mean is moved by
# −(3a + b)σ in t, that is by −(3a + b)·g′(X)·σ² in z, removes it.  A
# Gaussian can absorb a tilt's linear part (with its mean) and its
# quadratic part (with its width), but not the cubic He₃: that is a skew,
# and no Gaussian is skewed.  So the best Gaussian Q misses the posterior by
#
#     3a²σ² + O(σ³),  the curvature of g and nothing else.
#
# That is the appendix's reading, and it is the gap a VAE meets, because
# its encoder may output any mean and variance.  The prior's slope b enters
# only through the proof's particular Q_σ, whose mean sits at g(X): the
# proof folds P(r) into its constant C, which is enough to show that the
# gap tends to 0, and with it goes the shift the prior causes.
#
# We check this by quadrature.  For each X a search over the mean and
# standard deviation of a Gaussian Q (scipy's Nelder–Mead) finds the
# smallest D[Q ‖ P_σ(z|X)]: a step beyond the appendix, which needs only
# Q_σ.  The probes reach g(X) = ±3 (0.13% of P_gt in each tail), plus the X
# where g″ = 0, hence a = 0.  A check of the search comes first: with f
# replaced by its tangent at g(X) the posterior is exactly Gaussian, and the
# best Q's gap must be 0 up to rounding.

# %%
def log_posterior_t(x, sigma, exact_f=True):
    """log P_σ(t|X) on T_GRID, t = (z − g(X))/(g′(X)σ), normalized there; with exact_f
    False, f is replaced by its tangent at g(X) (an exactly Gaussian posterior).
    x (nX,) -> (nX, nT)."""
    gx = g(x)
    gp = g_prime(x, gx)
    z = gx[:, None] + (gp * sigma)[:, None] * T_GRID                  # (nX, nT)
    fz = f(z) if exact_f else x[:, None] + (z - gx[:, None]) / gp[:, None]
    log_post = -0.5 * ((x[:, None] - fz) / sigma) ** 2 - 0.5 * z * z
    log_post -= log_post.max(axis=1, keepdims=True)
    return log_post - np.log(np.exp(log_post) @ T_W)[:, None]


def gap_to(log_post, mean=0.0, sd=1.0):
    """D[Q ‖ posterior] in nats for Q = N(mean, sd²) in t, by quadrature; Q_σ is N(0, 1)."""
    log_q = -0.5 * ((T_GRID - mean) / sd) ** 2 - HALF_LOG_2PI - np.log(sd)
    return (np.exp(log_q) * (log_q - log_post)) @ T_W


def best_gaussian_gap(x, sigma, exact_f=True):
    """The smallest D[Q ‖ P_σ(z|X)] over Gaussian Q, for each X in x: (gap, mean, sd) with
    Q's mean and sd in t.  The search measures the mean and log sd in units of σ and the
    gap in units of σ², so that its numbers are of order 1 (the mean ≈ −(3a + b)σ)."""
    rows = []
    for log_post in log_posterior_t(x, sigma, exact_f):
        scaled = lambda p: gap_to(log_post, sigma * p[0], np.exp(sigma * p[1])) / sigma ** 2
        found = minimize(scaled, [0.0, 0.0], method="Nelder-Mead",
                         options=dict(xatol=1e-7, fatol=1e-14, maxiter=2000))
        rows.append((found.fun * sigma ** 2, sigma * found.x[0], np.exp(sigma * found.x[1])))
    return np.array(rows).T


def curvature_and_slope(z):
    """(a, b) at X = f(z): a = −g″/(2g′), b = g·g′, with g″ = (P_gt′ + P_gt·g·g′) / N(g)."""
    x = f(z)
    gp = g_prime(x, z)
    g2 = (p_gt_derivs(x)[0] + p_gt(x) * z * gp) * np.exp(HALF_LOG_2PI + 0.5 * z ** 2)
    return -g2 / (2 * gp), z * gp


z_line = np.linspace(-3.5, 3.5, 281)
a_l, b_l = curvature_and_slope(z_line)
flips = np.flatnonzero(a_l[:-1] * a_l[1:] < -1e-12)     # a changes sign (not mere rounding of a = 0)
z_flat = [brentq(lambda z: curvature_and_slope(np.array([z]))[0][0], z_line[i], z_line[i + 1])
          for i in flips]
z_parts = np.sort(np.r_[np.arange(-3.0, 3.5, 1.0), z_flat])
x_parts = f(z_parts)
a_p, b_p = curvature_and_slope(z_parts)
s_mid = nearest_sigma(0.01)
q_sigma_gap = np.array([gap_to(lp) for lp in log_posterior_t(x_parts, s_min)])
best = {s: best_gaussian_gap(x_parts, s) for s in (s_mid, s_min)}
tangent = best_gaussian_gap(x_parts, s_min, exact_f=False)[0]
gap_mid, gap_min, shift = best[s_mid][0] / s_mid ** 2, best[s_min][0] / s_min ** 2, best[s_min][1] / s_min
print(f"\nposterior gap, the proof's Q_sigma against the best Gaussian Q (D / sigma^2, nats; "
      f"Q_sigma and the best Q's mean shift at sigma = {s_min:g})")
print(f"  check, f replaced by its tangent (an exactly Gaussian posterior): the best Q's "
      f"max |D| / sigma^2 = {np.abs(tangent).max() / s_min ** 2:.1e}")
print(f"  {'g(X)':>6} {'X':>8} {'a':>8} {'b':>8} {'Q_sigma':>9} {'3a^2+(3a+b)^2/2':>16}"
      f" {f'best Q, s={s_mid:g}':>15} {f'best Q, s={s_min:g}':>16} {'3a^2':>9} {'shift':>8} {'-(3a+b)':>8}")
for j in range(len(z_parts)):
    a, b = a_p[j], b_p[j]
    print(f"  {z_parts[j]:+6.3f} {x_parts[j]:+8.4f} {a:+8.4f} {b:+8.4f} {q_sigma_gap[j] / s_min ** 2:9.5f}"
          f" {3 * a * a + 0.5 * (3 * a + b) ** 2:16.5f} {gap_mid[j]:15.6f} {gap_min[j]:16.6f}"
          f" {3 * a * a:9.6f} {shift[j]:+8.4f} {-(3 * a + b):+8.4f}")
ratio = q_sigma_gap / best[s_min][0]
tail, median = np.abs(z_parts) >= 2, z_parts == 0
print(f"  at |g(X)| >= 2 Q_sigma's gap is {ratio[tail].min():.0f} to {ratio[tail].max():.0f} times the best Q's; "
      f"at the median {ratio[median][0]:.2f} times")
for z in z_flat:
    j = np.flatnonzero(z_parts == z)[0]
    print(f"  where a = 0 (g(X) = {z:+.3f}) the best Q's D / sigma^2 is {gap_mid[j]:.1e} at sigma = {s_mid:g} "
          f"and {gap_min[j]:.1e} at {s_min:g}: no sigma^2 term")

# %% [markdown]
# **What the table says.**  The best Q's two columns are 3a² to the digits
# printed, at both σ: its gap is the curvature of g and nothing of the
# prior (the O(σ³) remainder is below 0.2% at σ = 0.01), and its mean moves
# by the predicted −(3a + b)·g′(X)·σ².  Q_σ's gap is the whole
# 3a² + ½(3a + b)², so its extra ½(3a + b)²σ² is the price of a misplaced
# mean.  In the tails, where one bump of P_gt dominates, g is nearly
# straight (a → 0) while b = g·g′ keeps growing: there the misplaced mean is
# nearly all of Q_σ's gap, which is thousands of times the best Q's (the
# printed ratio), and the best Gaussian Q is all but exact.  Where g″ = 0,
# just right of the median, the best Q's gap has no σ² term at all: from
# σ = 0.01 to 0.001 it falls 100-fold relative to σ², so like σ⁴.  And even
# at the median, where b = 0, Q_σ pays 4.5a²σ² for its mean, 2.5 times the
# best Q's gap, because the curvature shifts the posterior's mean too (the
# 3a in 3a + b).
#
# None of this changes the appendix's conclusion: every gap here vanishes
# like σ² or faster.  How small σ must be for a given gap is set by the
# curvature of g, as the appendix says, for the Q a VAE can learn; the
# prior's slope is a property of the proof's choice of Q_σ.
#
# **Plot 9.2.**  Left: in a tail (g(X) = −2) at σ ≈ 0.3, the posterior
# P_σ(z|X) in Q_σ's units, with Q_σ and the best Gaussian Q: Q_σ sits off
# to one side, the best Q sits on the posterior.  Right: the constants of
# the expansion as functions of g(X), with the quadrature values of the
# table as dots.

# %%
s_big = nearest_sigma(0.3)
x_tail = f(np.array([-2.0]))
post_tail = np.exp(log_posterior_t(x_tail, s_big)[0])
(gap_best_tail,), (mean_tail,), (sd_tail,) = best_gaussian_gap(x_tail, s_big)
fig, ax = plt.subplots(1, 2, figsize=(13, 4.4))
ax[0].plot(T_GRID, post_tail, "k", lw=2, label="P_σ(z|X)")
ax[0].plot(T_GRID, np.exp(-0.5 * T_GRID ** 2 - HALF_LOG_2PI), "C3--", lw=1.5,
           label=f"Q_σ (the proof's): D = {gap_to(np.log(post_tail)):.4f} nats")
ax[0].plot(T_GRID, np.exp(-0.5 * ((T_GRID - mean_tail) / sd_tail) ** 2 - HALF_LOG_2PI) / sd_tail, "C0:",
           lw=2, label=f"best Gaussian Q: D = {gap_best_tail:.4f} nats")
ax[0].set(xlim=(-4, 4), title=f"X = {x_tail[0]:.3f} (g(X) = −2), σ = {s_big:.3f}",
          xlabel="t = (z − g(X)) / (g′(X) σ)", ylabel="density in t")
ax[0].legend(fontsize=8)
ax[1].plot(z_line, 3 * a_l ** 2 + 0.5 * (3 * a_l + b_l) ** 2, "k", lw=2,
           label="Q_σ: 3a² + ½(3a + b)² = ½(15a² + 6ab + b²)")
ax[1].plot(z_line, 3 * a_l ** 2, "C0", lw=1.5, label="best Gaussian Q: 3a² (curvature)")
ax[1].plot(z_line, 0.5 * (3 * a_l + b_l) ** 2, "C3", lw=1.2, ls="--", label="Q_σ's misplaced mean: ½(3a + b)²")
ax[1].plot(z_parts, q_sigma_gap / s_min ** 2, "ko", ms=5, label=f"quadrature, σ = {s_min:g}")
ax[1].plot(z_parts, gap_min, "o", color="C0", ms=5)
ax[1].set_yscale("log")
ax[1].set_ylim(3e-6, 50)                                # 3a² is 0 where g″ = 0: off the axis
ax[1].set(xlabel="g(X) = G⁻¹(F(X)): X's quantile, in prior standard deviations", ylabel="D / σ²  (nats)",
          title="posterior gap per σ²: the proof's Q_σ against the best Gaussian Q")
ax[1].grid(alpha=0.3)
ax[1].legend(fontsize=8)
fig.suptitle("Plot 9.2: the best Gaussian Q misses only by the curvature of g; "
             "the prior's slope is the cost of Q_σ's mean")
fig.tight_layout()
lesson.save(fig, args, "09_gap_parts")

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
# appendix's solution, the encoder's std ≈ |g′(X)|·σ.

# %%
def sample_p_gt(n, rng):
    k = (rng.random(n) < WEIGHTS[1]).astype(int)
    return (MEANS[k] + SDS[k] * rng.standard_normal(n))[:, None]


# The products below are 256×64 matrices: splitting them over BLAS threads only costs
# time (a lot of it on a busy machine), so they run on one thread, unless a variable of
# yours says otherwise (OPENBLAS_NUM_THREADS, OMP_NUM_THREADS: minivae/kernels/threads.py
# says why; without timing anything, its policy takes the fewest threads it may).
print(threads.describe(threads.settle()))

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
std_ratio = np.exp(0.5 * log_var[:, 0]) / (g_prime(x_in[:, 0], g(x_in[:, 0])) * SIGMA_DEC)

print(f"\n1-D VAE: hidden {hidden}, decoder sigma {SIGMA_DEC}, Adam lr {lr}, "
      f"{steps} steps of batch {batch}: {train_time:.1f} s")
print(f"  -ELBO on {n_eval} fresh samples: {neg_elbo:.4f} +/- {neg_elbo_se:.4f} nats "
      f"(lower bound H(P_gt) = {entropy:.4f} nats)")
print(f"  RMS over z ~ N(0,1) of decoder mean - f(z): {rms['f(z)']:.4f}; - f(-z): {rms['f(-z)']:.4f} "
      f"(spread of f itself: {f_spread:.4f}) -> learned {best}")
print(f"  encoder std / (|g'(X)| sigma) over X in [-2.5, 4]: median {np.median(std_ratio):.3f}, "
      f"range {std_ratio.min():.3f} .. {std_ratio.max():.3f}")

# %% [markdown]
# **Plot 9.3.** Left: the learned decoder mean against F⁻¹∘G (mirrored if
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
fig.suptitle("Plot 9.3: a trained 1-D VAE finds (a mirror image of) the appendix's construction")
fig.tight_layout()
lesson.save(fig, args, "09_appendix_a_vae")
print(f"\ntotal time {time.perf_counter() - t_start:.1f} s")

# %% [markdown]
# ## Exercises
#
# Change one thing, write down your prediction, then run with `--quick`
# (a few seconds).  The numbers quoted are what `--quick` printed here with
# seed 0.
#
# 1. **A target with no curvature.**  Set `WEIGHTS` to `[1.0, 0.0]`, so
#    P_gt = N(−1, 0.6²) and g(X) = (X + 1)/0.6 is a straight line.  Predict
#    the two kinds of gap in the last table.  *What should happen:* a = 0 at
#    every X, so f is linear, the posterior is exactly Gaussian and the best
#    Gaussian Q matches it: its columns print 0 (−0.000000, rounding).  Q_σ
#    still misses, by ½b²σ² with b = g/0.6: D/σ² = 1.38889 at g = ±1,
#    5.55554 at ±2 and 12.49997 at ±3, all of it the cost of its misplaced
#    mean (the shift column is −b).  With no curvature the appendix's reading
#    holds exactly for the Q a VAE can learn; only the proof's Q_σ pays for
#    the prior's slope.  At the median b = 0 too, and Q_σ's gap falls like
#    σ⁴ (fitted slope 3.9992).  The ratio line divides by rounding errors,
#    and the row where a = 0 is gone (a is 0 everywhere): ignore both.
# 2. **Further into the tails.**  Set `z_parts` to
#    `np.sort(np.r_[np.arange(-4.0, 4.5, 1.0), z_flat])`.  Far out, each tail
#    belongs to one bump, so g′ approaches 1/(that bump's sd), b = g·g′ ≈
#    g/sd and a → 0.  Predict both gaps at g = −4 and at g = +4.  *What
#    should happen:* Q_σ's gap is about ½b², whose limits are
#    ½(4/0.6)² ≈ 22.2 and ½(4/0.8)² = 12.5; printed 20.82 and 11.08 (g′ has
#    not quite reached its limit).  The best Q's is 3a²: 0.000304 and
#    0.000574.  At g = −4 Q_σ's gap is 68,388 times the best Q's: far out the
#    best Gaussian Q is all but exact, and Q_σ gets worse the further X lies.
# 3. **A narrower right bump.**  Set `SDS` to `[0.6, 0.3]`.  Which rows of
#    the table change, and by about how much?  *What should happen:* the
#    left half barely moves.  On the right, b ≈ g/0.3 instead of g/0.8, so
#    Q_σ's gap grows about (0.8/0.3)² ≈ 7-fold: 40.11 against 5.64 at
#    g = +3.  The best Q's gap grows with the curvature: 1.1721 against
#    0.1646 at g = +1, 0.0170 against 0.0024 at g = +3.  A sharper target
#    needs a smaller σ for the same gap, as §2.4.1 puts it (σ small relative
#    to the curvature of the target's CDF); the best Q's columns measure
#    exactly that requirement.
# 4. **Which mirror image?**  Run with `--seed 1` to `--seed 5` and watch the
#    "learned" verdict.  *What should happen:* no preference.  Here seeds 0
#    and 1 learned f(−z) and seeds 2 to 5 learned f(z), each with an RMS gap
#    of 0.17 to 0.30, against 2.7 for the wrong mirror.  The prior N(0, 1)
#    is symmetric, so both decoders give the same P(X).  This is §2.4.1's
#    point that many decoders give one and the same P(X), in its simplest
#    form.
# 5. **Smaller σ, harder training.**  Set `SIGMA_DEC = 0.03` (was 0.1).  The
#    appendix says a smaller σ lets the VAE get closer to exact; predict what
#    600 Adam steps make of it.  *What should happen:* worse, not better:
#    −ELBO 2.53 instead of 1.70 nats, and an RMS gap to F⁻¹∘G of 0.64 instead
#    of 0.20.  §2.4.1 warns that a very small σ scales the gradients badly;
#    here the reconstruction term's gradient grows like 1/σ², and the same
#    learning rate and budget no longer suffice.
