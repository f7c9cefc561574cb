"""A tower of Dense layers with a junction, shared by the CVAE and its regressor (§3, §4.2).

The CVAE of Fig. 6 joins two networks by adding one tower's layer into
another's pre-activation, before its ReLU (the reference code's design, see
minivae.config).  A Tower runs the same passes as the VAE's MLP (minivae.mlp),
with the ReLU fused into the layer's pass, except at a layer whose
pre-activation is joined or handed out (its tap): there the pass runs without
the ReLU, the sum is taken, and relu_forward / relu_backward run after it.
"""
from typing import List, NamedTuple

from .errors import ArgumentError
from .layers import (INITS, Dense, DenseCache, dense_backward, dense_forward, relu_backward,
                     relu_forward)
from .validate import choice, positive_int


class TowerCache(NamedTuple):
    dense: List                 # one DenseCache per layer (with the ReLU's output where fused)
    relu: List                  # the ReLU's output after a junction or tap, else None


class Tower:
    """Dense layers, ReLU after each (after the last only if relu_last).

    join: index of the layer whose pre-activation gets an outside signal added
    (before its ReLU); tap: index of the layer whose pre-activation is handed out.
    Called unchecked, like minivae.mlp.MLP: the model checks at its own door.
    """

    def __init__(self, sizes, inits, relu_last, rng, dtype, join=None, tap=None):
        self.layers = [Dense(a, b, init=i, rng=rng, dtype=dtype)
                       for a, b, i in zip(sizes[:-1], sizes[1:], inits)]
        n = len(self.layers)
        self.relu = [k < n - 1 or relu_last for k in range(n)]     # a ReLU after layer k?
        self.join, self.tap = join, tap
        self.fused = [relu and k not in (join, tap) for k, relu in enumerate(self.relu)]

    def forward(self, x, extra=None):
        """x (N, d0), extra (N, d_join) or None -> (y, tapped pre-activation or None, cache)."""
        dense, relu, tapped = [], [], None
        for k, layer in enumerate(self.layers):
            y = dense_forward(x, layer.params["W"], layer.params["b"], relu=self.fused[k])
            dense.append(DenseCache(x, y if self.fused[k] else None))
            if k == self.join:
                y = y + extra                               # the junction ⊕
            if k == self.tap:
                tapped = y
            if self.relu[k] and not self.fused[k]:
                y = relu_forward(y)                         # after the junction
            relu.append(y if self.relu[k] and not self.fused[k] else None)
            x = y
        return x, tapped, TowerCache(dense, relu)

    def backward(self, dy, cache, dtap=None, need_dx=True):
        """dy (N, d_last), dtap (N, d_tap) or None -> (dx or None, dextra or None).

        A sum's gradient passes unchanged to both addends, so dextra is the
        gradient at the join layer's pre-activation, and dtap adds to it at the tap.
        """
        dextra = None
        for k in reversed(range(len(self.layers))):
            if cache.relu[k] is not None:
                dy = relu_backward(dy, cache.relu[k])
            if k == self.tap and dtap is not None:
                dy = dy + dtap
            if k == self.join:
                dextra = dy
            layer, c = self.layers[k], cache.dense[k]
            dy = dense_backward(c.x, layer.params["W"], dy, layer.grads["W"], layer.grads["b"],
                                need_dx=need_dx or k > 0, relu_y=c.y)
        return dy, dextra


def cond_tower(x_dim, hidden, init, rng, dtype, tap=None, relu_last=False):
    """X → H0 → … → H_{L−1} → H_{L−1}, linear last layer (relu_last for the regressor).

    With init="sparse" the last layer gets the dense Gaussian init instead, as
    in the reference code (whose layer "input4" has no sparse filler).
    """
    inits = [init] * len(hidden) + ["gaussian" if init == "sparse" else init]
    return Tower((x_dim, *hidden, hidden[-1]), inits, relu_last, rng, dtype, tap=tap)


def check_sizes(x_dim, y_dim, hidden, init):
    """Validate the shared constructor arguments; return (x_dim, y_dim, hidden)."""
    hidden = tuple(positive_int("hidden", h) for h in hidden)
    if not hidden:
        raise ArgumentError("hidden must list at least one layer width")
    choice("init", init, INITS)
    return positive_int("x_dim", x_dim), positive_int("y_dim", y_dim), hidden
