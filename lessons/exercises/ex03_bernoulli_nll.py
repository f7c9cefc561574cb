"""Exercise 3: the Bernoulli negative log-likelihood from logits, and its gradient.

For binary X the decoder's output distribution is a Bernoulli per pixel
(§1.1, the prose after Eq. 1).  The decoder network outputs logits l, one per
pixel, and the pixel is 1 with probability p = sig(l) = 1 / (1 + exp(−l)).
The reconstruction term of the loss (the first term of −(Eq. 9)) is

    −log P(X|z) = −∑_d [ x_d log sig(l_d) + (1 − x_d) log(1 − sig(l_d)) ]

summed over the D pixels.  §4.1 feeds grey levels x ∈ [0, 1] into the same
formula (its "Sigmoid Cross Entropy loss"); nothing below needs x to be
0 or 1.  Write

    bernoulli_nll(logits, x) -> (nll, dlogits)
        logits, x (N, D)  ->  nll (N,): one value per example, summed over pixels
                              dlogits (N, D) = ∂(∑_n nll_n)/∂logits

    part 1   nll
    part 2   dlogits
    part 3   both at |logit| = 1e4: finite and exact

Part 3 is the numerical trap.  exp(1e4) overflows float64 (its largest value
is about 1.8e308 = exp(709.8)), so log(sig(l)) and log(1 − sig(l)) written as
they stand give inf or nan.  Rewrite the nll so no exp of a large positive
number is ever taken: use log(1 + exp(−|l|)) = np.log1p(np.exp(−np.abs(l))),
and split off max(l, 0).  The gradient simplifies a lot; derive it.

Reference solution: minivae.losses.bernoulli_nll.

Copy it first:     python -m minivae exercise 3 --out my_exercises/   (add --notebook for a notebook)
Check your copy:   python -m minivae check my_exercises/ex03_bernoulli_nll.py
"""
import numpy as np

EXERCISE = 3


def bernoulli_nll(logits, x):
    """Parts 1–3.  logits, x (N, D) -> (nll (N,), dlogits (N, D))."""
    raise NotImplementedError
