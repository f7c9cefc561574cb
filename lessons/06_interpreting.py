"""Lesson 06: reading the objective — bits, the prior's scale, and σ as a regularizer (Doersch §2.4.2–2.4.3).

Run:  python lessons/06_interpreting.py [--quick] [--seed S] [--out DIR] [--checkpoint PATH]
"""
# %% [markdown]
# # 06 — Interpreting the objective (§2.4.2–2.4.3, Eq. 5, Eq. 6, Eq. 7)
#
# Three ways of looking at the right side of Eq. 5,
# E_{z~Q}[log P(X|z)] − D[Q(z|X) ‖ P(z)]:
#
# 1. **As a message length (§2.4.2).**  Read in bits, −ELBO is the cost of a
#    two-part code for X: first send z (which costs D[Q(z|X) ‖ P(z)]: the
#    information that moves an uninformed draw from P(z) to the encoder's
#    Q(z|X)), then send X given z (which costs −log P(X|z)).  The true
#    −log P(X) is that total minus D[Q(z|X) ‖ P(z|X)], the price of Q being
#    an imperfect code.  We measure all three terms, and the KL spent in each
#    latent dimension: a dimension that costs nothing carries nothing.
# 2. **The prior's scale is not a knob (§2.4.3).**  Replacing N(0, I) by
#    N(0, λI) can be undone exactly by rescaling the encoder's outputs and the
#    decoder's input, so the best achievable objective is the same.  We do the
#    rescaling on a trained model and check the objective agrees to rounding.
# 3. **σ is a knob (§2.4.3).**  With a Gaussian decoder,
#    −log P(X|z) = ‖X − f(z)‖² / (2σ²) + const, so σ² weighs the KL term
#    against the squared error, like the λ of a sparse autoencoder (Eq. 11).
#    We train a few Gaussian VAEs across σ and plot the trade-off.
#
# Parts 1 and 2 use a Bernoulli VAE (784-400-30, trained here for a few
# epochs, or `--checkpoint PATH`); part 3 trains its own small models on a
# subset of MNIST so that the whole lesson stays near a couple of minutes.

# %%
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from minivae import lesson
from minivae.checkpoint import load_checkpoint
from minivae.errors import CheckpointError
from minivae.evaluate import log_px_importance, prepare
from minivae.losses import kl_gaussians, kl_normal
from minivae.model import VAE
from minivae.plots import tile
from minivae.train import TrainConfig, train

ACTIVE = 0.01         # nats: a latent dimension with mean KL above this "carries information"


def add_arguments(p):
    p.add_argument("--checkpoint", type=Path, help="interpret this trained Bernoulli model (a "
                   "minivae .npz checkpoint) in parts 1-2 instead of training one")
    p.add_argument("--epochs", type=int, help="epochs for the model of parts 1-2 (default 10; --quick 1)")
    p.add_argument("--sigmas", default="0.05,0.1,0.2,0.4,1.0",
                   help="decoder σ values for part 3 (default 0.05,0.1,0.2,0.4,1.0)")


args = lesson.parse_args(__doc__, add_arguments)
plt = lesson.setup_matplotlib()
rng = np.random.default_rng(args.seed)
t_start = time.perf_counter()
tmp = tempfile.TemporaryDirectory(prefix="minivae06-")
n_test = 500 if args.quick else 10_000      # test digits for parts 1-2
x_train, _, x_test, _ = lesson.load_mnist("train", "test")

# %% [markdown]
# ## The model for parts 1 and 2

# %%
try:
    if args.checkpoint is not None:
        model, _, meta = load_checkpoint(args.checkpoint)
        if model.likelihood != "bernoulli":
            raise ValueError("parts 1-2 count bits for binary pixels: pass a Bernoulli model")
        x = prepare(lesson.load_mnist("test", dtype=model.dtype)[0], meta["config"].get("binarize", "none"),
                    np.random.default_rng([args.seed, 1]))[:n_test]
    else:
        config = TrainConfig.from_preset(
            "pytorch-example", z_dim=30, epochs=args.epochs or (1 if args.quick else 10),
            seed=args.seed, subset=2_000 if args.quick else None, test_subset=1_000,
            images=False, out_dir=str(Path(tmp.name) / "bernoulli"))
        model = train(config, x_train=x_train, x_test=x_test).model
        x = x_test[:n_test]
except (CheckpointError, ValueError) as e:
    print(f"error: {e}", file=sys.stderr)
    sys.exit(2)
sizes = "-".join(map(str, (model.x_dim, *model.hidden, model.z_dim)))

# %% [markdown]
# ## Part 1 — the objective in bits (§2.4.2)
#
# A KL divergence in nats becomes bits on dividing by ln 2.  The KL per
# latent dimension is Eq. 7 without the sum over k:
# ½ (σ_k² + μ_k² − 1 − log σ_k²), averaged over the test digits.  A
# dimension whose Q(z_k|X) equals the prior for every X costs zero bits and
# tells the decoder nothing; we call a dimension *active* when its mean KL
# exceeds 0.01 nats.  How many are active depends on the latent size and on
# training: a 30-D model trained briefly uses nearly all of them, while a
# much larger latent leaves many switched off (see lesson 07's
# `--zdim-sweep`).
#
# The penalty D[Q(z|X) ‖ P(z|X)] is not computable directly, but
# log P(X) − ELBO equals it (Eq. 5), and the importance-sampled log P(X) of
# lesson 05 gives a slight underestimate of log P(X), hence of the penalty.
#
# (With MNIST's grey levels and sigmoid cross-entropy, the "bits to send X"
# are strictly those of the randomly binarized X′ of §4.1.)

# %%
LN2 = np.log(2.0)
mu, log_var = model.encode(x)
kl_dim = 0.5 * (np.exp(log_var) + mu ** 2 - 1.0 - log_var).astype(np.float64).mean(axis=0)  # (K,)
terms = model.elbo(x, rng, n_samples=10)
kl_nats = float(kl_normal(mu, log_var)[0].astype(np.float64).mean())
recon_nats = float(-terms.recon.mean())
n_is = min(len(x), 200)
log_px = float(log_px_importance(model, x[:n_is], 200 if args.quick else 1000, rng).mean())
elbo_is = float(terms.elbo[:n_is].mean())
active = int((kl_dim > ACTIVE).sum())

print(f"\nPart 1: VAE {sizes}, first {len(x)} test digits")
print(f"  KL term  D[Q(z|X) || P(z)]  = {kl_nats:.4f} nats = {kl_nats / LN2:.4f} bits per image (send z)")
print(f"  recon term −log P(X|z)      = {recon_nats:.4f} nats = {recon_nats / LN2:.4f} bits per image "
      f"(send X given z; 10 draws of z)")
print(f"  −ELBO = KL + recon          = {kl_nats + recon_nats:.4f} nats = {(kl_nats + recon_nats) / LN2:.4f} "
      f"bits per image = {(kl_nats + recon_nats) / LN2 / x.shape[1]:.4f} bits per pixel")
print(f"  on the first {n_is}: −log P(X) (importance sampled) = {-log_px / LN2:.2f} bits, −ELBO = "
      f"{-elbo_is / LN2:.2f} bits, so D[Q(z|X) || P(z|X)] ≳ {(log_px - elbo_is) / LN2:.2f} bits per image")
print(f"  KL per latent dimension (nats): sum {kl_dim.sum():.4f}, max {kl_dim.max():.3f}, "
      f"min {kl_dim.min():.5f}")
print(f"  active dimensions (mean KL > {ACTIVE} nats): {active} of {model.z_dim}")

fig, ax = plt.subplots(figsize=(max(6.0, 0.22 * model.z_dim), 3.4))
colors = np.where(kl_dim > ACTIVE, "C0", "0.7")
ax.bar(np.arange(model.z_dim), kl_dim / LN2, color=colors)
ax.axhline(ACTIVE / LN2, color="k", ls=":", lw=1, label=f"{ACTIVE} nats")
ax.set(xlabel="latent dimension k", ylabel="mean D[Q(z_k|X) || N(0,1)] (bits)",
       title=f"VAE {sizes}: {active} of {model.z_dim} dimensions active, "
             f"{kl_nats / LN2:.1f} bits per image in all")
ax.set_yscale("symlog", linthresh=0.01)
ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
fig.tight_layout()
lesson.save(fig, args, "06_kl_per_dim")

# %% [markdown]
# ## Part 2 — scaling the prior changes nothing (§2.4.3)
#
# Suppose the prior were N(0, λI).  Take the trained networks and rescale
# every z by √λ: μ′ = √λ μ and Σ′ = λ Σ (so log σ′² = log σ² + log λ), and
# let the decoder undo it, f′(z′) = f(z′/√λ).  All three are edits of
# weights: multiply the μ head's W and b by √λ, add log λ to the log-variance
# head's bias, divide the decoder's first W by √λ.  With the same ε,
# z′ = μ′ + σ′ε = √λ z, so the decoder sees exactly what it saw before and
# log P(X|z) is unchanged; and the KL between two Gaussians (Eq. 6) is
# unchanged when both are stretched by the same factor.  So the objective
# under N(0, λI) equals the original one.  (The paper writes the same
# argument with λ as a standard deviation, i.e. for N(0, λ²I).)
#
# For contrast, the *naive* change — switch the prior to N(0, λI) but keep
# the networks — does change the KL term, by
# ½ Σ_k [(σ_k² + μ_k²)(1/λ − 1) + log λ] per image.  Everything is done in
# float64 on copies of the weights, so "equal" means equal to ~1e-12.

# %%
def float64_copy(model):
    """A float64 VAE with the same architecture and weights."""
    copy = VAE(**{**model.config(), "dtype": np.float64})
    for name, p in model.params.items():
        copy.params[name][...] = p
    return copy


def absorb_prior_scale(model64, lam):
    """A copy whose encoder and decoder are rescaled for the prior N(0, lam·I)."""
    m = float64_copy(model64)
    root = np.sqrt(lam)
    m.params["mu.W"] *= root                # μ′ = √λ μ
    m.params["mu.b"] *= root
    m.params["log_var.b"] += np.log(lam)    # log σ′² = log σ² + log λ
    m.params["decoder.0.W"] /= root         # f′(z′) = f(z′/√λ)
    return m


def objective(m, x, eps, prior_log_var):
    """Per image: log P(X|z) − D[Q(z|X) || N(0, e^prior_log_var I)], z from the fixed eps (N,)."""
    mu, log_var = m.encode(x)
    z = mu + np.exp(0.5 * log_var) * eps                               # Eq. 10
    kl = kl_gaussians(mu, log_var, 0.0, prior_log_var)                # Eq. 6
    return m.log_likelihood(x, z) - kl


m64 = float64_copy(model)
x64 = x[:1000].astype(np.float64)
eps = rng.standard_normal((len(x64), model.z_dim))
base_each = objective(m64, x64, eps, 0.0)
base = float(base_each.mean())
lambdas = [0.01, 0.1, 1.0, 10.0, 100.0]
print(f"\nPart 2: objective (ELBO, nats per image; {len(x64)} test digits, fixed ε) "
      f"with prior N(0, λI); original with N(0, I): {base:.10f}")
print(f"  {'λ':>7}  {'absorbed':>17}  {'absorbed − orig':>15}  {'naive':>12}  {'naive − orig':>13}"
      f"  {'max per-image |absorbed − orig|':>31}")
invariance = []
for lam in lambdas:
    absorbed_each = objective(absorb_prior_scale(m64, lam), x64, eps, np.log(lam))
    absorbed = float(absorbed_each.mean())
    naive = float(objective(m64, x64, eps, np.log(lam)).mean())
    invariance.append(np.abs(absorbed_each - base_each).max())
    print(f"  λ={lam:<6g}  {absorbed:17.10f}  {absorbed - base:15.2e}  {naive:12.4f}  {naive - base:13.6f}"
          f"  {invariance[-1]:31.2e}")
print(f"  largest per-image |absorbed − original|: {max(invariance):.2e} nats "
      f"(float64 spacing near {abs(base):.0f} is {np.spacing(abs(base)):.1e})")

# %% [markdown]
# The samples tell the same story (`06_prior_scale.png`): the absorbed model,
# fed z′ ~ N(0, λI), draws exactly the digits the original draws from
# N(0, I) with the same noise; the original decoder fed N(0, λI) does not.

# %%
noise = rng.standard_normal((16, model.z_dim))
fig, axes = plt.subplots(2, len(lambdas), figsize=(2.1 * len(lambdas), 5.0))
for j, lam in enumerate(lambdas):
    z_prime = np.sqrt(lam) * noise                                   # z′ ~ N(0, λI)
    for i, (m, title) in enumerate(((absorb_prior_scale(m64, lam), "absorbed"), (m64, "unchanged"))):
        axes[i, j].imshow(tile(m.decode(z_prime), 4, 4), cmap="gray", vmin=0, vmax=1)
        axes[i, j].set_title(f"λ = {lam:g}: {title}", fontsize=8)
        axes[i, j].axis("off")
fig.suptitle("decoding z′ ~ N(0, λI): absorbed model (top) vs unchanged decoder (bottom)", fontsize=9)
fig.tight_layout(rect=(0, 0, 1, 0.95), h_pad=1.5)
lesson.save(fig, args, "06_prior_scale")

# %% [markdown]
# ## Part 3 — σ trades reconstruction against KL (§2.4.3)
#
# Now P(X|z) = N(f(z), σ² I), and σ is ours to choose.  Small σ makes every
# squared pixel error expensive, so the encoder spends many nats of KL to
# pin z down; large σ makes errors cheap, and the model saves KL by letting
# Q(z|X) sit near the prior — reconstructions and samples blur towards an
# average digit.  The curve of squared error against KL (`06_sigma_tradeoff.png`)
# is traced by σ alone.  In `06_sigma_samples.png` note the other side of the
# trade: the smallest σ gives the sharpest reconstructions but the scrappiest
# prior samples, because its Q(z|X) strays far from N(0, I) and the decoder
# never learns what the prior's typical z should look like.  (In these short
# runs the error stops falling below σ ≈ 0.1: there training, not σ, is the
# limit.)  A Bernoulli decoder has no such parameter.

# %%
sigmas = [float(s) for s in args.sigmas.split(",")]
sweep_subset, sweep_epochs = (2_000, 2) if args.quick else (60_000, 5)
print(f"\nPart 3: Gaussian-decoder VAEs 784-400-20, {sweep_epochs} epochs on "
      f"{'the first ' + str(sweep_subset) if sweep_subset < len(x_train) else 'all'} training images")
rows = []
for sigma in sigmas:
    config = TrainConfig.from_preset(
        "pytorch-example", likelihood="gaussian", sigma=sigma, epochs=sweep_epochs,
        subset=sweep_subset, test_subset=1_000, seed=args.seed, images=False,
        out_dir=str(Path(tmp.name) / f"sigma{sigma:g}"))
    try:
        g = train(config, x_train=x_train, x_test=x_test, progress=False).model
    except FloatingPointError as e:
        print(f"  σ = {sigma:g}: {e}")
        continue
    xs = x_test[:1000]
    mu_g, lv_g = g.encode(xs)
    kl = float(kl_normal(mu_g, lv_g)[0].astype(np.float64).mean())
    recon = g.reconstruct(xs, rng)                     # f(z), z ~ Q(z|X)
    sq = float(((recon.astype(np.float64) - xs) ** 2).sum(axis=1).mean())
    rows.append((sigma, sq / xs.shape[1], kl, g.sample(36, rng), recon[:6]))
    print(f"  σ = {sigma:<5g}  squared error ‖X − f(z)‖² = {sq:8.3f} per image "
          f"(MSE {sq / xs.shape[1]:.5f} per pixel)  KL = {kl:8.3f} nats   weight on KL "
          f"relative to ½‖X − f‖²: σ² = {sigma ** 2:g}")

fig, ax = plt.subplots(figsize=(5.2, 3.8))
ax.plot([r[2] for r in rows], [r[1] for r in rows], "o-")
for sigma, mse, kl, *_ in rows:
    ax.annotate(f"σ={sigma:g}", (kl, mse), textcoords="offset points", xytext=(5, 4), fontsize=8)
ax.set(xlabel="KL term D[Q(z|X) || P(z)] (nats per image)", ylabel="reconstruction MSE per pixel",
       title="Gaussian decoder: σ sets the trade-off")
ax.grid(alpha=0.3)
fig.tight_layout()
lesson.save(fig, args, "06_sigma_tradeoff")

fig, axes = plt.subplots(2, len(rows), figsize=(2.3 * len(rows), 5.0), squeeze=False,
                         gridspec_kw=dict(height_ratios=[6, 2.2]))
for j, (sigma, mse, kl, samples, recon) in enumerate(rows):
    axes[0, j].imshow(tile(np.clip(samples, 0, 1), 6, 6), cmap="gray", vmin=0, vmax=1)
    axes[0, j].set_title(f"σ = {sigma:g}\nKL {kl:.1f} nats", fontsize=8)
    pairs = np.concatenate([x_test[:6], np.clip(recon, 0, 1)])
    axes[1, j].imshow(tile(pairs, 2, 6), cmap="gray", vmin=0, vmax=1)
    axes[1, j].set_title(f"MSE {mse:.4f}", fontsize=8)
for ax in axes.ravel():
    ax.axis("off")
fig.suptitle("samples from N(0, I) (top) and test digits over their reconstructions (bottom)", fontsize=9)
fig.tight_layout()
lesson.save(fig, args, "06_sigma_samples")

# %%
print(f"\ntime: {time.perf_counter() - t_start:.1f} s in all")
