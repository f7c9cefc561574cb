"""Exercise 4: the KL term of Eq. 7 in closed form, and its gradients.

The encoder outputs, for each example, the mean mu and the log-variance
log_var of Q(z|X) = N(mu, Σ) with diagonal Σ = diag exp(log_var).  Always
log_var = log diag Σ, the log of the *variance* (not of the standard deviation
std = Σ^{1/2} = exp(½ log_var); σ is the decoder's noise, not this).
Eq. 7 gives the second term of the loss:

    D[N(mu, Σ) ‖ N(0, I)] = ½ ( tr Σ + muᵀ mu − K − log det Σ )          (Eq. 7)

where K is the latent dimensionality (the paper writes k).  Write it for a
diagonal Σ, with log_var, and differentiate:

    kl_normal(mu, log_var) -> (kl, dmu, dlog_var)
        mu, log_var (N, K)  ->  kl (N,)   one value per example
                                dmu (N, K)      = ∂(∑_n kl_n)/∂mu
                                dlog_var (N, K) = ∂(∑_n kl_n)/∂log_var

    part 1   kl
    part 2   dmu
    part 3   dlog_var

How: tr Σ and log det Σ of a diagonal matrix are a sum and a sum of logs of
its diagonal; write both with exp(log_var) and log_var, then the whole KL as
½ ∑_j (…), a sum over the latent dimensions j = 1 … K, and differentiate one
term at a time.  Eq. 6 is the general form.

Reference solution: minivae.losses.kl_normal.

Copy it first:     python -m minivae exercise 4 --out my_exercises/   (add --notebook for a notebook)
Check your copy:   python -m minivae check my_exercises/ex04_kl.py
"""
import numpy as np

EXERCISE = 4


def kl_normal(mu, log_var):
    """Parts 1–3.  mu, log_var (N, K) -> (kl (N,), dmu (N, K), dlog_var (N, K))."""
    raise NotImplementedError
