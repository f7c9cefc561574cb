"""Lesson 07: the tutorial's MNIST VAE, trained and sampled (Doersch §4.1, Fig. 7).

Run:  python lessons/07_vae_mnist.py [--quick] [--seed S] [--out DIR] [--full | --epochs N]
                                     [--zdim K] [--zdim-sweep] [--resume PATH]
"""
# %% [markdown]
# # 07 — A VAE on MNIST (§4.1, Fig. 7)
#
# Section 4.1 trains a VAE on MNIST, adapted from Caffe's MNIST autoencoder
# example with ReLUs and Adam, and shows digits decoded from z ~ N(0, I)
# (Fig. 7).  The exact network and solver are in the paper's reference code,
# https://github.com/cdoersch/vae_tutorial (`mnist_vae.prototxt`,
# `mnist_vae_solver_adam.prototxt`); the paper's text does not list them.
# This lesson trains that network with minivae (the "doersch" preset):
#
# * encoder 784 → 1000 → 500 → 250 (ReLU), heads μ and log_var = log diag Σ,
#   each in R³⁰: K = 30 latent dimensions (`z_dim` here), the reference
#   code's choice; the paper's text gives no size, only that fewer than 4
#   did worse and 1,000 did fine;
# * z = μ + Σ^{1/2} ⊙ ε (Eq. 10); decoder 30 → 250 → 500 → 1000 → 784,
#   then sigmoid cross-entropy against the grey levels: §4.1's reading of
#   it as the probability of a random binarization X′ (erratum below);
# * loss = −(Eq. 9) = −log P(X|z) + D[Q(z|X) ‖ N(0, I)], the KL in closed
#   form (Eq. 7); Adam at 1e-3, batch 100, weight decay 5e-4, Caffe's
#   sparse Gaussian init (all from the reference code).
#
# > **Erratum (§4.1).**  The paper says the cross-entropy measures the
# > "expected probability" of X′.  It is an expected *log*-probability:
# > ∑_d [X_d log sig(f_d) + (1 − X_d) log(1 − sig(f_d))] = E_{X′}[log P(X′|z)]
# > with X′_d ~ Bernoulli(X_d), and the loss is its negative.
#
# How long?  The reference solver runs 60,000 iterations of batch 100, that
# is 100 epochs, and the reference code's README reports that its
# experiments complete in about ten minutes on a Titan X GPU; the paper's
# text states neither.  The default here is 10 epochs, `--full` runs all
# 100, and a run can be continued with `--resume runs/.../last.npz`.  The
# lesson prints its own training time per epoch at the end.  The README's
# "Speed" section gives this network's seconds per epoch as measured on two
# 2-core CPUs, beside PyTorch's, and what `--no-flush` costs: it keeps the
# subnormal numbers that weight decay breeds in unused weights, which slow
# some CPUs down from epoch 3 on.  Look at:
#
# * `07_samples.png` — Fig. 7: a 10 × 10 grid of decoded prior samples.
#   §4.1 finds most of its samples realistic and a noticeable share in
#   between two digits (it points out one between a 7 and a 9), because a
#   smooth decoder maps the continuous latent space onto the digits with no
#   gaps between classes.  Look for both kinds in yours.
# * `07_nearest.png` — samples beside their nearest training images: is
#   the model copying?
# * `07_reconstructions.png` — test digits above their reconstructions.
# * `07_loss_curves.png` — −ELBO on training and test digits per epoch, and
#   its two terms.
#
# `--zdim 2` trains a 2-D latent instead and also draws the decoded manifold
# and the test set's encodings.  `--zdim-sweep` runs short trainings over
# several latent sizes, for §4.1's remark on the latent size (see the end).

# %%
import dataclasses
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from matplotlib.ticker import MaxNLocator
from scipy.stats import norm

from minivae.classroom import lesson
from minivae.config import DEPARTURES, TrainConfig, build_model
from minivae.errors import CheckpointError
from minivae.evaluate import evaluate_elbo, log_px_importance
from minivae.files.checkpoint import read_meta
from minivae.files.plots import tile
from minivae.train import train


def add_arguments(p):
    p.add_argument("--full", action="store_true", help="the reference code's 100 epochs "
                   "(60,000 iterations of batch 100)")
    p.add_argument("--epochs", type=int, help="epochs (default 10; --quick 1; --full 100)")
    p.add_argument("--zdim", type=int, default=30, help="latent dimensions K, the k of the paper's "
                   "Eq. 7 (default 30, the reference code's)")
    p.add_argument("--beta1", type=float, default=0.9, help="Adam β1 (default 0.9; the reference "
                   "solver sets no `momentum`, which Caffe's Adam uses as β1, so it ran β1 = 0)")
    p.add_argument("--resume", type=Path, help="continue the run in this checkpoint (its last.npz)")
    p.add_argument("--zdim-sweep", action="store_true", help="short runs over several latent sizes")
    p.add_argument("--sweep-zdims", default="2,4,30,1000", help="latent sizes of the sweep (default 2,4,30,1000)")
    p.add_argument("--sweep-epochs", type=int, help="epochs per sweep run (default 2; --quick 1)")


args = lesson.parse_args(__doc__, add_arguments)
plt = lesson.setup_matplotlib()
t_start = time.perf_counter()
epochs = args.epochs or (100 if args.full else 1 if args.quick else 10)
quick_sizes = dict(subset=1_000, test_subset=500) if args.quick else {}
x_train, _, x_test, y_test = lesson.mnist_or_exit("train", "test")
x_test, y_test = x_test[:quick_sizes.get("test_subset")], y_test[:quick_sizes.get("test_subset")]


def config_for(z_dim, n_epochs, out_dir, images=False):
    """The reference code's §4.1 setup with this lesson's length, seed, latent size and β1."""
    return TrainConfig.from_preset("doersch", z_dim=z_dim, epochs=n_epochs, seed=args.seed,
                                   beta1=args.beta1, images=images, out_dir=str(out_dir), **quick_sizes)


# %% [markdown]
# ## Training
#
# `train()` shows a progress bar per epoch and prints one line per epoch:
# the running mean of the minibatch losses, then −ELBO on 10,000 training
# digits and on the test set, each split into reconstruction and KL.  Every
# epoch ends with a checkpoint (`last.npz` in the run directory).

# %%
print("§4.1 setup, as in the reference code (github.com/cdoersch/vae_tutorial): 784-1000-500-250 "
      "encoder, 30-D latent, sigmoid cross-entropy, Adam 1e-3, batch 100, weight decay 5e-4, "
      "sparse Gaussian init.")
print("departures from the reference run:")
for d in DEPARTURES["doersch"]:
    print(f"  - {d}")
if args.beta1 != 0.9:
    print(f"  - this run: Adam β1 = {args.beta1:g} (--beta1)")
if args.zdim != 30:
    print(f"  - this run: a {args.zdim}-D latent instead of 30 (--zdim)")
if epochs != 100:
    print(f"  - {epochs} epoch(s) instead of 100, to finish sooner (--full runs all 100)")
if args.quick:
    print(f"  - --quick: only the first {quick_sizes['subset']} training and "
          f"{quick_sizes['test_subset']} test images")

stamp = time.strftime("%Y%m%d-%H%M%S")
run_dir = Path(args.out) / "runs" / f"07-z{args.zdim}-{stamp}"
try:
    if args.resume is not None:          # the checkpoint's own settings, only longer
        saved = TrainConfig.from_dict(read_meta(args.resume)["config"])
        config = dataclasses.replace(saved, epochs=epochs, out_dir=None)
        result = train(config, resume=args.resume, x_train=x_train[:saved.subset],
                       x_test=x_test[:saved.test_subset])
    else:
        result = train(config_for(args.zdim, epochs, run_dir), x_train=x_train, x_test=x_test)
except (CheckpointError, ValueError) as e:
    print(f"error: {e}")
    sys.exit(2)
model, history, run_dir = result
result_config = TrainConfig.from_dict(read_meta(run_dir / "last.npz")["config"])
print(f"checkpoint: {run_dir / 'last.npz'} (e.g. for lessons/05_testing.py --checkpoint)")
t_trained = time.perf_counter()

# %% [markdown]
# ## How good is it? The test ELBO
#
# The ELBO on every test digit (one z ~ Q each; Eq. 5's right side), split
# into its terms, and an importance-sampled log P(X) on some of them (lesson
# 05; beyond the paper: Rezende et al. 2014, Burda et al. 2016) for the size
# of the gap D[Q(z|X) ‖ P(z|X)].  For reference, the same network at its
# initial weights (before any training) is scored too.  These are §4.1's
# grey-level numbers, the X′ surrogate, not log-probabilities of binary
# images; lesson 05 explains the difference.

# %%
rng = np.random.default_rng(args.seed)
ev = evaluate_elbo(model, x_test, rng)
n_is = 100 if args.quick else 1_000
log_px = float(log_px_importance(model, x_test[:n_is], 100, rng).mean())
elbo_sub = -evaluate_elbo(model, x_test[:n_is], rng)["neg_elbo"]
n_ref = min(1_000, len(x_test))
untrained = evaluate_elbo(build_model(result_config), x_test[:n_ref], rng)["neg_elbo"]
print(f"\ntest −ELBO of the untrained network (initial weights), first {n_ref} test digits: "
      f"{untrained:.2f} nats")
print(f"test −ELBO on {len(x_test)} test digits after {history[-1]['epoch']} epoch(s): "
      f"{ev['neg_elbo']:.2f} nats = {ev['recon_nll']:.2f} −log P(X|z) + {ev['kl']:.2f} KL")
print(f"importance-sampled log P(X), S = 100 draws of z ~ Q, first {n_is} test digits: {log_px:.2f} nats "
      f"(ELBO on them {elbo_sub:.2f}; gap {log_px - elbo_sub:.2f} nats)")

# %% [markdown]
# ## Fig. 7: samples from the prior, and reconstructions

# %%
samples = model.sample(100, np.random.default_rng([args.seed, 7]))      # z ~ N(0, I)
fig, ax = plt.subplots(figsize=(6.2, 6.5))
ax.imshow(tile(samples, 10, 10), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
ax.set_title(f"Fig. 7: decoded z ~ N(0, I), {model.z_dim}-D latent, epoch {history[-1]['epoch']}",
             fontsize=9)
ax.axis("off")
fig.tight_layout()
lesson.save(fig, args, "07_samples")

x_show = x_test[:30]
recon = model.reconstruct(x_show, rng)
rows = np.concatenate([np.concatenate([x_show[i:i + 15], recon[i:i + 15]]) for i in (0, 15)])
fig, ax = plt.subplots(figsize=(9, 2.8))
ax.imshow(tile(rows, 4, 15), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
ax.set_title("test digits (rows 1, 3) and their reconstructions from one z ~ Q(z|X) (rows 2, 4)",
             fontsize=9)
ax.axis("off")
fig.tight_layout()
lesson.save(fig, args, "07_reconstructions")

# %% [markdown]
# ## Is it copying?  Each sample beside its nearest training image
#
# §4.1 warns that samples like Fig. 7's are hard to judge, since there is no
# simple way to measure how far they are from the training set.  One crude
# check, in the measure of lesson 02, the squared pixel distance ‖a − b‖²
# summed over the 784 pixels: find, for each sample, the training image
# nearest to it.  A model that had memorized its data would put a training
# digit at distance ≈ 0.  For scale, the same search for test digits, which
# the model never saw and which are not copies of anything in the training
# set.  (The samples are the decoder's mean sig(f(z)), grey where the model
# is unsure, so part of their distance is blur.)  `07_nearest.png` shows
# the first 20 samples of Fig. 7 above their nearest training images;
# `07_nearest.npz` keeps every sample, its nearest image's index and the
# distance.  This check is ours, not the paper's.
#
# In a default run (seed 0, 10 epochs) the samples lay at a median squared
# distance of 15.30 from their nearest training image and the test digits
# at 17.43; the smallest were 1.10 and 1.37.  By
# this measure the samples are no more copies than digits the model never
# saw: a little closer, because blur is cheap in squared distance, and side
# by side each differs visibly from its nearest training image.

# %%
def nearest_training(queries, pool, chunk=5_000):
    """(index, squared distance) of each query's nearest row of pool: (Q, 784), (P, 784) -> (Q,), (Q,).

    ‖q − p‖² = ‖q‖² + ‖p‖² − 2 q·p for every pair, in float64, the pool a chunk at a time.
    """
    q = queries.astype(np.float64)
    d = np.empty((len(q), len(pool)))                                   # (Q, P)
    for s in range(0, len(pool), chunk):
        p = pool[s:s + chunk].astype(np.float64)
        d[:, s:s + chunk] = np.einsum("ij,ij->i", q, q)[:, None] + np.einsum("ij,ij->i", p, p) - 2 * q @ p.T
    i = d.argmin(axis=1)
    return i, np.maximum(d[np.arange(len(q)), i], 0.0)


x_seen = x_train[:result_config.subset]                  # the images this model was trained on
nn_idx, nn_d = nearest_training(samples, x_seen)
_, test_d = nearest_training(x_test[:100], x_seen)
print(f"\nnearest of the {len(x_seen)} training images, squared distance summed over 784 pixels (lesson 02):")
print(f"  to each of the 100 samples of Fig. 7: median {np.median(nn_d):.2f} ({np.median(nn_d) / 784:.4f} "
      f"per pixel), smallest {nn_d.min():.2f}, largest {nn_d.max():.2f}")
print(f"  to each of the first 100 test digits:  median {np.median(test_d):.2f} ({np.median(test_d) / 784:.4f} "
      f"per pixel), smallest {test_d.min():.2f}, largest {test_d.max():.2f}")
np.savez_compressed(args.out / "07_nearest.npz", samples=samples, index=nn_idx, distance=nn_d,
                    n_train=len(x_seen))

fig, axes = plt.subplots(4, 10, figsize=(10, 4.9))
for k in range(20):
    row, col = 2 * (k // 10), k % 10
    axes[row, col].imshow(samples[k].reshape(28, 28), cmap="gray", vmin=0, vmax=1)
    axes[row + 1, col].imshow(x_seen[nn_idx[k]].reshape(28, 28), cmap="gray", vmin=0, vmax=1)
    axes[row + 1, col].set_title(f"{nn_d[k]:.1f}", fontsize=8)
for ax in axes.ravel():
    ax.axis("off")
fig.suptitle("Fig. 7's first 20 samples (rows 1, 3) above their nearest training images (rows 2, 4), "
             "with the squared distance", fontsize=9)
fig.tight_layout()
lesson.save(fig, args, "07_nearest")

# %% [markdown]
# ## Loss curves
#
# The "running" curve averages the minibatch losses while the weights move;
# the train and test points are evaluated at the end of each epoch.  A test
# curve pulling away above the training curve would be the sign of
# overfitting; the lesson prints the last epoch's gap.

# %%
def series(key):
    pts = [(r["epoch"], r[key]) for r in history if r.get(key) is not None]
    return [e for e, _ in pts], [v for _, v in pts]


fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.6))
ax1.plot(*series("train_running_neg_elbo"), "o:", color="gray", ms=3, label="train (running)")
for part, style in (("train", "o-"), ("test", "s-")):
    ax1.plot(*series(f"{part}_neg_elbo"), style, ms=4, label=part)
    ax2.plot(*series(f"{part}_recon_nll"), style, ms=4, label=f"{part} −log P(X|z)")
ax1.set(xlabel="epoch", ylabel="−ELBO (nats per image)", title="−ELBO")
ax2.set(xlabel="epoch", ylabel="−log P(X|z) (nats per image)", title="its two terms (Eq. 5)")
ax3 = ax2.twinx()                       # the KL term is much smaller: its own axis
for part, style in (("train", "o--"), ("test", "s--")):
    ax3.plot(*series(f"{part}_kl"), style, ms=4, color="C3" if part == "test" else "C2",
             label=f"{part} KL (right axis)")
ax3.set_ylabel("D[Q(z|X) || P(z)] (nats per image)")
for ax in (ax1, ax2):
    ax.grid(alpha=0.3)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
ax1.legend(fontsize=8)
lines = ax2.get_legend_handles_labels()
extra = ax3.get_legend_handles_labels()
ax2.legend(lines[0] + extra[0], lines[1] + extra[1], fontsize=7, ncol=2, loc="upper center",
           bbox_to_anchor=(0.5, -0.2))
fig.tight_layout()
lesson.save(fig, args, "07_loss_curves")

# %% [markdown]
# ## A 2-D latent: the whole manifold at once (`--zdim 2`)
#
# With two latent dimensions the decoder's output can be laid out on a
# grid.  Spacing the grid evenly in probability rather than in z — z_i =
# Φ⁻¹(p_i) with p_i evenly spaced in (0, 1) and Φ the standard normal CDF —
# gives each cell the same prior mass, so the picture shows the digits in
# the proportions the prior draws them.  Beside it, the test set's μ(X),
# coloured by label: the classes occupy regions of a roughly N(0, I) cloud.

# %%
if model.z_dim == 2:
    n_grid = 20
    p = np.linspace(0.5 / n_grid, 1 - 0.5 / n_grid, n_grid)
    z1 = norm.ppf(p)                                                   # inverse CDF grid
    zz = np.array([[a, b] for b in z1[::-1] for a in z1], dtype=model.dtype)   # rows: z₂ high → low
    print(f"\nmanifold: {n_grid} × {n_grid} grid, z from {z1[0]:.3f} to {z1[-1]:.3f} per axis "
          f"(Φ⁻¹ of {p[0]:.3f} … {p[-1]:.3f})")
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 6.2))
    ax1.imshow(tile(model.decode(zz), n_grid, n_grid), cmap="gray", vmin=0, vmax=1,
               extent=(0, 1, 0, 1))
    ax1.set(xlabel="Φ(z₁)", ylabel="Φ(z₂)", title="decoder over an inverse-CDF grid of z")
    mu, _ = model.encode(x_test)
    sc = ax2.scatter(mu[:, 0], mu[:, 1], c=y_test, cmap="tab10", s=2, alpha=0.6)
    ax2.legend(*sc.legend_elements(), fontsize=7, title="label", loc="upper right", markerscale=0.8)
    ax2.set(xlabel="μ₁(X)", ylabel="μ₂(X)", title=f"encodings μ(X) of {len(x_test)} test digits")
    ax2.set_aspect("equal", adjustable="datalim")
    ax2.grid(alpha=0.3)
    fig.tight_layout()
    lesson.save(fig, args, "07_manifold")

# %% [markdown]
# ## Does the latent size matter? (`--zdim-sweep`)
#
# §4.1 reports that the model is insensitive to the size of z unless it is
# extreme: fewer than 4 dimensions gave noticeably worse results, 1,000
# gave good ones and 10,000 degraded ones, which the paper puts down to
# SGD struggling to keep D[Q(z|X) ‖ P(z)] low when z is very large.  Here
# each size gets the same short run (2 epochs by default); the table prints
# the test −ELBO with its two terms, how many dimensions carry information
# (mean KL above 0.01 nats, our threshold) and how far each size is behind
# the best.  What such runs can and cannot show: they compare sizes after
# equal, brief training, not at convergence.  A small latent's deficit that
# is already there after two epochs is a fair sign of §4.1's first remark;
# a large latent that lags may only be slower to train.  Whether 1,000
# catches up with 30, and whether 10,000 stays behind, takes long runs
# (`--sweep-epochs 100 --sweep-zdims 30,1000,10000`, hours on a CPU).
#
# In a default sweep (seed 0, 2 epochs each) we measured test −ELBOs of
# 168.4, 147.9, 143.7 and 160.3 nats for 2, 4, 30 and 1,000 dimensions.
# The 2-D latent was 24.7 nats behind the 30-D one and the 4-D latent
# 4.2; whether 4 closes that gap with longer training, as §4.1's account
# suggests, these runs cannot say.  The 1,000-D latent was 16.6 nats
# behind with 570 of its dimensions active, against 21 of 30 for the 30-D
# model: most of its KL had not yet been squeezed out.

# %%
t_sweep = time.perf_counter()
if args.zdim_sweep:
    sweep_epochs = args.sweep_epochs or (1 if args.quick else 2)
    table = []
    with tempfile.TemporaryDirectory(prefix="minivae07-") as tmp:
        for z_dim in (int(s) for s in args.sweep_zdims.split(",")):
            print(f"\nsweep: {z_dim}-D latent, {sweep_epochs} epoch(s)")
            m = train(config_for(z_dim, sweep_epochs, Path(tmp) / f"z{z_dim}"),
                      x_train=x_train, x_test=x_test).model
            r = evaluate_elbo(m, x_test, np.random.default_rng([args.seed, z_dim]))
            mu, log_var = m.encode(x_test)
            kl_dim = 0.5 * (np.exp(log_var) + mu ** 2 - 1 - log_var).astype(np.float64).mean(0)
            table.append((z_dim, r["neg_elbo"], r["recon_nll"], r["kl"], int((kl_dim > 0.01).sum())))
    best = min(row[1] for row in table)
    print(f"\nlatent-size sweep ({sweep_epochs} epoch(s) each, {len(x_test)} test digits)")
    print(f"  {'z dims':>7}  {'test −ELBO':>10}  {'−log P(X|z)':>11}  {'KL':>7}  {'active dims':>11}"
          f"  {'behind best':>11}")
    for z_dim, ne, rc, kl, act in table:
        print(f"  z={z_dim:<5d}  {ne:10.2f}  {rc:11.2f}  {kl:7.2f}  {act:11d}  {ne - best:11.2f}")

# %%
epoch_s = [r["seconds"] for r in history if r.get("seconds") is not None]
print(f"\nepoch {history[-1]['epoch']}: train −ELBO {history[-1]['train_neg_elbo']:.2f}, test −ELBO "
      f"{history[-1]['test_neg_elbo']:.2f} nats (test − train = "
      f"{history[-1]['test_neg_elbo'] - history[-1]['train_neg_elbo']:+.2f})")
print(f"training time per epoch: mean {np.mean(epoch_s):.1f} s over {len(epoch_s)} epoch(s) "
      f"(min {min(epoch_s):.1f}, max {max(epoch_s):.1f}), evaluation excluded")
t_end = time.perf_counter()
print(f"time: {t_trained - t_start:.1f} s training, {t_sweep - t_trained:.1f} s evaluating and "
      f"plotting" + (f", {t_end - t_sweep:.1f} s for the sweep" if args.zdim_sweep else "")
      + f", {t_end - t_start:.1f} s in all")

# %% [markdown]
# ## Exercises
#
# Predict first, then run.  `--quick` runs take seconds (seed 0 throughout).
#
# 1. **Adam's β1.**  The reference solver ran β1 = 0.  Run `--quick` and
#    `--quick --beta1 0`, and predict which prints the lower test −ELBO
#    after `--quick`'s 10 steps.  *Expected:* β1 = 0 (227.7 against 262.4
#    nats in our runs): early on, the plain β1 = 0 step is ahead.  Over
#    whole epochs the order can change; try `--epochs 2` both ways if you
#    have a few minutes.
# 2. **A 2-D latent.**  Run `--quick --zdim 2`.  Predict its KL term and
#    the z range of the manifold grid.  *Expected:* the KL is under 1 nat
#    (0.91; the −ELBO 530 against 262 for 30-D): after 10 steps the model
#    has hardly started to use its latent.  The grid runs from
#    Φ⁻¹(0.025) = −1.960 to Φ⁻¹(0.975) = 1.960 per axis.  Train for the
#    default 10 epochs to see the digits spread over the grid.
# 3. **The erratum in numbers.**  A grey pixel X_d = 0.3 and a perfect
#    prediction sig(f_d) = 0.3: what is the cross-entropy
#    −[X_d log sig(f_d) + (1 − X_d) log(1 − sig(f_d))]?  *Expected:*
#    H(0.3) = 0.611 nats, not 0: it is E_{X′}[−log P(X′|z)], the expected
#    *negative log*-probability of a random binarization X′, and no
#    prediction can take it below the pixel's own entropy.  Lesson 08
#    prints this floor for its targets.
# 4. **Which gradients does the KL reach?**  Suppose ∂KL/∂log_var were
#    written ½ exp(log_var), forgetting the −½.  Predict which parameters'
#    gradients would then disagree with central finite differences.
#    *Expected:* those of the log-variance head and the encoder layers below
#    it; the decoder and the μ head are untouched, since neither the forward
#    pass nor ∂loss/∂μ changes.  Exercise 6 (`python -m minivae exercise 6
#    --out DIR`, stub `ex06_vae_loss_and_grads.py`) has you assemble this
#    network's whole `loss_and_grads`; `python -m minivae check FILE`
#    grades it.
