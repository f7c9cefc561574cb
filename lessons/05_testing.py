"""Lesson 05: testing a trained VAE — sampling, the ELBO per digit, and log P(X) two ways (Doersch §2.3, Fig. 5).

Run:  python lessons/05_testing.py [--quick] [--seed S] [--out DIR] [--checkpoint PATH]
"""
# %% [markdown]
# # 05 — Testing the learned model (§2.3, Fig. 5, Eq. 5)
#
# Section 2.3 puts a trained VAE to two uses:
#
# 1. **Generating.**  The test-time network of Fig. 5 drops the encoder:
#    draw z ~ N(0, I) and push it through the decoder.  No μ, no Σ, no ε.
# 2. **Scoring a digit.**  How probable is a test image X under the model?
#    log P(X) = log ∫ P(X|z) P(z) dz (Eq. 1) has no closed form.  Because
#    D[Q(z|X) ‖ P(z|X)] ≥ 0, the right side of Eq. 5, the ELBO, is a lower
#    bound on log P(X).  Its first term is an expectation over z, so it too
#    needs samples, and §2.3 notes that drawing them from Q(z|X) estimates it
#    much faster than drawing them from N(0, I) (the difficulty of §2's
#    opening, Fig. 3).  The bound gives a rough score for each datapoint.
#
# > **Erratum (§2.3).**  The paper calls the right side of Eq. 5 a lower
# > bound "to P(X)".  It is a lower bound on **log P(X)**: Eq. 5's left side
# > is log P(X) minus a divergence that is never negative.  The ELBO is
# > measured in nats, like log P(X), not as a probability.
#
# **Beyond the paper: log P(X) itself.**  The paper stops at the bound.
# This lesson also estimates log P(X), two ways, each from S draws of z
# (S, not k: the paper's k is the latent dimension, K here and `z_dim` in
# the code):
#
#     from the prior       P(X) ≈ (1/S) ∑ᵢ P(X|zᵢ),                     zᵢ ~ N(0, I)
#     from Q (importance)  P(X) ≈ (1/S) ∑ᵢ P(X|zᵢ) P(zᵢ) / Q(zᵢ|X),    zᵢ ~ Q(z|X)
#
# The first is the direct average that §2's opening describes and rejects.
# The second reweights draws from Q by P(z)/Q(z|X): importance sampling,
# used to score deep generative models by Rezende, Mohamed & Wierstra
# (2014, "Stochastic backpropagation and approximate inference in deep
# generative models"); the expected log of it is the S-sample bound of
# Burda, Grosse & Salakhutdinov (2016, "Importance weighted autoencoders",
# where S is called k), which never decreases as S grows.  Both averages
# are unbiased for P(X), so their logs are biased *low* (Jensen) and climb
# towards log P(X) as S grows.  With S = 1 the Q-estimator's log is
# log P(X|z) + log P(z) − log Q(z|X), whose expectation over z ~ Q is
# exactly the ELBO.  The prior estimator wastes draws: a digit's posterior
# covers a small patch of latent space that a random z ~ N(0, I) seldom
# hits, and the patch shrinks, relative to the prior, as the latent
# dimension grows.
#
# **What is being scored.**  The Bernoulli decoder's P(X|z) =
# Πᵈ sig(f_d)^{X_d} (1 − sig(f_d))^{1−X_d} sums to one over *binary*
# images.  MNIST's pixels are grey levels in [0, 1]; put into the same
# formula (the sigmoid cross-entropy of §4.1) they give a number that is
# not the log of a normalized probability of the grey image.  It is the
# expected log-probability of X′, a random binarization of X with
# X′_d ~ Bernoulli(X_d); §4.1 calls it the "expected probability" of X′, a
# slip that lesson 07's erratum box corrects.  So by default this lesson
# binarizes.  Its models train on a fresh Bernoulli draw of every image in
# every minibatch (`binarize="dynamic"`; beyond the paper, whose §4.1 trains
# on the grey levels) and are scored on one fixed Bernoulli draw of the
# test set.  The numbers are then log-probabilities of binary images, the
# kind of number published MNIST log-likelihoods are (each paper with its
# own binarization, so compare with care).  A `--checkpoint` trained on grey
# levels, such as lesson 07's, is scored on grey levels, and the lesson
# then prints that its numbers are §4.1's X′ surrogate.
#
# **Bits per pixel.**  −log P(X) (or −ELBO) in nats, divided by 784 · ln 2,
# is the number of bits per pixel an ideal code built from the model would
# spend on the image (the reading of §2.4.2, lesson 06).  A model that knew
# nothing, a fair coin for each binary pixel, spends exactly 1 bit per
# pixel; lower is better.
#
# Without `--checkpoint` the lesson trains two small VAEs, one with a 4-D
# latent (the smallest size §4.1 did not find noticeably worse) and one
# with 30 dimensions (the size of the paper's reference code), so that the
# prior estimator can be watched in a low and a high dimension.  They use
# the 784-400-K network of the "pytorch-example" preset rather than §4.1's
# deeper one, so that the whole lesson runs in a few minutes; any
# checkpoint works the same way (`--checkpoint runs/.../last.npz`).

# %%
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy.special import logsumexp

from minivae.classroom import lesson
from minivae.errors import CheckpointError
from minivae.evaluate import importance_log_weights, log_px_importance, prepare
from minivae.files.checkpoint import load_checkpoint
from minivae.files.plots import tile
from minivae.losses import LOG_2PI
from minivae.train import TrainConfig, train

LN2 = np.log(2.0)


def add_arguments(p):
    p.add_argument("--checkpoint", type=Path, help="score this trained model (a minivae .npz "
                   "checkpoint) instead of training two small ones")
    p.add_argument("--zdims", default="4,30", help="latent sizes of the models trained here (default 4,30)")
    p.add_argument("--epochs", type=int, help="training epochs per model (default 10; --quick 1)")
    p.add_argument("--digits", type=int, help="test digits whose log P(X) is estimated (default 100; --quick 20)")
    p.add_argument("--draws-prior", type=int, help="largest S, draws of z from the prior "
                   "(default 100000; --quick 2000)")
    p.add_argument("--draws-q", type=int, help="largest S, draws of z from Q (default 1000; --quick 100)")


args = lesson.parse_args(__doc__, add_arguments)
plt = lesson.setup_matplotlib()
t_start = time.perf_counter()
epochs = args.epochs or (1 if args.quick else 10)
n_digits = args.digits or (20 if args.quick else 100)
s_prior_max = args.draws_prior or (2_000 if args.quick else 100_000)
s_q_max = args.draws_q or (100 if args.quick else 1_000)
n_hist = 500 if args.quick else 10_000              # test digits in the ELBO histogram

# %% [markdown]
# ## The models
#
# Either the checkpoint you pass, or two training runs with dynamic
# binarization (the progress bar is `minivae.train`'s).  The test digits
# are binarized once, with a fixed seed, for every model that was trained
# on binary images.  With `--quick` the models see only 2,000 training
# images for one epoch: enough to run every line of the lesson, not to make
# good digits.

# %%
models = []          # (name, model, x_test as that model sees it)
grey_levels = False  # True when a checkpoint was trained on grey levels: scores are the X′ surrogate
try:
    if args.checkpoint is not None:
        model, _, meta = load_checkpoint(args.checkpoint)
        x_test, _ = lesson.mnist_or_exit("test", dtype=model.dtype)
        binarize = meta["config"].get("binarize", "none")
        grey_levels = binarize == "none" and model.likelihood == "bernoulli"
        x_eval = prepare(x_test, binarize, np.random.default_rng([args.seed, 1]))
        sizes = "-".join(map(str, (model.x_dim, *model.hidden, model.z_dim)))
        models.append((f"VAE {sizes} ({args.checkpoint.name}, epoch {meta['epoch']})", model, x_eval))
    else:
        x_train, _, x_test, _ = lesson.mnist_or_exit("train", "test")
        x_eval = prepare(x_test, "dynamic", np.random.default_rng([args.seed, 1]))   # one fixed draw
        tmp = tempfile.TemporaryDirectory(prefix="minivae05-")
        for z_dim in (int(s) for s in args.zdims.split(",")):
            config = TrainConfig.from_preset(
                "pytorch-example", z_dim=z_dim, epochs=epochs, seed=args.seed, binarize="dynamic",
                subset=2_000 if args.quick else None, test_subset=1_000, images=False,
                out_dir=str(Path(tmp.name) / f"z{z_dim}"))
            print(f"training VAE 784-400-{z_dim} for {epochs} epoch(s) on dynamically binarized digits")
            result = train(config, x_train=x_train, x_test=x_test)
            models.append((f"VAE 784-400-{z_dim}", result.model, x_eval))
except (CheckpointError, ValueError) as e:
    print(f"error: {e}", file=sys.stderr)
    sys.exit(2)
t_trained = time.perf_counter()
if grey_levels:
    print("note: this model was trained on grey levels, so it is scored on them: every log P(X|z) "
          "below is §4.1's X′ surrogate E_X′[log P(X′|z)] (X′ a random binarization of X), so the "
          "'log P(X)' built from it is not the log of a normalized probability and not comparable "
          "with published log-likelihoods")
else:
    print(f"scoring on binary test digits (0/1 pixels: {np.isin(models[0][2], (0, 1)).all()})")

# %% [markdown]
# ## Fig. 5: the test-time network
#
# `model.sample(n, rng)` is the whole of Fig. 5: z ~ N(0, I) → decoder →
# the Bernoulli means sig(f(z)), shown as grey levels.  The encoder plays no
# part.  Look for digits, and for the in-between shapes §4.1 remarks on.

# %%
rng = np.random.default_rng(args.seed)
fig, axes = plt.subplots(1, len(models), figsize=(5.2 * len(models), 5.6), squeeze=False)
for ax, (name, model, _) in zip(axes[0], models):
    samples = model.sample(100, rng)                 # z ~ N(0, I), decoded
    ax.imshow(tile(samples, 10, 10), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_title(f"{name}\ndecoded z ~ N(0, I)", fontsize=9)
    ax.axis("off")
fig.suptitle("Fig. 5: the test-time VAE is just the decoder fed with prior samples", fontsize=10)
fig.tight_layout(rect=(0, 0, 1, 0.95))
lesson.save(fig, args, "05_samples")

# %% [markdown]
# ## The ELBO of each test digit
#
# `model.elbo(x, rng)` returns, per image, E_{z~Q}[log P(X|z)] (one draw
# here) minus the closed-form D[Q(z|X) ‖ P(z)] (Eq. 7).  Its spread across
# the test set is §2.3's rough per-datapoint score.  Under the histogram
# are the eight lowest- and highest-scoring digits.  Remember what is
# scored: the log-probability of all 784 pixels, so a digit with little
# ink has fewer strokes to get right.  The lesson prints the correlation
# between a digit's ink, ∑_d X_d, and its ELBO; in a default run (seed 0)
# we measured −0.61 for the 4-D model and −0.56 for the 30-D one, so thin
# digits such as 1s tend to score high and heavy ones low: a density, not a
# judgement of neatness.

# %%
fig, axes = plt.subplots(2, len(models), figsize=(5.2 * len(models), 5.4), squeeze=False,
                         gridspec_kw=dict(height_ratios=[3, 1.3]))
for col, (name, model, x) in enumerate(models):
    x = x[:n_hist]
    elbo = np.concatenate([model.elbo(x[i:i + 1000], rng).elbo for i in range(0, len(x), 1000)])
    ink = x.astype(np.float64).sum(axis=1)                       # ∑_d X_d per digit
    order = np.argsort(elbo)
    print(f"{name}: ELBO over {len(x)} test digits (one z ~ Q each): mean {elbo.mean():.2f} nats, "
          f"std {elbo.std():.2f}, range [{elbo.min():.1f}, {elbo.max():.1f}] nats; "
          f"−ELBO = {-elbo.mean() / LN2 / x.shape[1]:.4f} bits per pixel")
    print(f"  ink ∑_d X_d against ELBO: correlation {np.corrcoef(ink, elbo)[0, 1]:.3f}; mean ink of "
          f"the 8 lowest-ELBO digits {ink[order[:8]].mean():.1f}, of the 8 highest {ink[order[-8:]].mean():.1f}")
    ax = axes[0, col]
    ax.hist(elbo, bins=60, color="C0", alpha=0.8)
    ax.axvline(elbo.mean(), color="k", ls="--", label=f"mean {elbo.mean():.1f}")
    ax.set(xlabel="ELBO (nats)", ylabel="test digits", title=name)
    ax.legend(fontsize=8)
    strip = np.concatenate([x[order[:8]], x[order[-8:]]])
    axes[1, col].imshow(tile(strip, 1, 16), cmap="gray", vmin=0, vmax=1)
    axes[1, col].set_title("8 lowest ELBO  |  8 highest ELBO", fontsize=8)
    axes[1, col].axis("off")
fig.tight_layout()
lesson.save(fig, args, "05_elbo_hist")

# %% [markdown]
# ## log P(X) by sampling z: from the prior versus from Q
#
# For the first few test digits we draw a long stream of z's each way and
# compute every log-weight once:
#
# * prior: log P(X|zᵢ), zᵢ ~ N(0, I).  The same zᵢ serve every digit, so the
#   decoder runs once per z and log P(X|z) for all digits is a matrix
#   product (for the Bernoulli decoder with logits l:
#   log P(X|z) = X·l − ∑_d log(1 + e^{l_d})).
# * Q: log P(X|zᵢ) + log P(zᵢ) − log Q(zᵢ|X), zᵢ = μ(X) + Σ^{1/2}(X) ⊙ εᵢ (Eq. 10).
#   The next cell writes these log-weights, `log_weights`; the cell after it
#   compares them with minivae's own, `minivae.evaluate.importance_log_weights`.
#
# The estimate from S draws is the log-mean-exp of S log-weights, computed
# with the log-sum-exp trick (subtract the largest log-weight before
# exponentiating), because the weights themselves, e^{−100} and smaller,
# underflow.  To show its *expected* value at each S (which is what rises
# towards log P(X)), the stream is cut into blocks of S and the block
# estimates are averaged.

# %%
import numpy as np

from minivae.losses import log_normal


def log_weights(model, x, mu, log_var, eps):
    """The log importance weights log P(X|z) + log P(z) − log Q(z|X), for S draws
    z = mu + Σ^{1/2} ⊙ eps (Eq. 10) per example, in float64.

    model.log_likelihood(x, z) is log P(X|z) per example (x (M, D), z (M, K), in the
    model's dtype, which is mu's); x (B, D); mu, log_var (B, K); eps (S, B, K) -> (S, B).
    """
    S, B, K = eps.shape
    dtype = mu.dtype                                   # the decoder's
    mu, log_var, eps = (a.astype(np.float64) for a in (mu, log_var, eps))
    ### BEGIN SOLUTION
    z = mu + np.exp(0.5 * log_var) * eps                                 # (S, B, K)  Eq. 10
    x_rep = np.broadcast_to(x, (S, *x.shape)).reshape(S * B, -1)         # (S·B, D)
    log_px_z = model.log_likelihood(x_rep, z.reshape(S * B, K).astype(dtype)).reshape(S, B)
    log_pz = log_normal(z, 0.0, 0.0)                                     # (S, B)  P(z) = N(0, I)
    # log Q(z|X) = log N(z | mu, Σ), written with eps itself: (z − mu)/std would cancel
    # where std ≪ |mu|, as a float32 model's confident posteriors have it
    log_qz = -0.5 * (np.log(2 * np.pi) + log_var + eps ** 2).sum(axis=-1)
    return log_px_z.astype(np.float64) + log_pz - log_qz
    ### END SOLUTION


# %%
probe_name, probe_model, probe_x = models[0]
probe_mu, probe_lv = probe_model.encode(probe_x[:5])
probe_eps = np.random.default_rng([args.seed, 5]).standard_normal((10, *probe_mu.shape)).astype(probe_mu.dtype)
probe = log_weights(probe_model, probe_x[:5], probe_mu, probe_lv, probe_eps)
print(f"log_weights against minivae.evaluate.importance_log_weights ({probe_name}, 5 digits, "
      f"S = 10): max |difference| "
      f"{np.abs(probe - importance_log_weights(probe_model, probe_x[:5], probe_mu, probe_lv, probe_eps)).max():.1e} nats")

# %%
def log_px_given_z_matrix(model, x, z):
    """log P(X_n|z_i) for every pair: x (N, D), z (S, K) -> (S, N) float64."""
    out, _ = model.decoder.forward(z.astype(model.dtype))      # (S, D) logits or means
    out = out.astype(np.float64)
    x = x.astype(np.float64)
    if model.likelihood == "bernoulli":
        return out @ x.T - np.logaddexp(0.0, out).sum(axis=1, keepdims=True)
    s2, D = model.sigma ** 2, x.shape[1]
    sq = (out ** 2).sum(1)[:, None] - 2 * out @ x.T + (x ** 2).sum(1)[None, :]
    return -0.5 * sq / s2 - 0.5 * D * (LOG_2PI + np.log(s2))


def prior_log_weights(model, x, s, rng, chunk=5_000):
    """(s, N) log P(X|zᵢ) for zᵢ ~ N(0, I) shared by all N digits."""
    rows = []
    for start in range(0, s, chunk):
        z = rng.standard_normal((min(chunk, s - start), model.z_dim))
        rows.append(log_px_given_z_matrix(model, x, z))
    return np.concatenate(rows)


def q_log_weights(model, x, s, rng, chunk=50):
    """(s, N) log P(X|zᵢ) + log P(zᵢ) − log Q(zᵢ|X) for zᵢ ~ Q(z|X)."""
    mu, log_var = model.encode(x)                                        # (N, K)
    rows = []
    for start in range(0, s, chunk):
        eps = rng.standard_normal((min(chunk, s - start), *mu.shape), dtype=mu.dtype)  # (S, N, K)
        rows.append(log_weights(model, x, mu, log_var, eps))             # Eq. 10 inside
    return np.concatenate(rows)


def expected_log_estimate(log_w, s):
    """Mean over blocks of s rows and over digits of log (1/s) ∑ exp(log_w)."""
    blocks = log_w[: (len(log_w) // s) * s].reshape(-1, s, log_w.shape[1])
    return float((logsumexp(blocks, axis=1) - np.log(s)).mean())


sizes_s = [10 ** i for i in range(int(np.log10(s_prior_max)) + 1)]
curves = []
for name, model, x in models:
    x = x[:n_digits]
    check = log_px_given_z_matrix(model, x[:3], np.zeros((2, model.z_dim)))
    direct = model.log_likelihood(x[:3], np.zeros((3, model.z_dim), model.dtype))
    lw_prior = prior_log_weights(model, x, s_prior_max, rng)
    lw_q = q_log_weights(model, x, s_q_max, rng)
    elbo = float(model.elbo(x, rng, n_samples=s_q_max).elbo.mean())
    # standard error of the S = 1 column: per-digit spread of log w, over all draws
    se_q1 = float(np.sqrt(lw_q.var(axis=0, ddof=1).mean() / lw_q.size))
    prior = {s: expected_log_estimate(lw_prior, s) for s in sizes_s if s <= s_prior_max}
    viaq = {s: expected_log_estimate(lw_q, s) for s in sizes_s if s <= s_q_max}
    lib = float(log_px_importance(model, x, s_q_max, rng).mean())
    curves.append((name, prior, viaq, elbo))
    best = viaq[max(viaq)]
    print(f"\n{name}: log P(X) estimates, mean over the first {len(x)} test digits (nats)")
    print(f"  (matrix form of log P(X|z) vs model.log_likelihood: max |diff| "
          f"{np.abs(check[0] - direct).max():.1e} nats)")
    print(f"  {'S':>8}  {'z ~ N(0,I)':>12}  {'z ~ Q(z|X)':>12}")
    for s in sizes_s:
        q = f"{viaq[s]:12.2f}" if s in viaq else f"{'':>12}"
        print(f"  S={s:<6d}  {prior[s]:12.2f}  {q}")
    print(f"  ELBO (Eq. 5 right side, {s_q_max} z ~ Q per digit): {elbo:.2f} nats")
    print(f"  standard error of the S=1 column from Q: {se_q1:.3f} nats "
          f"(its expectation is the ELBO)")
    print(f"  minivae.evaluate.log_px_importance with {s_q_max} draws: {lib:.2f} nats "
          f"= {-lib / LN2 / x.shape[1]:.4f} bits per pixel")
    print(f"  log P(X) − ELBO ≥ {best - elbo:.2f} nats: a lower bound on the mean "
          f"D[Q(z|X) ‖ P(z|X)] (Eq. 5)")
    print(f"  prior sampling against the ELBO: {prior[1] - elbo:+.2f} nats at S=1, "
          f"{prior[max(prior)] - elbo:+.2f} nats at S={max(prior)}")
    near = [s for s in sizes_s if prior[s] >= best - 1.0]
    print(f"  prior sampling within 1 nat of the Q estimate at S={max(viaq)}: "
          + (f"from S={near[0]}" if near else f"not reached by S={max(prior)}"))

# %% [markdown]
# The figure `05_log_px.png` plots both estimates against S (log scale),
# with the ELBO as a dashed line.  Sampling from Q starts *at* the ELBO for
# S = 1 and climbs above it; sampling from the prior starts far below.
# How far, and whether it ever catches up, the lesson prints ("prior
# sampling against the ELBO").  In a default run (seed 0) we measured, for
# the 4-D latent, the prior estimate 215 nats below the ELBO at S = 1 and
# 3.5 nats above it at S = 10⁵ (within 1 nat of the Q estimate from
# S = 10⁴ on); for the 30-D latent, 393 nats below at S = 1 and still
# 28 nats below at S = 10⁵, where a single draw from Q gives the ELBO.

# %%
fig, axes = plt.subplots(1, len(curves), figsize=(5.6 * len(curves), 4.2), squeeze=False)
for ax, (name, prior, viaq, elbo) in zip(axes[0], curves):
    ax.plot(list(prior), list(prior.values()), "o-", label="z ~ N(0, I) (prior)")
    ax.plot(list(viaq), list(viaq.values()), "s-", label="z ~ Q(z|X) (importance)")
    ax.axhline(elbo, color="k", ls="--", lw=1, label=f"ELBO {elbo:.1f}")
    top = max(max(viaq.values()), elbo)
    ax.set_ylim(top - max(60.0, 3 * (top - elbo)), top + 0.1 * max(10.0, top - elbo))
    low = ax.get_ylim()[0]
    off = [(s, v) for s, v in prior.items() if v < low]
    if off:                                  # the first prior estimates are far below the frame
        ax.annotate(f"prior, S = {off[0][0]}: {off[0][1]:.0f} (off scale)", (0.03, 0.03),
                    xycoords="axes fraction", fontsize=8, color="C0")
    ax.set_xscale("log")
    ax.set(xlabel="S (draws of z per digit)", ylabel="estimated log P(X) (nats)",
           title=f"{name}: mean over {n_digits} test digits")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
fig.tight_layout()
lesson.save(fig, args, "05_log_px")

# %%
t_end = time.perf_counter()
print(f"\ntime: {t_trained - t_start:.1f} s training/loading, {t_end - t_trained:.1f} s evaluating, "
      f"{t_end - t_start:.1f} s in all")

# %% [markdown]
# ## Exercises
#
# Predict first, then run.  `--quick` runs take seconds; "default run"
# means the lesson without `--quick`, seed 0.
#
# 1. **The prior estimator and the latent size.**  Run
#    `--quick --zdims 2,8`.  For which model will the line "prior sampling
#    within 1 nat of the Q estimate" report an S, and for which "not
#    reached"?  *Expected (seed 0):* the 2-D model gets there from S = 1000;
#    the 8-D model does not by S = 1000, and at S = 1000 its prior estimate
#    has risen less far above the ELBO (+7.5 nats, against +18 for 2-D).
# 2. **Why log-sum-exp.**  In `expected_log_estimate`, replace the
#    log-sum-exp by the naive `np.log(np.exp(blocks.astype(np.float32)).mean(axis=1))`.
#    Look at the table's log-weights (hundreds of nats below zero) and
#    predict what happens, knowing float32's `exp` underflows to 0 below
#    about −104.  *Expected:* every entry of both columns becomes −inf (with
#    a "divide by zero" warning), while the ELBO line, which never
#    exponentiates, is unchanged.  Exercise 7, `python -m minivae exercise 7
#    --out DIR` (stub `ex07_importance_logpx.py`), has you write the stable
#    importance-sampled log P(X); check it with `python -m minivae check FILE`.
# 3. **One bit per pixel.**  A decoder that ignored z and put
#    sig(f_d) = ½ on every pixel, with Q(z|X) = P(z), would have an ELBO of
#    784 · log ½.  How many bits per pixel is that?  *Expected:* exactly 1.
#    The trained models' "bits per pixel" lines must come out below 1; in a
#    default run they were 0.17 to 0.25.
# 4. **Grey levels are not binary images.**  Train lesson 07 (`--quick` is
#    enough) and pass its `last.npz` here with `--checkpoint`.  Which line
#    replaces "scoring on binary test digits", and may you compare the
#    bits per pixel it prints with exercise 3's?  *Expected:* the note that
#    the numbers are §4.1's X′ surrogate; no, they are not probabilities of
#    the grey images.
