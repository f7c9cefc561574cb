"""Lesson 05: testing a trained VAE — sampling, the ELBO per digit, and log P(X) two ways (Doersch §2.3, Fig. 5).

Run:  python lessons/05_testing.py [--quick] [--seed S] [--out DIR] [--checkpoint PATH]
"""
# %% [markdown]
# # 05 — Testing the learned model (§2.3, Fig. 5, Eq. 5)
#
# Once trained, a VAE is used in two ways, and §2.3 covers both:
#
# 1. **Generating.**  The test-time network of Fig. 5 throws the encoder
#    away: draw z ~ N(0, I) and push it through the decoder.  Nothing else —
#    no μ, no Σ, no ε.
# 2. **Scoring a digit.**  How probable is a test image X under the model?
#    log P(X) = log ∫ P(X|z) P(z) dz (Eq. 1) has no closed form.  The right
#    side of Eq. 5, the ELBO, is a lower bound on it that we *can* estimate,
#    because D[Q(z|X) ‖ P(z|X)] ≥ 0.  And log P(X) itself can be estimated by
#    sampling — the section's point is that sampling z from Q(z|X) gets there
#    far sooner than sampling z from the prior.
#
# Two Monte Carlo estimators of P(X), each from k draws:
#
#     from the prior     P(X) ≈ (1/k) Σᵢ P(X|zᵢ),                 zᵢ ~ N(0, I)
#     from Q (importance) P(X) ≈ (1/k) Σᵢ P(X|zᵢ) P(zᵢ) / Q(zᵢ|X),  zᵢ ~ Q(z|X)
#
# Both are unbiased for P(X), so their logs are biased *low* (Jensen) and
# climb towards log P(X) as k grows.  With k = 1 the Q-estimator's log is
# log P(X|z) + log P(z) − log Q(z|X), whose expectation over z ~ Q is exactly
# the ELBO.  The prior estimator wastes almost every draw: a digit's
# posterior covers a tiny patch of latent space, and a random z from N(0, I)
# seldom lands in it — the higher the latent dimension, the tinier the patch.
#
# Without `--checkpoint` the lesson trains two small VAEs for a few epochs,
# one with a 4-D latent (the fewest §4.1 calls adequate) and one with 30
# dimensions (the paper's size), so you can watch the prior estimator first
# succeed slowly and then fail outright.  They use the 784-400-K network of
# the "pytorch-example" preset rather than §4.1's deeper one, purely so that
# the whole lesson runs in a couple of minutes; any checkpoint works the same way
# (`--checkpoint runs/.../last.npz`, e.g. from lesson 07).

# %%
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy.special import logsumexp

from minivae import lesson
from minivae.checkpoint import load_checkpoint
from minivae.errors import CheckpointError
from minivae.evaluate import importance_log_weights, log_px_importance, prepare
from minivae.losses import LOG_2PI
from minivae.plots import tile
from minivae.train import TrainConfig, train


def add_arguments(p):
    p.add_argument("--checkpoint", type=Path, help="score this trained model (a minivae .npz "
                   "checkpoint) instead of training two small ones")
    p.add_argument("--zdims", default="4,30", help="latent sizes of the models trained here (default 4,30)")
    p.add_argument("--epochs", type=int, help="training epochs per model (default 10; --quick 1)")
    p.add_argument("--digits", type=int, help="test digits whose log P(X) is estimated (default 100; --quick 20)")
    p.add_argument("--k-prior", type=int, help="largest k for prior sampling (default 100000; --quick 2000)")
    p.add_argument("--k-q", type=int, help="largest k for sampling from Q (default 1000; --quick 100)")


args = lesson.parse_args(__doc__, add_arguments)
plt = lesson.setup_matplotlib()
t_start = time.perf_counter()
epochs = args.epochs or (1 if args.quick else 10)
n_digits = args.digits or (20 if args.quick else 100)
k_prior_max = args.k_prior or (2_000 if args.quick else 100_000)
k_q_max = args.k_q or (100 if args.quick else 1_000)
n_hist = 500 if args.quick else 10_000              # test digits in the ELBO histogram

# %% [markdown]
# ## The models
#
# Either the checkpoint you pass, or two quick training runs (the progress
# bar is `minivae.train`'s).  With `--quick` they see only 2,000 training
# images for one epoch: enough to run every line of the lesson, not to make
# good digits.

# %%
models = []          # (name, model, x_test as that model sees it)
try:
    if args.checkpoint is not None:
        model, _, meta = load_checkpoint(args.checkpoint)
        x_test, _ = lesson.load_mnist("test", dtype=model.dtype)
        binarize = meta["config"].get("binarize", "none")
        x_eval = prepare(x_test, binarize, np.random.default_rng([args.seed, 1]))
        sizes = "-".join(map(str, (model.x_dim, *model.hidden, model.z_dim)))
        models.append((f"VAE {sizes} ({args.checkpoint.name}, epoch {meta['epoch']})", model, x_eval))
    else:
        x_train, _, x_test, _ = lesson.load_mnist("train", "test")
        tmp = tempfile.TemporaryDirectory(prefix="minivae05-")
        for z_dim in (int(s) for s in args.zdims.split(",")):
            config = TrainConfig.from_preset(
                "pytorch-example", z_dim=z_dim, epochs=epochs, seed=args.seed,
                subset=2_000 if args.quick else None, test_subset=1_000, images=False,
                out_dir=str(Path(tmp.name) / f"z{z_dim}"))
            print(f"training VAE 784-400-{z_dim} for {epochs} epoch(s)")
            result = train(config, x_train=x_train, x_test=x_test)
            models.append((f"VAE 784-400-{z_dim}", result.model, x_test))
except (CheckpointError, ValueError) as e:
    print(f"error: {e}", file=sys.stderr)
    sys.exit(2)
t_trained = time.perf_counter()

# %% [markdown]
# ## Fig. 5: the test-time network
#
# `model.sample(n, rng)` is the whole of Fig. 5: z ~ N(0, I) → decoder →
# the Bernoulli means σ(f(z)), shown as grey levels.  The encoder plays no
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
# the test set is the "rough idea of how well the model captures a
# datapoint" that §2.3 promises.  Under the histogram are the eight lowest-
# and highest-scoring digits.  Remember what is being scored: the log
# probability of all 784 pixels, so a thin "1" with few strokes to get right
# scores high and a heavy, thick or oddly shaped digit scores low — a
# density, not a judgement of neatness.

# %%
fig, axes = plt.subplots(2, len(models), figsize=(5.2 * len(models), 5.4), squeeze=False,
                         gridspec_kw=dict(height_ratios=[3, 1.3]))
for col, (name, model, x) in enumerate(models):
    x = x[:n_hist]
    elbo = np.concatenate([model.elbo(x[i:i + 1000], rng).elbo for i in range(0, len(x), 1000)])
    print(f"{name}: ELBO over {len(x)} test digits (one z ~ Q each): mean {elbo.mean():.2f} nats, "
          f"std {elbo.std():.2f}, range [{elbo.min():.1f}, {elbo.max():.1f}] nats "
          f"= {-elbo.mean() / np.log(2) / x.shape[1]:.4f} bits per pixel of −ELBO")
    ax = axes[0, col]
    ax.hist(elbo, bins=60, color="C0", alpha=0.8)
    ax.axvline(elbo.mean(), color="k", ls="--", label=f"mean {elbo.mean():.1f}")
    ax.set(xlabel="ELBO (nats)", ylabel="test digits", title=name)
    ax.legend(fontsize=8)
    order = np.argsort(elbo)
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
#   log P(X|z) = X·l − Σ_d log(1 + e^{l_d})).
# * Q: log P(X|zᵢ) + log P(zᵢ) − log Q(zᵢ|X), zᵢ = μ(X) + σ(X) ⊙ εᵢ (Eq. 10).
#
# The estimate from k draws is log-mean-exp of k log-weights.  To show its
# *expected* value at each k (which is what rises towards log P(X)), the
# stream is cut into blocks of k and the block estimates are averaged.

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


def prior_log_weights(model, x, k, rng, chunk=5_000):
    """(k, N) log P(X|zᵢ) for zᵢ ~ N(0, I) shared by all N digits."""
    rows = []
    for s in range(0, k, chunk):
        z = rng.standard_normal((min(chunk, k - s), model.z_dim))
        rows.append(log_px_given_z_matrix(model, x, z))
    return np.concatenate(rows)


def q_log_weights(model, x, k, rng, chunk=50):
    """(k, N) log P(X|zᵢ) + log P(zᵢ) − log Q(zᵢ|X) for zᵢ ~ Q(z|X)."""
    mu, log_var = model.encode(x)                                        # (N, K)
    rows = []
    for s in range(0, k, chunk):
        eps = rng.standard_normal((min(chunk, k - s), *mu.shape), dtype=mu.dtype)  # (S, N, K)
        rows.append(importance_log_weights(model, x, mu, log_var, eps))  # Eq. 10 inside
    return np.concatenate(rows)


def expected_log_estimate(log_w, k):
    """Mean over blocks of k rows and over digits of log (1/k) Σ exp(log_w)."""
    blocks = log_w[: (len(log_w) // k) * k].reshape(-1, k, log_w.shape[1])
    return float((logsumexp(blocks, axis=1) - np.log(k)).mean())


ks = [10 ** i for i in range(int(np.log10(k_prior_max)) + 1)]
curves = []
for name, model, x in models:
    x = x[:n_digits]
    check = log_px_given_z_matrix(model, x[:3], np.zeros((2, model.z_dim)))
    direct = model.log_likelihood(x[:3], np.zeros((3, model.z_dim), model.dtype))
    lw_prior = prior_log_weights(model, x, k_prior_max, rng)
    lw_q = q_log_weights(model, x, k_q_max, rng)
    elbo = float(model.elbo(x, rng, n_samples=k_q_max).elbo.mean())
    # standard error of the k = 1 column: per-digit spread of log w, over all draws
    se_q1 = float(np.sqrt(lw_q.var(axis=0, ddof=1).mean() / lw_q.size))
    prior = {k: expected_log_estimate(lw_prior, k) for k in ks if k <= k_prior_max}
    viaq = {k: expected_log_estimate(lw_q, k) for k in ks if k <= k_q_max}
    lib = float(log_px_importance(model, x, k_q_max, rng).mean())
    curves.append((name, prior, viaq, elbo))
    print(f"\n{name}: log P(X) estimates, mean over the first {len(x)} test digits (nats)")
    print(f"  (matrix form of log P(X|z) vs model.log_likelihood: max |diff| "
          f"{np.abs(check[0] - direct).max():.1e} nats)")
    print(f"  {'k':>8}  {'z ~ N(0,I)':>12}  {'z ~ Q(z|X)':>12}")
    for k in ks:
        q = f"{viaq[k]:12.2f}" if k in viaq else f"{'':>12}"
        print(f"  k={k:<6d}  {prior[k]:12.2f}  {q}")
    print(f"  ELBO (Eq. 5 right side, {k_q_max} z ~ Q per digit): {elbo:.2f} nats")
    print(f"  standard error of the k=1 column from Q: {se_q1:.3f} nats "
          f"(its expectation is the ELBO)")
    print(f"  minivae.evaluate.log_px_importance, k = {k_q_max}: {lib:.2f} nats")
    best = viaq[max(viaq)]
    print(f"  log P(X) − ELBO ≥ {best - elbo:.2f} nats: a lower bound on the mean "
          f"D[Q(z|X) ‖ P(z|X)] (Eq. 5)")
    near = [k for k in ks if prior[k] >= best - 1.0]
    print(f"  prior sampling within 1 nat of the Q estimate at k = {max(viaq)}: "
          + (f"from k = {near[0]}" if near else f"not reached by k = {max(prior)}"))

# %% [markdown]
# The figure `05_log_px.png` plots both estimates against k (log scale), with
# the ELBO as a dashed line.  Sampling from Q starts *at* the ELBO for k = 1
# and gains the last nats within a few hundred draws; sampling from the
# prior starts hundreds of nats too low.  With a 4-D latent it does catch up
# after ~10⁴–10⁵ draws; with 30 dimensions it is still far below the ELBO at
# 10⁵ — every estimate there would be useless, although the ELBO, which
# needs only one draw, is close.

# %%
fig, axes = plt.subplots(1, len(curves), figsize=(5.6 * len(curves), 4.2), squeeze=False)
for ax, (name, prior, viaq, elbo) in zip(axes[0], curves):
    ax.plot(list(prior), list(prior.values()), "o-", label="z ~ N(0, I) (prior)")
    ax.plot(list(viaq), list(viaq.values()), "s-", label="z ~ Q(z|X) (importance)")
    ax.axhline(elbo, color="k", ls="--", lw=1, label=f"ELBO {elbo:.1f}")
    top = max(max(viaq.values()), elbo)
    ax.set_ylim(top - max(60.0, 3 * (top - elbo)), top + 0.1 * max(10.0, top - elbo))
    low = ax.get_ylim()[0]
    off = [(k, v) for k, v in prior.items() if v < low]
    if off:                                  # the first prior estimates are far below the frame
        ax.annotate(f"prior, k = {off[0][0]}: {off[0][1]:.0f} (off scale)", (0.03, 0.03),
                    xycoords="axes fraction", fontsize=8, color="C0")
    ax.set_xscale("log")
    ax.set(xlabel="k (samples of z per digit)", ylabel="estimated log P(X) (nats)",
           title=f"{name}: mean over {n_digits} test digits")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
fig.tight_layout()
lesson.save(fig, args, "05_log_px")

# %%
t_end = time.perf_counter()
print(f"\ntime: {t_trained - t_start:.1f} s training/loading, {t_end - t_trained:.1f} s evaluating, "
      f"{t_end - t_start:.1f} s in all")
