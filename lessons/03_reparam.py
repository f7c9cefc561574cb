"""Lesson 03: the reparameterization trick (Doersch §2.2, Eqs. 9–10, Fig. 4).

Run:  python lessons/03_reparam.py [--quick] [--seed S] [--out DIR]
"""
# %% [markdown]
# # 03 — The reparameterization trick (§2.2, Eqs. 9–10, Fig. 4)
#
# Eq. 9 is the objective for one datapoint X and one sample z; the code
# minimizes its negative, the loss −(Eq. 9):
#
#     −log P(X|z) + D[Q(z|X) ‖ P(z)],      with z drawn from Q(z|X) = N(μ(X), Σ(X)).
#
# The second term is a formula in μ and Σ (Eq. 7), so its gradient is easy.
# The first term is the problem: it depends on the encoder only *through a
# random draw*.  Backpropagation needs ∂z/∂μ, and "draw a number from
# N(μ, Σ)" has no such derivative — Fig. 4 (left) is a network with a wall
# in the middle.  The trick (Eq. 10) moves the randomness to an input:
#
#     z = μ + Σ^{1/2} ⊙ ε,      ε ~ N(0, I) drawn outside the network,
#
# so z is an ordinary differentiable function of μ and of the encoder's
# standard deviation Σ^{1/2} (`std` in the code; Σ is diagonal), with
# ∂z/∂μ = 1 and ∂z/∂Σ^{1/2} = ε (Fig. 4, right).  Symbols as in the paper:
# σ is only the *decoder's* noise (below, σ = 0.1 in Part 3), never the
# encoder's spread.
#
# This lesson has three parts:
#
# 1. **Why it matters** — on a one-line example, the two ways to get a gradient
#    through sampling: the score-function (REINFORCE) estimator, which needs
#    no derivative of the sampler, and the reparameterized one.  Both are
#    unbiased; one is far noisier.  Figure `03_gradient_variance.png`.
#    Then why the trick needs a continuous Q: for a discrete z the
#    reparameterized gradient is 0.
# 2. **The layer** — `minivae.reparam.Reparameterize`: forward, backward, and
#    a finite-difference check of its gradient, printed as a table.
# 3. **The consequence** — a tiny VAE trained twice on the ring of Fig. 2,
#    once with the trick and once with the gradient through z cut off.
#    Figures `03_training.png` and `03_vae_ring.png`.
#
# Figure `03_fig4.png` is a sketch of Fig. 4 to keep in view.

# %%
import time

import numpy as np
from numpy.polynomial.hermite_e import hermegauss

from minivae import VAE
from minivae.classroom import lesson
from minivae.gradcheck import numerical_grad, rel_error
from minivae.losses import gaussian_nll, kl_normal
from minivae.optim import Adam
from minivae.reparam import Reparameterize

args = lesson.parse_args(__doc__)
plt = lesson.setup_matplotlib()
t_start = time.perf_counter()

# %%
def draw_fig4(ax, trick):
    """Sketch of Fig. 4: the forward pass (black) and where backprop stops (red)."""
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 11.4)
    ax.axis("off")

    def box(x, y, text, color="white", edge="black"):
        ax.text(x, y, text, ha="center", va="center", fontsize=9.5,
                bbox=dict(boxstyle="round,pad=0.4", fc=color, ec=edge))

    def arrow(x0, y0, x1, y1, **kw):
        ax.annotate("", xy=(x1, y1), xytext=(x0, y0), arrowprops=dict(arrowstyle="->", **kw))

    box(5, 0.6, "input X", "#e8e8e8")
    box(5, 2.4, "encoder  Q(z|X)")
    box(5, 4.2, "μ(X),  Σ(X)")
    box(8.4, 4.2, "D[Q(z|X) ‖ N(0, I)]\n(Eq. 7)", "#fff3d6")
    if trick:
        box(5, 6.2, r"$z = \mu(X) + \Sigma^{1/2}(X) \odot \epsilon$", "#d9f2d9", "green")
        box(8.6, 6.2, "input\nε ~ N(0, I)", "#e8e8e8")
        arrow(7.6, 6.2, 7.0, 6.2)
    else:
        box(5, 6.2, "sample z ~ N(μ(X), Σ(X))", "#f9d6d5", "red")
    box(5, 8.2, "decoder  f(z)")
    box(5, 10.2, "−log P(X|z)\n= ‖X − f(z)‖²/(2σ²) + const", "#fff3d6")
    for y0, y1 in ((0.95, 2.05), (2.75, 3.85), (4.55, 5.85), (6.55, 7.85), (8.55, 9.6)):
        arrow(5, y0, 5, y1, color="black")
    arrow(6.1, 4.2, 6.75, 4.2, color="black")
    # backward pass of the reconstruction term, drawn beside the forward one
    stop = 2.4 if trick else 6.7
    arrow(2.2, 9.7, 2.2, stop, color="C3" if not trick else "C2", lw=1.6, ls="--")
    ax.text(2.2, 10.2, "backprop of\n−log P(X|z)", ha="center", va="center", fontsize=8.5)
    if trick:
        ax.text(5, -0.4, "gradient reaches the encoder", ha="center", color="green", fontsize=10)
    else:
        ax.plot([2.2], [6.2], marker="x", color="red", ms=14, mew=3)
        ax.text(5, -0.4, "sampling has no derivative: gradient stops at z", ha="center",
                color="red", fontsize=10)
    ax.set_title("with the trick (Eq. 10)" if trick else "without the trick (sampling inside, Eq. 9)")


fig, axes = plt.subplots(1, 2, figsize=(11, 5.6))
draw_fig4(axes[0], trick=False)
draw_fig4(axes[1], trick=True)
fig.suptitle("Fig. 4 in outline: the same forward pass; only one of them can be trained by backprop")
fig.tight_layout()
lesson.save(fig, args, "03_fig4")

# %% [markdown]
# ## Part 1 — two unbiased gradients, very different noise
#
# Take the simplest case: one latent number z ~ N(μ, std²) (std is
# Σ^{1/2} for K = 1) and a "loss" ℓ(z) = z², standing in for −log P(X|z).
# Its expectation is known, E[z²] = μ² + std², so the true gradients are
# ∂/∂μ = 2μ and ∂/∂std = 2·std.  Two single-sample estimators:
#
# * **score function (REINFORCE)** — differentiate the *density* instead of the
#   sample: ∇ E[ℓ] = E[ℓ(z) ∇ log N(z; μ, std²)], so
#   ∂/∂μ ≈ ℓ(z)·ε/std and ∂/∂std ≈ ℓ(z)·(ε² − 1)/std, where ε = (z − μ)/std.
#   It never needs ℓ′ — but it multiplies the *value* of ℓ by a zero-mean
#   random weight (ε/std for μ), so even a large constant in ℓ adds noise.
#   (This estimator is beyond the paper, whose §2.2 says only that a layer
#   that samples z has no gradient; it is the REINFORCE rule of Williams,
#   1992.)
# * **reparameterized (Eq. 10)** — write z = μ + std·ε and differentiate through:
#   ∂/∂μ ≈ ℓ′(z) = 2z and ∂/∂std ≈ ℓ′(z)·ε = 2zε.
#
# Both average to the right answer.  Their variances are printed below next
# to the exact values (computed by Gauss–Hermite quadrature, which is exact for
# these polynomials), and the figure shows the variance of an average of n
# samples falling as 1/n for both — the score estimator needs many times more
# samples for the same precision.

# %%
mu0, std0 = 1.0, 0.5                                 # the sampling distribution N(mu0, std0²)
loss_toy = lambda z: z ** 2                          # ℓ(z)
dloss_toy = lambda z: 2 * z                          # ℓ′(z)
estimators = {                                       # single-sample gradient estimates from eps
    ("mu", "score"): lambda e: loss_toy(mu0 + std0 * e) * e / std0,
    ("mu", "reparam"): lambda e: dloss_toy(mu0 + std0 * e),
    ("std", "score"): lambda e: loss_toy(mu0 + std0 * e) * (e ** 2 - 1) / std0,
    ("std", "reparam"): lambda e: dloss_toy(mu0 + std0 * e) * e,
}
true_grad = {"mu": 2 * mu0, "std": 2 * std0}

nodes, qweights = hermegauss(40)                     # ∫ h(e) N(e; 0, 1) de = ∑ w h(node)
qweights = qweights / np.sqrt(2 * np.pi)


def exact_mean_var(h):
    mean = qweights @ h(nodes)
    return mean, qweights @ (h(nodes) - mean) ** 2


rng = np.random.default_rng(args.seed)
n_single = 200_000 if args.quick else 2_000_000
eps_single = rng.standard_normal(n_single)
print(f"Part 1: gradient of E[z^2], z ~ N(mu, std^2) with mu = {mu0}, std = {std0}; "
      f"n = {n_single} single-sample estimates each")
print(f"  {'gradient':<9} {'estimator':<9} {'true':>6} {'mean':>8} {'variance':>10} {'exact var':>10}")
single_var = {}
for (param, kind), h in estimators.items():
    grad_est = h(eps_single)
    single_var[param, kind] = grad_est.var(ddof=1)
    print(f"  d/d{param:<6} {kind:<9} {true_grad[param]:6.3f} {grad_est.mean():8.4f} "
          f"{single_var[param, kind]:10.4f} {exact_mean_var(h)[1]:10.4f}")
for param in ("mu", "std"):
    ratio = single_var[param, "score"] / single_var[param, "reparam"]
    exact = exact_mean_var(estimators[param, "score"])[1] / exact_mean_var(estimators[param, "reparam"])[1]
    print(f"  variance ratio score/reparam for d/d{param}: {ratio:.2f} (exact {exact:.2f}): "
          f"the score estimator needs {ratio:.0f}x as many samples for the same error")

# %%
n_repeats = 400 if args.quick else 2000
sample_sizes = 2 ** np.arange(0, 9 if args.quick else 11)
fig, axes = plt.subplots(1, 3, figsize=(14, 4.2))
ax = axes[0]
bins = np.linspace(-6, 25, 125)
ax.hist(estimators["mu", "score"](eps_single[:50_000]), bins=bins, density=True, alpha=0.55,
        color="C1", label="score function")
ax.hist(estimators["mu", "reparam"](eps_single[:50_000]), bins=bins, density=True, alpha=0.55,
        color="C0", label="reparameterized")
ax.axvline(true_grad["mu"], color="k", ls="--", lw=1.2, label=f"true ∂/∂μ = {true_grad['mu']:.0f}")
ax.set(title="single-sample estimates of ∂E[z²]/∂μ", xlabel="estimate", ylabel="density")
ax.set_yscale("log")
ax.set_ylim(1e-4, 2)
ax.legend(fontsize=8)
for ax, param in zip(axes[1:], ("mu", "std")):
    for kind, color in (("score", "C1"), ("reparam", "C0")):
        h = estimators[param, kind]
        var_n = [h(rng.standard_normal((n_repeats, n))).mean(axis=1).var(ddof=1) for n in sample_sizes]
        ax.loglog(sample_sizes, var_n, "o", color=color, label=f"{kind}: measured")
        ax.loglog(sample_sizes, exact_mean_var(h)[1] / sample_sizes, "-", color=color, lw=1,
                  label=f"{kind}: exact var / n")
    symbol = "μ" if param == "mu" else "std"
    ax.set(title=f"variance of the n-sample estimate of ∂/∂{symbol}",
           xlabel="samples per estimate n", ylabel="variance")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
fig.suptitle(f"Part 1: gradient of E[z²] for z ~ N({mu0}, {std0}²) — both estimators are unbiased, "
             "the reparameterized one is far less noisy")
fig.tight_layout()
lesson.save(fig, args, "03_gradient_variance")

# %% [markdown]
# ## Part 1b — why Q cannot be discrete (§2.2)
#
# §2.2 ends with a condition: the trick needs z = h(η, X) with h continuous
# in X, so that backprop can pass through it, and so Q(z|X) cannot be a
# discrete distribution.  A discrete z has to jump from one value to
# another somewhere, and a jump has derivative 0 everywhere else.  The
# smallest case: one latent bit,
#
#     z = h(η, θ) = 1[η < sig(θ)],   η ~ U(0, 1),   so z ~ Bernoulli(p), p = sig(θ),
#
# with θ standing in for the encoder's output and ℓ(z) = (z − 0.8)² for the
# loss.  The gradient of the expected loss exists and is easy,
# ∂E[ℓ]/∂θ = p(1 − p)(ℓ(1) − ℓ(0)), but backpropagation through z multiplies
# by ∂h/∂θ, which is 0 at every η (except the one where z jumps).  So the
# "reparameterized" estimate is 0 for every draw.  Finite differences at a
# fixed η show where the gradient went: the few η within a step of the jump
# carry all of it, each with an enormous value.  The score function of
# Part 1 needs no ∂h/∂θ and stays unbiased: ℓ(z)·∂log P(z)/∂θ = ℓ(z)(z − p).
# (This demonstration is ours; §2.2 states the condition in words.)

# %%
rng_bit = np.random.default_rng([args.seed, 11])     # its own stream: Part 2's draws stay as they were
sig = lambda t: 1 / (1 + np.exp(-t))
theta, step = np.log(0.3 / 0.7), 1e-3                 # p = sig(theta) = 0.3; the finite-difference step
loss_bit = lambda z: (z - 0.8) ** 2                   # ℓ(z)
h_bit = lambda eta, th: (eta < sig(th)).astype(float)   # z = h(η, θ), a step in θ
p_bit = sig(theta)
eta = rng_bit.random(n_single)
z_bit = h_bit(eta, theta)
true_bit = p_bit * (1 - p_bit) * (loss_bit(1.0) - loss_bit(0.0))
dz_dtheta = np.zeros_like(eta)                        # a step's derivative, wherever it has one
backprop = 2 * (z_bit - 0.8) * dz_dtheta              # ℓ′(z)·∂h/∂θ: the chain rule through z
finite = (loss_bit(h_bit(eta, theta + step)) - loss_bit(h_bit(eta, theta - step))) / (2 * step)
score = loss_bit(z_bit) * (z_bit - p_bit)             # ℓ(z)·∂log P(z)/∂θ
print(f"\nPart 1b: a discrete Q, z = 1[eta < sig(theta)], eta ~ U(0, 1): z ~ Bernoulli(p = {p_bit:.3f}); "
      f"loss l(z) = (z - 0.8)^2; n = {n_single} draws")
print(f"  true dE[l]/dtheta = p (1 - p) (l(1) - l(0)) = {true_bit:.6f}")
print(f"  backprop through z (dz/dtheta = 0 wherever it exists): mean {backprop.mean():.6f}, "
      f"nonzero at {np.count_nonzero(backprop)} draws")
print(f"  finite differences at fixed eta, step {step:g}: nonzero at {np.count_nonzero(finite)} of {n_single} "
      f"draws; mean {finite.mean():.4f} ± {finite.std(ddof=1) / np.sqrt(n_single):.4f}, "
      f"variance {finite.var(ddof=1):.1f}")
print(f"  score function l(z) (z - p): mean {score.mean():.5f} ± {score.std(ddof=1) / np.sqrt(n_single):.5f}, "
      f"variance {score.var(ddof=1):.4f}")

# %% [markdown]
# ## Part 2 — the reparameterization layer
#
# The layer computes z = μ + exp(½ log_var) ⊙ ε, so
# std = Σ^{1/2} = exp(½ log_var) (the network predicts log_var = log diag Σ,
# which can be any real number).  Its backward pass, for an upstream
# gradient dz = ∂L/∂z, is
#
#     ∂L/∂μ = dz,      ∂L/∂log_var = dz ⊙ ½ exp(½ log_var) ⊙ ε = ½ dz ⊙ (z − μ).
#
# The next cell writes both, as `reparam_forward` and `reparam_backward`,
# named after the two functions that minivae's layer
# `minivae.reparam.Reparameterize` calls (this backward recomputes std from
# log_var instead of taking it from the forward pass).
# We check (a) that its samples have mean μ and variance exp(log_var), and
# (b) its backward pass against central finite differences of
# L = ∑ z ⊙ dz with a random dz (float64, step h = 1e-5), using
# `minivae.gradcheck`.  A correct gradient gives a relative error near 1e-10;
# we require below 1e-7.  Last, both agree with the layer the VAE uses.

# %%
import numpy as np


def reparam_forward(mu, log_var, eps):
    """z = mu + Σ^{1/2} ⊙ eps, with Σ^{1/2} = std = exp(½ log_var)   [Eq. 10]

    mu, log_var, eps (N, K) -> z (N, K).
    """
    ### BEGIN SOLUTION
    return mu + np.exp(0.5 * log_var) * eps
    ### END SOLUTION


def reparam_backward(dz, mu, log_var, eps):
    """dz = ∂L/∂z, mu, log_var, eps (N, K) -> (∂L/∂mu, ∂L/∂log_var), each (N, K)."""
    ### BEGIN SOLUTION
    std = np.exp(0.5 * log_var)
    return dz, dz * eps * (0.5 * std)                # ∂z/∂mu = 1, ∂z/∂log_var = ½ std ⊙ eps
    ### END SOLUTION


# %%
mu = np.array([[0.5, -1.0, 2.0]])                    # (1, K): one Q(z|X)
log_var = np.array([[0.0, -1.0, 1.5]])               # log diag Σ
n_stat = 20_000 if args.quick else 200_000
z = reparam_forward(np.repeat(mu, n_stat, 0), np.repeat(log_var, n_stat, 0),
                    rng.standard_normal((n_stat, mu.shape[1])))
print(f"Part 2: the reparameterization layer (Eq. 10), {n_stat} samples of z")
print(f"  mu            {np.array2string(mu[0], precision=3)}")
print(f"  mean of z     {np.array2string(z.mean(0), precision=3)}")
print(f"  exp(log_var)  {np.array2string(np.exp(log_var[0]), precision=3)}")
print(f"  var of z      {np.array2string(z.var(0, ddof=1), precision=3)}")

check_rng = np.random.default_rng([args.seed, 3])
mu_c, lv_c = check_rng.standard_normal((4, 3)), check_rng.standard_normal((4, 3))
eps_c, dz = check_rng.standard_normal((4, 3)), check_rng.standard_normal((4, 3))
z_c = reparam_forward(mu_c, lv_c, eps_c)
dmu, dlv = reparam_backward(dz, mu_c, lv_c, eps_c)
loss_fn = lambda: float((reparam_forward(mu_c, lv_c, eps_c) * dz).sum())
threshold = 1e-7
print("  finite-difference check of backward (float64, h = 1e-5, batch 4 x 3 latent dims)")
print(f"  {'gradient':<14} {'max |analytic|':>14} {'max rel. error':>15} {'threshold':>10}  result")
for name, a, grad in (("dL/dmu", mu_c, dmu), ("dL/dlog_var", lv_c, dlv)):
    err = rel_error(grad, numerical_grad(loss_fn, a))
    print(f"  {name:<14} {np.abs(grad).max():14.4f} {err:15.2e} {threshold:10.0e}  "
          f"{'pass' if err < threshold else 'FAIL'}")
print(f"  identity dL/dlog_var = 1/2 dz (z - mu): max |difference| = "
      f"{np.abs(dlv - 0.5 * dz * (z_c - mu_c)).max():.1e}")
layer = Reparameterize()                             # the layer inside minivae's VAE
z_lib, cache = layer.forward(mu_c, lv_c, eps_c)
dmu_lib, dlv_lib = layer.backward(dz, cache)
print(f"  against minivae.reparam.Reparameterize: max |difference| in z {np.abs(z_c - z_lib).max():.1e}, "
      f"in the gradients {max(np.abs(dmu - dmu_lib).max(), np.abs(dlv - dlv_lib).max()):.1e}")

# %% [markdown]
# ## Part 3 — a VAE with and without the trick
#
# The data: 2-D points on the ring of Fig. 2 (x = z/10 + z/‖z‖ with
# z ~ N(0, I), lesson 01).  The model: `minivae.VAE` with x_dim = 2, a 2-D
# latent (z_dim = K = 2; the paper writes k), hidden layers (32, 32), a
# Gaussian likelihood P(X|z) = N(X | f(z), σ² I) with decoder noise σ = 0.1
# (§2.4.3), float64, trained by `minivae.optim.Adam`.
#
# **Without the trick** we build the training pass ourselves from the model's
# own layers (`model.encoder`, `model.mu_head`, `model.log_var_head`,
# `model.reparam`, `model.decoder`).  The forward pass is identical; in the
# backward pass the decoder's gradient with respect to z is thrown away,
# as it must be if z came out of a sampling unit with no derivative (Fig. 4,
# left).  The decoder still learns, and the encoder still receives the KL
# term's gradient (Eq. 7 is a formula in μ and log_var) — but nothing tells
# the encoder that its codes should help reconstruction.  The same function
# with `through_z=True` is the trick; we check it reproduces
# `model.loss_and_grads` to rounding error.
#
# What the mathematics predicts for the cut run: the KL term pulls Q(z|X)
# onto the prior, so D[Q ‖ P(z)] → 0 and z carries no information about X.
# A decoder fed noise unrelated to X can do no better than output the data
# mean, so its −ELBO cannot fall below
#
#     L0 = tr Cov(X) / (2σ²) + (x_dim/2) ln(2πσ²)     (the loss of one Gaussian N(mean, σ² I))
#
# The run with the trick must beat L0 by a wide margin, paying a few nats of
# KL for a code that pins down where on the ring X lies.  Both runs see the
# same minibatches and the same ε.
#
# The printed reconstruction term, `recon_nll` = −log P(X|z), is a cost, but
# with this Gaussian decoder it can be *negative*: a density may exceed 1,
# and −log N(X | f(z), σ² I) = ‖X − f(z)‖²/(2σ²) + ln(2πσ²) for 2-D X, whose
# constant ln(2π · 0.01) ≈ −2.77 is below zero.  It is sure to be positive
# for binary X under a Bernoulli decoder (and for grey levels read through
# the same cross-entropy), not in general.

# %%
def ring(n, rng):
    """n points x = g(z), z ~ N(0, I): the ring of Fig. 2.  (n, 2)."""
    z = rng.standard_normal((n, 2))
    return z / 10 + z / np.linalg.norm(z, axis=1, keepdims=True)


def loss_and_grads(model, x, eps, through_z=True):
    """Mean loss −(Eq. 9) over the batch and its gradient; through_z=False cuts the path z → (mu, log_var).

    Same steps as VAE.loss_and_grads (Fig. 4); with through_z=False the
    encoder's gradient is the KL term's alone, as if z were drawn by a
    sampling unit that backprop cannot pass.
    """
    N = x.shape[0]
    h, c_enc = model.encoder.forward(x)                  # (N, H)
    mu, c_mu = model.mu_head.forward(h)                  # (N, K)
    log_var, c_lv = model.log_var_head.forward(h)        # (N, K)
    z, c_z = model.reparam.forward(mu, log_var, eps)     # (N, K)   Eq. 10
    x_mean, c_dec = model.decoder.forward(z)             # (N, D)
    rec, dx_mean = gaussian_nll(x_mean, x, model.sigma)  # (N,), (N, D)  −log P(X|z), σ = decoder noise
    kl, dmu, dlv = kl_normal(mu, log_var)                # (N,), (N, K)  Eq. 7
    loss = rec.mean() + kl.mean()
    dz = model.decoder.backward(dx_mean / N, c_dec)      # (N, K)  fills the decoder's grads
    dmu, dlv = dmu / N, dlv / N
    if through_z:                                        # the trick: ∂z/∂mu = 1, ∂z/∂log_var = ½(z − mu)
        dmu_rec, dlv_rec = model.reparam.backward(dz, c_z)
        dmu, dlv = dmu + dmu_rec, dlv + dlv_rec
    dh = model.mu_head.backward(dmu, c_mu)
    dh += model.log_var_head.backward(dlv, c_lv)
    model.encoder.backward(dh, c_enc, need_dx=False)
    return loss, model.grads


sigma_x, batch, lr = 0.1, 100, 3e-3
n_steps = 1000 if args.quick else 4000
data_rng = np.random.default_rng([args.seed, 1])
x_train, x_test = ring(2000, data_rng), ring(5000, data_rng)
make_model = lambda: VAE(x_dim=2, hidden=(32, 32), z_dim=2, likelihood="gaussian", sigma=sigma_x,
                         dtype=np.float64, seed=args.seed)

probe = make_model()                                     # the hand-built pass vs the library's
x_p, eps_p = x_train[:50], data_rng.standard_normal((50, 2))
loss_lib, _ = probe.loss_and_grads(x_p, eps_p)
flat_lib = probe.flat_grads.copy()
loss_own, _ = loss_and_grads(probe, x_p, eps_p, through_z=True)
print("Part 3: VAE on the ring of Fig. 2 (x_dim 2, z_dim 2, hidden (32, 32), "
      f"Gaussian likelihood sigma = {sigma_x}, Adam lr {lr}, batch {batch}, {n_steps} steps)")
print(f"  hand-built pass with the trick vs model.loss_and_grads: |loss diff| = "
      f"{abs(loss_own - loss_lib):.1e} nats, max |grad diff| = "
      f"{np.abs(probe.flat_grads - flat_lib).max():.1e}")


def train(through_z):
    """Train a fresh model; return it and its curve (step, −ELBO, KL) on a fixed batch."""
    model = make_model()
    opt = Adam(model.flat_params, model.flat_grads, lr=lr)
    rng = np.random.default_rng([args.seed, 2])          # same batches and ε for both runs
    eval_rng = np.random.default_rng([args.seed, 5])
    curve = []
    for step in range(n_steps + 1):
        if step % 25 == 0:
            terms = model.elbo(x_train[:500], eval_rng)
            curve.append((step, -terms.elbo.mean(), terms.kl.mean()))
        if step == n_steps:
            break
        idx = rng.integers(0, len(x_train), batch)
        loss_and_grads(model, x_train[idx], rng.standard_normal((batch, 2)), through_z)
        opt.step()
    return model, np.array(curve)


t0 = time.perf_counter()
runs = {"with the trick": train(True), "gradient through z cut": train(False)}
train_time = time.perf_counter() - t0

L0 = np.trace(np.cov(x_test.T)) / (2 * sigma_x ** 2) + np.log(2 * np.pi * sigma_x ** 2)
test_rng = np.random.default_rng([args.seed, 6])
print(f"  held-out ring points n = {len(x_test)}; ELBO with 10 samples of z per point; "
      f"both runs trained in {train_time:.1f} s")
print(f"  floor without information about X: L0 = tr Cov(X)/(2 sigma^2) + ln(2 pi sigma^2) = "
      f"{L0:.3f} nats (tr Cov(X) = {np.trace(np.cov(x_test.T)):.4f})")
final = {}
for name, (model, _) in runs.items():
    terms = model.elbo(x_test, test_rng, n_samples=10)
    neg = -terms.elbo
    final[name] = neg.mean()
    print(f"  {name:<22}: -ELBO = {neg.mean():8.3f} ± {neg.std(ddof=1) / np.sqrt(neg.size):.3f} nats, "
          f"reconstruction -log P(X|z) = {terms.recon_nll.mean():8.3f} nats, KL = {terms.kl.mean():.4f} nats")
print(f"  the trick lowers -ELBO by {final['gradient through z cut'] - final['with the trick']:.2f} nats")

# %%
fig, axes = plt.subplots(1, 2, figsize=(12, 4))
for (name, (_, curve)), color in zip(runs.items(), ("C0", "C3")):
    axes[0].plot(curve[:, 0], curve[:, 1], color=color, label=name)
    axes[1].plot(curve[:, 0], curve[:, 2], color=color, label=name)
axes[0].axhline(L0, color="k", ls="--", lw=1, label="L0: best loss with z ignoring X")
axes[0].set_ylim(min(c[:, 1].min() for _, c in runs.values()) - 3, 1.25 * L0)
axes[0].set(title="−ELBO on 500 training points", xlabel="Adam step", ylabel="−ELBO (nats)")
axes[1].set(title="KL term D[Q(z|X) ‖ N(0, I)]", xlabel="Adam step", ylabel="KL (nats)")
for ax in axes:
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
fig.suptitle("Part 3: only with the trick does the encoder learn a code (KL > 0) and the loss fall below L0")
fig.tight_layout()
lesson.save(fig, args, "03_training")

# %%
plot_rng = np.random.default_rng([args.seed, 7])
x_show = x_test[:600]
angle = np.arctan2(x_show[:, 1], x_show[:, 0])
fig, axes = plt.subplots(2, 3, figsize=(13, 8.6), layout="constrained")
unit_circle = np.exp(1j * np.linspace(0, 2 * np.pi, 200))
for row, color, (name, (model, _)) in zip(axes, ("C0", "C3"), runs.items()):
    mu_show, _ = model.encode(x_show)
    recon = model.reconstruct(x_show, plot_rng)
    samples = model.sample(600, plot_rng)
    row[0].plot(unit_circle.real, unit_circle.imag, "k--", lw=0.8, label="prior N(0, I), 1 sd")
    sc = row[0].scatter(mu_show[:, 0], mu_show[:, 1], c=angle, cmap="hsv", s=6)
    row[0].set(title=f"{name}:\nencoder means μ(X), coloured by X's angle", xlabel="μ₁",
               ylabel="μ₂", xlim=(-3, 3), ylim=(-3, 3))
    row[0].legend(fontsize=8, loc="upper right")
    for ax, pts, title in ((row[1], recon, f"{name}:\nreconstructions f(z), z ~ Q(z|X)"),
                           (row[2], samples, f"{name}:\nsamples f(z), z ~ N(0, I) (Fig. 5)")):
        ax.scatter(x_show[:, 0], x_show[:, 1], s=4, color="0.75", label="data")
        ax.scatter(pts[:, 0], pts[:, 1], s=4, color=color, label="model")
        ax.set(title=title, xlabel="x₁", ylabel="x₂", xlim=(-1.6, 1.6), ylim=(-1.6, 1.6))
        ax.legend(fontsize=8, loc="upper right", markerscale=2)
    for ax in row:
        ax.set_aspect("equal")
fig.colorbar(sc, ax=axes[:, 0], location="left", label="angle of X (rad)", shrink=0.5)
fig.suptitle("Part 3: with the trick (top) the code follows X around the ring; with the gradient cut "
             "(bottom)\nevery X gets the prior as its code, and the decoder can only output the data mean")
lesson.save(fig, args, "03_vae_ring")

# %% [markdown]
# What to look at in `03_vae_ring.png`:
#
# * **Top left** — with the trick, the encoder lays the ring out in latent
#   space, colours in order: nearby X get nearby codes.  The loop stays
#   within about two prior standard deviations of the origin, because the KL
#   term keeps pulling every code toward N(0, I).
# * **Top middle** — reconstructions land back on the ring, close to their X.
# * **Top right** — decoding z ~ N(0, I) (the test-time network of Fig. 5)
#   mostly gives ring points; the few stragglers inside come from prior draws
#   that fall where no X was encoded, a small mismatch between the prior and
#   the codes actually used.
# * **Bottom row** — with the gradient cut, every μ(X) sits at 0 and log_var
#   at 0: Q(z|X) *is* the prior, exactly what the KL term alone asks for.  The
#   decoder sees noise unrelated to X, so it learns one point, the data mean,
#   and both reconstructions and samples collapse there.  Its −ELBO stays at
#   the floor L0 printed above.

print(f"lesson 03 done in {time.perf_counter() - t_start:.1f} s")

# %% [markdown]
# ## Exercises
#
# Change one thing, write down your prediction, then run with `--quick`
# (about 5 s).  The numbers quoted are what `--quick` printed here with
# seed 0.
#
# 1. **Centre the distribution.**  Set `mu0 = 0.0`.  From the exact formula
#    for the μ-ratio, (μ⁴/std² + 14μ² + 15 std²)/(4 std²), predict the
#    printed variance ratio for d/dμ.  *What should happen:* 15/4 = 3.75
#    (printed: 3.80, exact column 3.75).  The score estimator is still worse,
#    but by far less: most of its noise at μ = 1 came from the size of ℓ(z).
# 2. **Add a constant to the loss.**  Write `loss_toy = lambda z: z ** 2 + 10`.
#    A constant changes no gradient, so which rows of the table change?
#    *What should happen:* the reparameterized rows are identical (ℓ′ is
#    unchanged); the score estimator's exact variance for d/dμ goes from
#    21.75 to 561.75, a ratio of 562.  Each estimate gains 10·ε/std, which
#    alone adds 10²/0.5² = 400, plus a cross term of 140.  This is why
#    score-function methods need baselines, and why Eq. 10 matters.
# 3. **log std for log variance.**  In Part 2's check, replace `dlv` in the
#    loop by `dz * (z_c - mu_c)`, the gradient without the ½, which is what
#    you get by treating log_var as log std.  Predict the printed relative
#    error.  *What should happen:* 0.333 and FAIL.  When the analytic
#    gradient is exactly twice the true one, rel_error is
#    |2g − g| / (|2g| + |g|) = 1/3.  Then derive the layer's backward
#    yourself: `python -m minivae exercise 5 --out mywork` copies
#    `lessons/exercises/ex05_reparam.py`, and `python -m minivae check
#    mywork/ex05_reparam.py` grades it.
# 4. **Blurrier decoder.**  Set the decoder noise `sigma_x = 0.3` (was
#    0.1).  Predict L0 and the KL of the run with the trick.  *What should
#    happen:* L0 falls from 60.8 to 6.5 nats (tr Cov(X)/2σ² shrinks 9-fold).
#    The KL halves, from 3.64 to 1.82 nats: a code that places X to within
#    0.3 instead of 0.1 needs fewer nats.  The trick's advantage shrinks from
#    60.2 to 4.6 nats.  This is §2.4.3's σ acting as a regularization weight.
# 5. **Forget the 1/N.**  In Part 3's `loss_and_grads`, pass `dx_mean`
#    instead of `dx_mean / N` to `model.decoder.backward`.  The loss line
#    is unchanged; what about the gradient check against
#    `model.loss_and_grads`, and what does training learn?  *What should
#    happen:* max |grad diff| jumps from about 1e-14 to 1.7e+04.  Training
#    still runs, but it now weighs reconstruction 100 times (the batch size)
#    as heavily as the KL: the KL rises from 3.64 to 10.85 nats, the
#    reconstruction cost −log P(X|z) falls (−1.69 to −2.72 nats, both below
#    zero, as Part 3 explains) and −ELBO gets worse (1.96 to 8.13 nats).
#    Exercise 6 (`python -m minivae exercise 6`, `ex06_vae_loss_and_grads.py`)
#    has you write this whole backward pass of Fig. 4 yourself.
