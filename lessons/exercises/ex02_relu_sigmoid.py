"""Exercise 2: the backward passes of ReLU and the sigmoid.

The hidden layers of Fig. 4's encoder and decoder end in a ReLU; a Bernoulli
decoder (§1.1, for binary X; §4.1 for MNIST) ends in a sigmoid that turns
logits into pixel means.  Both act elementwise:

    ReLU      y = max(x, 0)
    sigmoid   y = sig(x) = 1 / (1 + exp(−x))

Given dy = ∂loss/∂y and the layer's *output* y (both the same shape as x),
return dx = ∂loss/∂x.  Write each derivative with y alone, not x: that is why
a layer only needs to keep its output for the backward pass.

    part 1   relu_backward(dy, y)     -> dx
    part 2   sigmoid_backward(dy, y)  -> dx

How to derive them: dx = dy ⊙ dy/dx, elementwise.  For the sigmoid,
differentiate 1 / (1 + exp(−x)) and rewrite the result in terms of y.
The ReLU has no derivative at x = 0; the checker keeps its inputs away from
that kink.

Not in the paper, which takes these layers as given.

Reference solution: minivae.layers.relu_backward and Sigmoid.backward.

Copy it first:     python -m minivae exercise 2 --out my_exercises/   (add --notebook for a notebook)
Check your copy:   python -m minivae check my_exercises/ex02_relu_sigmoid.py
"""
import numpy as np

EXERCISE = 2


def relu_forward(x):
    """y = max(x, 0)  (given)."""
    return np.maximum(x, 0)


def sigmoid_forward(x):
    """y = sig(x), without overflow at large |x|  (given)."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def relu_backward(dy, y):
    """Part 1.  dy, y (any shape, y = max(x, 0)) -> dx (same shape)."""
    raise NotImplementedError


def sigmoid_backward(dy, y):
    """Part 2.  dy, y (any shape, y = sig(x)) -> dx (same shape)."""
    raise NotImplementedError
