"""Lesson 06: reading the objective — bits, the prior's scale, and σ as a regularizer (Doersch §2.4.2–2.4.3).

Run:  python lessons/06_interpreting.py [--quick] [--seed S] [--out DIR] [--checkpoint PATH]
"""
# %% [markdown]
# # 06 — Interpreting the objective (§2.4.2–2.4.3, Eq. 5, Eq. 6, Eq. 7)
#
# Four ways of looking at the right side of Eq. 5,
# E_{z~Q}[log P(X|z)] − D[Q(z|X) ‖ P(z)]:
#
# 1. **As a message length (§2.4.2).**  Read in bits, −ELBO is the cost of a
#    two-part code for X: first send z, then send X given z (which costs
#    −log P(X|z)).  Sending z costs D[Q(z|X) ‖ P(z)], the information that
#    moves an uninformed draw from P(z) to the encoder's Q(z|X), but only net
#    of the refund of the "bits back" argument that §2.4.2 points to: a z
#    drawn from Q(z|X) and sent with a code built for P(z) costs
#    E_Q[−log P(z)], and once X has arrived the receiver can rebuild Q(z|X)
#    and recover the H(Q) bits of randomness spent choosing z, which leaves
#    E_Q[log Q(z|X) − log P(z)] = D[Q(z|X) ‖ P(z)].  (The argument goes back
#    to Hinton & van Camp, 1993.)  The true −log P(X) is that total minus
#    D[Q(z|X) ‖ P(z|X)], the price of Q being an imperfect code.  We measure
#    the first two, bound the third from below, and show the KL spent in each
#    latent dimension: a dimension that costs nothing carries nothing.
# 2. **The prior's scale is not a knob (§2.4.3).**  Replacing N(0, I) by
#    N(0, λI) can be undone exactly by rescaling the encoder's outputs and the
#    decoder's input, so the best achievable objective is the same.  We do the
#    rescaling on a trained model and check the objective agrees to rounding.
# 3. **σ is a knob (§2.4.3).**  With a Gaussian decoder P(X|z) = N(f(z), σ²I),
#    −log P(X|z) = ‖X − f(z)‖² / (2σ²) + const, so σ weighs the KL term
#    against the squared error, as λ does in a sparse autoencoder (Eq. 11),
#    with λ = 2σ².  We train a few Gaussian VAEs across σ and plot the
#    trade-off.
# 4. **Bernoulli X has no σ (§2.4.3)**, except through the hack §2.4.3
#    names: replicate the dimensions of X.  We copy every pixel r times and
#    watch the KL term and the samples move as they did with σ.
#
# Symbols: σ is only the decoder's noise level (`sigma`), as in §2.4.3.  The
# encoder's Q(z|X) = N(μ(X), Σ(X)) has diagonal Σ; the code holds
# `log_var` = log diag Σ, and Σ_jj = exp(log_var_j) is the variance of
# latent dimension j.
#
# Parts 1 and 2 use a Bernoulli VAE (784-400-30, trained here for 10
# epochs, or `--checkpoint PATH`); part 3 trains its own small Gaussian
# models for 5 epochs each (with `--quick`, 2 epochs on 2,000 images), and
# part 4 three Bernoulli models for 3 epochs on 10,000 images (`--quick`:
# 2 epochs on 1,000).

# %%
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from minivae.classroom import lesson
from minivae.errors import CheckpointError
from minivae.evaluate import log_px_importance, prepare
from minivae.files.checkpoint import load_checkpoint
from minivae.files.plots import tile
from minivae.losses import kl_gaussians, kl_normal
from minivae.model import VAE
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
x_train, _, x_test, _ = lesson.mnist_or_exit("train", "test")

# %% [markdown]
# ## The model for parts 1 and 2

# %%
try:
    if args.checkpoint is not None:
        model, _, meta = load_checkpoint(args.checkpoint)
        if model.likelihood != "bernoulli":
            raise ValueError("parts 1-2 count bits for binary pixels: pass a Bernoulli model")
        x = prepare(lesson.mnist_or_exit("test", dtype=model.dtype)[0], meta["config"].get("binarize", "none"),
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
# A KL divergence in nats becomes bits on dividing by ln 2.  Eq. 7 is a
# sum over the K latent dimensions (the paper's k, `z_dim` here); its term
# for dimension j is ½ (Σ_jj + μ_j² − 1 − log Σ_jj), which we average over
# the test digits.  A dimension whose Q(z_j|X) equals the prior for every X
# costs zero bits and tells the decoder nothing; we call a dimension
# *active* when its mean KL exceeds 0.01 nats (a threshold of ours, not the
# paper's).  How many are active depends on the latent size and on
# training; the lesson prints the count for its model (27 of 30 in a
# default run, seed 0), and lesson 07's `--zdim-sweep` prints it for
# several latent sizes.
#
# The penalty D[Q(z|X) ‖ P(z|X)] is not computable directly, but
# log P(X) − ELBO equals it (Eq. 5).  Lesson 05's importance-sampled
# log P(X) (beyond the paper: Rezende et al. 2014, Burda et al. 2016) is
# biased low, so the printed penalty is an underestimate too.
#
# > **Caveat: what the bits count.**  A Bernoulli decoder assigns
# > probabilities to *binary* images.  This model is trained and scored on
# > MNIST's grey levels with sigmoid cross-entropy, so its "bits to send X"
# > are those of §4.1's randomly binarized X′ (X′_d ~ Bernoulli(X_d)), in
# > expectation over X′; they are not a code length for the grey image, and
# > they are not comparable with published log-likelihoods.  Lesson 05
# > binarizes its data to get a true log-probability.

# %%
LN2 = np.log(2.0)
mu, log_var = model.encode(x)
kl_dim = 0.5 * (np.exp(log_var) + mu ** 2 - 1.0 - log_var).astype(np.float64).mean(axis=0)  # (K,)
terms = model.elbo(x, rng, n_samples=10)
kl_nats = float(kl_normal(mu, log_var)[0].astype(np.float64).mean())
recon_nats = float(terms.recon_nll.mean())
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
ax.set(xlabel="latent dimension j", ylabel="mean D[Q(z_j|X) || N(0,1)] (bits)",
       title=f"VAE {sizes}: {active} of {model.z_dim} dimensions active, "
             f"{kl_nats / LN2:.1f} bits per image in all")
ax.set_yscale("symlog", linthresh=0.01)
ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
fig.tight_layout()
lesson.save(fig, args, "06_kl_per_dim")

# %% [markdown]
# ## Part 2 — scaling the prior changes nothing (§2.4.3)
#
# Suppose the prior were N(0, λI), whose standard deviation is √λ.  Take
# the trained networks and rescale every z by √λ: μ′ = √λ μ and Σ′ = λ Σ (so
# log_var′ = log_var + log λ), and let the decoder undo it,
# f′(z′) = f(z′/√λ).  All three are edits of weights: multiply the μ head's
# W and b by √λ, add log λ to the log-variance head's bias, divide the
# decoder's first W by √λ.  With the same ε, z′ = μ′ + Σ′^{1/2} ε = √λ z, so
# the decoder sees exactly what it saw before and log P(X|z) is unchanged;
# and the KL between two Gaussians (Eq. 6) is unchanged when both are
# stretched by the same factor.  So the objective under N(0, λI) equals the
# original one.
#
# > **Erratum (§2.4.3).**  The paper writes the prior as N(0, λ·I) but then
# > rescales with f(z′/λ), μ·λ and Σ·λ², which is right when λ is the
# > prior's *standard deviation*, i.e. for N(0, λ²·I).  For N(0, λ·I), as
# > written, the factors are √λ, √λ and λ, as used here.  The conclusion,
# > that the prior's scale can be absorbed, holds either way.
#
# For contrast, the *naive* change — switch the prior to N(0, λI) but keep
# the networks — does change the KL term, by
# ½ ∑_j [(Σ_jj + μ_j²)(1/λ − 1) + log λ] per image.  Everything is done in
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
    m.params["log_var.b"] += np.log(lam)    # log_var′ = log_var + log λ  (Σ′ = λ Σ)
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
# Now P(X|z) = N(f(z), σ² I), and σ is ours to choose.  σ enters only the
# first term of Eq. 5's right side, E_{z~Q}[log P(X|z)]; multiplying the
# negated objective by 2σ² gives ‖X − f(z)‖² + 2σ² · D[Q(z|X) ‖ P(z)] up to
# a constant.  Eq. 11 has no ½ on its squared error, so 2σ² plays the part
# of the sparse autoencoder's λ.
#
# > **Erratum (§2.4.3).**  The paper says σ appears in the *second* term on
# > the right of Eq. 5 and not the first.  It is the other way round: the
# > first term, E_{z~Q}[log P(X|z)], contains σ; the KL term does not.
#
# Small σ makes every squared pixel error expensive, so the encoder spends
# many nats of KL to pin z down; large σ makes errors cheap, and the model
# saves KL by letting Q(z|X) sit near the prior, so reconstructions and
# samples blur towards an average digit.  The curve of squared error
# against KL (`06_sigma_tradeoff.png`) is traced by σ alone.  In
# `06_sigma_samples.png` look for the other side of the trade: in a default
# run, the smallest σ gave the sharpest reconstructions but scrappier prior
# samples, because its Q(z|X) strays far from N(0, I) (its KL is the
# largest printed) and the decoder sees few z where the prior puts them.
# In that run (seed 0) the MSE per pixel fell from 0.0373 at σ = 1 to
# 0.0135 at σ = 0.1 but only to 0.0134 at σ = 0.05, while the KL rose from
# 5.3 to 57.2 and then 75.0 nats: below σ ≈ 0.1, after 5 epochs, training
# rather than σ limits the error.  A Bernoulli decoder has no such
# parameter (§2.4.3): both terms count the same bits.  Part 4 tries the
# one way §2.4.3 gives to bring a knob back.

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
          f"(MSE {sq / xs.shape[1]:.5f} per pixel)  KL = {kl:8.3f} nats   Eq. 11's λ = 2σ² = "
          f"{2 * sigma ** 2:g}")

fig, ax = plt.subplots(figsize=(5.2, 3.8))
ax.plot([r[2] for r in rows], [r[1] for r in rows], "o-")
for sigma, mse, kl, *_ in rows:
    ax.annotate(f"σ={sigma:g}", (kl, mse), textcoords="offset points", xytext=(5, 4), fontsize=8)
ax.set(xlabel="KL term D[Q(z|X) || P(z)] (nats per image)", ylabel="reconstruction MSE per pixel",
       title="Gaussian decoder: σ sets the trade-off")
ax.grid(alpha=0.3)
fig.tight_layout()
lesson.save(fig, args, "06_sigma_tradeoff")


def samples_figure(columns, title, name):
    """One column per model, (top title, bottom title, 36 samples, reconstructions of
    x_test[:6]): the samples above, the test digits over their reconstructions below."""
    fig, axes = plt.subplots(2, len(columns), figsize=(2.3 * len(columns), 5.0), squeeze=False,
                             gridspec_kw=dict(height_ratios=[6, 2.2]))
    for j, (top, bottom, samples, recon) in enumerate(columns):
        axes[0, j].imshow(tile(np.clip(samples, 0, 1), 6, 6), cmap="gray", vmin=0, vmax=1)
        axes[0, j].set_title(top, fontsize=8)
        axes[1, j].imshow(tile(np.concatenate([x_test[:6], np.clip(recon, 0, 1)]), 2, 6), cmap="gray",
                          vmin=0, vmax=1)
        axes[1, j].set_title(bottom, fontsize=8)
    for ax in axes.ravel():
        ax.axis("off")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    lesson.save(fig, args, name)


samples_figure([(f"σ = {sigma:g}\nKL {kl:.1f} nats", f"MSE {mse:.4f}", samples, recon)
                for sigma, mse, kl, samples, recon in rows],
               "samples from N(0, I) (top) and test digits over their reconstructions (bottom)",
               "06_sigma_samples")

# %% [markdown]
# ## Part 4 — Bernoulli X: replicating the pixels (§2.4.3)
#
# A Bernoulli decoder has no σ.  §2.4.3 names the one way to bring a knob
# back: hacks like replicating the dimensions of X.  Copy every pixel r
# times, so X becomes a vector of 784·r pixels (`np.repeat(x, r, axis=1)`),
# and train the same model on that.  The copies of a pixel are equal, so the
# best decoder gives them equal probabilities, and then −log P(X|z) is r
# times the single image's, while the KL term is unchanged.  Divided by r,
# the objective is −log P(X|z) + D[Q(z|X) ‖ P(z)]/r: r weighs the
# reconstruction against the KL as 1/(2σ²) weighs the squared error in
# part 3.  The prediction: a larger r buys more nats of KL for a lower
# reconstruction cost per copy, with sharper reconstructions, as a smaller σ
# did.  In a default run (seed 0) the KL rose from 16.0 to 25.3 and 38.7
# nats for r = 1, 2 and 4, while the reconstruction cost per copy fell from
# 131.0 to 119.8 and 111.9 nats.  (The copying is §2.4.3's suggestion; this
# experiment is ours.)

# %%
copies = [1, 2, 4]
rep_subset, rep_epochs = (1_000, 2) if args.quick else (10_000, 3)
print(f"\nPart 4: Bernoulli VAEs 784r-400-20 on every pixel copied r times, {rep_epochs} epochs on "
      f"the first {rep_subset} training images")
rep_rows = []
for r in copies:
    config = TrainConfig.from_preset(
        "pytorch-example", epochs=rep_epochs, test_subset=1_000, seed=args.seed, images=False,
        out_dir=str(Path(tmp.name) / f"copies{r}"))
    xr = np.repeat(x_test[:1_000], r, axis=1)                           # (1000, 784 r)
    m = train(config, x_train=np.repeat(x_train[:rep_subset], r, axis=1), x_test=xr, progress=False).model
    t = m.elbo(xr, rng, n_samples=10)
    kl, recon = float(t.kl.mean()), float(t.recon_nll.mean())
    one_image = lambda images: images.reshape(len(images), 784, r).mean(axis=2)   # the mean of each pixel's copies
    rep_rows.append((f"r = {r}\nKL {kl:.1f} nats", f"−log P(X|z) per copy {recon / r:.1f}",
                     one_image(m.sample(36, rng)), one_image(m.reconstruct(xr[:6], rng))))
    print(f"  r = {r}:  −log P(X|z) = {recon:8.3f} nats = {r} × {recon / r:7.3f} per copy   "
          f"KL = {kl:7.3f} nats   −ELBO / r = {(recon + kl) / r:8.3f}")

samples_figure(rep_rows, "Bernoulli decoder, every pixel copied r times: samples from N(0, I) (top), "
               "test digits over their reconstructions (bottom)", "06_replicate")

# %%
print(f"\ntime: {time.perf_counter() - t_start:.1f} s in all")

# %% [markdown]
# ## Exercises
#
# Predict first, then run.  `--quick` runs take well under a minute.
#
# 1. **σ large.**  Run `--quick --sigmas 1,2,4`.  Before running, predict
#    the KL term at σ = 4 and what the samples look like.  *Expected:* the
#    KL falls towards zero (0.78, 0.03 and 0.005 nats in our run, seed 0)
#    while the MSE per pixel creeps up (0.0710 to 0.0737): Q(z|X) has
#    collapsed onto the prior, z carries nothing, and every sample is the
#    same average blur.
# 2. **The paper's factors.**  In `absorb_prior_scale`, use the factors as
#    §2.4.3 prints them: multiply the μ head by λ, add 2 log λ to the
#    log-variance bias, divide the decoder's first W by λ.  Predict the
#    "absorbed − orig" column.  *Expected:* it is no longer ~1e-14 except at
#    λ = 1; each row now equals the *naive* row of 1/λ (e.g. λ = 10 gives
#    the naive λ = 0.1 objective), because the rescaled model fits the
#    prior N(0, λ²I) but is scored under N(0, λI).  This is the erratum
#    above, measured.
# 3. **The naive prior.**  Before running, predict the sign of
#    "naive − orig" for λ = 0.1 and for λ = 10, and which is larger in size.
#    *Expected:* both negative, and λ = 0.1 far larger (−238 against
#    −7.3 nats in a `--quick` run): a prior narrower than the codes Q has
#    learned charges ½ (Σ_jj + μ_j²)(1/λ − 1) per dimension, which grows
#    like 1/λ, while a wider one costs at most ½ log λ per dimension.
# 4. **Eq. 7 by hand.**  Part 1's per-dimension KL is
#    ½ (Σ_jj + μ_j² − 1 − log Σ_jj).  Predict where its gradient with
#    respect to μ_j and log_var_j vanishes.  *Expected:* only at μ_j = 0,
#    log_var_j = 0, i.e. Q(z_j|X) = N(0, 1), the prior; that is what an
#    inactive dimension in `06_kl_per_dim.png` has nearly reached.  Exercise 4
#    (`python -m minivae exercise 4 --out DIR`, stub `ex04_kl.py`) has you
#    write the KL and both gradients; `python -m minivae check FILE` grades it.
