"""Hot-path kernels, NumPy reference: the version of each operation a reader reads first.

Model code never imports this module: it calls `minivae.kernels`, which binds
these functions or their Numba twins (minivae/_numba_kernels.py) under the
same names.  Every function here states the formula it computes; the Numba
version beside it must agree (tests/test_kernels.py: float64 to ~1e-12).

Shapes: N batch, D in-features, H out-features, K latent dims.
"""
import numpy as np


# --- Dense layer: y = act(x @ W + b) -------------------------------------------
def dense_forward(x, W, b, relu=False, out=None):
    """y = x @ W + b, then y = max(y, 0) when relu is True.

    x (N, D), W (D, H), b (H,) -> y (N, H), written into `out` when given.
    """
    y = np.matmul(x, W, out=out)
    y += b
    if relu:
        np.maximum(y, 0, out=y)
    return y


def dense_backward(x, W, dy, dW, db, need_dx=True, relu_y=None):
    """Backward of y = x @ W + b, writing the parameter gradients in place.

    When the layer's output went through a ReLU, pass that output as relu_y:
    dy is then the gradient w.r.t. the ReLU's output and is masked first,
        dy ← dy ⊙ [relu_y > 0].
    Then  dW = xᵀ dy  (D, H),   db = Σ_n dy  (H,),   dx = dy Wᵀ  (N, D).
    `dx` is skipped (returns None) when the input needs no gradient, as for
    the data entering the encoder.
    """
    if relu_y is not None:
        dy = dy * (relu_y > 0)
    np.matmul(x.T, dy, out=dW)
    np.sum(dy, axis=0, out=db)
    return dy @ W.T if need_dx else None


# --- Elementwise activations -----------------------------------------------
def relu_forward(x):
    """y = max(x, 0)."""
    return np.maximum(x, 0)


def relu_backward(dy, y):
    """dx = dy ⊙ [y > 0]  (y is the ReLU's output)."""
    return dy * (y > 0)


def sigmoid(x):
    """sigmoid(x) = 1 / (1 + exp(−x)), without overflow for large |x|."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


# --- Bernoulli likelihood from logits ---------------------------------------
def bernoulli_nll(logits, x):
    """Per-example Bernoulli NLL from logits l and targets x ∈ [0, 1].

    nll = Σ_d max(l, 0) − l·x + log1p(exp(−|l|))     (stable form)
    ∂nll/∂l = sigmoid(l) − x
    Returns (nll (N,), dlogits (N, D)).
    """
    nll = (np.maximum(logits, 0) - logits * x + np.log1p(np.exp(-np.abs(logits)))).sum(axis=1)
    return nll, sigmoid(logits) - x


# --- Reparameterization and KL (Eqs. 7, 10) --------------------------------
def reparam_forward(mu, log_var, eps):
    """z = mu + exp(½ log_var) ⊙ eps.  Returns (z, std), all (N, K)."""
    std = np.exp(0.5 * log_var)
    return mu + std * eps, std


def reparam_backward(dz, std, eps):
    """dmu = dz,  dlog_var = dz ⊙ eps ⊙ ½ std."""
    return dz, dz * eps * (0.5 * std)


def kl_normal(mu, log_var):
    """KL(N(mu, diag exp(log_var)) ‖ N(0, I)) per example, with gradients.

    KL = ½ Σ_k (exp(lv_k) + mu_k² − 1 − lv_k)            [Eq. 7]
    ∂KL/∂mu = mu,   ∂KL/∂lv = ½ (exp(lv) − 1)
    Returns (kl (N,), dmu (N, K), dlog_var (N, K)).
    """
    var = np.exp(log_var)
    kl = 0.5 * (var + mu * mu - 1 - log_var).sum(axis=1)
    return kl, mu.copy(), 0.5 * (var - 1)


# --- Optimizer updates, in place on flat arrays ------------------------------
# flush_below: parameters and first moments (Adam's m, SGD's velocity) whose
# magnitude the update leaves below it become 0; Adam's v, which holds squared
# gradients, is flushed below (2·flush_below)² (adam_v_limits).  minivae.optim
# explains why and which threshold; 0 turns the flush off.  Every value that
# stays is exactly the value the update computes without the flush.
def _flush(a, below):
    """a ← 0 where |a| < below, in place (NaN stays NaN, a zeroed negative is −0.0)."""
    if below:
        a *= np.abs(a) >= below         # measured 3–6× faster than a[np.abs(a) < below] = 0


def sgd_update(p, g, velocity, lr, momentum, weight_decay, flush_below=0.0):
    """v ← momentum·v + (g + wd·p);  p ← p − lr·v   (Caffe's SGD);  then flush v and p."""
    velocity *= momentum
    velocity += g
    if weight_decay:
        velocity += weight_decay * p
    p -= lr * velocity
    _flush(velocity, flush_below)
    _flush(p, flush_below)


def adam_update(p, g, m, v, lr, beta1, beta2, adam_eps, t, weight_decay, flush_below=0.0):
    """One Adam step (Kingma & Ba, Alg. 1) with L2 decay added to the gradient.

    g̃ = g + wd·p;  m ← β1 m + (1−β1) g̃;  v ← β2 v + (1−β2) g̃²
    p ← p − lr·√(1−β2ᵗ)/(1−β1ᵗ) · m / (√v + ε̂);  then flush p, m and v
    (the new p is computed from the unflushed m and v).  With the flush on,
    a term (1−β2) g̃² too small to be a normal number is left out instead of
    computed where that cannot change v (adam_v_limits).
    """
    v_below, g_small, v_large = adam_v_limits(p.dtype, beta2, adam_eps, flush_below)
    if weight_decay:
        g = g + weight_decay * p
    g_sq = g
    if g_small:
        g_sq = np.where((np.abs(g) < g_small) & ((v == 0) | (v >= v_large)), 0, g).astype(g.dtype)
    m *= beta1
    m += (1 - beta1) * g
    v *= beta2
    v += (1 - beta2) * g_sq * g_sq
    step = lr * np.sqrt(1 - beta2 ** t) / (1 - beta1 ** t)
    p -= step * m / (np.sqrt(v) + adam_eps)
    _flush(p, flush_below)
    _flush(m, flush_below)
    _flush(v, v_below)


def adam_v_limits(dtype, beta2, adam_eps, flush_below):
    """(v_below, g_small, v_large): how the flush treats Adam's second moment v.

    v_below = (2·flush_below)² = 4·tiny (tiny: the dtype's smallest normal
    number).  v holds squared gradients, so this is the threshold of m and p
    on the scale of a square; with v ≥ 4·tiny, β2·v stays normal.  Flushing
    v changes no new p: √v < 2·flush_below is under half a unit in the last
    place (ulp) of ε̂ when ε̂ ≥ flush_below·2^(b+3) (b: mantissa bits).
    The term (1−β2) g̃² is left out where |g̃| < g_small = √(2·tiny/(1−β2)),
    so it would lie below 2·tiny (mostly a subnormal), and the old v is 0 or
    ≥ v_large = tiny·2^(b+4): there half an ulp of β2·v exceeds the term, and
    from v = 0 it gives a v below v_below, which the flush zeroes.  So the
    stored v and the new p are those of the update that computes the term.
    g_small = 0 (nothing left out) without the flush or with a smaller ε̂.
    """
    if not flush_below:
        return 0.0, 0.0, 0.0
    info = np.finfo(dtype)
    tiny, bits = float(info.tiny), info.nmant
    if adam_eps < flush_below * 2.0 ** (bits + 3):
        return 4 * flush_below ** 2, 0.0, 0.0
    return 4 * flush_below ** 2, float(np.sqrt(2 * tiny / (1 - beta2))), tiny * 2.0 ** (bits + 4)


# --- What a matrix product is ------------------------------------------------
def matmul(a, b, out=None):
    """c[n, h] = Σ_d a[n, d] b[d, h]: BLAS (np.matmul) computes it for every backend.

    The Numba loop version (_numba_kernels.matmul) spells the sum out; it is
    for reading and for the benchmark, never the hot path: OpenBLAS's tiled,
    vectorized kernels are several times faster.
    """
    return np.matmul(a, b, out=out)
