"""Training a VAE on MNIST: the epoch loop, resuming, and `train()` (Doersch §2.2, §4.1).

    result = train(TrainConfig.from_preset("pytorch-example", epochs=2))
    result.history[-1]["test_neg_elbo"]        # nats, measured on the test set

The objective is Eq. 8: an expectation over the data X ~ D of the per-example
bound.  Each step estimates it on a minibatch, one ε per example: the loss is
−(Eq. 9) averaged over the batch, and its gradient comes from
`model.loss_and_grads(x, eps)` (Fig. 4, right); `optimizer.step()` then moves
the weights.  With weight decay (the `doersch` preset's 5e-4) the optimizer
also adds wd·θ to the gradient of each weight (not of the biases, as in the
reference code), the gradient of an L2 penalty (wd/2)‖W‖² that is not part
of Eq. 8.  The same step written out by hand, with nothing
hidden, is in lessons/03_reparam.py (its own `loss_and_grads` and `train`):
read that first.

Reading order of this module: `train_epoch` (the loop over minibatches), then
`Run` (evaluation, figures, checkpoints, the loop over epochs, resuming), then
`train()`.  The configuration, seeds and model/optimizer construction are in
minivae/config.py.
"""
from __future__ import annotations

import contextlib
import dataclasses
import errno
import math
import shlex
import sys
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np

from . import kernels
from .batches import binarize_dynamic, binarize_threshold, iterate_minibatches
from .config import (STREAMS, TrainConfig, build_model, build_optimizer, check_resume,
                     default_run_dir, derived_rng, streams_from_seed)
from .data import load_mnist
from .errors import ArgumentError, CheckpointError, NonFiniteError, Terminated, WriteError
from .evaluate import evaluate_elbo, prepare
from .files.checkpoint import (checkpoint_bytes, load_checkpoint, rng_from_state, rng_state,
                               save_checkpoint)
from .files.history import COLUMNS, TRAIN_EVAL, summary_line, write_history
from .files.run_folder import (CHECKPOINT, check_continuing, check_new_run, check_room,
                               clear_leftovers)
from .files.run_lock import RunLock
from .kernels import threads
from .kernels.watch import Watch
from .model import VAE
from .progress import ProgressBar
from .validate import writable_dir

# keys of derived_rng(seed, KEY, ...): evaluation ε, the fixed binarizations, figures
EVAL_KEY, TEST_BIN_KEY, TRAIN_BIN_KEY, RECON_KEY, SAMPLES_KEY = range(5)


def train_epoch(model, optimizer, x, batch_size, streams, dynamic=False, desc="epoch",
                progress=True, watch=None):
    """One pass over the shuffled rows of x (N, D); returns the mean minibatch −ELBO.

    streams: the "shuffle", "eps" and "binarize" Generators (config.STREAMS).
    dynamic: redraw a Bernoulli binarization of every minibatch (Burda et al.
    2016's dynamic binarization; beyond the paper, whose §4.1 VAE trains on
    grey levels).
    watch: a kernels.watch.Watch told of every step (it may change the threads
    between steps), or None.
    """
    n = x.shape[0]
    buf = np.empty((min(batch_size, n), x.shape[1]), dtype=x.dtype)   # reused minibatch
    total = 0.0
    bar = ProgressBar(total=-(-n // batch_size), desc=desc, unit="batch", leave=False,
                      mininterval=0.5, file=sys.stderr, disable=not progress)
    # A diverging run overflows: held back here, it is reported in one line below
    # instead of as NumPy warnings (the model raises NonFiniteError for a bad loss).
    with bar, np.errstate(all="ignore"), watch or contextlib.nullcontext():
        for step, idx in enumerate(iterate_minibatches(n, batch_size, streams["shuffle"])):
            xb = np.take(x, idx, axis=0, out=buf[:len(idx)], mode="clip")         # (N, D)
            if dynamic:
                xb = binarize_dynamic(xb, streams["binarize"])
            eps = streams["eps"].standard_normal((len(idx), model.z_dim), dtype=model.dtype)  # (N, K)
            try:
                loss, _ = model.loss_and_grads(xb, eps, copy=False)
            except NonFiniteError:
                loss = math.nan
            if not math.isfinite(loss):
                raise FloatingPointError(f"−ELBO became {loss} in {desc}, step {step + 1}; "
                                         "training diverged (try a smaller --lr)")
            # The hand-off: backward has just filled model.flat_grads, the one flat
            # vector that every layer's `grads` entries are views into
            # (mlp.bind_flat); the optimizer reads it and updates model.flat_params,
            # which every layer's W and b are views into, in place, in one pass.
            optimizer.step()
            if watch:
                watch.tick()
            total += loss * len(idx)
            if progress:
                bar.set_postfix_str(f"-ELBO {total / (step * batch_size + len(idx)):.2f}",
                                    refresh=False)
                bar.update()
    return total / n


def scratch_steps(config, x):
    """run_steps(n) for the thread policy (kernels/threads.py): n training steps of a
    throwaway model and optimizer built as `config` builds the run's, on x's first
    minibatch; no training stream is drawn from.  Should the throwaway model diverge
    (the same minibatch again and again), it starts over from its first weights."""
    model = build_model(config, x.shape[1], np.random.default_rng(0))
    optimizer, start = build_optimizer(config, model), model.flat_params.copy()
    xb = np.ascontiguousarray(x[:config.batch_size])
    eps = np.zeros((len(xb), config.z_dim), model.dtype)

    def run_steps(n):
        with np.errstate(all="ignore"):
            for _ in range(n):
                try:
                    model.loss_and_grads(xb, eps, copy=False)
                except NonFiniteError:
                    model.flat_params[...] = start
                optimizer.step()
    return run_steps


def _load_data(config, x_train, x_test):
    """(x_train, x_test or None): given arrays, else MNIST; subsets applied.

    The kernels are warmed up first (compiled, or loaded from Numba's cache), so
    that no epoch compiles; while MNIST is read, that happens on a second thread
    (minivae/kernels/precompile.py).
    """
    dtype = np.dtype(config.dtype)
    if x_train is None:
        warm = kernels.warmup_in_background(dtype)
        x_train, _ = load_mnist("train", config.data_dir, dtype=dtype)
        if x_test is None:
            x_test, _ = load_mnist("test", config.data_dir, dtype=dtype)
        warm.join()         # not on a failure or Ctrl-C: the error is reported at once
    kernels.warmup(dtype)   # with MNIST: done by now, unless that thread failed (then it says why)
    for name, x in (("x_train", x_train), ("x_test", x_test)):
        if x is not None and not (isinstance(x, np.ndarray) and x.ndim == 2 and x.dtype == dtype
                                  and len(x) > 0):
            raise ArgumentError(f"{name} must be a non-empty 2-D {dtype} array (the config's "
                                f"dtype), got {getattr(x, 'dtype', type(x).__name__)} "
                                f"{getattr(x, 'shape', '')}")
    for name, x, n in (("subset", x_train, config.subset), ("test_subset", x_test, config.test_subset)):
        if n is not None and x is not None and n > len(x):
            raise ArgumentError(f"{name} is {n}, but only {len(x)} images are there")
    x_train = x_train[:config.subset]
    x_test = None if x_test is None else x_test[:config.test_subset]
    if x_test is not None and x_test.shape[1] != x_train.shape[1]:
        raise ArgumentError(f"x_test has {x_test.shape[1]} columns, x_train {x_train.shape[1]}")
    return x_train, x_test


class Run:
    """One training run's state: config, model, optimizer, streams, history, data."""

    def __init__(self, config, run_dir, model, optimizer, streams, history, epoch,
                 x_train, x_test, last_checkpoint=None, trained_blas=None):
        self.config = dataclasses.replace(config, out_dir=str(run_dir))
        self.run_dir, self.model, self.optimizer = run_dir, model, optimizer
        self.streams, self.history, self.epoch = streams, history, epoch
        self.last_checkpoint = last_checkpoint      # path of the newest good checkpoint
        self.blas_threads = trained_blas            # BLAS threads so far (kernels/threads.py)
        self.watch = None                           # the threads during the run (kernels/watch.py)
        self.saved_epoch = epoch                    # the epoch that checkpoint holds
        b, seed = config.binarize, config.seed
        # threshold: binarize once; dynamic: a fresh draw per batch, in train_epoch
        self.x_train = binarize_threshold(x_train) if b == "threshold" else x_train
        self.eval_sets = {"train": prepare(x_train[:TRAIN_EVAL], b, derived_rng(seed, TRAIN_BIN_KEY))}
        if x_test is not None:
            self.eval_sets["test"] = prepare(x_test, b, derived_rng(seed, TEST_BIN_KEY))

    @classmethod
    def fresh(cls, config, run_dir, x_train=None, x_test=None):
        x_train, x_test = _load_data(config, x_train, x_test)
        streams = streams_from_seed(config.seed)
        model = build_model(config, x_train.shape[1], streams["init"])
        return cls(config, run_dir, model, build_optimizer(config, model), streams, [], 0,
                   x_train, x_test)

    @classmethod
    def resumed(cls, config, run_dir, model, optimizer, meta, x_train=None, x_test=None):
        x_train, x_test = _load_data(config, x_train, x_test)
        if x_train.shape[1] != model.x_dim:
            raise ArgumentError(f"the checkpoint's model takes {model.x_dim} inputs, the data has "
                                f"{x_train.shape[1]}")
        missing = [s for s in STREAMS if s not in meta["rng_states"]]
        if missing:
            raise CheckpointError(f"the checkpoint lacks the state of stream(s) {missing}")
        streams = {s: rng_from_state(meta["rng_states"][s]) for s in STREAMS}
        history = [row for row in meta["history"] if row.get("epoch", 0) <= meta["epoch"]]
        return cls(config, run_dir, model, optimizer, streams, history, meta["epoch"],
                   x_train, x_test, last_checkpoint=meta.get("path"),
                   trained_blas=meta.get("threads", {}).get("blas"))

    # -- one epoch's evaluation, figures, checkpoint ------------------------------
    def _evaluate(self, epoch):
        row = {}
        for i, (part, x) in enumerate(self.eval_sets.items()):
            r = evaluate_elbo(self.model, x, derived_rng(self.config.seed, EVAL_KEY, epoch, i))
            row.update({f"{part}_{k}": v for k, v in r.items()})
        return row

    def _figures(self, epoch):
        from .files.plots import plot_history, save_grid
        model, seed, d = self.model, self.config.seed, self.run_dir
        if model.x_dim == 784:
            x = self.eval_sets.get("test", self.eval_sets["train"])[:50]
            recon = model.reconstruct(x, derived_rng(seed, RECON_KEY, epoch))
            pairs = np.concatenate([np.concatenate([x[i:i + 10], recon[i:i + 10]])
                                    for i in range(0, len(x), 10)])
            save_grid(pairs, d / f"recon_epoch{epoch:03d}.png", rows=-(-len(pairs) // 10),
                      title=f"epoch {epoch}: digits (odd rows) and reconstructions (even rows)")
            samples = model.sample(100, derived_rng(seed, SAMPLES_KEY))   # same z every epoch
            save_grid(samples, d / f"samples_epoch{epoch:03d}.png",
                      title=f"epoch {epoch}: decoded z ~ N(0, I) (Fig. 7)")
        plot_history(self.history, d / "loss_curve.png")

    def _save(self, epoch):
        if not np.isfinite(self.model.flat_params).all():    # never replace a good checkpoint
            raise FloatingPointError(f"the parameters hold inf or NaN after epoch {epoch}; "
                                     "training diverged (try a smaller --lr)")
        path = self.run_dir / CHECKPOINT
        states = {name: rng_state(g) for name, g in self.streams.items()}
        save_checkpoint(path, self.model, self.optimizer, self.config.to_dict(), epoch,
                        states, self.history, threads={"blas": self.blas_threads})
        self.last_checkpoint, self.saved_epoch = path, epoch

    def catch_up(self):
        """Bring what is derived from the checkpoint up to it: the history files, and
        the last epoch's figures.  A run killed after its epoch's commit point (the
        checkpoint, which holds the history) but before these were written left them
        one epoch behind."""
        write_history(self.run_dir, self.history)
        row = self.history[-1] if self.history else None
        if (self.config.images and row and row.get("train_neg_elbo") is not None
                and not (self.run_dir / f"samples_epoch{self.epoch:03d}.png").exists()):
            self._figures(self.epoch)

    def _threads(self):
        """Put the thread policy's choice for this run in force (kernels/threads.py: timed on
        a throwaway copy of the model; a resumed run keeps its BLAS threads), and watch it
        during the run (kernels/watch.py); say which."""
        steps = None if kernels.jit_disabled() else scratch_steps(self.config, self.x_train)
        policy = threads.settle(steps, keep_blas=self.blas_threads)
        self.blas_threads = policy.setting.blas
        self.watch = Watch(policy) if policy.seconds else None
        return threads.describe(policy)

    def _where(self, then="continue"):
        """What is intact, and how to continue."""
        if self.last_checkpoint is None:
            return "no checkpoint was written yet"
        return (f"the last checkpoint, {self.last_checkpoint} (after epoch {self.saved_epoch}), "
                f"is intact; {then} with: python -m minivae train --resume "
                f"{shlex.quote(str(self.last_checkpoint))}")

    # -- all epochs ----------------------------------------------------------------
    def loop(self, progress=True):
        cfg, say = self.config, (print if progress else (lambda *a, **k: None))
        freed = clear_leftovers(self.run_dir)
        if freed:
            say(f"removed {freed / 1e6:.1f} MB of temporary files that a killed run left in "
                f"{self.run_dir}")
        if self.epoch >= cfg.epochs:
            say(f"already trained for {self.epoch} epochs (epochs={cfg.epochs}); nothing to do")
            return
        self.run_dir.mkdir(parents=True, exist_ok=True)        # made by the lock, where there is one
        m = self.model
        sizes = "-".join(map(str, (m.x_dim, *m.hidden, m.z_dim)))
        say(f"run directory {self.run_dir}\nVAE {sizes} ({m.likelihood}, {m.dtype.name}, "
            f"{m.flat_params.size:,} parameters); {len(self.x_train)} training images, "
            f"{len(self.eval_sets.get('test', ()))} test images; epochs {self.epoch + 1}..{cfg.epochs}",
            flush=True)
        say(kernels.describe())
        seconds = kernels.warmup(m.dtype)           # ran in _load_data: this only says how long
        if seconds is not None:
            say(f"the Numba twins for {m.dtype.name}: compiled, or loaded from Numba's disk "
                f"cache, before the first step ({seconds:.1f} s)", flush=True)
        if kernels.jit_disabled():
            print(f"minivae: {kernels.JIT_DISABLED}", file=sys.stderr, flush=True)
        epoch = first = self.epoch + 1
        try:
            for epoch in range(first, cfg.epochs + 1):
                check_room(self.run_dir, checkpoint_bytes(self.model, self.optimizer))
                if epoch == first:
                    say(self._threads(), flush=True)
                t0 = time.perf_counter()
                row = dict.fromkeys(COLUMNS)
                running = train_epoch(self.model, self.optimizer, self.x_train, cfg.batch_size,
                                      self.streams, cfg.binarize == "dynamic",
                                      f"epoch {epoch}/{cfg.epochs}", progress, self.watch)
                row.update(epoch=epoch, train_running_neg_elbo=running)
                t1 = time.perf_counter()
                if self.watch:
                    self.blas_threads = self.watch.setting.blas     # the checkpoint records it
                    for line in self.watch.said():
                        say(line, flush=True)
                if epoch % cfg.eval_every == 0 or epoch == cfg.epochs:
                    try:
                        with np.errstate(all="ignore"):     # as in train_epoch: said below
                            row.update(self._evaluate(epoch))
                    except NonFiniteError:
                        raise FloatingPointError(f"−ELBO is not finite when evaluating after "
                                                 f"epoch {epoch}; training diverged (try a "
                                                 "smaller --lr)") from None
                row.update(seconds=t1 - t0, eval_seconds=time.perf_counter() - t1)
                self.history.append(row)
                self._save(epoch)           # the epoch's one commit point: it holds the history
                write_history(self.run_dir, self.history)
                if cfg.images and row["train_neg_elbo"] is not None:
                    self._figures(epoch)
                self.epoch = epoch
                say(summary_line(row, cfg.epochs), flush=True)
        except KeyboardInterrupt as stop:
            how = "stopped by SIGTERM" if isinstance(stop, Terminated) else "interrupted"
            when = (f"during epoch {epoch}" if self.saved_epoch < epoch
                    else f"after saving epoch {epoch}")
            print(f"\n{how} {when}: {self._where()}", file=sys.stderr)
            raise
        except WriteError as e:
            fix = "raise the file-size limit" if e.errno == errno.EFBIG else "free some space"
            error = WriteError(f"{e}; {self._where(f'{fix}, then continue')}")
            error.errno = e.errno
            raise error from None


class TrainResult(NamedTuple):
    model: VAE
    history: list           # one dict per epoch (minivae/files/history.py has the keys)
    run_dir: Path


def train(config: TrainConfig | None = None, resume=None, progress=True,
          x_train=None, x_test=None) -> TrainResult:
    """Train (or continue training) a VAE; return (model, history, run_dir).

    config: a TrainConfig (None with `resume`: the checkpoint's own).
    resume: a checkpoint written by an earlier run (its last.npz); training
      continues from its end exactly as if never stopped.  Only the fields in
      config.RESUMABLE may differ from the checkpoint's configuration.  Without
      config.out_dir the run continues in the checkpoint's directory; with it,
      that directory must hold no other run (files/run_folder.py).
    progress: show a tqdm bar on stderr and print one line per epoch.
    x_train, x_test: (N, D) arrays in [0, 1] of config.dtype to use instead of
      MNIST (x_test=None with x_train given: no test set).
    Writes into the run directory: last.npz, history.csv/.json, and with
    config.images recon_epochNNN.png, samples_epochNNN.png, loss_curve.png,
    holding its lock throughout (files/run_lock.py: RunInUseError when another
    process holds it).
    """
    if resume is None and config is None:
        raise ArgumentError("pass a TrainConfig, or resume= a checkpoint")
    if config is not None and config.out_dir is not None:
        run_dir = Path(config.out_dir)
    else:
        run_dir = default_run_dir(config) if resume is None else Path(resume).parent
    writable_dir("run directory", run_dir)
    with RunLock(run_dir):                  # before anything is written there
        if resume is None:
            check_new_run(run_dir)
            run = Run.fresh(config, run_dir, x_train, x_test)
        else:
            run = _resume(config, Path(resume), run_dir, x_train, x_test)
        run.loop(progress)
    return TrainResult(run.model, run.history, run.run_dir)


def _resume(config, resume, run_dir, x_train, x_test):
    """The Run continuing checkpoint `resume` in run_dir (see train)."""
    continuing = check_continuing(run_dir, resume)
    model, optimizer, meta = load_checkpoint(resume)
    saved = TrainConfig.from_dict(meta["config"])
    if config is None:
        config = dataclasses.replace(saved, out_dir=None)
    check_resume(saved, config, resume)
    run = Run.resumed(config, run_dir, model, optimizer, {**meta, "path": resume}, x_train, x_test)
    if continuing:
        run.catch_up()
    return run
