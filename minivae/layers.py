"""Layers with hand-derived forward and backward passes (the networks of Fig. 4).

Each pass is first a function, its formula and gradient stated above the
NumPy lines that compute it; a layer object holds the parameters and calls it:

    y, cache = layer.forward(x)        # cache: a NamedTuple of what backward needs
    dx = layer.backward(dy, cache)     # fills layer.grads (same keys as params)

Nothing from a pass is stored on the layer, so two forwards can be in flight
(say a training batch and a batch of prior samples) without clobbering each
other.  Shapes: N batch, D in-features, H out-features.

The pass functions trust their caller: a layer's methods check the arrays
they are given (ArgumentError), and a network (minivae.mlp, minivae.tower)
calls the functions on arrays its model checked at its own door.  Which lines
run: each pass function's first line hands the work to its Numba twin
(minivae/kernels/layers.py) when the numba backend is on, the default;
`--backend numpy` (or MINIVAE_BACKEND=numpy) runs the NumPy lines below, and
a function you edited runs as edited on either backend (minivae/kernels/).
"""
from typing import NamedTuple, Optional

import numpy as np

from . import kernels
from .errors import ArgumentError
from .validate import as_float_array, choice, finite_result, float_dtype, positive_int

INITS = ("gaussian", "sparse", "he", "glorot", "pytorch")
twin = kernels.twins(__name__)      # each pass's Numba twin, or None: see the docstring


# --- the passes ------------------------------------------------------------------
def dense_forward(x, W, b, relu=False, out=None):
    """y = x W + b, then y = max(y, 0) when relu is True (a ReLU fused in).

    x (N, D), W (D, H), b (H,) -> y (N, H), written into `out` when given.
    """
    if twin.dense_forward:
        return twin.dense_forward(x, W, b, relu, out)
    y = np.matmul(x, W, out=out)
    y += b
    if relu:
        np.maximum(y, 0, out=y)
    return y


def dense_backward(x, W, dy, dW, db, need_dx=True, relu_y=None):
    """Backward of y = x W + b, writing dW (D, H) and db (H,) in place; returns dx (N, D).

        dW = xᵀ dy,    db = ∑_n dy,    dx = dy Wᵀ

    When a ReLU was fused in, relu_y is its output and dy the gradient with
    respect to it, masked first: dy ← dy ⊙ [relu_y > 0].  need_dx=False skips
    dx (returns None) for an input that needs no gradient, as the data does.
    """
    if twin.dense_backward:
        return twin.dense_backward(x, W, dy, dW, db, need_dx, relu_y)
    if relu_y is not None:
        dy = dy * (relu_y > 0)
    np.matmul(x.T, dy, out=dW)
    np.sum(dy, axis=0, out=db)
    return dy @ W.T if need_dx else None


def relu_forward(x):
    """y = max(x, 0)."""
    if twin.relu_forward:
        return twin.relu_forward(x)
    return np.maximum(x, 0)


def relu_backward(dy, y):
    """dx = dy ⊙ [y > 0], written with the ReLU's output y."""
    if twin.relu_backward:
        return twin.relu_backward(dy, y)
    return dy * (y > 0)


def sigmoid(x):
    """sig(x) = 1 / (1 + exp(−x)), as e/(1 + e) with e = exp(x) for x < 0, so no exp overflows."""
    if twin.sigmoid:
        return twin.sigmoid(x)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


# --- initial weights ------------------------------------------------------------------
def init_weights(init, fan_in, fan_out, rng, dtype, std=0.1, sparse=15):
    """Initial (W, b) for a layer y = x W + b, W of shape (fan_in, fan_out).

    gaussian  W ~ N(0, std²), b = 0       the reference code's filler (std 0.1)
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


# --- the layers -------------------------------------------------------------------------
class DenseCache(NamedTuple):
    x: np.ndarray                   # (N, D) the layer's input
    y: Optional[np.ndarray] = None  # (N, H) the output, kept only when a ReLU is fused in


def _check_backward(layer, dy, cache):
    if not isinstance(cache, DenseCache):
        raise ArgumentError(f"cache must be the DenseCache forward returned, got "
                            f"{type(cache).__name__}")
    as_float_array("dy", dy, layer.dtype, cols=layer.out_dim, rows=cache.x.shape[0])


class Dense:
    """Affine layer y = x W + b with W (D, H), b (H,): dense_forward and dense_backward."""

    def __init__(self, in_dim, out_dim, init="he", rng=None, dtype=np.float32, **init_kw):
        self.in_dim = positive_int("in_dim", in_dim)
        self.out_dim = positive_int("out_dim", out_dim)
        self.dtype = float_dtype(dtype)
        rng = np.random.default_rng(rng)
        W, b = init_weights(init, in_dim, out_dim, rng, self.dtype, **init_kw)
        self.params = {"W": W, "b": b}
        self.grads = {"W": np.zeros_like(W), "b": np.zeros_like(b)}

    def forward(self, x, relu=False):
        """x (N, D) -> (y (N, H), cache); relu=True fuses a ReLU in: y = max(x W + b, 0)."""
        as_float_array("x", x, self.dtype, cols=self.in_dim)
        y = dense_forward(x, self.params["W"], self.params["b"], relu=relu)
        finite_result(("x", "W", "b"), y)
        return y, DenseCache(x, y if relu else None)

    def backward(self, dy, cache, need_dx=True):
        """dy (N, H) -> dx (N, D), or None when need_dx is False (the input is data).

        With a fused ReLU, dy is the gradient with respect to the ReLU's output.
        """
        _check_backward(self, dy, cache)
        dx = dense_backward(cache.x, self.params["W"], dy, self.grads["W"], self.grads["b"],
                            need_dx, relu_y=cache.y)
        finite_result(("dy", "cache"), self.grads["W"], self.grads["b"], *([dx] if need_dx else []))
        return dx


class ActivationCache(NamedTuple):
    y: np.ndarray           # the activation's output; both derivatives below use only y


class ReLU:
    """y = max(x, 0): relu_forward and relu_backward."""
    params = grads = {}

    def forward(self, x):
        y = relu_forward(x)
        return y, ActivationCache(y)

    def backward(self, dy, cache):
        return relu_backward(dy, cache.y)


class Sigmoid:
    """y = sig(x);  dx = dy ⊙ y (1 − y).

    No model uses this layer: the decoders fold the sigmoid into the Bernoulli
    loss (minivae.losses.bernoulli_nll), which is stable where a separate
    sigmoid is not.  It stays as the simplest example of the layer contract,
    and for exercise 2.
    """
    params = grads = {}

    def forward(self, x):
        y = sigmoid(x)
        return y, ActivationCache(y)

    def backward(self, dy, cache):
        return dy * cache.y * (1 - cache.y)
