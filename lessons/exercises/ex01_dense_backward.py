"""Exercise 1: the Dense layer's backward pass (the layers of Fig. 4's networks).

The encoder and decoder of Fig. 4 are stacks of Dense layers.  For a batch,

    y = x @ W + b        x (N, D), W (D, H), b (H,)  ->  y (N, H)

(N examples, D input features, H output features).  Backpropagation hands the
layer dy = ∂loss/∂y, shape (N, H): whatever arrives from the layers above.  If
the loss is a mean over the batch, its 1/N is already inside dy.  Write the
three gradients the layer produces:

    part 1   dW = ∂loss/∂W    (D, H)
    part 2   db = ∂loss/∂b    (H,)
    part 3   dx = ∂loss/∂x    (N, D)   what the layer passes further down

How to derive them: write one entry, y[n, h] = ∑_d x[n, d] W[d, h] + b[h], and
apply the chain rule entry by entry, e.g.
∂loss/∂W[d, h] = ∑_n dy[n, h] · ∂y[n, h]/∂W[d, h].  Then turn each sum back
into a matrix product, and check its shape against the list above.

The paper takes backpropagation as given (§2.2 only needs it to exist); this
is the standard calculus of a linear layer, as in CS231n's affine_backward.

Reference solution: minivae.layers.dense_backward, the NumPy lines under its
formula (Dense.backward calls it).  Read it after you are done.

Copy it first:     python -m minivae exercise 1 --out my_exercises/   (add --notebook for a notebook)
Check your copy:   python -m minivae check my_exercises/ex01_dense_backward.py
"""
import numpy as np

EXERCISE = 1


def dense_forward(x, W, b):
    """y = x @ W + b  (given, for reference).  x (N, D), W (D, H), b (H,) -> (N, H)."""
    return x @ W + b


def dense_backward_W(x, dy):
    """Part 1.  x (N, D), dy (N, H) -> dW (D, H)."""
    raise NotImplementedError


def dense_backward_b(dy):
    """Part 2.  dy (N, H) -> db (H,)."""
    raise NotImplementedError


def dense_backward_x(dy, W):
    """Part 3.  dy (N, H), W (D, H) -> dx (N, D)."""
    raise NotImplementedError
