"""Lesson 07b: a VAE with a 2-D latent, its manifold, and a walk through it (beyond the paper: Kingma & Welling 2014, Fig. 4).

Run:  python lessons/07b_latent_2d.py [--quick] [--seed S] [--out DIR] [--epochs N]
"""
# %% [markdown]
# # 07b — Walk the latent space: a VAE with a 2-D latent (beyond the paper; §2 opening, §4.1)
#
# **Beyond the paper.**  Doersch's tutorial draws no learned latent space.
# The picture this lesson redraws, a decoder's digits laid out over a 2-D
# latent plane, is Kingma & Welling's (*Auto-Encoding Variational Bayes*,
# 2014, Fig. 4), a still image there.  Here it is also live: the lesson
# writes a web page that decodes the z under the pointer.
#
# What it shows of the tutorial:
#
# * **Fig. 2 and §2's opening argument.**  N(0, I) is raw material enough:
#   a powerful enough decoder can map normally distributed z to whatever
#   latent values the data need (which digit, stroke width, angle) and
#   those to a rendered digit, as g bends the Gaussian into Fig. 2's ring.
#   With two latent dimensions we can look at what the decoder made of
#   every z at once.
# * **§4.1's model**, with K = 2.  It is the same hand-derived `VAE`
#   (lesson 07): ReLU layers, heads μ and log_var = log diag Σ,
#   z = μ + Σ^{1/2} ⊙ ε (Eq. 10), sigmoid cross-entropy on the grey levels,
#   the closed-form KL (Eq. 7) and Adam.  It has one hidden layer of 500
#   units where §4.1's reference code has three (1000, 500, 250).  500 is
#   the width Kingma & Welling used for MNIST.  The smaller network trains
#   in about a minute, and a browser decodes it in a fraction of a
#   millisecond: 2 × 500 + 500 × 784 ≈ 0.39 million multiply-adds.
#
# Look at:
#
# * `07b_manifold.png`: the decoder over a grid of z, and the test digits'
#   encodings μ(X) on the same axes;
# * `07b_explorer.html`: the live explorer.  Open it in a browser; it needs
#   `07b_explorer_weights.js` beside it and nothing else, no network.

# %%
import time
from pathlib import Path

import numpy as np
from scipy.stats import norm

from minivae.classroom import lesson
from minivae.config import TrainConfig
from minivae.evaluate import evaluate_elbo
from minivae.explorer.export import write_explorer
from minivae.explorer.live import explore
from minivae.files.plots import tile
from minivae.train import train


def add_arguments(p):
    p.add_argument("--epochs", type=int, help="epochs (default 25; --quick 3)")


args = lesson.parse_args(__doc__, add_arguments)
plt = lesson.setup_matplotlib()
t_start = time.perf_counter()
epochs = args.epochs or (3 if args.quick else 25)
sizes = dict(subset=5_000, test_subset=500) if args.quick else {}
x_train, _, x_test, y_test = lesson.mnist_or_exit("train", "test")
x_test, y_test = x_test[:sizes.get("test_subset")], y_test[:sizes.get("test_subset")]

# %% [markdown]
# ## Training: §4.1's recipe with a 2-D latent
#
# Adam at 1e-3 with batches of 100, as in §4.1's reference code, on the
# grey-level digits; He initialization and no weight decay, which suit a
# small ReLU network (our choice).  `train()` prints a line per epoch.

# %%
config = TrainConfig(hidden=(500,), z_dim=2, likelihood="bernoulli", init="he", batch_size=100,
                     lr=1e-3, weight_decay=0.0, epochs=epochs, seed=args.seed, images=False,
                     out_dir=str(Path(args.out) / "runs" / f"07b-{time.strftime('%Y%m%d-%H%M%S')}"),
                     **sizes)
model, history, run_dir = train(config, x_train=x_train, x_test=x_test)
print(f"checkpoint: {run_dir / 'last.npz'}")
t_trained = time.perf_counter()

rng = np.random.default_rng([args.seed, 7])
ev = evaluate_elbo(model, x_test, rng)
print(f"test −ELBO on {len(x_test)} test digits after {epochs} epoch(s): {ev['neg_elbo']:.2f} nats "
      f"= {ev['recon_nll']:.2f} −log P(X|z) + {ev['kl']:.2f} KL")

# %% [markdown]
# ## Do the encodings fill the prior?
#
# Each test digit X is encoded as Q(z|X) = N(μ(X), Σ(X)).  Pooled over the
# digits, these Gaussians form the distribution of the codes the decoder is
# trained on.  If that pool matched the prior N(0, I), the decoder would
# have learned every z the prior draws.  Two checks:
#
# * the pooled variance of each coordinate, Var(μ_j) + mean Σ_jj (the law
#   of total variance), is 1 for a pool equal to N(0, I);
# * the share of the μ(X) within radius r of 0.  For z ~ N(0, I) in two
#   dimensions it is 1 − exp(−r²/2): 0.393, 0.865 and 0.989 within 1, 2
#   and 3 (not the 1-D 0.683, 0.954, 0.997).

# %%
mu, log_var = (a.astype(np.float64) for a in model.encode(x_test))          # (N, 2) each
pooled = mu.var(axis=0) + np.exp(log_var).mean(axis=0)
radius = np.linalg.norm(mu, axis=1)
print(f"pooled variance Var(μ_j) + mean Σ_jj: {pooled[0]:.3f}, {pooled[1]:.3f} (1 for N(0, I)); "
      f"mean μ = ({mu[:, 0].mean():.3f}, {mu[:, 1].mean():.3f})")
print("share of μ(X) within radius 1, 2, 3: "
      + ", ".join(f"{(radius < r).mean():.3f}" for r in (1, 2, 3))
      + " (z ~ N(0, I): " + ", ".join(f"{1 - np.exp(-r * r / 2):.3f}" for r in (1, 2, 3)) + ")")

# %% [markdown]
# ## The manifold, spaced by the prior's quantiles
#
# Lesson 01 worked §2's footnote: a CDF makes a variable uniform, and an
# inverse CDF turns a uniform into the distribution it belongs to.  Here
# the inverse CDF lays out the grid: z_i = Φ⁻¹(p_i) with p_i evenly spaced
# in (0, 1) and Φ the standard normal CDF, so every cell of the grid holds
# the same prior mass, 1/n² (Kingma & Welling spaced their Fig. 4 the same
# way).  In the coordinates Φ(z) the prior is uniform on the unit
# square.  So the right panel draws each test digit at Φ(μ(X)) on the same
# axes, and a pool of codes equal to the prior would cover it evenly.  The
# lesson counts the cells of the grid that no test digit's μ(X) falls in:
# the digits drawn there are decoded from z that no test digit is encoded
# near.

# %%
n_grid = 20
p = np.linspace(0.5 / n_grid, 1 - 0.5 / n_grid, n_grid)
z_axis = norm.ppf(p)                                                    # inverse-CDF grid
zz = np.array([[a, b] for b in z_axis[::-1] for a in z_axis], dtype=model.dtype)   # rows: z₂ high → low
cell = np.minimum((norm.cdf(mu) * n_grid).astype(int), n_grid - 1)               # (N, 2) grid cell of μ
empty = n_grid * n_grid - len({(a, b) for a, b in cell})
print(f"manifold: {n_grid} × {n_grid} grid, z from {z_axis[0]:.3f} to {z_axis[-1]:.3f} per axis "
      f"(Φ⁻¹ of {p[0]:.3f} … {p[-1]:.3f}); {empty} of its {n_grid * n_grid} cells hold no test "
      f"digit's μ(X)")

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12.5, 6.2), sharex=True, sharey=True)
ax1.imshow(tile(model.decode(zz), n_grid, n_grid), cmap="gray", vmin=0, vmax=1, extent=(0, 1, 0, 1))
ax1.set(xlabel="Φ(z₁)", ylabel="Φ(z₂)", title=f"decoder over the inverse-CDF grid of z ({n_grid} × {n_grid})")
u = norm.cdf(mu)
sc = ax2.scatter(u[:, 0], u[:, 1], c=y_test, cmap="tab10", vmin=-0.5, vmax=9.5, s=3, alpha=0.6)
ax2.legend(*sc.legend_elements(), fontsize=7, title="label", loc="upper left", bbox_to_anchor=(1.01, 1))
ax2.set(xlabel="Φ(μ₁(X))", title=f"encodings μ(X) of {len(x_test)} test digits, as Φ(μ)", xlim=(0, 1),
        ylim=(0, 1), aspect="equal")
ax2.grid(alpha=0.3)
fig.tight_layout()
lesson.save(fig, args, "07b_manifold")

# %% [markdown]
# ## The live explorer, in a browser
#
# The lesson writes two files into its output folder: the page,
# `07b_explorer.html`, and the decoder's weights with the test encodings,
# `07b_explorer_weights.js`.  The page decodes the z under the pointer in
# plain JavaScript, the same forward pass as `VAE.decode`: z → 500 ReLU
# units → 784 logits → sigmoid.  Clicking two dots plays the straight
# line between the two digits' encodings, and a strip of eight digits along
# it stays below the digit.  Everything is read by relative path, so the
# folder can be copied anywhere.

# %%
page, weights = write_explorer(model, x_test, y_test, args.out, name="07b_explorer",
                               about=f"VAE 784-500-2, {epochs} epoch(s), seed {args.seed}, test −ELBO "
                                     f"{ev['neg_elbo']:.1f} nats")
print(f"saved {page} and {weights.name} ({weights.stat().st_size / 1e6:.1f} MB): open the page in a browser")

# %% [markdown]
# ## The live explorer, here
#
# The same explorer in a matplotlib figure, when matplotlib can deliver
# the pointer's events: in a window, or in Jupyter with ipympl (the
# notebook extra installs it; the lesson turns on `%matplotlib widget`).
# Elsewhere, one line says so and the manifold figure is shown instead.

# %%
live = explore(model, x_test, y_test, fallback=Path(args.out) / "07b_manifold.png", page=page)

# %%
t_end = time.perf_counter()
epoch_s = [r["seconds"] for r in history if r.get("seconds") is not None]
print(f"training time per epoch: mean {np.mean(epoch_s):.1f} s over {len(epoch_s)} epoch(s)")
print(f"time: {t_trained - t_start:.1f} s training, {t_end - t_trained:.1f} s the rest, "
      f"{t_end - t_start:.1f} s in all")

# %% [markdown]
# ## Exercises
#
# Predict first, then run.  The numbers quoted are what the lesson printed
# here with seed 0 (the default run: 25 epochs on all 60,000 digits).
#
# 1. **A finer grid.**  Set `n_grid = 30`.  How far out does the grid now
#    reach?  *What should happen:* to Φ⁻¹(1/60) = −2.128 and +2.128 (from
#    ±1.960 with 20): the outermost cells still hold only 1/n² of the
#    prior's mass each, so the grid never reaches far into the tails.
# 2. **The circles on the page.**  The explorer draws the prior's 1, 2 and
#    3 σ circles.  What share of z ~ N(0, I) lies inside the 2 σ circle, and
#    what share of the test μ(X)?  *What should happen:* 1 − e⁻² = 0.865
#    for the prior, but only 0.762 of the μ(X) in the default run: the 1's
#    are pushed far out along z₁ (94% of them beyond radius 2), and the
#    pooled variance of z₁ came out 1.27 against 1.07 for z₂.  The pool of
#    codes is not the prior, only close to it.
# 3. **Less training.**  Run `--quick` (3 epochs on 5,000 digits) and
#    compare its manifold with the default run's.  *What should happen:*
#    blurrier digits and fewer classes told apart, and a pool of codes that
#    covers far less of the prior: 290 of the 400 grid cells held no test
#    encoding (23 after the default 25 epochs), and the test −ELBO was
#    180.53 nats on its 500 test digits against 150.07 on all 10,000.
# 4. **A walk across the plane.**  In the page, click a 1 (far left) and
#    then a 0 (right).  Predict what the middle of the walk shows.
#    *What should happen:* not a blend of 1 and 0 but the classes the
#    straight line crosses.  In the default run the line between the two
#    classes' mean encodings passes through the 8's, the 5's and the 3's:
#    the decoder maps nearby z to similar digits, as §2's opening asks, but
#    a straight path in z is not a gradual change in X.
