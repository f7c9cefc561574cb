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
# flush_below: every value the update stores (parameters and optimizer state)
# whose magnitude is below it becomes 0 (minivae.optim explains why and which
# threshold); 0 turns the flush off.  Entries that stay are exactly the values
# the update computes without the flush: it changes nothing else.
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
    p ← p − lr·√(1−β2ᵗ)/(1−β1ᵗ) · m / (√v + ε̂);  then flush m, v and p
    (the new p is computed from the unflushed m and v).
    """
    if weight_decay:
        g = g + weight_decay * p
    m *= beta1
    m += (1 - beta1) * g
    v *= beta2
    v += (1 - beta2) * g * g
    step = lr * np.sqrt(1 - beta2 ** t) / (1 - beta1 ** t)
    p -= step * m / (np.sqrt(v) + adam_eps)
    for a in (m, v, p):
        _flush(a, flush_below)


# --- What a matrix product is ------------------------------------------------
def matmul(a, b, out=None):
    """c[n, h] = Σ_d a[n, d] b[d, h]: BLAS (np.matmul) computes it for every backend.

    The Numba loop version (_numba_kernels.matmul) spells the sum out; it is
    for reading and for the benchmark, never the hot path: OpenBLAS's tiled,
    vectorized kernels are several times faster.
    """
    return np.matmul(a, b, out=out)
