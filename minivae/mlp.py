"""A stack of Dense layers with ReLU between them, and flat parameter storage.

The encoder and decoder of Fig. 4 are both such stacks.  `bind_flat` gathers
the parameters of many layers into one contiguous vector and rebinds every
layer's `params` / `grads` entries to views into it: the model's dict stays
live (writing model.params["decoder.0.W"] writes the layer's weights), and an
optimizer updates all ~3 million numbers in one pass over one array.
"""
from typing import List, NamedTuple

import numpy as np

from .layers import Dense


class MLPCache(NamedTuple):
    dense: List            # one DenseCache per layer (with the ReLU's output where one follows)


class MLP:
    """sizes = (d0, d1, ..., dL): L Dense layers, ReLU after each hidden one.

    relu_last=True puts a ReLU after the last layer too (an encoder body whose
    output feeds the mu / log_var heads).  Each ReLU is fused into its Dense
    layer (one pass adds the bias and clips; one pass masks dy and sums db).
    """

    def __init__(self, sizes, relu_last, init, rng, dtype):
        self.layers = [Dense(a, b, init=init, rng=rng, dtype=dtype)
                       for a, b in zip(sizes[:-1], sizes[1:])]
        n = len(self.layers)
        self.relu = [i < n - 1 or relu_last for i in range(n)]    # a ReLU after layer i?

    def forward(self, x):
        caches = []
        for layer, relu in zip(self.layers, self.relu):
            x, c = layer.forward(x, relu=relu)
            caches.append(c)
        return x, MLPCache(caches)

    def backward(self, dy, cache, need_dx=True):
        for i in reversed(range(len(self.layers))):
            dy = self.layers[i].backward(dy, cache.dense[i], need_dx=need_dx or i > 0)
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
