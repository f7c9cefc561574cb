"""Lesson 01: a simple latent variable, bent into any shape (Doersch §1.1, Eq. 1, Fig. 1; §2's opening, Fig. 2 and its footnote).

Run:  python lessons/01_latent_variables.py [--quick] [--seed S] [--out DIR]
"""
# %% [markdown]
# # 01 — Latent variables: from N(0, I) to anything (§1.1 Eq. 1, Fig. 1; §2 opening, Fig. 2)
#
# §1.1 sets up the model: a latent z drawn from P(z), and a likelihood
# P(X|z) that turns it into data, so that (Eq. 1)
#
#     P(X) = ∫ P(X|z) P(z) dz,      with P(X|z) = N(X | f(z), σ² I)
#
# in the prose that follows Eq. 1 (σ is the decoder's noise, a number we
# choose; f is the decoder).  The untitled opening of §2 then makes the VAE's
# bold choice: draw z from the plainest distribution there is, N(0, I), and
# leave all the structure to f.  Is a Gaussian really enough raw material?
# §2's opening answers with a picture (Fig. 2): a fixed, hand-written map
#
#     g(z) = z/10 + z/‖z‖
#
# turns a round cloud of 2-D Gaussian points into a thin ring.  (This g is
# Fig. 2's; Appendix A, lesson 09, uses the letter g for a different
# function.)  This lesson sketches the model of Fig. 1, redraws Fig. 2 and
# measures the ring, then works the footnote attached to that passage in one
# dimension: compose the Gaussian CDF G with the inverse CDF F⁻¹ of the
# target, f(z) = F⁻¹(G(z)), and N(0, 1) becomes any target distribution
# (inverse transform sampling).  The footnote
# says it in words; Appendix A writes it as f(z) = F⁻¹(G(z)).  For more
# dimensions the footnote applies the same step to one marginal and then to
# each conditional in turn.

# %%
import time

import numpy as np
from scipy import stats

from minivae.classroom import lesson

args = lesson.parse_args(__doc__)
plt = lesson.setup_matplotlib()
rng = np.random.default_rng(args.seed)
t_start = time.perf_counter()

# %% [markdown]
# ## Fig. 1: the model as a graph
#
# §1.1 draws the model as a graphical model (Fig. 1), sketched here in
# `01_fig1.png`.  A circle is a random variable: z, drawn from P(z), and X,
# drawn from P(X|z; θ), shaded because it is the one we observe.  The arrow
# z → X is the decoder.  The box is plate notation: what is inside is drawn
# afresh N times, once per datapoint, while θ, outside it, is shared by all
# of them.  What the graph lacks matters as much: there is no arrow from X
# to z and no encoder.  The model generates X from nothing but noise; the
# encoder Q(z|X) only enters in §2, as a tool for training it.

# %%
def draw_fig1(ax):
    """Sketch of Fig. 1: z → X inside a plate over the N datapoints, θ outside it."""
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 6)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.add_patch(plt.Rectangle((1.0, 0.3), 4.4, 5.3, fill=False, lw=1.5))          # the plate
    ax.text(5.15, 0.5, "N", ha="right", va="bottom", fontsize=13)
    for (x, y), name, shade in (((3.2, 4.3), "z", "white"), ((3.2, 2.0), "X", "0.8")):
        ax.add_patch(plt.Circle((x, y), 0.6, fc=shade, ec="black", lw=1.5))
        ax.text(x, y, name, ha="center", va="center", fontsize=15, style="italic")
    ax.add_patch(plt.Circle((7.0, 2.0), 0.12, fc="black"))                          # θ, a fixed parameter
    ax.text(7.0, 2.45, "θ", ha="center", va="bottom", fontsize=15)
    arrow = dict(arrowstyle="-|>", color="black", lw=1.5, mutation_scale=15)
    ax.annotate("", xy=(3.2, 2.62), xytext=(3.2, 3.68), arrowprops=arrow)           # z → X
    ax.annotate("", xy=(3.82, 2.0), xytext=(6.85, 2.0), arrowprops=arrow)           # θ → X
    ax.text(3.2, 5.05, "z ~ P(z)", ha="center", fontsize=9)
    ax.text(3.2, 1.25, "X ~ P(X|z; θ)", ha="center", va="top", fontsize=9)
    ax.text(7.0, 1.55, "decoder weights,\nshared by all N", ha="center", va="top", fontsize=8.5)


fig, ax = plt.subplots(figsize=(6.0, 3.6))
draw_fig1(ax)
ax.set_title("Fig. 1 in outline: P(X) = ∫ P(X|z; θ) P(z) dz (Eq. 1)", fontsize=10)
lesson.save(fig, args, "01_fig1")

# %% [markdown]
# ## Fig. 2: a ring out of a Gaussian
#
# g pushes every point radially: its radius becomes ‖g(z)‖ = 1 + ‖z‖/10.  The
# radius ‖z‖ of a 2-D standard normal is Rayleigh distributed, with mean
# √(π/2) ≈ 1.2533 and standard deviation √(2 − π/2) ≈ 0.6551, so the ring
# should sit at radius 1 + √(π/2)/10 ≈ 1.1253 with a spread of only ≈ 0.0655:
# a tenth of the Gaussian's own radial spread.  Direction is untouched, so
# the angle stays uniform.  The printed numbers check this.
#
# Why the paper bothers with a hand-made ring: if a two-term formula can bend
# N(0, I) into this shape, a learned decoder f can spend its first layers
# turning N(0, I) into whatever latent structure the data need, and its later
# layers turning that into images (§2's opening makes this argument).

# %%
def g(z):
    """Fig. 2's map g(z) = z/10 + z/‖z‖, row-wise.  z (N, 2) -> (N, 2)."""
    return z / 10 + z / np.linalg.norm(z, axis=1, keepdims=True)


n_ring = 20_000 if args.quick else 200_000
z = rng.standard_normal((n_ring, 2))
x = g(z)
radius = np.linalg.norm(x, axis=1)
r_mean, r_std = radius.mean(), radius.std(ddof=1)
r_se = r_std / np.sqrt(n_ring)
print("Fig. 2 ring (section 2 opening), g(z) = z/10 + z/||z||, z ~ N(0, I) in 2-D")
print(f"  samples n = {n_ring}")
print(f"  mean ||g(z)|| = {r_mean:.5f} ± {r_se:.5f} (units of z; "
      f"theory 1 + sqrt(pi/2)/10 = {1 + np.sqrt(np.pi / 2) / 10:.5f})")
print(f"  std  ||g(z)|| = {r_std:.5f} (theory sqrt(2 - pi/2)/10 = "
      f"{np.sqrt(2 - np.pi / 2) / 10:.5f})")

# %%
n_show = 1_000                                     # points drawn per panel
fig, axes = plt.subplots(1, 2, figsize=(9, 4.6))
for ax, pts, title in ((axes[0], z[:n_show], "z ~ N(0, I)"),
                       (axes[1], x[:n_show], "g(z) = z/10 + z/‖z‖")):
    ax.scatter(pts[:, 0], pts[:, 1], s=4, alpha=0.6, color="C0")
    ax.set_xlim(-3.5, 3.5)
    ax.set_ylim(-3.5, 3.5)
    ax.set_aspect("equal")
    ax.set_title(title)
    ax.grid(alpha=0.3)
axes[0].set_xlabel("z₁")
axes[0].set_ylabel("z₂")
axes[1].set_xlabel("g(z)₁")
axes[1].set_ylabel("g(z)₂")
fig.suptitle(f"Fig. 2: a fixed map turns a Gaussian into a ring "
             f"(mean radius {r_mean:.3f}, spread {r_std:.3f})")
lesson.save(fig, args, "01_fig2_ring")

# %% [markdown]
# ## §2's footnote in one dimension: f(z) = F⁻¹(G(z))
#
# If z ~ N(0, 1) then u = G(z) is uniform on (0, 1), and F⁻¹(u) has CDF F.
# So composing the two CDFs maps a standard normal onto *any* 1-D target —
# the same idea Appendix A uses to show a VAE can be exact in 1-D.  The target
# here is a two-bump mixture, 0.35·N(−2, 0.5²) + 0.65·N(1.5, 0.8²), which no
# single Gaussian resembles.  F has no closed-form inverse, so we tabulate F
# on a fine grid and invert it by linear interpolation.
#
# In the figure: the left panel is the Gaussian input; the middle one is the
# map f itself, whose slope φ(z)/p(f(z)) is steep where the target has little
# mass, so the Gaussian's points leap across the gap between the bumps; the
# right one is the histogram of f(z) over the target density.  The printed Kolmogorov–Smirnov distance measures the fit: for
# exact samples it stays below 1.95/√n with probability 0.999.

# %%
import numpy as np
from scipy import stats

weights, means, sds = np.array([0.35, 0.65]), np.array([-2.0, 1.5]), np.array([0.5, 0.8])


def target_pdf(t):
    return (weights * stats.norm.pdf(t[..., None], means, sds)).sum(axis=-1)


def target_cdf(t):
    return (weights * stats.norm.cdf(t[..., None], means, sds)).sum(axis=-1)


grid = np.linspace(-6.0, 7.0, 20_001)              # F tabulated here; mass outside < 1e-12
F_grid = target_cdf(grid)


def f_inverse_cdf(z):
    """f(z) = F⁻¹(G(z)), with F⁻¹ by interpolation in the tabulated CDF."""
    ### BEGIN SOLUTION
    return np.interp(stats.norm.cdf(z), F_grid, grid)
    ### END SOLUTION


# %%
n_1d = 100_000 if args.quick else 1_000_000
z1 = rng.standard_normal(n_1d)
x1 = f_inverse_cdf(z1)
ks = stats.kstest(x1, target_cdf)
mix_mean = float(weights @ means)
mix_var = float(weights @ (sds ** 2 + means ** 2)) - mix_mean ** 2
print("1-D footnote (section 2 opening), f(z) = F^-1(G(z)) onto "
      + " + ".join(f"{w:g} N({m:g}, {sd:g}^2)" for w, m, sd in zip(weights, means, sds)))
print(f"  samples n = {n_1d}")
print(f"  sample mean = {x1.mean():.4f} ± {x1.std(ddof=1) / np.sqrt(n_1d):.4f} "
      f"(target {mix_mean:.4f})")
print(f"  sample var  = {x1.var(ddof=1):.4f} (target {mix_var:.4f})")
print(f"  KS distance sup|F_n - F| = {ks.statistic:.5f} (p = {ks.pvalue:.3f}; "
      f"99.9% bound for exact samples 1.95/sqrt(n) = {1.95 / np.sqrt(n_1d):.5f})")

# %%
fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
t = np.linspace(-4, 4, 400)
axes[0].hist(z1, bins=80, density=True, color="C0", alpha=0.6, label="samples")
axes[0].plot(t, stats.norm.pdf(t), "k", lw=1.5, label="N(0, 1)")
axes[0].set(title="input: z ~ N(0, 1)", xlabel="z", ylabel="density")
axes[0].legend(fontsize=8)
axes[1].plot(t, f_inverse_cdf(t), color="C3", lw=2)
axes[1].set(title="the map f(z) = F⁻¹(G(z))", xlabel="z", ylabel="f(z)")
axes[1].grid(alpha=0.3)
xs = np.linspace(-4.5, 5, 500)
axes[2].hist(x1, bins=120, density=True, color="C2", alpha=0.6, label="f(z), z ~ N(0, 1)")
axes[2].plot(xs, target_pdf(xs), "k", lw=1.5, label="target density")
axes[2].set(title=f"output vs target (KS distance {ks.statistic:.4f})", xlabel="x", ylabel="density")
axes[2].legend(fontsize=8)
fig.suptitle("§2's footnote: inverse transform sampling turns N(0, 1) into a bimodal target")
fig.tight_layout()
lesson.save(fig, args, "01_inverse_cdf")

print(f"lesson 01 done in {time.perf_counter() - t_start:.1f} s")

# %% [markdown]
# ## Exercises
#
# Change one thing, write down your prediction, then run the lesson with
# `--quick` (about 2 s).  The numbers quoted are what `--quick` printed here
# with seed 0; yours should agree to the quoted error bars.
#
# 1. **A thicker ring.**  In `g`, change `z / 10` to `z / 2`.  Before running,
#    compute the new mean radius and spread from ‖g(z)‖ = 1 + ‖z‖/2 and the
#    Rayleigh moments above.  *What should happen:* mean ≈ 1 + √(π/2)/2 ≈ 1.627
#    and spread ≈ √(2 − π/2)/2 ≈ 0.328 (printed: 1.628 and 0.328; the "theory"
#    column still shows the /10 values, so the arithmetic is yours).  The ring
#    is five times as thick.
# 2. **A shell instead of a ring.**  Draw z with three columns,
#    `rng.standard_normal((n_ring, 3))`.  ‖z‖ now has the chi distribution
#    with 3 degrees of freedom: mean 2√(2/π) ≈ 1.596, variance 3 − 8/π ≈ 0.454.
#    *What should happen:* mean radius ≈ 1.160 and spread ≈ 0.067 (printed:
#    1.1596 and 0.0674).  The right panel plots only the first two
#    coordinates, so the thin spherical shell shows as a filled disc.
# 3. **A target with one bump.**  Set `weights` to `[0.0, 1.0]`, so the
#    target is N(1.5, 0.8²).  Predict the shape of the map in the middle
#    panel.  *What should happen:* a straight line, f(z) = 1.5 + 0.8 z; the
#    sample mean is ≈ 1.5 and the variance ≈ 0.64 (printed: 1.4981 and
#    0.6408).  The steep stretch of the bimodal f was there only to jump the
#    gap between the bumps.
# 4. **A coarse CDF table.**  Change `grid` to 14 points,
#    `np.linspace(-6.0, 7.0, 14)` (spacing 1).  Does the KS distance stay
#    under its 99.9% bound?  *What should happen:* no: 0.037 against 0.0062,
#    and the variance comes out 3.46 instead of 3.29.  Interpolating F
#    linearly between points 1 apart spreads each cell's mass evenly over the
#    cell and flattens the bumps.  The footnote's construction is exact; a
#    numerical F⁻¹ is only as good as its table.
# 5. **How often should the check fail?**  Run with `--seed 1` up to
#    `--seed 6` and watch the KS line.  *What should happen:* the p-value
#    jumps about (from 0.05 to 0.92 here), because for exact samples it is
#    uniform on (0, 1).  The distance stays under 1.95/√n, which exact
#    samples exceed only once in a thousand runs.
