"""Exercise 8: the conditional VAE's two junctions (§3, Eqs. 12–13, Fig. 6).

The CVAE conditions both its encoder Q(z|Y, X) and its decoder P(Y|z, X) on
the input X (Fig. 6, left).  The paper's figure shows X feeding both
networks; how it enters is the design of the paper's reference code for §4.2
(https://github.com/cdoersch/vae_tutorial; see minivae/config.py), which
minivae.cvae follows: a "cond" tower reads X, and two of its
layers are *added* into the other networks, before their ReLU:

    encoder junction   layer J of Y's tower:  h = relu(W y_prev + b  +  c_join)
    decoder junction   layer 0 of z's tower:  h = relu(W z + b  +  c_out)

c_join (N, H_J) is the cond tower's layer-J pre-activation, c_out (N, H_{L−1})
its output.  Read minivae/cvae.py (class CVAE) and minivae/tower.py (class
Tower) first.  The loss is −(Eq. 13's right side) with one z per example,
averaged over the batch:

    loss = mean_n [ −log P(Y|z, X) + D[Q(z|Y, X) ‖ N(0, I)] ]

Write:

    part 1   junction_backward(dh, h) -> (da, dc)
             one junction alone: h = relu(a + c), all (N, M); dh = ∂loss/∂h.
             Return ∂loss/∂a and ∂loss/∂c.
    part 2   junction_grads(model, x, y, eps) -> (dc_join, dc_out)
             ∂loss/∂c_join (N, H_J) and ∂loss/∂c_out (N, H_{L−1}) for the
             whole batch loss, by backpropagating from the loss down to each
             junction.  forward() below runs the forward pass for you.
    part 3   cond_grads(model, x, dc_join, dc_out) -> {"cond.0.W": ..., ...}
             the gradients of the cond tower's parameters, given the two
             junction gradients: every key of model.params starting "cond.".

Useful: Tower.forward(x, extra) -> (y, tapped, cache) and
Tower.backward(dy, cache, dtap=None, need_dx=True) -> (dx, dextra), where
dextra is the gradient at the join and dtap a gradient added at the tap;
model.cond.tap == model.encoder.join == J and model.decoder.join == 0.
Shapes: x (N, Dx), y (N, Dy), both in [0, 1]; eps (N, K); K = z_dim (the
paper's k).  The model is a small float64 minivae.CVAE's towers, heads,
params and grads (without the CVAE's own loss_and_grads).

Reference solution: minivae.cvae.CVAE.loss_and_grads (both junctions) and
Tower.backward (the junction itself).

Copy it first:     python -m minivae exercise 8 --out my_exercises/   (add --notebook for a notebook)
Check your copy:   python -m minivae check my_exercises/ex08_cvae_junctions.py
"""
from typing import NamedTuple

import numpy as np

from minivae.losses import bernoulli_nll, kl_normal

EXERCISE = 8


class Pass(NamedTuple):
    """What forward() computed, with each tower's cache for its backward."""
    c_out: np.ndarray       # (N, H_{L−1}) the cond tower's output       -> decoder junction
    c_join: np.ndarray      # (N, H_J) its layer-J pre-activation         -> encoder junction
    cond: object            # the cond tower's cache
    encoder: object         # the encoder tower's cache
    mu: np.ndarray          # (N, K)
    c_mu: object            # the mu head's cache
    log_var: np.ndarray     # (N, K)
    c_lv: object            # the log_var head's cache
    c_z: object             # the reparameterization's cache
    decoder: object         # the decoder tower's cache
    nll: np.ndarray         # (N,)    −log P(Y|z, X)
    dlogits: np.ndarray     # (N, Dy) ∂(∑_n nll_n)/∂logits
    kl: np.ndarray          # (N,)    Eq. 7
    dmu_kl: np.ndarray      # (N, K)  ∂(∑_n kl_n)/∂mu
    dlv_kl: np.ndarray      # (N, K)  ∂(∑_n kl_n)/∂log_var


def forward(model, x, y, eps):
    """The CVAE's forward pass (Fig. 6, left), given; returns (loss, Pass)."""
    c_out, c_join, cond = model.cond.forward(x)                  # X's tower
    h, _, enc = model.encoder.forward(y, c_join)                 # Y's tower, + c_join at layer J
    mu, c_mu = model.mu_head.forward(h)
    log_var, c_lv = model.log_var_head.forward(h)
    z, c_z = model.reparam.forward(mu, log_var, eps)             # Eq. 10
    logits, _, dec = model.decoder.forward(z, c_out)             # z's tower, + c_out at layer 0
    nll, dlogits = bernoulli_nll(logits, y)
    kl, dmu_kl, dlv_kl = kl_normal(mu, log_var)
    loss = float(np.mean(nll + kl))
    return loss, Pass(c_out, c_join, cond, enc, mu, c_mu, log_var, c_lv, c_z, dec,
                      nll, dlogits, kl, dmu_kl, dlv_kl)


def junction_backward(dh, h):
    """Part 1.  dh, h (N, M) with h = relu(a + c) -> (da, dc), each (N, M)."""
    raise NotImplementedError


def junction_grads(model, x, y, eps):
    """Part 2.  -> (dc_join (N, H_J), dc_out (N, H_{L−1})) of the batch-mean loss."""
    raise NotImplementedError


def cond_grads(model, x, dc_join, dc_out):
    """Part 3.  -> dict: key "cond.i.W" / "cond.i.b" -> its gradient, for every cond layer."""
    raise NotImplementedError
