"""The variational autoencoder of Doersch §2 (Fig. 4 to train, Fig. 5 to test).

    encoder Q(z|X) = N(mu(X), Σ(X)),  log_var = log diag Σ  §2.2
    z = mu + Σ^{1/2} ⊙ eps,   eps ~ N(0, I)                 Eq. 10
    decoder P(X|z) = Bernoulli(sig(f(z)))  or  N(f(z), σ² I) §1.1 after Eq. 1
    loss = −log P(X|z) + D[Q(z|X) ‖ N(0, I)]                −(Eq. 9), Eq. 7

sig is the logistic sigmoid; σ is only ever the decoder's noise (§2.4.3).

For x_dim=784, hidden=(1000, 500, 250), z_dim=30 this is the network of §4.1:
784 → 1000 → 500 → 250 → (mu, log_var) ∈ R³⁰, z → 250 → 500 → 1000 → 784.
Shapes: N batch, D = x_dim, K = z_dim.
"""
import math

import numpy as np

from .checks import (NonFiniteError, as_float_array, check_memory, choice, finite_result,
                     float_dtype, generator, positive_int, real)
from .layers import INITS, Dense
from .losses import ELBOTerms, _gaussian_nll  # noqa: F401 (ELBOTerms re-exported)
from .mlp import MLP, bind_flat
from .reparam import Reparameterize
from . import kernels

LIKELIHOODS = ("bernoulli", "gaussian")


class VAE:
    """A VAE with MLP encoder and decoder and hand-derived gradients.

    params: dict of live arrays, keys "encoder.{i}.W/b", "mu.W/b", "log_var.W/b",
    "decoder.{j}.W/b", each layer computing y = x @ W + b.

    Departure from the paper's reference code (minivae.config says what that
    code is): there the second head reads the last encoder layer *before* its
    ReLU and predicts the log of Q's standard deviation; here both heads read
    it after the ReLU, and the head predicts log_var = log diag Σ, twice that.
    The family of Q is the same.
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
        # The paper's nets use Caffe's sparse filler everywhere but the heads.
        head_init = "gaussian" if init == "sparse" else init
        h_last = self.hidden[-1] if self.hidden else x_dim
        self.encoder = MLP((x_dim, *self.hidden), relu_last=True, init=init, rng=rng, dtype=self.dtype)
        self.mu_head = Dense(h_last, z_dim, init=head_init, rng=rng, dtype=self.dtype)
        self.log_var_head = Dense(h_last, z_dim, init=head_init, rng=rng, dtype=self.dtype)
        self.reparam = Reparameterize()
        self.decoder = MLP((z_dim, *self.hidden[::-1], x_dim), relu_last=False, init=init,
                           rng=rng, dtype=self.dtype)
        named = {f"encoder.{i}": l for i, l in enumerate(self.encoder.layers)}
        named.update({"mu": self.mu_head, "log_var": self.log_var_head})
        named.update({f"decoder.{j}": l for j, l in enumerate(self.decoder.layers)})
        self.params, self.grads, self.flat_params, self.flat_grads = bind_flat(named, self.dtype)
        kernels.warmup(self.dtype)      # compile/load the kernels now, not in the first epoch

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

    # -- checked inputs ------------------------------------------------------
    def _x(self, x, name="x"):
        return as_float_array(name, x, self.dtype, cols=self.x_dim, min_rows=1,
                              unit_interval=self.likelihood == "bernoulli")

    def _z(self, z, n, name):
        return as_float_array(name, z, self.dtype, cols=self.z_dim, rows=n, min_rows=1)

    # -- the pieces of Fig. 4 --------------------------------------------------
    # Inputs are checked at the door of each public method, so the layers run
    # unchecked.  Every public method runs under np.errstate(all="ignore"): an
    # overflow anywhere (parameters that have diverged, a huge x under the
    # Gaussian likelihood) raises checks.NonFiniteError instead of NumPy warnings.
    def _encode(self, x):
        """x (N, D), checked -> mu, log_var (N, K) each, finite, and the caches."""
        h, enc = self.encoder.forward(x)                    # (N, H)
        mu, c_mu = self.mu_head.forward_unchecked(h)        # (N, K)
        log_var, c_lv = self.log_var_head.forward_unchecked(h)   # (N, K)
        finite_result(("x",), mu, log_var)
        return mu, log_var, (enc, c_mu, c_lv)

    def _nll(self, out, x):
        """−log P(X|z) per example and its gradient w.r.t. the decoder output (unchecked)."""
        if self.likelihood == "bernoulli":
            return kernels.bernoulli_nll(out, x)            # out = logits
        return _gaussian_nll(out, x, self.sigma)            # out = mean f(z)

    @np.errstate(all="ignore")
    def encode(self, x):
        """x (N, D) -> (mu, log_var), each (N, K): the parameters of Q(z|X)."""
        mu, log_var, _ = self._encode(self._x(x))
        return mu, log_var

    @np.errstate(all="ignore")
    def decode(self, z):
        """z (N, K) -> x_mean (N, D): E[X|z], i.e. sig(logits) or f(z)."""
        out, _ = self.decoder.forward(self._z(z, None, "z"))
        finite_result(("z",), out)
        return kernels.sigmoid(out) if self.likelihood == "bernoulli" else out

    @np.errstate(all="ignore")
    def log_likelihood(self, x, z):
        """log P(X|z) per example (N,), for x (N, D) and z (N, K)."""
        out, _ = self.decoder.forward(self._z(z, self._x(x).shape[0], "z"))
        nll = self._nll(out, x)[0]
        finite_result(("x", "z"), nll)
        return -nll

    def sample(self, n, rng):
        """n images decoded from z ~ N(0, I): the test-time network (Fig. 5)."""
        n = positive_int("n", n)
        generator("rng", rng)
        widest = max((self.z_dim, self.x_dim, *self.hidden))
        check_memory(f"{n:,} samples (n)", 2 * n * widest * self.dtype.itemsize)
        z = rng.standard_normal((n, self.z_dim), dtype=self.dtype)
        return self.decode(z)

    def reconstruct(self, x, rng):
        """Decode one z ~ Q(z|X) per example: x (N, D) -> x_mean (N, D)."""
        mu, log_var = self.encode(x)
        z, _ = self.reparam.forward(mu, log_var, rng=rng)
        return self.decode(z)

    @np.errstate(all="ignore")
    def elbo(self, x, rng, n_samples=1):
        """Per-example ELBO (Eq. 5, right side) with its two terms, in nats.

        recon_nll = −E_{z~Q}[log P(X|z)] is averaged over n_samples draws
        z ~ Q(z|X); the KL term is exact (Eq. 7); elbo = −recon_nll − kl.
        """
        n_samples = positive_int("n_samples", n_samples)
        generator("rng", rng)
        mu, log_var = self.encode(x)
        kl = kernels.kl_normal(mu, log_var)[0]                       # Eq. 7
        finite_result(("x",), kl)
        recon_nll = np.zeros(x.shape[0], dtype=np.float64)
        for _ in range(n_samples):
            z, _ = self.reparam.forward(mu, log_var, rng=rng)
            out, _ = self.decoder.forward(z)
            recon_nll += self._nll(out, x)[0]
        recon_nll /= n_samples
        kl = kl.astype(np.float64)
        finite_result(("x",), recon_nll)
        return ELBOTerms(-recon_nll - kl, recon_nll, kl)

    # -- training --------------------------------------------------------------
    @np.errstate(all="ignore")
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
        x = self._x(x)
        N = x.shape[0]
        eps = self._z(eps, N, "eps")
        # forward: encode -> reparameterize -> decode -> loss (Fig. 4, right)
        mu, log_var, enc_caches = self._encode(x)           # (N, K) each
        z, c_z = self.reparam.forward(mu, log_var, eps)     # (N, K)       Eq. 10
        out, dec = self.decoder.forward(z)                  # (N, D)
        rec, dout = self._nll(out, x)                       # (N,), (N, D)  −log P(X|z)
        kl, dmu_kl, dlv_kl = kernels.kl_normal(mu, log_var)  # (N,), (N, K)  Eq. 7
        loss = float(np.mean(rec, dtype=np.float64) + np.mean(kl, dtype=np.float64))
        if not math.isfinite(loss):
            raise NonFiniteError(f"−ELBO is {loss} for this x and eps: an overflow, from "
                                 "values too large or parameters that have diverged")
        # backward: the same arrows in reverse, each gradient scaled by 1/N
        scale = self.dtype.type(1.0 / N)
        dz = self.decoder.backward(dout * scale, dec)       # (N, K)
        dmu, dlv = self.reparam.backward(dz, c_z)           # (N, K) each
        dmu = dmu + dmu_kl * scale
        dlv = dlv + dlv_kl * scale
        enc, c_mu, c_lv = enc_caches
        dh = self.mu_head.backward_unchecked(dmu, c_mu)     # (N, H)
        dh += self.log_var_head.backward_unchecked(dlv, c_lv)
        finite_result(("x", "eps"), dh)
        self.encoder.backward(dh, enc, need_dx=False)
        return loss, ({k: g.copy() for k, g in self.grads.items()} if copy else self.grads)
