"""The conditional VAE of Doersch §3 (Eqs. 12–13, Fig. 6), as §4.2 builds it.

    encoder  Q(z|Y, X) = N(mu(Y, X), Σ(Y, X)),  log_var = log diag Σ
    z = mu + Σ^{1/2} ⊙ eps,  eps ~ N(0, I)             Eq. 10
    decoder  P(Y|z, X) = Bernoulli(sig(f(z, X)))       Eq. 12 prints N(f(z, X), σ²I);
                                                       §4.2 names no output distribution;
                                                       the reference code's loss is a
                                                       sigmoid cross-entropy (Bernoulli)
    prior    P(z|X) = N(0, I), independent of X        the prose after Eq. 13
    loss = −log P(Y|z, X) + D[Q(z|Y, X) ‖ N(0, I)]    −(Eq. 13's right side), one z; Eq. 7

(sig is the logistic sigmoid; σ is only the Gaussian decoder's noise.)

Three towers, with hidden = (H0, H1, …, H_{L−1}) and J = join (the reference
code's net for §4.2: hidden = (1000, 500, 250), J = 1):

    cond     X → H0 → … → H_{L−1} → H_{L−1}       ReLU on all but the last
    encoder  Y → H0 → … → HJ ⊕ → … → H_{L−1} → (mu, log_var)
    decoder  z → H_{L−1} ⊕ → H_{L−2} → … → H0 → Y
    (⊕: the cond tower's layer of the same width is added before the ReLU)

X enters Q and P only through the cond tower, so that tower's gradient is the
sum of what flows back from both junctions.  Shapes: N batch, Dx = x_dim,
Dy = y_dim, K = z_dim.
"""
import numpy as np

from .errors import ArgumentError
from .layers import sigmoid
from .losses import ELBOTerms, bernoulli_nll_and_grad, kl_normal_and_grads
from .mlp import MLP, bind_flat
from .model import EncoderCache, batch_loss
from .reparam import Reparameterize, reparam_backward, reparam_forward
from .tower import Tower, check_sizes, cond_tower
from .validate import (as_float_array, finite_result, float_dtype, generator, integer,
                       positive_int)

SIDE, MIDDLE = 28, 13       # MNIST's width; the reference code's input column (of 0..27)


def split_middle_column(images, side=SIDE, column=MIDDLE):
    """images (N, side²) -> (x_col (N, side), y_rest (N, side·(side−1))), row-major.

    x_col is the image's column `column`; y_rest the other columns, each row
    read left to right with that column left out (the reference code's Y).
    """
    if not 0 <= column < side:
        raise ArgumentError(f"column must lie in 0..{side - 1}, got {column!r}")
    images = as_float_array("images", images, None, cols=side * side)
    grid = images.reshape(-1, side, side)                           # (N, rows, cols)
    return grid[:, :, column].copy(), np.delete(grid, column, axis=2).reshape(len(grid), -1)


def merge_columns(x_col, y_rest, side=SIDE, column=MIDDLE):
    """Inverse of split_middle_column: (N, side), (N, side·(side−1)) -> (N, side²)."""
    x_col = as_float_array("x_col", x_col, None, cols=side)
    y_rest = as_float_array("y_rest", y_rest, x_col.dtype, cols=side * (side - 1),
                            rows=x_col.shape[0])
    rest = y_rest.reshape(-1, side, side - 1)
    return np.insert(rest, column, x_col, axis=2).reshape(len(rest), -1)


# -- checks at the door of the public methods (minivae.model says the rule) -------
def _x(model, x):
    return as_float_array("x", x, model.dtype, cols=model.x_dim, min_rows=1, unit_interval=True)


def _x_y(model, x, y):
    as_float_array("y", y, model.dtype, cols=model.y_dim, rows=_x(model, x).shape[0],
                   unit_interval=True)


class CVAE:
    """A conditional VAE with hand-derived gradients (Fig. 6).

    params: live dict, keys "cond.{i}.W/b", "encoder.{i}.W/b", "mu.W/b",
    "log_var.W/b", "decoder.{j}.W/b", each layer computing y = x W + b.

    Departures from the reference code (minivae.config says what it is): both
    heads read the encoder's last layer after its ReLU and the second one
    predicts log_var = log diag Σ (the reference: before the ReLU, log Σ^{1/2},
    the log of the standard deviation).  Q is still a diagonal Gaussian; here
    the Σ head reads ReLU(h).
    """

    def __init__(self, x_dim=28, y_dim=756, hidden=(1000, 500, 250), z_dim=30, join=1,
                 init="sparse", dtype=np.float32, seed=0):
        self.x_dim, self.y_dim, self.hidden = check_sizes(x_dim, y_dim, hidden, init)
        self.z_dim = positive_int("z_dim", z_dim)
        join = integer("join", join, least=0)
        if join >= len(self.hidden):
            raise ArgumentError(f"join must be an index into hidden (0..{len(self.hidden) - 1}), "
                             f"got {join!r}")
        self.join, self.init, self.dtype = join, init, float_dtype(dtype)
        rng = np.random.default_rng(seed)
        L, H = len(self.hidden), self.hidden
        head_init = "gaussian" if init == "sparse" else init    # the reference's heads are dense
        self.cond = cond_tower(self.x_dim, H, init, rng, self.dtype, tap=self.join)
        self.encoder = Tower((self.y_dim, *H), [init] * L, True, rng, self.dtype, join=self.join)
        self.mu_head = MLP((H[-1], self.z_dim), False, head_init, rng, self.dtype)
        self.log_var_head = MLP((H[-1], self.z_dim), False, head_init, rng, self.dtype)
        self.reparam = Reparameterize()     # for a caller outside (see VAE)
        self.decoder = Tower((self.z_dim, *H[::-1], self.y_dim), [init] * (L + 1), False,
                             rng, self.dtype, join=0)
        named = {f"cond.{i}": l for i, l in enumerate(self.cond.layers)}
        named.update({f"encoder.{i}": l for i, l in enumerate(self.encoder.layers)})
        named.update({"mu": self.mu_head.layers[0], "log_var": self.log_var_head.layers[0]})
        named.update({f"decoder.{j}": l for j, l in enumerate(self.decoder.layers)})
        self.params, self.grads, self.flat_params, self.flat_grads = bind_flat(named, self.dtype)

    def config(self):
        """The constructor's arguments (without seed)."""
        return dict(x_dim=self.x_dim, y_dim=self.y_dim, hidden=list(self.hidden),
                    z_dim=self.z_dim, join=self.join, init=self.init, dtype=self.dtype.name)

    # -- the pieces of Fig. 6 --------------------------------------------------
    def _encode(self, y, c_join):
        """y (N, Dy) and the cond tower's junction input -> mu, log_var (N, K), EncoderCache."""
        h, _, c_body = self.encoder.forward(y, c_join)        # (N, H_{L−1})
        mu, c_mu = self.mu_head.forward(h)                    # (N, K)
        log_var, c_lv = self.log_var_head.forward(h)          # (N, K)
        return mu, log_var, EncoderCache(c_body, c_mu, c_lv)

    def _decode(self, x, z):
        """x (N, Dx), z (N, K) -> y_mean (N, Dy); NonFiniteError on an overflow."""
        c_out, _, _ = self.cond.forward(x)
        y_logits, _, _ = self.decoder.forward(z, c_out)
        finite_result(("x", "z"), y_logits)                 # sig(inf) would hide an overflow
        return sigmoid(y_logits)

    def encode(self, x, y):
        """x (N, Dx), y (N, Dy) -> (mu, log_var), each (N, K): Q(z|Y, X)."""
        _x_y(self, x, y)
        _, c_join, _ = self.cond.forward(x)
        mu, log_var, _ = self._encode(y, c_join)
        finite_result(("x", "y"), mu, log_var)
        return mu, log_var

    def decode(self, x, z):
        """x (N, Dx), z (N, K) -> y_mean (N, Dy) = sig(f(z, X)), the mean of P(Y|z, X)."""
        as_float_array("z", z, self.dtype, cols=self.z_dim, rows=_x(self, x).shape[0])
        return self._decode(x, z)

    def sample(self, x, rng):
        """One z ~ N(0, I) per row of x, decoded: the test-time net (Fig. 6, right)."""
        _x(self, x)
        generator("rng", rng)
        return self._decode(x, rng.standard_normal((x.shape[0], self.z_dim), dtype=self.dtype))

    def conditional_elbo(self, x, y, rng, n_samples=1):
        """Per-example right side of Eq. 13, with its two terms, in nats.

        recon_nll = −E_{z~Q(z|Y,X)}[log P(Y|z, X)] averaged over n_samples draws;
        kl = D[Q(z|Y, X) ‖ N(0, I)] in closed form (Eq. 7); elbo = −recon_nll − kl,
        a lower bound on log P(Y|X).
        """
        _x_y(self, x, y)
        generator("rng", rng)
        positive_int("n_samples", n_samples)
        c_out, c_join, _ = self.cond.forward(x)
        mu, log_var, _ = self._encode(y, c_join)
        recon_nll = np.zeros(x.shape[0], dtype=np.float64)
        for _ in range(n_samples):
            eps = rng.standard_normal(mu.shape, dtype=mu.dtype)
            z, _ = reparam_forward(mu, log_var, eps)                   # Eq. 10
            y_logits, _, _ = self.decoder.forward(z, c_out)
            recon_nll += bernoulli_nll_and_grad(y_logits, y)[0]
        recon_nll /= n_samples
        kl = kl_normal_and_grads(mu, log_var)[0].astype(np.float64)
        terms = ELBOTerms(-recon_nll - kl, recon_nll, kl)
        finite_result(("x", "y", "rng", "n_samples"), *terms)
        return terms

    # -- training --------------------------------------------------------------
    def loss_and_grads(self, x, y, eps, copy=True):
        """Mean over the batch of −(Eq. 13's right side), one eps per example, in nats.

        x (N, Dx), y (N, Dy), both in [0, 1]; eps (N, K).  Returns (loss, grads),
        grads keyed like params: copies, or with copy=False the live views into
        flat_grads that the next call overwrites (see VAE.loss_and_grads).
        """
        _x_y(self, x, y)
        as_float_array("eps", eps, self.dtype, cols=self.z_dim, rows=len(x))
        N = x.shape[0]
        # forward (Fig. 6, left): cond → encode → reparameterize → decode → loss
        c_out, c_join, c_cond = self.cond.forward(x)          # (N, H_{L−1}), (N, H_J)
        mu, log_var, c_enc = self._encode(y, c_join)          # (N, K) each
        z, std = reparam_forward(mu, log_var, eps)            # (N, K)          Eq. 10
        y_logits, _, c_dec = self.decoder.forward(z, c_out)   # (N, Dy)         f(z, X)
        recon_nll, dy_logits = bernoulli_nll_and_grad(y_logits, y)  # (N,), (N, Dy) −log P(Y|z, X)
        kl, dmu_kl, dlv_kl = kl_normal_and_grads(mu, log_var)       # (N,), (N, K)  Eq. 7
        loss = batch_loss((recon_nll, kl), ("x", "y", "eps"))
        # backward: the same arrows reversed, each gradient scaled by 1/N
        scale = self.dtype.type(1.0 / N)
        dz, dc_out = self.decoder.backward(dy_logits * scale, c_dec)   # (N, K), (N, H_{L−1})
        dmu, dlv = reparam_backward(dz, std, eps)             # (N, K) each
        dmu = dmu + dmu_kl * scale
        dlv = dlv + dlv_kl * scale
        dh = self.mu_head.backward(dmu, c_enc.mu)             # (N, H_{L−1})
        dh += self.log_var_head.backward(dlv, c_enc.log_var)
        _, dc_join = self.encoder.backward(dh, c_enc.body, need_dx=False)   # (N, H_J)
        # X reaches the loss by two paths: both junctions' gradients meet in cond
        self.cond.backward(dc_out, c_cond, dtap=dc_join, need_dx=False)
        return loss, ({k: g.copy() for k, g in self.grads.items()} if copy else self.grads)
