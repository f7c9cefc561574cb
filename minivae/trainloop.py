"""The epoch loop behind `train()`: minibatch steps, evaluation, figures, checkpoints.

Per step (Fig. 4, right):  x ← a shuffled minibatch (binarized if asked),
eps ~ N(0, I),  loss, grads = model.loss_and_grads(x, eps),  optimizer.step().
Per epoch: evaluate −ELBO on the test set and on a fixed training subset
(one ε per image, batches of 1000), write the figures, history.csv/.json,
and last.npz (atomically; an interrupted run keeps its last good one).
"""
import dataclasses
import math
import sys
import time

import numpy as np
from tqdm import tqdm

from .checkpoint import rng_from_state, rng_state, save_checkpoint
from .data import binarize_dynamic, binarize_threshold, iterate_minibatches, load_mnist
from .errors import CheckpointError
from .evaluate import evaluate_elbo, prepare
from .history import COLUMNS, TRAIN_EVAL, summary_line, write_history
from .train import STREAMS, build_model, build_optimizer, derived_rng, streams_from_seed

# keys of derived_rng(seed, KEY, ...): evaluation ε, the fixed binarizations, figures
EVAL_KEY, TEST_BIN_KEY, TRAIN_BIN_KEY, RECON_KEY, SAMPLES_KEY = range(5)


def _load_data(config, x_train, x_test):
    """(x_train, x_test or None): given arrays, else MNIST; subsets applied."""
    dtype = np.dtype(config.dtype)
    if x_train is None:
        x_train, _ = load_mnist("train", config.data_dir, dtype=dtype)
        if x_test is None:
            x_test, _ = load_mnist("test", config.data_dir, dtype=dtype)
    for name, x in (("x_train", x_train), ("x_test", x_test)):
        if x is not None and not (isinstance(x, np.ndarray) and x.ndim == 2 and x.dtype == dtype
                                  and len(x) > 0):
            raise ValueError(f"{name} must be a non-empty 2-D {dtype} array (the config's "
                             f"dtype), got {getattr(x, 'dtype', type(x).__name__)} "
                             f"{getattr(x, 'shape', '')}")
    for name, x, n in (("subset", x_train, config.subset), ("test_subset", x_test, config.test_subset)):
        if n is not None and x is not None and n > len(x):
            raise ValueError(f"{name} is {n}, but only {len(x)} images are there")
    x_train = x_train[:config.subset]
    x_test = None if x_test is None else x_test[:config.test_subset]
    if x_test is not None and x_test.shape[1] != x_train.shape[1]:
        raise ValueError(f"x_test has {x_test.shape[1]} columns, x_train {x_train.shape[1]}")
    return x_train, x_test


class Run:
    """One training run's state: config, model, optimizer, streams, history, data."""

    def __init__(self, config, run_dir, model, optimizer, streams, history, epoch,
                 x_train, x_test, last_checkpoint=None):
        self.config = dataclasses.replace(config, out_dir=str(run_dir))
        self.run_dir, self.model, self.optimizer = run_dir, model, optimizer
        self.streams, self.history, self.epoch = streams, history, epoch
        self.last_checkpoint = last_checkpoint      # path of the newest good checkpoint
        b, seed = config.binarize, config.seed
        # threshold: binarize once; dynamic: a fresh draw per batch, in _train_epoch
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
            raise ValueError(f"the checkpoint's model takes {model.x_dim} inputs, the data has "
                             f"{x_train.shape[1]}")
        missing = [s for s in STREAMS if s not in meta["rng_states"]]
        if missing:
            raise CheckpointError(f"the checkpoint lacks the state of stream(s) {missing}")
        streams = {s: rng_from_state(meta["rng_states"][s]) for s in STREAMS}
        history = [row for row in meta["history"] if row.get("epoch", 0) <= meta["epoch"]]
        return cls(config, run_dir, model, optimizer, streams, history, meta["epoch"],
                   x_train, x_test, last_checkpoint=meta.get("path"))

    # -- one epoch -------------------------------------------------------------
    def _train_epoch(self, epoch, progress):
        """One pass over the shuffled training set; returns the mean minibatch −ELBO."""
        model, opt, s = self.model, self.optimizer, self.streams
        x, bs, K = self.x_train, self.config.batch_size, model.z_dim
        n = x.shape[0]
        buf = np.empty((min(bs, n), x.shape[1]), dtype=x.dtype)   # reused minibatch
        dynamic = self.config.binarize == "dynamic"
        total = 0.0
        bar = tqdm(total=-(-n // bs), desc=f"epoch {epoch}/{self.config.epochs}", unit="batch",
                   leave=False, mininterval=0.5, file=sys.stderr, disable=not progress)
        with bar:
            for step, idx in enumerate(iterate_minibatches(n, bs, s["shuffle"])):
                xb = np.take(x, idx, axis=0, out=buf[:len(idx)], mode="clip")   # (N, D)
                if dynamic:                              # §4.2: redrawn every time
                    xb = binarize_dynamic(xb, s["binarize"])
                eps = s["eps"].standard_normal((len(idx), K), dtype=model.dtype)  # (N, K)
                loss, _ = model.loss_and_grads(xb, eps)
                if not math.isfinite(loss):
                    raise FloatingPointError(
                        f"−ELBO became {loss} in epoch {epoch}, step {step + 1}; training "
                        "diverged (try a smaller --lr)")
                opt.step()
                total += loss * len(idx)
                if progress:
                    bar.set_postfix_str(f"-ELBO {total / (step * bs + len(idx)):.2f}", refresh=False)
                    bar.update()
        return total / n

    def _evaluate(self, epoch):
        row = {}
        for i, (part, x) in enumerate(self.eval_sets.items()):
            r = evaluate_elbo(self.model, x, derived_rng(self.config.seed, EVAL_KEY, epoch, i))
            row.update({f"{part}_{k}": v for k, v in r.items()})
        return row

    def _figures(self, epoch):
        from .plots import plot_history, save_grid
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
        path = self.run_dir / "last.npz"
        states = {name: rng_state(g) for name, g in self.streams.items()}
        save_checkpoint(path, self.model, self.optimizer, self.config.to_dict(), epoch,
                        states, self.history)
        self.last_checkpoint = path

    # -- all epochs ----------------------------------------------------------------
    def loop(self, progress=True):
        cfg, say = self.config, (print if progress else (lambda *a, **k: None))
        if self.epoch >= cfg.epochs:
            say(f"already trained for {self.epoch} epochs (epochs={cfg.epochs}); nothing to do")
            return
        self.run_dir.mkdir(parents=True, exist_ok=True)
        m = self.model
        sizes = "-".join(map(str, (m.x_dim, *m.hidden, m.z_dim)))
        say(f"run directory {self.run_dir}\nVAE {sizes} ({m.likelihood}, {m.dtype.name}, "
            f"{m.flat_params.size:,} parameters); {len(self.x_train)} training images, "
            f"{len(self.eval_sets.get('test', ()))} test images; epochs {self.epoch + 1}..{cfg.epochs}",
            flush=True)
        try:
            for epoch in range(self.epoch + 1, cfg.epochs + 1):
                t0 = time.perf_counter()
                row = dict.fromkeys(COLUMNS)
                row.update(epoch=epoch, train_running_neg_elbo=self._train_epoch(epoch, progress))
                t1 = time.perf_counter()
                if epoch % cfg.eval_every == 0 or epoch == cfg.epochs:
                    row.update(self._evaluate(epoch))
                row.update(seconds=t1 - t0, eval_seconds=time.perf_counter() - t1)
                self.history.append(row)
                if cfg.images and row["train_neg_elbo"] is not None:
                    self._figures(epoch)
                self._save(epoch)
                write_history(self.run_dir, self.history)
                self.epoch = epoch
                say(summary_line(row, cfg.epochs), flush=True)
        except KeyboardInterrupt:
            where = (f"the last checkpoint is {self.last_checkpoint} (after epoch {self.epoch}); "
                     f"continue with: python -m minivae train --resume {self.last_checkpoint}"
                     if self.last_checkpoint else "no checkpoint was written yet")
            print(f"\ninterrupted during epoch {self.epoch + 1}: {where}", file=sys.stderr)
            raise
