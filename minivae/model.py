"""The variational autoencoder of Doersch §2 (Fig. 4 to train, Fig. 5 to test).

    encoder Q(z|X) = N(mu(X), Σ(X)),  log_var = log diag Σ  §2.2
    z = mu + Σ^{1/2} ⊙ eps,   eps ~ N(0, I)                 Eq. 10
    decoder P(X|z) = Bernoulli(sig(f(z)))  or  N(f(z), σ² I) §1.1 after Eq. 1
    loss = −log P(X|z) + D[Q(z|X) ‖ N(0, I)]                −(Eq. 9), Eq. 7

sig is the logistic sigmoid; σ is only ever the decoder's noise (§2.4.3).

For x_dim=784, hidden=(1000, 500, 250), z_dim=30 this is §4.1's network as the
reference code builds it (minivae.config): 784 → 1000 → 500 → 250 →
(mu, log_var) ∈ R³⁰, z → 250 → 500 → 1000 → 784.
Shapes: N batch, D = x_dim, H the last hidden width, K = z_dim.

How every model is built (VAE here; CVAE and Regressor the same way):

  * Parameters live on the layers, and `bind_flat` gathers them into one flat
    vector (`flat_params`, `flat_grads`) that the optimizer updates in one pass;
    `params` and `grads` are dicts of views into it, keyed "layer.W" / "layer.b".
  * Checked at the door, unchecked inside.  Each public method's first line
    checks its arguments (dtype, shape, finite, in [0, 1] for binary data:
    ArgumentError, minivae.validate), and where an overflow could hide, a last
    line raises NonFiniteError for a result that is not finite.  Inside, the
    model calls the maths functions themselves (the MLPs' passes, the
    reparameterization, the losses' formulas), which check nothing: no
    training step scans an activation twice.
  * What one pass must remember is a NamedTuple cache per layer (a layer's
    forward returns (y, cache), its backward takes (dy, cache)), grouped in
    the model's own NamedTuples (EncoderCache); nothing is stored on self.
  * `loss_and_grads` reads as the figure: forward one line per arrow, each with
    its shape and equation, then the same arrows in reverse, every gradient
    named for what it is the gradient of (dz = ∂loss/∂z).
"""
import math
from typing import NamedTuple

import numpy as np

from .errors import NonFiniteError
from .layers import INITS, sigmoid
from .losses import ELBOTerms, bernoulli_nll_and_grad, gaussian_nll_and_grad, kl_normal_and_grads
from .mlp import MLP, MLPCache, bind_flat
from .reparam import Reparameterize, reparam_backward, reparam_forward
from .validate import (as_float_array, check_memory, choice, finite_result, float_dtype,
                       generator, positive_int, real)

LIKELIHOODS = ("bernoulli", "gaussian")


class EncoderCache(NamedTuple):
    """What the encoder's backward needs: the body's cache and the two heads'."""
    body: object            # the MLP's (VAE) or Tower's (CVAE) cache: X → last hidden layer
    mu: MLPCache            # the mu head (a one-layer MLP)
    log_var: MLPCache       # the log_var head


# -- checks at the door of the public methods ------------------------------------
def _x(model, x, name="x"):
    return as_float_array(name, x, model.dtype, cols=model.x_dim, min_rows=1,
                          unit_interval=model.likelihood == "bernoulli")


def _z(model, z, n, name="z"):
    return as_float_array(name, z, model.dtype, cols=model.z_dim, rows=n, min_rows=1)


def _x_rng(model, x, rng, n_samples=1):
    _x(model, x)
    generator("rng", rng)
    positive_int("n_samples", n_samples)


def batch_loss(terms, inputs):
    """The loss of a batch: the sum of the terms' means over the batch (recon_nll, kl), in
    float64, as a Python float.

    Raises NonFiniteError, naming the inputs, when it is not finite (an overflow:
    values too large, or parameters that have diverged), before any backward
    pass runs on it.
    """
    loss = float(sum(t.sum(dtype=np.float64) / t.size for t in terms))    # np.mean, sooner
    if not math.isfinite(loss):
        raise NonFiniteError(f"the loss is {loss} for this {' and '.join(inputs)}: an overflow, "
                             "from values too large or parameters that have diverged")
    return loss


class VAE:
    """A VAE with MLP encoder and decoder and hand-derived gradients.

    params: dict of live arrays, keys "encoder.{i}.W/b", "mu.W/b", "log_var.W/b",
    "decoder.{j}.W/b", each layer computing y = x W + b.

    Departure from the paper's reference code (minivae.config says what that
    code is): there the second head reads the last encoder layer *before* its
    ReLU and predicts log Σ^{1/2}, the log of Q's standard deviation; here both
    heads read it after the ReLU, and the head predicts log_var = log diag Σ,
    twice that.  Q is still a diagonal Gaussian; here the Σ head reads ReLU(h),
    which changes the functions Σ(X) the encoder can express.
    """

    def __init__(self, x_dim=784, hidden=(1000, 500, 250), z_dim=30, likelihood="bernoulli",
                 sigma=1.0, init="he", dtype=np.float32, seed=0):
        self.x_dim = positive_int("x_dim", x_dim)
        self.z_dim = positive_int("z_dim", z_dim)
        self.hidden = tuple(positive_int("hidden", h) for h in hidden)
        self.likelihood = choice("likelihood", likelihood, LIKELIHOODS)
        self.sigma = real("sigma", sigma, 0, np.inf, low_open=True) if likelihood == "gaussian" \
            else float(sigma)
        self.init = choice("init", init, INITS)
        self.dtype = float_dtype(dtype)
        self._check_size()
        rng = np.random.default_rng(seed)
        # The reference code's nets use Caffe's sparse filler everywhere but the heads.
        head_init = "gaussian" if init == "sparse" else init
        h_last = self.hidden[-1] if self.hidden else x_dim
        self.encoder = MLP((x_dim, *self.hidden), relu_last=True, init=init, rng=rng, dtype=self.dtype)
        self.mu_head = MLP((h_last, z_dim), False, head_init, rng, self.dtype)
        self.log_var_head = MLP((h_last, z_dim), False, head_init, rng, self.dtype)
        self.reparam = Reparameterize()     # the layer, for a caller outside; the model calls
                                            # reparam_forward and reparam_backward itself
        self.decoder = MLP((z_dim, *self.hidden[::-1], x_dim), relu_last=False, init=init,
                           rng=rng, dtype=self.dtype)
        named = {f"encoder.{i}": l for i, l in enumerate(self.encoder.layers)}
        named.update({"mu": self.mu_head.layers[0], "log_var": self.log_var_head.layers[0]})
        named.update({f"decoder.{j}": l for j, l in enumerate(self.decoder.layers)})
        self.params, self.grads, self.flat_params, self.flat_grads = bind_flat(named, self.dtype)

    def _check_size(self):
        """Say at once how much memory the network needs if more than there is.

        Peak while building: each layer's (W, b) and their gradients, then the
        flat copies of both (mlp.bind_flat), so 4 numbers per parameter, plus
        the float64 draws init_weights makes for the largest layer.
        """
        sizes = (self.x_dim, *self.hidden, self.z_dim)
        pairs = list(zip(sizes[:-1], sizes[1:]))
        n = 2 * sum((a + 1) * b for a, b in pairs) + (sizes[-2] + 1) * self.z_dim
        largest = max(a * b for a, b in pairs + [(sizes[-2], self.z_dim)])
        check_memory(f"a VAE {'-'.join(map(str, sizes))} with {n:,} parameters",
                     4 * n * self.dtype.itemsize + 16 * largest)

    def config(self):
        """The constructor's arguments (without seed), e.g. for a checkpoint."""
        return dict(x_dim=self.x_dim, hidden=list(self.hidden), z_dim=self.z_dim,
                    likelihood=self.likelihood, sigma=self.sigma, init=self.init,
                    dtype=self.dtype.name)

    # -- the pieces of Fig. 4 --------------------------------------------------
    def _encode(self, x):
        """x (N, D) -> mu, log_var (N, K) each, and the EncoderCache."""
        h, c_body = self.encoder.forward(x)                 # (N, H)
        mu, c_mu = self.mu_head.forward(h)                  # (N, K)
        log_var, c_lv = self.log_var_head.forward(h)        # (N, K)
        return mu, log_var, EncoderCache(c_body, c_mu, c_lv)

    def _recon_nll(self, f_z, x):
        """−log P(X|z) per example (N,) and its gradient w.r.t. f(z), the decoder's output:
        x_logits for the Bernoulli likelihood, x_mean for the Gaussian."""
        if self.likelihood == "bernoulli":
            return bernoulli_nll_and_grad(f_z, x)
        return gaussian_nll_and_grad(f_z, x, self.sigma)

    def _decode(self, z):
        """z (N, K) -> E[X|z] (N, D); NonFiniteError on an overflow."""
        f_z, _ = self.decoder.forward(z)
        finite_result(("z",), f_z)                          # sig(inf) would hide an overflow
        return sigmoid(f_z) if self.likelihood == "bernoulli" else f_z

    def encode(self, x):
        """x (N, D) -> (mu, log_var), each (N, K): the parameters of Q(z|X)."""
        _x(self, x)
        mu, log_var, _ = self._encode(x)
        finite_result(("x",), mu, log_var)
        return mu, log_var

    def decode(self, z):
        """z (N, K) -> x_mean (N, D): E[X|z], i.e. sig(x_logits) or f(z)."""
        _z(self, z, None)
        return self._decode(z)

    def log_likelihood(self, x, z):
        """log P(X|z) per example (N,), for x (N, D) and z (N, K)."""
        _z(self, z, _x(self, x).shape[0])
        f_z, _ = self.decoder.forward(z)
        log_p = -self._recon_nll(f_z, x)[0]
        finite_result(("x", "z"), log_p)
        return log_p

    def sample(self, n, rng):
        """n images decoded from z ~ N(0, I): the test-time network (Fig. 5)."""
        n = positive_int("n", n)
        generator("rng", rng)
        widest = max((self.z_dim, self.x_dim, *self.hidden))
        check_memory(f"{n:,} samples (n)", 2 * n * widest * self.dtype.itemsize)
        z = rng.standard_normal((n, self.z_dim), dtype=self.dtype)
        return self._decode(z)

    def reconstruct(self, x, rng):
        """Decode one z ~ Q(z|X) per example: x (N, D) -> x_mean (N, D)."""
        _x_rng(self, x, rng)
        mu, log_var, _ = self._encode(x)
        eps = rng.standard_normal(mu.shape, dtype=mu.dtype)
        return self._decode(reparam_forward(mu, log_var, eps)[0])      # z ~ Q(z|X), Eq. 10

    def elbo(self, x, rng, n_samples=1):
        """Per-example ELBO (Eq. 5, right side) with its two terms, in nats.

        recon_nll = −E_{z~Q}[log P(X|z)] is averaged over n_samples draws
        z ~ Q(z|X); the KL term is exact (Eq. 7); elbo = −recon_nll − kl.
        """
        _x_rng(self, x, rng, n_samples)
        mu, log_var, _ = self._encode(x)
        kl = kl_normal_and_grads(mu, log_var)[0].astype(np.float64)    # Eq. 7
        recon_nll = np.zeros(x.shape[0], dtype=np.float64)
        for _ in range(n_samples):
            eps = rng.standard_normal(mu.shape, dtype=mu.dtype)
            z, _ = reparam_forward(mu, log_var, eps)                   # Eq. 10
            f_z, _ = self.decoder.forward(z)
            recon_nll += self._recon_nll(f_z, x)[0]
        recon_nll /= n_samples
        terms = ELBOTerms(-recon_nll - kl, recon_nll, kl)
        finite_result(("x", "rng", "n_samples"), *terms)
        return terms

    # -- training --------------------------------------------------------------
    def loss_and_grads(self, x, eps, copy=True):
        """Mean over the batch of −(Eq. 9) with one eps per example (Eq. 10), in nats.

        x (N, D) in [0, 1] for the Bernoulli likelihood; eps (N, K).
        Returns (loss, grads): grads has the keys and shapes of params.
        Backward always writes into model.grads, whose arrays are views into
        the one flat vector model.flat_grads (mlp.bind_flat) that the optimizer
        reads.  copy=True (the default) hands out copies, safe to keep; with
        copy=False the returned arrays ARE those views, and the next call
        overwrites them (the training loop's choice: no 11 MB copy per step).
        """
        _z(self, eps, _x(self, x).shape[0], "eps")
        N = x.shape[0]
        # forward: encode -> reparameterize -> decode -> loss (Fig. 4, right)
        mu, log_var, c_enc = self._encode(x)                # (N, K) each
        z, std = reparam_forward(mu, log_var, eps)          # (N, K)          Eq. 10
        f_z, c_dec = self.decoder.forward(z)                # (N, D)          f(z)
        recon_nll, df_z = self._recon_nll(f_z, x)           # (N,), (N, D)    −log P(X|z)
        kl, dmu_kl, dlv_kl = kl_normal_and_grads(mu, log_var)   # (N,), (N, K)  Eq. 7
        loss = batch_loss((recon_nll, kl), ("x", "eps"))
        # backward: the same arrows in reverse, each gradient scaled by 1/N
        scale = self.dtype.type(1.0 / N)
        dz = self.decoder.backward(df_z * scale, c_dec)     # (N, K)
        dmu, dlv = reparam_backward(dz, std, eps)           # (N, K) each
        dmu = dmu + dmu_kl * scale
        dlv = dlv + dlv_kl * scale
        dh = self.mu_head.backward(dmu, c_enc.mu)           # (N, H)
        dh += self.log_var_head.backward(dlv, c_enc.log_var)
        finite_result(("x", "eps"), dh)
        self.encoder.backward(dh, c_enc.body, need_dx=False)
        return loss, ({k: g.copy() for k, g in self.grads.items()} if copy else self.grads)
