"""Exercise 5: the reparameterization layer (Eq. 10, Fig. 4 right) and its backward.

Sampling z ~ N(mu, Σ) inside the network leaves nothing to differentiate
(Fig. 4, left).  Eq. 10 draws the noise eps ~ N(0, I) as an input instead and
computes

    z = mu + Σ^{1/2} ⊙ eps          with Σ^{1/2} = std = exp(½ log_var)

(log_var = log diag Σ, the log of the *variance*; std is the standard
deviation, and σ is kept for the decoder's noise).  Now z is an ordinary
function of mu and log_var and the gradient reaches the encoder (Fig. 4,
right).  Write

    part 1   reparam_forward(mu, log_var, eps) -> z
    part 2   reparam_backward(dz, mu, log_var, eps) -> (dmu, dlog_var): dmu
    part 3                                          ... and dlog_var

    mu, log_var, eps, dz, z, dmu, dlog_var: all (N, K)
    dz = ∂loss/∂z arrives from the decoder; return ∂loss/∂mu, ∂loss/∂log_var.

How: ∂z/∂mu and ∂z/∂log_var are elementwise.  For the second, chain through
std = exp(½ log_var); then write the result once more in terms of z and mu.

Reference solution: minivae.reparam.reparam_forward and reparam_backward,
which the layer Reparameterize calls.  Lesson 03 uses the layer and checks it
against finite differences.

Copy it first:     python -m minivae exercise 5 --out my_exercises/   (add --notebook for a notebook)
Check your copy:   python -m minivae check my_exercises/ex05_reparam.py
"""
import numpy as np

EXERCISE = 5


def reparam_forward(mu, log_var, eps):
    """Part 1.  mu, log_var, eps (N, K) -> z (N, K)."""
    raise NotImplementedError


def reparam_backward(dz, mu, log_var, eps):
    """Parts 2 and 3.  dz, mu, log_var, eps (N, K) -> (dmu (N, K), dlog_var (N, K))."""
    raise NotImplementedError
