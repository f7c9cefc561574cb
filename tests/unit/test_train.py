"""Training: reproducibility, exact resume, interrupts, the history's columns, a real-MNIST smoke run.

The configuration (TrainConfig, presets, streams): test_config.py; the run folder: test_run_folder.py.
"""
import csv
import dataclasses
import json

import numpy as np
import pytest

from minivae import model as model_module
from minivae import train as train_module
from minivae.kernels import threads as kernel_threads
from minivae.files.checkpoint import load_checkpoint, read_meta
from minivae.evaluate import evaluate_elbo
from minivae.files.history import COLUMNS
from minivae.config import RESUMABLE, TrainConfig, build_model
from minivae.train import train
from train_tools import EventsWatch, small64, tiny  # noqa: F401  (small64 is a fixture)


def _same_state(a, b):
    """Parameters and optimizer state bit for bit."""
    (ma, oa, _), (mb, ob, _) = a, b
    assert np.array_equal(ma.flat_params, mb.flat_params)
    for k, v in oa.state_dict().items():
        assert np.array_equal(v, ob.state_dict()[k]), k


# --- exact resume ---------------------------------------------------------------
@pytest.mark.parametrize("opt, dtype", [("adam", "float64"), ("sgd", "float64"), ("adam", "float32")])
def test_resume_is_bit_identical_to_an_uninterrupted_run(tmp_path, small64, opt, dtype,
                                                         monkeypatch):
    """Also in float32, training's default: the checkpoint keeps every array in the model's
    dtype, so the resumed run continues from the very same numbers.  The two fresh runs
    compared here have their BLAS threads fixed: left to the thread policy, each would
    time its own choice, and two choices can differ in the last bits."""
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    x_train, x_test = (x.astype(dtype) for x in small64)
    kw = dict(optimizer=opt, lr=1e-3 if opt == "adam" else 1e-2, dtype=dtype)
    straight = train(tiny(tmp_path / "a", **kw), progress=False, x_train=x_train, x_test=x_test)
    train(tiny(tmp_path / "b", epochs=1, **kw), progress=False, x_train=x_train, x_test=x_test)
    assert read_meta(tmp_path / "b" / "last.npz")["epoch"] == 1
    resumed = train(tiny(tmp_path / "b", **kw), resume=tmp_path / "b" / "last.npz",
                    progress=False, x_train=x_train, x_test=x_test)
    _same_state(load_checkpoint(tmp_path / "a" / "last.npz"), load_checkpoint(tmp_path / "b" / "last.npz"))
    assert np.array_equal(straight.model.flat_params, resumed.model.flat_params)
    drop = ("seconds", "eval_seconds")
    strip = [{k: v for k, v in row.items() if k not in drop} for row in straight.history]
    assert strip == [{k: v for k, v in row.items() if k not in drop} for row in resumed.history]
    s_meta, r_meta = read_meta(tmp_path / "a" / "last.npz"), read_meta(tmp_path / "b" / "last.npz")
    assert s_meta["rng_states"] == r_meta["rng_states"]
    # and the run really moved: a different seed gives different weights
    other = train(tiny(tmp_path / "c", seed=1, **kw), progress=False, x_train=x_train, x_test=x_test)
    assert not np.array_equal(other.model.flat_params, straight.model.flat_params)


def test_interrupt_keeps_the_last_checkpoint_and_resume_finishes_exactly(tmp_path, small64, monkeypatch, capsys):
    x_train, x_test = small64
    straight = train(tiny(tmp_path / "a", epochs=3), progress=False, x_train=x_train, x_test=x_test)
    calls = {"n": 0}
    real = model_module.VAE.loss_and_grads
    monkeypatch.setattr(train_module, "scratch_steps", lambda config, x: None)   # its steps count

    def flaky(self, x, eps, copy=True):      # Ctrl-C in the middle of epoch 2 (5 steps/epoch)
        calls["n"] += 1
        if calls["n"] == 7:
            raise KeyboardInterrupt
        return real(self, x, eps, copy)
    monkeypatch.setattr(model_module.VAE, "loss_and_grads", flaky)
    with pytest.raises(KeyboardInterrupt):
        train(tiny(tmp_path / "b", epochs=3), progress=False, x_train=x_train, x_test=x_test)
    monkeypatch.undo()
    ckpt = tmp_path / "b" / "last.npz"
    err = capsys.readouterr().err
    assert "interrupted during epoch 2" in err and f"--resume {ckpt}" in err
    assert read_meta(ckpt)["epoch"] == 1
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == ["history.csv", "history.json", "last.npz"]
    resumed = train(None, resume=ckpt, progress=False, x_train=x_train, x_test=x_test)
    assert resumed.run_dir == tmp_path / "b"
    assert np.array_equal(straight.model.flat_params, resumed.model.flat_params)


def test_resume_refuses_changed_settings_and_fresh_runs_refuse_old_dirs(tmp_path, small64):
    x_train, x_test = small64
    train(tiny(tmp_path / "a", epochs=1), progress=False, x_train=x_train, x_test=x_test)
    ckpt = tmp_path / "a" / "last.npz"
    with pytest.raises(ValueError, match=r"lr=0.01 \(checkpoint: 0.001\)"):
        train(tiny(tmp_path / "a", lr=0.01), resume=ckpt, progress=False, x_train=x_train, x_test=x_test)
    with pytest.raises(ValueError, match="already holds a run"):
        train(tiny(tmp_path / "a"), progress=False, x_train=x_train, x_test=x_test)
    assert "epochs" in RESUMABLE and "lr" not in RESUMABLE
    # a finished run asked for no more epochs: returns at once, untouched
    before = ckpt.read_bytes()
    r = train(None, resume=ckpt, progress=False, x_train=x_train, x_test=x_test)
    assert len(r.history) == 1 and ckpt.read_bytes() == before


def test_divergence_stops_with_a_clear_error(tmp_path, small64, monkeypatch):
    x_train, x_test = small64
    monkeypatch.setattr(model_module.VAE, "loss_and_grads", lambda self, x, eps, copy=True: (float("nan"), None))
    with pytest.raises(FloatingPointError, match="diverged"):
        train(tiny(tmp_path / "a"), progress=False, x_train=x_train, x_test=x_test)


def test_an_overflow_in_evaluation_is_reported_as_divergence_without_numpy_s_warning(
        tmp_path, small64, monkeypatch):
    """The training loop is the maths' caller and chooses NumPy's error settings: an
    overflow while it evaluates is reported once, as a diverged run, not also as a
    RuntimeWarning (the maths leaves the caller's settings as they are)."""
    import warnings
    x_train, x_test = small64

    def overflowing_elbo(self, x, rng, n_samples=1):
        np.exp(np.full(len(x), 1000.0))                 # warns under NumPy's default settings
        raise model_module.NonFiniteError("the result for these x is not finite")
    monkeypatch.setattr(model_module.VAE, "elbo", overflowing_elbo)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(FloatingPointError, match="not finite when evaluating"):
            train(tiny(tmp_path / "a", epochs=1), progress=False, x_train=x_train, x_test=x_test)
    assert caught == []


# --- the history's columns ---------------------------------------------------------------
def test_the_running_neg_elbo_weights_each_minibatch_by_its_size(tmp_path, small64, monkeypatch):
    """train_running_neg_elbo is the mean −ELBO per training image over the epoch's
    minibatches, ∑ lossᵢ·lenᵢ / n: the short last batch (300 = 4·64 + 44) counts for 44."""
    x_train, x_test = small64
    seen = []                                       # (loss, batch length) of every step
    real = model_module.VAE.loss_and_grads

    def recording(self, x, eps, copy=True):
        loss, grads = real(self, x, eps, copy)
        seen.append((loss, len(x)))
        return loss, grads
    monkeypatch.setattr(model_module.VAE, "loss_and_grads", recording)
    monkeypatch.setattr(train_module, "scratch_steps", lambda config, x: None)   # its steps count
    result = train(tiny(tmp_path / "r"), progress=False, x_train=x_train, x_test=x_test)
    assert [n for _, n in seen] == [64, 64, 64, 64, 44] * 2
    for epoch, row in enumerate(result.history):
        steps = seen[5 * epoch:5 * epoch + 5]
        expected = sum(loss * n for loss, n in steps) / len(x_train)
        assert row["train_running_neg_elbo"] == pytest.approx(expected, rel=1e-12), epoch


def test_eval_every_evaluates_every_nth_epoch_and_the_last(tmp_path, small64):
    """--eval-every 2 over 3 epochs: epochs 2 and 3 are evaluated ("and the last", as its
    help says), epoch 1 is not.  The last row's KL is the final model's: Eq. 7 in closed
    form over the test images (grey levels here, so the test set is the data itself)."""
    x_train, x_test = small64
    result = train(tiny(tmp_path / "r", epochs=3, eval_every=2, binarize="none"), progress=False,
                   x_train=x_train, x_test=x_test)
    evaluated = [row["epoch"] for row in result.history if row["test_neg_elbo"] is not None]
    assert [row["epoch"] for row in result.history] == [1, 2, 3] and evaluated == [2, 3]
    assert result.history[0]["train_neg_elbo"] is None
    mu, log_var = result.model.encode(x_test)
    kl = 0.5 * (np.exp(log_var) + mu ** 2 - 1 - log_var).sum(axis=1).mean()
    assert result.history[-1]["test_kl"] == pytest.approx(kl, rel=1e-12)


# --- a real run -------------------------------------------------------------------
def test_one_epoch_on_mnist_learns_more_than_the_mean_image(tmp_path, mnist_small):
    x_train, _, x_test, _ = mnist_small                  # 2000 / 500 digits, float32
    config = TrainConfig.from_preset("pytorch-example", epochs=1, batch_size=16,
                                     out_dir=str(tmp_path / "run"))
    before = evaluate_elbo(build_model(config), x_test, np.random.default_rng(0))["neg_elbo"]
    result = train(config, progress=False, x_train=x_train, x_test=x_test)
    row = result.history[0]
    # The best model that ignores z: independent Bernoulli pixels at the training mean.
    p = np.clip(x_train.astype(np.float64).mean(0), 1e-6, 1 - 1e-6)
    xt = x_test.astype(np.float64)
    mean_image = -(xt * np.log(p) + (1 - xt) * np.log1p(-p)).sum(1).mean()
    assert row["test_neg_elbo"] < mean_image < before        # ~183 < 200 < 548 nats
    assert row["test_neg_elbo"] == pytest.approx(row["test_recon_nll"] + row["test_kl"], rel=1e-12)
    assert row["test_kl"] > 1                                  # z carries information
    assert set(row) == set(COLUMNS)
    d = result.run_dir
    for name in ("last.npz", "history.csv", "history.json", "loss_curve.png",
                 "recon_epoch001.png", "samples_epoch001.png"):
        assert (d / name).stat().st_size > 0, name
    assert json.loads((d / "history.json").read_text()) == result.history
    with open(d / "history.csv") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == list(COLUMNS)
    assert float(rows[0]["test_neg_elbo"]) == pytest.approx(row["test_neg_elbo"], rel=1e-12)
    config_saved = read_meta(d / "last.npz")["config"]
    assert TrainConfig.from_dict(config_saved) == dataclasses.replace(config, out_dir=str(d))


# --- the thread policy (kernels/threads.py) -------------------------------------------
@pytest.mark.skipif(kernel_threads.cores.usable() < 2 or kernel_threads.openblas.find() is None,
                    reason="needs OpenBLAS and two cores")
def test_a_run_keeps_the_blas_threads_it_was_trained_with(tmp_path, small64, monkeypatch, capsys):
    """The checkpoint records the BLAS threads the policy chose; resumed, the run keeps
    them (they change a product's last bits) even where the policy would now choose
    otherwise, and says so in its header."""
    x_train, x_test = small64
    for name in ("OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "OMP_NUM_THREADS",
                 "OPENBLAS_THREAD_TIMEOUT", "NUMBA_NUM_THREADS"):
        monkeypatch.delenv(name, raising=False)
    timed, alone = [], [True]

    def measure(options, run_steps):         # seconds a step: more threads slower, or faster
        timed.append(options)
        return {s: 1.0 if s.blas == 1 else 2.0 if alone[0] else 0.5 for s in options}
    monkeypatch.setattr(kernel_threads, "measure", measure)
    train(tiny(tmp_path / "a", epochs=1), x_train=x_train, x_test=x_test)
    assert read_meta(tmp_path / "a" / "last.npz")["threads"] == {"blas": 1}
    assert "threads: matrix products on 1 BLAS thread" in capsys.readouterr().out
    alone[0] = False                           # now 2 threads would win ...
    train(tiny(tmp_path / "a", epochs=2), resume=tmp_path / "a" / "last.npz", x_train=x_train,
          x_test=x_test)
    out = capsys.readouterr().out
    assert "threads: matrix products on 1 BLAS thread" in out          # ... but it keeps 1
    assert "as the run was trained, so that it continues bit for bit" in out
    assert len(timed) == 1                     # one thread kept: nothing left to time
    assert read_meta(tmp_path / "a" / "last.npz")["threads"] == {"blas": 1}
    train(tiny(tmp_path / "b", epochs=1), x_train=x_train, x_test=x_test)    # a fresh run
    assert read_meta(tmp_path / "b" / "last.npz")["threads"]["blas"] > 1


def test_the_watch_sees_every_step_and_its_change_is_said_and_kept(tmp_path, small64,
                                                                   monkeypatch, capsys):
    """train() hands every step to the Watch (kernels/watch.py), starts a stretch at each
    epoch and ends it after the epoch's last step (before the evaluation), says the
    changes the watch made after the epoch, and the checkpoint records the BLAS threads
    in force then.  The watch is a stand-in that moves to one thread after its third
    step."""
    x_train, x_test = small64
    for name in ("OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "OMP_NUM_THREADS",
                 "OPENBLAS_THREAD_TIMEOUT", "NUMBA_NUM_THREADS"):
        monkeypatch.delenv(name, raising=False)
    two, one = kernel_threads.Setting(2, 16, 2), kernel_threads.Setting(1, None, 2)
    monkeypatch.setattr(kernel_threads, "candidates", lambda *a: [one, two])
    monkeypatch.setattr(kernel_threads, "measure", lambda options, run: {one: 2.0, two: 1.0})
    monkeypatch.setattr(kernel_threads, "apply", lambda s: None)
    events = []

    class Watch(EventsWatch):
        def __init__(self, policy):
            super().__init__(events)
            self.setting, self.lines = policy.setting, []
            assert policy.seconds == {one: 2.0, two: 1.0}

        def tick(self):
            super().tick()
            if events.count("tick") == 3:
                self.setting, self.lines = one, ["threads: BLAS 2 napping -> 1 thread (stand-in)"]

        def said(self):
            lines, self.lines = self.lines, []
            return lines
    monkeypatch.setattr(train_module, "Watch", Watch)
    train(tiny(tmp_path / "a", epochs=2), x_train=x_train, x_test=x_test)
    steps = -(-len(x_train) // 64)
    assert events == (["begin"] + ["tick"] * steps + ["end"]) * 2
    out = capsys.readouterr().out
    assert "threads: matrix products on 2 BLAS threads" in out
    assert out.count("threads: BLAS 2 napping -> 1 thread (stand-in)") == 1
    assert read_meta(tmp_path / "a" / "last.npz")["threads"] == {"blas": 1}


def test_a_checkpoint_from_before_the_thread_policy_resumes(tmp_path, small64):
    x_train, x_test = small64
    train(tiny(tmp_path / "a", epochs=1), progress=False, x_train=x_train, x_test=x_test)
    ckpt = tmp_path / "a" / "last.npz"
    with np.load(ckpt, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files if k != "threads"}
    np.savez(ckpt, **arrays)
    assert "threads" not in read_meta(ckpt)
    r = train(tiny(tmp_path / "a", epochs=2), resume=ckpt, progress=False, x_train=x_train,
              x_test=x_test)
    assert len(r.history) == 2 and "threads" in read_meta(ckpt)
