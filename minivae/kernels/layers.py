"""Numba twins of minivae.layers: the Dense layer's passes, ReLU and the sigmoid.

Each public function has the signature of the function of the same name in
minivae.layers and computes the same numbers; the formulas are stated there.
Dense: BLAS computes the products, and one fused pass does the rest (bias +
ReLU forward; ReLU mask + bias gradient backward).
"""
import numpy as np

from .jit import flat, jit, like


@jit
def _bias_act(y, b, relu):
    """y ← y + b, then y ← max(y, 0) if relu: one pass over y (N, H), in place."""
    zero = y.dtype.type(0)      # typed constants keep float32 maths in float32
    for n in range(y.shape[0]):
        row = y[n]
        for h in range(row.size):
            v = row[h] + b[h]
            row[h] = max(v, zero) if relu else v


@jit
def _mask_colsum(dy, relu_y, masked, db):
    """masked = dy ⊙ [relu_y > 0] (skipped if relu_y is None), db = ∑_n masked."""
    zero = dy.dtype.type(0)
    db[:] = zero
    for n in range(dy.shape[0]):
        g, out = dy[n], masked[n]
        if relu_y is None:
            for h in range(g.size):
                db[h] += g[h]
        else:
            y = relu_y[n]
            for h in range(g.size):
                d = g[h] if y[h] > zero else zero
                out[h] = d
                db[h] += d


def dense_forward(x, W, b, relu=False, out=None):
    y = np.matmul(x, W, out=out)
    _bias_act(y, b, bool(relu))
    return y


def dense_backward(x, W, dy, dW, db, need_dx=True, relu_y=None):
    masked = dy if relu_y is None else like(dy)
    _mask_colsum(dy, relu_y, masked, db)
    np.matmul(x.T, masked, out=dW)
    return np.matmul(masked, W.T) if need_dx else None


# --- activations: flat passes over any shape ---------------------------------------
@jit
def _relu(x, y):
    for i in range(x.size):
        y[i] = max(x[i], x.dtype.type(0))


@jit
def _relu_grad(dy, y, dx):
    for i in range(dy.size):
        dx[i] = dy[i] if y[i] > 0 else dy.dtype.type(0)


@jit
def _neg_abs(x, out):
    for i in range(x.size):
        out[i] = -abs(x[i])


@jit
def _sigmoid_from_e(x, e, y):
    """sig(x) from e = exp(−|x|):  1/(1+e) for x ≥ 0,  e/(1+e) for x < 0 (no overflow)."""
    one = x.dtype.type(1)
    for i in range(x.size):
        s = one / (one + e[i])
        y[i] = s if x[i] >= 0 else e[i] * s


def exp_neg_abs(x):
    """exp(−|x|) in x's shape: one fused pass, then NumPy's SIMD exp in place."""
    e = like(x)
    _neg_abs(flat(x), flat(e))
    return np.exp(e, out=e)


def relu_forward(x):
    y = like(x)
    _relu(flat(x), flat(y))
    return y


def relu_backward(dy, y):
    dx = like(dy)
    _relu_grad(flat(dy), flat(y), flat(dx))
    return dx


def sigmoid(x):
    y = like(x)
    _sigmoid_from_e(flat(x), flat(exp_neg_abs(x)), flat(y))
    return y
