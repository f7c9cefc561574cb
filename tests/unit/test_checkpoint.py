"""Checkpoints: exact round trip, atomic writes, and a clear error for every bad file."""
import json
import os
from pathlib import Path

import numpy as np
import pytest

from minivae.files import atomic
from minivae.files.checkpoint import load_checkpoint, read_meta, rng_from_state, rng_state, save_checkpoint
from minivae.errors import CheckpointError
from minivae.mlp import weight_mask
from minivae.model import VAE
from minivae.optim import SGD, Adam


def _trained(opt_cls=Adam, steps=3, dtype=np.float64, **opt_kw):
    """A tiny VAE after a few optimizer steps (so m, v, velocity are non-zero)."""
    model = VAE(x_dim=12, hidden=(8,), z_dim=3, dtype=dtype, seed=1)
    opt = opt_cls(model.flat_params, model.flat_grads, lr=1e-2, weight_decay=1e-3, **opt_kw)
    rng = np.random.default_rng(2)
    for _ in range(steps):
        model.loss_and_grads(rng.random((5, 12), dtype=dtype), rng.standard_normal((5, 3), dtype=dtype))
        opt.step()
    return model, opt


META = dict(config={"lr": 0.01, "hidden": [8], "note": "ü"}, epoch=4,
            history=[{"epoch": 1, "test_neg_elbo": 1.5, "train_kl": None}])


def _save(path, model, opt, **kw):
    streams = {"eps": np.random.default_rng(7)}
    streams["eps"].standard_normal(11)                  # move it off its start
    args = {**META, "rng_states": {k: rng_state(g) for k, g in streams.items()}, **kw}
    return save_checkpoint(path, model, opt, args["config"], args["epoch"],
                           args["rng_states"], args["history"])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("opt_cls", [Adam, SGD])
def test_round_trip_is_exact(tmp_path, opt_cls, dtype):
    """Every array comes back bit for bit, in the model's dtype: float32, training's default,
    is stored as float32 (not widened to float64, which the loader would refuse)."""
    model, opt = _trained(opt_cls, dtype=dtype)
    path = _save(tmp_path / "last.npz", model, opt)
    with np.load(path, allow_pickle=False) as z:
        stored = {k: z[k].dtype for k in z.files if k.startswith(("param/", "optim/"))}
    assert {k for k, d in stored.items() if d != dtype} == {"optim/t"}   # the step count
    model2, opt2, meta = load_checkpoint(path)
    assert model2.config() == model.config() and model2.flat_params.dtype == dtype
    assert all(np.array_equal(model.params[k], model2.params[k]) for k in model.params)
    assert type(opt2) is opt_cls and opt2.t == opt.t == 3
    for k, v in opt.state_dict().items():
        assert np.array_equal(v, opt2.state_dict()[k])
    assert (meta["config"], meta["epoch"], meta["history"]) == (META["config"], 4, META["history"])
    # the loaded optimizer drives the loaded model: one more identical step on both
    rng = np.random.default_rng(3)
    x, eps = rng.random((5, 12), dtype=dtype), rng.standard_normal((5, 3), dtype=dtype)
    for m, o in ((model, opt), (model2, opt2)):
        m.loss_and_grads(x, eps)
        o.step()
    assert np.array_equal(model.flat_params, model2.flat_params)


def test_random_stream_state_round_trip(tmp_path):
    model, opt = _trained()
    g = np.random.default_rng(7)
    g.standard_normal(11)
    _save(tmp_path / "c.npz", model, opt)
    restored = rng_from_state(read_meta(tmp_path / "c.npz")["rng_states"]["eps"])
    assert np.array_equal(restored.standard_normal(5), g.standard_normal(5))


def _rewrite(src, dst, drop=(), **replace):
    """Copy a checkpoint's arrays into a new npz, dropping or replacing entries."""
    with np.load(src, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files if k not in drop}
    arrays.update(replace)
    np.savez(dst, **arrays)
    return dst


@pytest.fixture
def good(tmp_path):
    model, opt = _trained()
    return _save(tmp_path / "good.npz", model, opt)


def _bad_files(good, d):
    """(name, path, words the error must contain) for every kind of bad file."""
    data = good.read_bytes()
    (d / "random.npz").write_bytes(np.random.default_rng(0).bytes(5000))
    (d / "truncated.npz").write_bytes(data[: len(data) // 2])
    flipped = bytearray(data)
    i = data.index(b"param/decoder.0.W") + 200                # inside that member's data
    flipped[i] ^= 0xFF
    (d / "flipped.npz").write_bytes(bytes(flipped))
    np.savez(d / "foreign.npz", weights=np.ones(3))
    np.save(d / "array.npy", np.ones(3))
    (d / "empty.npz").write_bytes(b"")
    (d / "history.csv").write_text("epoch,train_loss\n1,120.5\n")
    model_cfg = json.loads(str(np.load(good)["model"]))
    return [
        ("missing", d / "nope.npz", "no such"),
        ("random bytes", d / "random.npz", "does not start as a .npz (zip) archive does"),
        ("a .npy file", d / "array.npy", "holds one NumPy array (.npy)"),
        ("empty", d / "empty.npz", "the file is empty"),
        ("a CSV file", d / "history.csv", "does not start as a .npz (zip) archive does"),
        ("truncated", d / "truncated.npz", "not a readable"),
        ("flipped byte", d / "flipped.npz", "damaged"),
        ("foreign npz", d / "foreign.npz", "lacks 'format'"),
        ("lacks a parameter", _rewrite(good, d / "noparam.npz", drop=["param/mu.W"]), "lacks 'param/mu.W'"),
        ("lacks optimizer state", _rewrite(good, d / "nom.npz", drop=["optim/m"]), "lacks 'optim/m'"),
        ("lacks history", _rewrite(good, d / "nohist.npz", drop=["history"]), "lacks 'history'"),
        ("wrong version", _rewrite(good, d / "v2.npz", format_version=np.int64(2)), "version 2"),
        ("wrong format", _rewrite(good, d / "fmt.npz", format=np.array("other")), "not a minivae"),
        ("bad JSON", _rewrite(good, d / "json.npz", config=np.array("{oops")), "not valid JSON"),
        ("shapes vs config", _rewrite(good, d / "shape.npz",
                                      model=np.array(json.dumps({**model_cfg, "z_dim": 4}))), "shape"),
        ("dtype vs config", _rewrite(good, d / "dtype.npz",
                                     model=np.array(json.dumps({**model_cfg, "dtype": "float32"}))),
         "dtype float64"),
        ("pickled object", _rewrite(good, d / "obj.npz", epoch=np.array([{"a": 1}], dtype=object)),
         "damaged"),
        ("NaN parameter", _rewrite(good, d / "nan.npz", **{"param/mu.b": np.full(3, np.nan)}), "NaN"),
        ("bad stream state", _rewrite(good, d / "rng.npz", rng_states=np.array('{"eps": {"x": 1}}')),
         "random-stream"),
    ]


def test_every_bad_file_raises_a_clear_checkpoint_error(good, tmp_path):
    for name, path, words in _bad_files(good, tmp_path):
        with pytest.raises(CheckpointError) as info:
            load_checkpoint(path)
        assert words in str(info.value), (name, str(info.value))
        assert str(path) in str(info.value) or name == "bad stream state", name


def test_good_file_passes_the_same_loader(good):
    load_checkpoint(good)       # the bad-file test above is not just rejecting everything


@pytest.mark.parametrize("stop", [OSError("disk full"), KeyboardInterrupt()])
def test_interrupted_write_keeps_the_previous_checkpoint(tmp_path, monkeypatch, stop):
    model, opt = _trained(steps=1)
    path = _save(tmp_path / "last.npz", model, opt, epoch=1)
    before = path.read_bytes()
    model2, opt2 = _trained(steps=2)

    def fail(fd):
        raise stop
    monkeypatch.setattr(atomic.os, "fsync", fail)
    with pytest.raises(type(stop)):
        _save(path, model2, opt2, epoch=2)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.npz"]     # no temp file left
    assert load_checkpoint(path)[2]["epoch"] == 1


def test_write_replaces_atomically_and_leaves_no_temp_files(tmp_path):
    model, opt = _trained()
    _save(tmp_path / "last.npz", model, opt, epoch=1)
    _save(tmp_path / "last.npz", model, opt, epoch=2)
    assert [p.name for p in tmp_path.iterdir()] == ["last.npz"]
    assert read_meta(tmp_path / "last.npz")["epoch"] == 2
    with np.load(tmp_path / "last.npz", allow_pickle=False) as z:     # a plain npz, no pickles
        assert {"format", "config", "param/mu.W", "optim/m"} <= set(z.files)
    assert not any(Path(p).name.endswith(".part") for p in os.listdir(tmp_path))


@pytest.mark.parametrize("opt_cls", [Adam, SGD])
@pytest.mark.parametrize("flush", [True, False])
def test_the_flush_setting_survives_a_checkpoint(tmp_path, opt_cls, flush):
    model, opt = _trained(opt_cls, flush_subnormal=flush)
    _, loaded, _ = load_checkpoint(_save(tmp_path / "last.npz", model, opt))
    assert loaded.flush_subnormal is flush and loaded.flush_below == opt.flush_below


def _older(path, key):
    """A copy of checkpoint `path` as written before its optimizer's spec held `key`."""
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    spec = json.loads(str(arrays["optimizer"]))
    del spec[key]
    arrays["optimizer"] = np.array(json.dumps(spec))
    np.savez(path.with_name("old.npz"), **arrays)
    return path.with_name("old.npz")


def test_a_checkpoint_from_before_the_flush_loads_with_it_on(tmp_path):
    model, opt = _trained()
    old = _older(_save(tmp_path / "last.npz", model, opt), "flush_subnormal")
    assert load_checkpoint(old)[1].flush_subnormal is True


@pytest.mark.parametrize("opt_cls", [Adam, SGD])
def test_where_weight_decay_applies_survives_a_checkpoint(tmp_path, opt_cls):
    """A model's weights only (mlp.weight_mask, as `train` builds its optimizer) or every
    parameter (no mask): written down as "weights" or "all", read back as the mask."""
    for decayed, word in ((True, "weights"), (False, "all")):
        model, opt = _trained(opt_cls, decayed=None)
        if decayed:
            opt.decayed = weight_mask(model.params)
        path = _save(tmp_path / f"{word}.npz", model, opt)
        assert read_meta(path)["optimizer"]["decayed"] == word
        loaded = load_checkpoint(path)[1]
        assert np.array_equal(loaded.decayed, opt.decayed)
    opt.decayed = np.zeros_like(opt.decayed)                  # a mask of the user's own
    with pytest.raises(ValueError, match="cannot checkpoint an optimizer whose weight decay"):
        _save(tmp_path / "other.npz", model, opt)


def test_a_checkpoint_from_before_the_decay_mask_decays_every_parameter(tmp_path):
    """Runs saved before weight decay spared the biases go on as they were trained."""
    model, opt = _trained(decayed=None)
    opt.decayed = weight_mask(model.params)
    old = _older(_save(tmp_path / "last.npz", model, opt), "decayed")
    assert load_checkpoint(old)[1].decayed.all()
