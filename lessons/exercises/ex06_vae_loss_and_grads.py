"""Exercise 6: the whole VAE's loss and gradients, assembled from its pieces (Fig. 4, right).

Exercises 1–5 derived every piece; here they become one training step.  The
loss of one example is −(Eq. 9) with z from Eq. 10:

    loss = −log P(X|z) + D[Q(z|X) ‖ N(0, I)],     z = mu + exp(½ log_var) ⊙ eps

averaged over the batch of N examples.  Forward, one line per arrow of Fig. 4
(right):

    h (N, H)        = model.encoder.forward(x)              an MLP, ReLU after every layer
    mu, log_var     = model.mu_head / model.log_var_head     Dense layers on h, (N, K) each
    z (N, K)        = model.reparam.forward(mu, log_var, eps)               Eq. 10
    logits (N, D)   = model.decoder.forward(z)               an MLP, last layer linear
    nll (N,)        = minivae.losses.bernoulli_nll(logits, x)   −log P(X|z)   (exercise 3)
    kl (N,)         = minivae.losses.kl_normal(mu, log_var)      Eq. 7         (exercise 4)
    loss            = mean over the batch of nll + kl

Backward: the same arrows in reverse.  Each piece's backward fills the
gradients of its own parameters into model.grads, a dict keyed like
model.params ("encoder.0.W", "mu.b", "decoder.1.W", ...):

    layer.forward(x) -> (y, cache);  layer.backward(dy, cache) -> dx
    model.encoder.backward(dh, cache, need_dx=False)   (x is data: no dx needed)
    model.reparam.backward(dz, cache) -> (dmu, dlog_var)
    bernoulli_nll and kl_normal return their gradients next to their values
    (gradients of the *sum* over the batch).

Write loss_and_grads(model, x, eps) -> (loss, grads):

    part 1   loss, a float
    part 2   the decoder's gradients       grads["decoder.*"]
    part 3   the two heads' gradients      grads["mu.*"], grads["log_var.*"]
    part 4   the encoder body's gradients  grads["encoder.*"]

Shapes: x (N, D) in [0, 1], eps (N, K) (K = z_dim, the paper's k).  The
model is float64 and small: its layers, params and grads, as above, without
a loss_and_grads of its own.  Return model.grads itself or a copy.

Watch: where the 1/N of the batch mean goes (once!), and that mu and log_var
receive gradient from *two* places — through z, and from the KL term.

Reference solution: minivae.model.VAE.loss_and_grads (read it only after;
the check refuses a file that uses it, or any of minivae's answers).

Copy it first:     python -m minivae exercise 6 --out my_exercises/   (add --notebook for a notebook)
Check your copy:   python -m minivae check my_exercises/ex06_vae_loss_and_grads.py
"""
import numpy as np

from minivae.losses import bernoulli_nll, kl_normal

EXERCISE = 6


def loss_and_grads(model, x, eps):
    """Parts 1–4.  model: a VAE's layers; x (N, D); eps (N, K) -> (loss, grads dict)."""
    raise NotImplementedError
