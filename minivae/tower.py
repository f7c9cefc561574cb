"""A tower of Dense layers with a junction, shared by the CVAE and its regressor (§3, §4.2).

The CVAE of Fig. 6 joins two networks by adding one tower's layer into
another's pre-activation, before its ReLU (the reference code's design, see
minivae.config).  That junction sits between a Dense layer and its ReLU, so a
Tower keeps the ReLU as a layer of its own (minivae.layers.ReLU), where the
VAE's MLP fuses each ReLU into its Dense layer for speed: the junction is
the one reason for two styles.
"""
from typing import List, NamedTuple

from .validate import choice, positive_int
from .layers import INITS, Dense, ReLU


class TowerCache(NamedTuple):
    dense: List                 # one DenseCache per layer
    relu: List                  # one ActivationCache per ReLU (None where there is none)


class Tower:
    """Dense layers, ReLU after each (after the last only if relu_last).

    join: index of the layer whose pre-activation gets an outside signal added
    (before its ReLU); tap: index of the layer whose pre-activation is handed out.
    """

    def __init__(self, sizes, inits, relu_last, rng, dtype, join=None, tap=None):
        self.layers = [Dense(a, b, init=i, rng=rng, dtype=dtype)
                       for a, b, i in zip(sizes[:-1], sizes[1:], inits)]
        n = len(self.layers)
        self.relus = [ReLU() if (k < n - 1 or relu_last) else None for k in range(n)]
        self.join, self.tap = join, tap

    def forward(self, x, extra=None):
        """x (N, d0), extra (N, d_join) or None -> (y, tapped pre-activation or None, cache)."""
        dense, relu, tapped = [], [], None
        for k, (layer, act) in enumerate(zip(self.layers, self.relus)):
            x, c = layer.forward(x)
            dense.append(c)
            if k == self.join:
                x = x + extra                               # the junction ⊕
            if k == self.tap:
                tapped = x
            if act is not None:
                x, c = act.forward(x)
            relu.append(c if act is not None else None)
        return x, tapped, TowerCache(dense, relu)

    def backward(self, dy, cache, dtap=None, need_dx=True):
        """dy (N, d_last), dtap (N, d_tap) or None -> (dx or None, dextra or None).

        A sum's gradient passes unchanged to both addends, so dextra is the
        gradient at the join layer's pre-activation, and dtap adds to it at the tap.
        """
        dextra = None
        for k in reversed(range(len(self.layers))):
            if self.relus[k] is not None:
                dy = self.relus[k].backward(dy, cache.relu[k])
            if k == self.tap and dtap is not None:
                dy = dy + dtap
            if k == self.join:
                dextra = dy
            dy = self.layers[k].backward(dy, cache.dense[k], need_dx=need_dx or k > 0)
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
        raise ValueError("hidden must list at least one layer width")
    choice("init", init, INITS)
    return positive_int("x_dim", x_dim), positive_int("y_dim", y_dim), hidden
