"""What defines a training run: TrainConfig, the presets, the seeds, model and optimizer.

    config = TrainConfig.from_preset("doersch", epochs=10)
    model = build_model(config);  optimizer = build_optimizer(config, model)

The `doersch` preset is §4.1's MNIST VAE as the tutorial's reference code ran
it.  That code is Caffe network and solver definitions published with the
tutorial, https://github.com/cdoersch/vae_tutorial (mnist_vae.prototxt,
mnist_cvae.prototxt and their solvers); these are the facts minivae takes
from it, which the paper's text does not state:

  * the network: 784 → 1000 → 500 → 250 → z ∈ R³⁰ and back (§4.1 says only
    that it adapts Caffe's MNIST autoencoder example, with ReLUs).
  * init: Caffe's Gaussian filler, std 0.1, with `sparse: 15` on every layer
    except the two heads of Q (its mean and its spread): each weight is drawn
    from N(0, 0.1²) and kept with probability 15 / (the layer's outputs),
    else 0; the heads are dense N(0, 0.1²); biases 0 (minivae.layers,
    init="sparse").
  * the spread head reads the last encoder layer *before* its ReLU and
    predicts log Σ^{1/2}, the log of Q's standard deviation (minivae departs:
    see DEPARTURES).
  * the solver: Adam, lr 0.001, weight decay 0.0005 added to the gradient of
    the weights (every bias has `decay_mult: 0`), batch 100, and Caffe's
    `momentum` field (its Adam's beta1) left unset, so beta1 = 0 in effect.
  * the data: MNIST from an LMDB, read in the same order every epoch.
  * 60,000 iterations (100 epochs of 600 batches); the author reports about ten
    minutes on a GPU.
  * the CVAE of §4.2: a conditioning tower 28 → 1000 → 500 → 250 → 250 on the
    binarized middle column, added before the ReLU of the encoder's 500 layer
    and of the decoder's first 250 layer (minivae.cvae).

Seeds: `seed` feeds one np.random.SeedSequence whose children are separate
streams for initialization, shuffling, ε and binarization (STREAMS), so one
use of randomness never shifts another; evaluation and figures draw from
further children derived from (seed, epoch) by `derived_rng`.
"""
from __future__ import annotations

import dataclasses
import math
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .validate import choice, integer, positive_int, real
from .errors import ArgumentError
from .evaluate import BINARIZE
from .layers import INITS
from .mlp import weight_mask
from .model import LIKELIHOODS, VAE
from .optim import SGD, Adam

PRESETS = {
    "doersch": dict(
        hidden=(1000, 500, 250), z_dim=30, likelihood="bernoulli", init="sparse",
        batch_size=100, optimizer="adam", lr=1e-3, beta1=0.9, beta2=0.999,
        weight_decay=5e-4, epochs=100, binarize="none",
    ),
    "pytorch-example": dict(        # 784-400-20: PyTorch's best-known VAE example
        hidden=(400,), z_dim=20, likelihood="bernoulli", init="pytorch",
        batch_size=128, optimizer="adam", lr=1e-3, beta1=0.9, beta2=0.999,
        weight_decay=0.0, epochs=10, binarize="none",
    ),
}

# Where each preset departs from its reference setup; `train --preset` prints these.
DEPARTURES = {
    "doersch": [
        "Adam beta1 = 0.9; the reference solver leaves Caffe's `momentum` unset, so it "
        "effectively ran beta1 = 0 (pass --beta1 0 to reproduce that; 0.9 trains faster).",
        "the log-variance head reads the 250-unit layer after its ReLU and predicts "
        "log_var = log diag Sigma; the reference reads it before the ReLU and predicts "
        "log of the standard deviation.",
        "epochs instead of iterations: 100 epochs of 600 batches = the reference's 60,000.",
        "minibatches are reshuffled every epoch; the reference read its LMDB in the same order "
        "every time.",
    ],
    "pytorch-example": [],
}

STREAMS = ("init", "shuffle", "eps", "binarize")        # SeedSequence(seed).spawn(4), in order
OPTIMIZERS = ("adam", "sgd")
# Fields a resumed run may change: where things are, and how long and how often.
RESUMABLE = ("epochs", "out_dir", "data_dir", "test_subset", "eval_every", "images", "preset")


@dataclass
class TrainConfig:
    """Everything that defines a training run.  Defaults: the `doersch` preset's §4.1 net.

    (VAE() on its own defaults to init="he", which suits nets of any shape; the
    sparse filler here is the reference code's choice for this one net.)
    """
    hidden: tuple = (1000, 500, 250)
    z_dim: int = 30
    likelihood: str = "bernoulli"
    sigma: float = 1.0                  # decoder noise, Gaussian likelihood only (§2.4.3)
    init: str = "sparse"
    batch_size: int = 100
    optimizer: str = "adam"
    lr: float = 1e-3
    beta1: float = 0.9
    beta2: float = 0.999
    weight_decay: float = 5e-4
    momentum: float = 0.9               # SGD only
    epochs: int = 10
    binarize: str = "none"              # "none" | "dynamic" | "threshold"
    seed: int = 0
    dtype: str = "float32"
    subset: int | None = None           # train on the first n training images
    data_dir: str | None = None
    out_dir: str | None = None          # None: runs/<preset or custom>-<timestamp>-<random>
    test_subset: int | None = None      # evaluate on the first n test images
    eval_every: int = 1                 # epochs between evaluations (the last always)
    images: bool = True                 # write recon/samples figures each evaluation
    preset: str | None = None           # name only, for the default out_dir
    flush_subnormal: bool = True        # zero tiny weights and moments (minivae.optim)

    def __post_init__(self):
        if isinstance(self.hidden, (int, np.integer)):
            self.hidden = (self.hidden,)
        if not isinstance(self.hidden, (tuple, list)):
            raise ArgumentError(f"hidden must be a sequence of layer sizes, got {self.hidden!r}")
        self.hidden = tuple(positive_int("hidden sizes", h) for h in self.hidden)
        for name in ("z_dim", "batch_size", "epochs", "eval_every"):
            setattr(self, name, positive_int(name, getattr(self, name)))
        for name in ("subset", "test_subset"):
            setattr(self, name, positive_int(name, getattr(self, name), allow_none=True))
        self.seed = integer("seed", self.seed, least=0)
        for name, low, high, low_open in (("sigma", 0, math.inf, True), ("lr", 0, math.inf, True),
                                          ("beta1", 0, 1, False), ("beta2", 0, 1, False),
                                          ("weight_decay", 0, math.inf, False),
                                          ("momentum", 0, 1, False)):
            setattr(self, name, real(name, getattr(self, name), low, high, low_open))
        for name, options in (("likelihood", LIKELIHOODS), ("init", INITS),
                              ("optimizer", OPTIMIZERS), ("binarize", BINARIZE)):
            choice(name, getattr(self, name), options)
        if self.dtype is not None:          # np.dtype(None) would be float64
            try:
                self.dtype = np.dtype(self.dtype).name
            except TypeError:
                pass
        choice("dtype", self.dtype, ("float32", "float64"))
        self.images = bool(self.images)
        self.flush_subnormal = bool(self.flush_subnormal)
        for name in ("data_dir", "out_dir"):
            if getattr(self, name) is not None:
                setattr(self, name, str(getattr(self, name)))

    @classmethod
    def from_preset(cls, name, **overrides):
        """The named preset (PRESETS) with some fields replaced."""
        choice("preset", name, tuple(PRESETS))
        return cls.from_dict({**PRESETS[name], "preset": name, **overrides})

    @classmethod
    def from_dict(cls, d):
        """Inverse of `to_dict`; unknown keys are an error (a ValueError)."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ArgumentError(f"unknown training option(s): {', '.join(unknown)}")
        return cls(**d)

    def to_dict(self):
        """JSON-ready dict (hidden as a list)."""
        d = dataclasses.asdict(self)
        d["hidden"] = list(self.hidden)
        return d


def check_resume(saved: TrainConfig, config: TrainConfig, path):
    """Refuse to resume `path` with settings other than those in RESUMABLE changed."""
    diff = [f"{f}={getattr(config, f)!r} (checkpoint: {getattr(saved, f)!r})"
            for f in saved.to_dict() if f not in RESUMABLE and getattr(saved, f) != getattr(config, f)]
    if diff:
        raise ArgumentError(f"cannot resume {path} with different settings: {'; '.join(diff)}; "
                            f"only {', '.join(RESUMABLE[:-1])} may change")


def default_run_dir(config):
    """runs/<preset or custom>-<date>-<time>-<6 random hex digits>.

    The random part keeps apart runs started in the same second (a seed
    sweep); the run folder's lock (files/run_lock.py) catches the rest.
    """
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return Path("runs") / f"{config.preset or 'custom'}-{stamp}-{secrets.token_hex(3)}"


def streams_from_seed(seed):
    """The four training streams, {name: np.random.Generator} (see STREAMS)."""
    return {name: np.random.default_rng(ss)
            for name, ss in zip(STREAMS, np.random.SeedSequence(seed).spawn(len(STREAMS)))}


def derived_rng(seed, *key):
    """A Generator for evaluation or figures: child len(STREAMS)+key[0] of the seed.

    Made fresh from (seed, key), so it is the same in a resumed run and uses
    none of the training streams.
    """
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(len(STREAMS) + key[0], *key[1:])))


def build_model(config, x_dim=784, rng=None):
    """The VAE a config describes; weights drawn from `rng` (default: the init stream)."""
    rng = streams_from_seed(config.seed)["init"] if rng is None else rng
    return VAE(x_dim=x_dim, hidden=config.hidden, z_dim=config.z_dim, likelihood=config.likelihood,
               sigma=config.sigma, init=config.init, dtype=config.dtype, seed=rng)


def build_optimizer(config, model):
    """Adam or SGD over the model's flat parameters, with L2 weight decay on its weights
    (not its biases, as the reference code's solver: `decay_mult: 0` on each bias)."""
    both = dict(weight_decay=config.weight_decay, decayed=weight_mask(model.params),
                flush_subnormal=config.flush_subnormal)
    if config.optimizer == "adam":
        return Adam(model.flat_params, model.flat_grads, lr=config.lr, beta1=config.beta1,
                    beta2=config.beta2, **both)
    return SGD(model.flat_params, model.flat_grads, lr=config.lr, momentum=config.momentum,
               **both)
