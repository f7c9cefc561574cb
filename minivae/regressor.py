"""The regressor baseline of Doersch §3 and §4.2 (the blurry half of Fig. 8).

    P(Y|X) = Π_d Bernoulli(Y_d | sig(r(X))_d)     one prediction r(X) per input
    loss   = −log P(Y|X), summed over the Dy outputs, averaged over the batch

It is the CVAE's conditioning tower followed by the CVAE's decoder without
its z layer (the reference code's regressor): with hidden = (H0, …, H_{L−1}),

    X → H0 → … → H_{L−1} → H_{L−1} → ReLU → H_{L−2} → … → H0 → Y.

Trained on an ambiguous X it can only put its doubt into per-pixel
probabilities, so the minimizer is the average of the plausible Y: a blur.
Shapes: N batch, Dx = x_dim, Dy = y_dim.
"""
from typing import NamedTuple

import numpy as np

from .layers import sigmoid
from .losses import bernoulli_nll_and_grad
from .mlp import bind_flat
from .model import batch_loss
from .tower import Tower, TowerCache, check_sizes, cond_tower
from .validate import as_float_array, finite_result, float_dtype


class RegressorCache(NamedTuple):
    cond: TowerCache            # X → H_{L−1}
    decoder: TowerCache         # H_{L−1} → Y


# -- checks at the door of the public methods (minivae.model says the rule) -------
def _x(model, x):
    return as_float_array("x", x, model.dtype, cols=model.x_dim, min_rows=1, unit_interval=True)


def _x_y(model, x, y):
    as_float_array("y", y, model.dtype, cols=model.y_dim, rows=_x(model, x).shape[0],
                   unit_interval=True)


class Regressor:
    """Deterministic X → Y net with sigmoid cross-entropy and hand-derived gradients.

    params: live dict, keys "cond.{i}.W/b" and "decoder.{j}.W/b" with j from 1,
    so each key names the same layer as in a CVAE of the same sizes (the
    regressor has no decoder.0, the CVAE's z layer).
    """

    def __init__(self, x_dim=28, y_dim=756, hidden=(1000, 500, 250), init="sparse",
                 dtype=np.float32, seed=0):
        self.x_dim, self.y_dim, self.hidden = check_sizes(x_dim, y_dim, hidden, init)
        self.init, self.dtype = init, float_dtype(dtype)
        rng = np.random.default_rng(seed)
        H = self.hidden
        # relu_last: the ReLU the CVAE applies after its decoder junction
        self.cond = cond_tower(self.x_dim, H, init, rng, self.dtype, relu_last=True)
        self.decoder = Tower((H[-1], *H[-2::-1], self.y_dim), [init] * len(H), False,
                             rng, self.dtype)
        named = {f"cond.{i}": l for i, l in enumerate(self.cond.layers)}
        named.update({f"decoder.{j + 1}": l for j, l in enumerate(self.decoder.layers)})
        self.params, self.grads, self.flat_params, self.flat_grads = bind_flat(named, self.dtype)

    def config(self):
        """The constructor's arguments (without seed)."""
        return dict(x_dim=self.x_dim, y_dim=self.y_dim, hidden=list(self.hidden),
                    init=self.init, dtype=self.dtype.name)

    def _forward(self, x):
        """x (N, Dx) -> y_logits (N, Dy), r(X) before the sigmoid, and the cache."""
        h, _, c_cond = self.cond.forward(x)                 # (N, H_{L−1})
        y_logits, _, c_dec = self.decoder.forward(h)        # (N, Dy)
        return y_logits, RegressorCache(c_cond, c_dec)

    def predict(self, x):
        """x (N, Dx) -> y_mean (N, Dy) = sig(r(X)): the per-pixel probabilities."""
        _x(self, x)
        y_logits = self._forward(x)[0]
        finite_result(("x",), y_logits)                     # sig(inf) would hide an overflow
        return sigmoid(y_logits)

    def nll(self, x, y):
        """−log P(Y|X) per example (N,), in nats (exact: P(Y|X) is factorized)."""
        _x_y(self, x, y)
        y_logits, _ = self._forward(x)
        nll = bernoulli_nll_and_grad(y_logits, y)[0].astype(np.float64)
        finite_result(("x", "y"), nll)
        return nll

    def loss_and_grads(self, x, y, copy=True):
        """Mean over the batch of −log P(Y|X), in nats; x (N, Dx), y (N, Dy) in [0, 1].

        Returns (loss, grads): grads keyed like params: copies, or with
        copy=False the live views into flat_grads that the next call
        overwrites (see VAE.loss_and_grads).
        """
        _x_y(self, x, y)
        N = x.shape[0]
        y_logits, cache = self._forward(x)                  # (N, Dy)
        recon_nll, dy_logits = bernoulli_nll_and_grad(y_logits, y)   # (N,), (N, Dy)  −log P(Y|X)
        loss = batch_loss((recon_nll,), ("x", "y"))
        dh, _ = self.decoder.backward(dy_logits * self.dtype.type(1.0 / N), cache.decoder)
        self.cond.backward(dh, cache.cond, need_dx=False)   # (N, H_{L−1}) in, nothing out
        return loss, ({k: g.copy() for k, g in self.grads.items()} if copy else self.grads)
