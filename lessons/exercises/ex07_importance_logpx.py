"""Exercise 7: log P(X) by importance sampling, with a stable log-sum-exp.

§2.3 calls the probability of a test example intractable in general, and
offers the right side of Eq. 5 instead: a lower bound, whose expectation over
z is estimated by sampling z from Q(z|X) (much faster than from N(0, I)).
This exercise goes beyond the paper, to an estimate of log P(X) itself by
importance sampling (Rezende et al. 2014; the S-sample bound of Burda et al.
2016, "Importance weighted autoencoders").  With S samples z_s ~ Q(z|X),

    P(X) = E_{z~Q(z|X)}[ P(X|z) P(z) / Q(z|X) ]                  (Eq. 1, times and over Q)
    log P(X) ≈ log (1/S) ∑_s exp(a_s),   a_s = log P(X|z_s) + log P(z_s) − log Q(z_s|X)

The a_s are large negative numbers (an MNIST digit's −ELBO is over 100 nats,
lesson 07), and exp underflows to 0 below about exp(−104) in float32 and
exp(−745) in float64; a naive log of the sum then gives −inf.  Take the sum
in log space.

    part 1   log_mean_exp(a) -> log (1/S) ∑_s exp(a[s])        a (S, B) -> (B,)
    part 2   the same, stable at a ≈ −1000 and a ≈ +800 (no inf, no nan, no warning needed)
    part 3   log_weights(model, x, mu, log_var, eps) -> a (S, B)

For part 3: model is the layers of a small float64 minivae.VAE with a
Bernoulli decoder; x (B, D); mu, log_var (B, K), what its encoder gives for
x; eps (S, B, K) ~ N(0, I);
z = mu + exp(½ log_var) ⊙ eps (Eq. 10), shape (S, B, K).  Useful pieces:
model.log_likelihood(x, z) -> log P(X|z) per example, for x (M, D) and
z (M, K) (reshape (S, B, ·) to (S·B, ·) and back); and
minivae.losses.log_normal(z, mean, log_var) = log N(z | mean, diag exp(log_var))
summed over the last axis.  P(z) = N(0, I); Q(z|X) = N(mu, diag exp(log_var)).

Reference solution: minivae.evaluate.importance_log_weights and the
log-sum-exp step of minivae.evaluate.log_px_importance (which uses
scipy.special.logsumexp; write your own).

Copy it first:     python -m minivae exercise 7 --out my_exercises/   (add --notebook for a notebook)
Check your copy:   python -m minivae check my_exercises/ex07_importance_logpx.py
"""
import numpy as np

from minivae.losses import log_normal

EXERCISE = 7


def log_mean_exp(a):
    """Parts 1 and 2.  a (S, B) -> log of the mean over axis 0 of exp(a), shape (B,)."""
    raise NotImplementedError


def log_weights(model, x, mu, log_var, eps):
    """Part 3.  -> log P(X|z) + log P(z) − log Q(z|X), shape (S, B)."""
    raise NotImplementedError
