"""Layers with hand-derived forward and backward passes (the networks of Fig. 4).

Every layer follows one contract:

    y, cache = layer.forward(x)        # cache: a NamedTuple of what backward needs
    dx = layer.backward(dy, cache)     # fills layer.grads (same keys as params)

Nothing from a pass is stored on the layer, so two forwards can be in flight
(say a training batch and a batch of prior samples) without clobbering each
other.  Shapes: N batch, D in-features, H out-features.
"""
from typing import NamedTuple, Optional

import numpy as np

from . import kernels
from .checks import as_float_array, choice, finite_result, float_dtype, positive_int

INITS = ("gaussian", "sparse", "he", "glorot", "pytorch")


def init_weights(init, fan_in, fan_out, rng, dtype, std=0.1, sparse=15):
    """Initial (W, b) for a layer y = x @ W + b, W of shape (fan_in, fan_out).

    gaussian  W ~ N(0, std²), b = 0       the paper's reference code (std 0.1)
    sparse    as gaussian, but each weight kept with probability
              sparse / fan_out, else 0   (Caffe's `sparse` filler, which the
              reference code's MNIST nets use; see minivae.config)
    he        W ~ N(0, 2 / fan_in), b = 0                  (for ReLU nets)
    glorot    W ~ U(±√(6 / (fan_in + fan_out))), b = 0
    pytorch   W, b ~ U(±1/√fan_in)         (torch.nn.Linear's default)
    """
    shape = (fan_in, fan_out)
    b = np.zeros(fan_out)
    if init == "gaussian":
        W = rng.normal(0.0, std, shape)
    elif init == "sparse":
        keep = rng.random(shape) < min(1.0, sparse / fan_out)
        W = rng.normal(0.0, std, shape) * keep
    elif init == "he":
        W = rng.normal(0.0, np.sqrt(2.0 / fan_in), shape)
    elif init == "glorot":
        a = np.sqrt(6.0 / (fan_in + fan_out))
        W = rng.uniform(-a, a, shape)
    elif init == "pytorch":
        a = 1.0 / np.sqrt(fan_in)
        W = rng.uniform(-a, a, shape)
        b = rng.uniform(-a, a, fan_out)
    else:
        choice("init", init, INITS)
    return W.astype(dtype), b.astype(dtype)


class DenseCache(NamedTuple):
    x: np.ndarray                   # (N, D) the layer's input
    y: Optional[np.ndarray] = None  # (N, H) the output, kept only when a ReLU is fused in


class Dense:
    """Affine layer y = x @ W + b with W (D, H), b (H,).

    Backward:  dW = xᵀ dy,  db = Σ_n dy,  dx = dy Wᵀ.
    """

    def __init__(self, in_dim, out_dim, init="he", rng=None, dtype=np.float32, **init_kw):
        self.in_dim = positive_int("in_dim", in_dim)
        self.out_dim = positive_int("out_dim", out_dim)
        self.dtype = float_dtype(dtype)
        rng = np.random.default_rng(rng)
        W, b = init_weights(init, in_dim, out_dim, rng, self.dtype, **init_kw)
        self.params = {"W": W, "b": b}
        self.grads = {"W": np.zeros_like(W), "b": np.zeros_like(b)}

    def forward(self, x, relu=False):
        """x (N, D) -> y (N, H).  relu=True fuses a ReLU in: y = max(x @ W + b, 0).

        x is checked (a ValueError names it), and so is y: an overflow raises
        checks.NonFiniteError.  MLP, Tower and the models, whose inputs are
        checked at their own door, call forward_unchecked instead, so no
        training step scans every activation twice.
        """
        as_float_array("x", x, self.dtype, cols=self.in_dim)
        with np.errstate(all="ignore"):             # an overflow is reported just below
            y, cache = self.forward_unchecked(x, relu)
        finite_result(("x", "W", "b"), y)
        return y, cache

    def forward_unchecked(self, x, relu=False):
        y = kernels.dense_forward(x, self.params["W"], self.params["b"], relu=relu)
        return y, DenseCache(x, y if relu else None)

    def backward(self, dy, cache, need_dx=True):
        """dy (N, H) -> dx (N, D), or None when need_dx is False (input is data).

        With a fused ReLU, dy is the gradient w.r.t. the ReLU's output; the
        kernel masks it by [y > 0] in the same pass that sums db.  dy and
        cache are checked as in forward; backward_unchecked skips that.
        """
        if not isinstance(cache, DenseCache):
            raise ValueError(f"cache must be the DenseCache forward returned, got "
                             f"{type(cache).__name__}")
        as_float_array("dy", dy, self.dtype, cols=self.out_dim, rows=cache.x.shape[0])
        with np.errstate(all="ignore"):             # an overflow is reported just below
            dx = self.backward_unchecked(dy, cache, need_dx)
        finite_result(("dy", "cache"), self.grads["W"], self.grads["b"],
                      *(() if dx is None else (dx,)))
        return dx

    def backward_unchecked(self, dy, cache, need_dx=True):
        return kernels.dense_backward(cache.x, self.params["W"], dy, self.grads["W"],
                                      self.grads["b"], need_dx, relu_y=cache.y)


class ActivationCache(NamedTuple):
    y: np.ndarray           # the activation's output; both derivatives below use only y


class ReLU:
    """y = max(x, 0);  dx = dy ⊙ [y > 0]."""
    params = grads = {}

    def forward(self, x):
        y = kernels.relu_forward(x)
        return y, ActivationCache(y)

    def backward(self, dy, cache):
        return kernels.relu_backward(dy, cache.y)


class Sigmoid:
    """y = sig(x) = 1 / (1 + e^−x);  dx = dy ⊙ y (1 − y).

    No model uses this layer: the decoders fold the sigmoid into the Bernoulli
    loss (minivae.losses.bernoulli_nll), which is stable where a separate
    sigmoid is not.  It stays as the simplest example of the layer contract,
    forward(x) -> (y, cache) and backward(dy, cache) -> dx, and for exercise 2.
    """
    params = grads = {}

    def forward(self, x):
        y = kernels.sigmoid(x)
        return y, ActivationCache(y)

    def backward(self, dy, cache):
        return dy * cache.y * (1 - cache.y)
