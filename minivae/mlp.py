"""A stack of Dense layers with ReLU between them, and flat parameter storage.

The encoder and decoder of Fig. 4 are both such stacks.  `bind_flat` gathers
the parameters of many layers into one contiguous vector and rebinds every
layer's `params` / `grads` entries to views into it: the model's dict stays
live (writing model.params["decoder.0.W"] writes the layer's weights), and an
optimizer updates all ~3 million numbers in one pass over one array.
"""
from typing import List, NamedTuple

import numpy as np

from .layers import Dense, DenseCache, dense_backward, dense_forward


class MLPCache(NamedTuple):
    dense: List            # one DenseCache per layer (with the ReLU's output where one follows)


class MLP:
    """sizes = (d0, d1, ..., dL): L Dense layers, ReLU after each hidden one.

    relu_last=True puts a ReLU after the last layer too (an encoder body whose
    output feeds the mu / log_var heads).  Each ReLU is fused into its layer's
    pass (dense_forward adds the bias and clips; dense_backward masks dy and
    sums db).  The layers hold the parameters; the passes are called directly,
    unchecked: the model checked the input at its own door.
    """

    def __init__(self, sizes, relu_last, init, rng, dtype):
        self.layers = [Dense(a, b, init=init, rng=rng, dtype=dtype)
                       for a, b in zip(sizes[:-1], sizes[1:])]
        n = len(self.layers)
        self.relu = [i < n - 1 or relu_last for i in range(n)]    # a ReLU after layer i?

    def forward(self, x):
        """x (N, d0) -> (y (N, dL), cache)."""
        caches = []
        for layer, relu in zip(self.layers, self.relu):
            y = dense_forward(x, layer.params["W"], layer.params["b"], relu=relu)
            caches.append(DenseCache(x, y if relu else None))
            x = y
        return x, MLPCache(caches)

    def backward(self, dy, cache, need_dx=True):
        """dy (N, dL) -> dx (N, d0), or None when need_dx is False; fills each layer's grads."""
        for i in reversed(range(len(self.layers))):
            layer, c = self.layers[i], cache.dense[i]
            dy = dense_backward(c.x, layer.params["W"], dy, layer.grads["W"], layer.grads["b"],
                                need_dx=need_dx or i > 0, relu_y=c.y)
        return dy


def bind_flat(named_layers, dtype):
    """Move every layer's params/grads into two flat vectors; return the dicts.

    named_layers: dict prefix -> layer.  Returns (params, grads, flat_params,
    flat_grads) with params["prefix.W"] a view of flat_params and
    grads["prefix.W"] a view of flat_grads.

    Beware: every backward pass writes into these same gradient views, so a
    gradient kept from one call is overwritten by the next.  That is why the
    models' loss_and_grads hand out copies unless called with copy=False.
    """
    total = sum(p.size for layer in named_layers.values() for p in layer.params.values())
    flat_params = np.empty(total, dtype=dtype)
    flat_grads = np.zeros(total, dtype=dtype)
    params, grads, offset = {}, {}, 0
    for prefix, layer in named_layers.items():
        for key, value in layer.params.items():
            n = value.size
            p = flat_params[offset:offset + n].reshape(value.shape)
            p[...] = value
            layer.params[key] = params[f"{prefix}.{key}"] = p
            layer.grads[key] = grads[f"{prefix}.{key}"] = flat_grads[offset:offset + n].reshape(value.shape)
            offset += n
    return params, grads, flat_params, flat_grads


def weight_mask(params):
    """A bool mask over the flat vector that `params` (bind_flat's dict, in its order) are
    views of: True on every weight matrix W, False on every bias b.

    The optimizers' weight decay applies where it is True (minivae.optim), as the
    reference code's solver decays weights only (`decay_mult: 0` on each bias).
    """
    return np.concatenate([np.full(p.size, name.endswith(".W")) for name, p in params.items()])
