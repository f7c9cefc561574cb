"""Training a VAE on MNIST: configuration, setup, resuming (Doersch §2.2, §4.1).

    result = train(TrainConfig.from_preset("pytorch-example", epochs=2))
    result.history[-1]["test_neg_elbo"]        # nats, measured on the test set

Each step minimizes −ELBO (Eq. 9 averaged over a minibatch, Fig. 4 right) by
`model.loss_and_grads(x, eps)` then `optimizer.step()`; see trainloop.py.

Reproducibility: `seed` feeds one np.random.SeedSequence whose children are
separate streams for initialization, shuffling, ε and binarization, so one
use of randomness never shifts another.  Their states go into every
checkpoint, which makes a resumed run bit-identical to an uninterrupted one.
Evaluation and figures draw from further children derived from (seed, epoch),
so they never disturb training.
"""
from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .checkpoint import load_checkpoint
from .evaluate import BINARIZE
from .layers import INITS
from .model import LIKELIHOODS, VAE
from .optim import SGD, Adam
from .presets import PRESETS

STREAMS = ("init", "shuffle", "eps", "binarize")        # SeedSequence(seed).spawn(4), in order
OPTIMIZERS = ("adam", "sgd")
# Fields a resumed run may change: where things are, and how long and how often.
RESUMABLE = ("epochs", "out_dir", "data_dir", "test_subset", "eval_every", "images", "preset")


def _pos_int(name, v, allow_none=False):
    if v is None and allow_none:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
        raise ValueError(f"{name} must be a positive integer, got {v!r}")
    return int(v)


def _real(name, v, low, high, low_open=False):
    try:
        v = float(v)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {v!r}") from None
    if not (math.isfinite(v) and (v > low if low_open else v >= low) and v < high):
        interval = f"{'(' if low_open else '['}{low}, {high})"
        raise ValueError(f"{name} must lie in {interval}, got {v!r}")
    return v


def _choice(name, v, options):
    if v not in options:
        raise ValueError(f"{name} must be one of {', '.join(options)}; got {v!r}")
    return v


@dataclass
class TrainConfig:
    """Everything that defines a training run.  Defaults: the paper's §4.1 net."""
    hidden: tuple = (1000, 500, 250)
    z_dim: int = 30
    likelihood: str = "bernoulli"
    sigma: float = 1.0                  # Gaussian likelihood only (§2.4.3)
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
    out_dir: str | None = None          # None: runs/<preset or custom>-<timestamp>
    test_subset: int | None = None      # evaluate on the first n test images
    eval_every: int = 1                 # epochs between evaluations (the last always)
    images: bool = True                 # write recon/samples figures each evaluation
    preset: str | None = None           # name only, for the default out_dir

    def __post_init__(self):
        if isinstance(self.hidden, (int, np.integer)):
            self.hidden = (self.hidden,)
        try:
            self.hidden = tuple(_pos_int("hidden sizes", h) for h in self.hidden)
        except TypeError:
            raise ValueError(f"hidden must be a sequence of layer sizes, got {self.hidden!r}") from None
        self.z_dim = _pos_int("z_dim", self.z_dim)
        self.likelihood = _choice("likelihood", self.likelihood, LIKELIHOODS)
        self.sigma = _real("sigma", self.sigma, 0, math.inf, low_open=True)
        self.init = _choice("init", self.init, INITS)
        self.batch_size = _pos_int("batch_size", self.batch_size)
        self.optimizer = _choice("optimizer", self.optimizer, OPTIMIZERS)
        self.lr = _real("lr", self.lr, 0, math.inf, low_open=True)
        self.beta1 = _real("beta1", self.beta1, 0, 1)
        self.beta2 = _real("beta2", self.beta2, 0, 1)
        self.weight_decay = _real("weight_decay", self.weight_decay, 0, math.inf)
        self.momentum = _real("momentum", self.momentum, 0, 1)
        self.epochs = _pos_int("epochs", self.epochs)
        self.binarize = _choice("binarize", self.binarize, BINARIZE)
        if isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer)) or self.seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {self.seed!r}")
        self.seed = int(self.seed)
        try:
            dtype = str(np.dtype(self.dtype)) if self.dtype is not None else None
        except TypeError:
            dtype = self.dtype
        self.dtype = _choice("dtype", dtype, ("float32", "float64"))
        self.subset = _pos_int("subset", self.subset, allow_none=True)
        self.test_subset = _pos_int("test_subset", self.test_subset, allow_none=True)
        self.eval_every = _pos_int("eval_every", self.eval_every)
        self.images = bool(self.images)
        for name in ("data_dir", "out_dir"):
            if getattr(self, name) is not None:
                setattr(self, name, str(getattr(self, name)))

    @classmethod
    def from_preset(cls, name, **overrides):
        """The named preset (minivae.presets.PRESETS) with some fields replaced."""
        if name not in PRESETS:
            raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
        return cls.from_dict({**PRESETS[name], "preset": name, **overrides})

    @classmethod
    def from_dict(cls, d):
        """Inverse of `to_dict`; unknown keys are an error (a ValueError)."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ValueError(f"unknown training option(s): {', '.join(unknown)}")
        return cls(**d)

    def to_dict(self):
        """JSON-ready dict (hidden as a list)."""
        d = dataclasses.asdict(self)
        d["hidden"] = list(self.hidden)
        return d


class TrainResult(NamedTuple):
    model: VAE
    history: list           # one dict per epoch (see history.py for the keys)
    run_dir: Path


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
    """Adam or SGD over the model's flat parameters, with L2 weight decay."""
    if config.optimizer == "adam":
        return Adam(model.flat_params, model.flat_grads, lr=config.lr, beta1=config.beta1,
                    beta2=config.beta2, weight_decay=config.weight_decay)
    return SGD(model.flat_params, model.flat_grads, lr=config.lr, momentum=config.momentum,
               weight_decay=config.weight_decay)


def default_run_dir(config):
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return Path("runs") / f"{config.preset or 'custom'}-{stamp}"


def _check_resume(saved: TrainConfig, config: TrainConfig, path):
    diff = [f"{f}={getattr(config, f)!r} (checkpoint: {getattr(saved, f)!r})"
            for f in saved.to_dict() if f not in RESUMABLE and getattr(saved, f) != getattr(config, f)]
    if diff:
        raise ValueError(f"cannot resume {path} with different settings: {'; '.join(diff)}; "
                         f"only {', '.join(RESUMABLE[:-1])} may change")


def train(config: TrainConfig | None = None, resume=None, progress=True,
          x_train=None, x_test=None) -> TrainResult:
    """Train (or continue training) a VAE; return (model, history, run_dir).

    config: a TrainConfig (None with `resume`: the checkpoint's own).
    resume: a checkpoint written by an earlier run (its last.npz); training
      continues from its end exactly as if never stopped.  Only the fields in
      RESUMABLE may differ from the checkpoint's configuration.  Without
      config.out_dir the run continues in the checkpoint's directory.
    progress: show a tqdm bar on stderr and print one line per epoch.
    x_train, x_test: (N, D) arrays in [0, 1] of config.dtype to use instead of
      MNIST (x_test=None with x_train given: no test set).
    Writes into the run directory: last.npz, history.csv/.json, and with
    config.images recon_epochNNN.png, samples_epochNNN.png, loss_curve.png.
    """
    from .trainloop import Run       # the loop needs this module's helpers

    if resume is None:
        if config is None:
            raise ValueError("pass a TrainConfig, or resume= a checkpoint")
        run_dir = Path(config.out_dir) if config.out_dir is not None else default_run_dir(config)
        if (run_dir / "last.npz").exists():
            raise ValueError(f"{run_dir} already holds a run (last.npz); resume it with "
                             f"--resume {run_dir / 'last.npz'} or choose another --out")
        run = Run.fresh(config, run_dir, x_train, x_test)
    else:
        model, optimizer, meta = load_checkpoint(resume)
        saved = TrainConfig.from_dict(meta["config"])
        if config is None:
            config = dataclasses.replace(saved, out_dir=None)
        _check_resume(saved, config, resume)
        run_dir = Path(config.out_dir) if config.out_dir is not None else Path(resume).parent
        meta = {**meta, "path": Path(resume)}
        run = Run.resumed(config, run_dir, model, optimizer, meta, x_train, x_test)
    run.loop(progress)
    return TrainResult(run.model, run.history, run.run_dir)
