"""Fuzzing checkpoints (issue 13): damaged files fail with CheckpointError, and only so.

Starting from a real checkpoint of a small trained VAE, hypothesis makes
damaged copies: flipped bytes, truncations, members swapped in from another
model's checkpoint, members rewritten with other dtypes or shapes, extra or
missing members, JSON members edited, and members holding pickled object
arrays whose unpickling would leave a mark on disk.  load_checkpoint (and
read_meta) must either raise CheckpointError or load exactly what the file
holds, as NumPy itself reads it; nothing else may escape, and no pickle may
ever run.
"""
import io
import json
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fuzz_strategies import FUZZ, call_strictly
from minivae.files.checkpoint import load_checkpoint, read_meta, rng_state, save_checkpoint
from minivae.errors import CheckpointError
from minivae.model import VAE
from minivae.optim import SGD, Adam

MARK = Path("/tmp") / f"minivae-fuzz-pickle-ran-{os.getpid()}"


def _leave_mark(path):
    Path(path).write_text("a pickle inside a checkpoint was executed")
    return 0


class Payload:
    """Unpickling this calls _leave_mark: proof that code ran."""

    def __reduce__(self):
        return _leave_mark, (str(MARK),)


def _make(opt_cls, hidden, seed):
    model = VAE(x_dim=5, hidden=hidden, z_dim=2, init="glorot", dtype=np.float64, seed=seed)
    opt = opt_cls(model.flat_params, model.flat_grads, lr=1e-2, weight_decay=1e-3)
    rng = np.random.default_rng(seed)
    for _ in range(2):
        model.loss_and_grads(rng.random((4, 5)), rng.standard_normal((4, 2)))
        opt.step()
    return model, opt, {"eps": rng_state(np.random.default_rng(seed))}


class Originals(dict):
    def __repr__(self):             # keeps a failure report readable
        return f"<checkpoints {', '.join(f'{k}: {len(v)} bytes' for k, v in self.items())}>"


@pytest.fixture(scope="module")
def originals(tmp_path_factory):
    """Bytes of two real checkpoints: an Adam run, and an SGD run of another shape."""
    d = tmp_path_factory.mktemp("ckpt")
    out = Originals()
    for name, (cls, hidden, seed) in {"a": (Adam, (4,), 1), "b": (SGD, (3, 4), 2)}.items():
        model, opt, streams = _make(cls, hidden, seed)
        p = save_checkpoint(d / f"{name}.npz", model, opt, {"lr": 0.01, "hidden": list(hidden)},
                            2, streams, [{"epoch": 1, "test_neg_elbo": 3.5}])
        out[name] = p.read_bytes()
    return out


def _members(data):
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {n: z.read(n) for n in z.namelist()}


def _zip(members):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        for n, b in members.items():
            z.writestr(n, b)
    return buf.getvalue()


def _npy(a, allow_pickle=False):
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.asanyarray(a), allow_pickle=allow_pickle)
    return buf.getvalue()


def _json_npy(obj):
    return _npy(np.array(json.dumps(obj)))


# what to put into a member instead of its content
replacements = st.sampled_from(["object", "object-json", "float32", "int64", "scalar", "empty",
                                "2d", "nan", "string", "bytes", "bool", "complex", "garbage"])
json_edits = st.sampled_from([
    ("model", {"x_dim": 5, "hidden": [4], "z_dim": 3, "likelihood": "bernoulli", "sigma": 1.0,
               "init": "glorot", "dtype": "float64"}),
    ("model", {"x_dim": -5}), ("model", {"x_dim": 10**12, "hidden": [10**6], "z_dim": 10**6}),
    ("model", {"x_dim": 5, "hidden": [4], "z_dim": 2, "likelihood": "bernoulli", "sigma": 1.0,
               "init": "glorot", "dtype": "float16"}),
    ("model", []), ("model", {"x_dim": 5, "unknown": 1}),
    ("optimizer", {"name": "adam"}), ("optimizer", {"name": "rmsprop"}),
    ("optimizer", {"name": "adam", "lr": "x", "beta1": 0.9, "beta2": 0.999, "adam_eps": 1e-8,
                   "weight_decay": 0}),
    ("optimizer", {"name": "adam", "lr": -1, "beta1": 0.9, "beta2": 0.999, "adam_eps": 1e-8,
                   "weight_decay": 0}),
    ("rng_states", {"eps": {"bit_generator": "os.system", "state": "echo hi"}}),
    ("rng_states", {"eps": {"bit_generator": "PCG64", "state": {"state": -1, "inc": "x"}}}),
    ("rng_states", {"eps": 3}), ("rng_states", []),
    ("history", {}), ("history", [1, 2]), ("config", None), ("config", "x"),
])


def _replacement(kind, original):
    base = np.lib.format.read_array(io.BytesIO(original), allow_pickle=False) \
        if not original.startswith(b"PK") else np.zeros(2)
    if kind == "object":
        return _npy(np.array([Payload(), 1.0], dtype=object), allow_pickle=True)
    if kind == "object-json":
        return _npy(np.array(Payload(), dtype=object), allow_pickle=True)
    if kind == "float32":
        return _npy(np.asarray(base).astype(np.float32) if base.dtype.kind in "fiu" else base)
    if kind == "int64":
        return _npy(np.asarray(base).astype(np.int64) if base.dtype.kind in "fiu" else np.int64(7))
    if kind == "scalar":
        return _npy(np.float64(1.5))
    if kind == "empty":
        return _npy(np.zeros((0,)))
    if kind == "2d":
        return _npy(np.ones((3, 7)))
    if kind == "nan":
        a = np.array(base, dtype=np.float64) if base.dtype.kind in "fiu" else np.zeros(3)
        a.reshape(-1)[:1] = np.nan
        return _npy(a)
    if kind == "string":
        return _npy(np.array("minivae-checkpoint"))
    if kind == "bytes":
        return _npy(np.array(b"\xff\xfe"))
    if kind == "bool":
        return _npy(np.ones(base.shape, dtype=bool))
    if kind == "complex":
        return _npy(np.ones(base.shape, dtype=np.complex128))
    return b"\x93NUMPY" + b"\x00" * 20


@st.composite
def damaged(draw, originals):
    """(description, bytes) of a damaged copy of checkpoint "a"."""
    data = originals["a"]
    how = draw(st.sampled_from(["flip", "truncate", "swap", "replace", "extra", "drop", "json",
                                "object-extra"]))
    if how == "flip":
        n = draw(st.integers(1, 8))
        b = bytearray(data)
        for _ in range(n):
            i = draw(st.integers(0, len(b) - 1))
            b[i] ^= draw(st.integers(1, 255))
        return how, bytes(b)
    if how == "truncate":
        return how, data[:draw(st.integers(0, len(data) - 1))]
    members = _members(data)
    names = sorted(members)
    if how == "swap":
        other = _members(originals["b"])
        name = draw(st.sampled_from(sorted(other)))
        members[name] = other[name]
        return f"swap {name}", _zip(members)
    if how == "replace":
        name, kind = draw(st.sampled_from(names)), draw(replacements)
        members[name] = _replacement(kind, members[name])
        return f"replace {name} by {kind}", _zip(members)
    if how == "extra":
        name = draw(st.sampled_from(["param/decoder.9.W", "optim/z", "extra", "param/mu.W.npy"]))
        members[name if name.endswith(".npy") else name + ".npy"] = _npy(np.zeros(3))
        return f"extra {name}", _zip(members)
    if how == "drop":
        name = draw(st.sampled_from(names))
        del members[name]
        return f"drop {name}", _zip(members)
    if how == "object-extra":
        members["payload.npy"] = _npy(np.array([Payload()], dtype=object), allow_pickle=True)
        return how, _zip(members)
    key, value = draw(json_edits)
    members[f"{key}.npy"] = _json_npy(value)
    return f"json {key}={value!r:.60}", _zip(members)


def _assert_loaded_exactly(path, model, opt, meta):
    """What load_checkpoint returned equals what NumPy reads from the file."""
    with np.load(path, allow_pickle=False) as npz:
        for name, p in model.params.items():
            saved = npz[f"param/{name}"]
            assert saved.dtype == p.dtype and saved.tobytes() == p.tobytes(), name
        for key, live in opt.state_dict().items():
            assert np.asarray(live).tobytes() == npz[f"optim/{key}"].astype(np.asarray(live).dtype).tobytes()
        assert meta["model"] == json.loads(str(npz["model"]))
        assert meta["config"] == json.loads(str(npz["config"]))
        assert meta["epoch"] == int(npz["epoch"])
    assert model.config() == {**meta["model"], "hidden": list(meta["model"]["hidden"])}


def test_the_original_loads_exactly(originals, tmp_path):
    for name, data in originals.items():
        path = tmp_path / f"{name}.npz"
        path.write_bytes(data)
        _assert_loaded_exactly(path, *load_checkpoint(path))


@FUZZ
@given(st.data())
def test_damaged_checkpoints(originals, tmp_path, data):
    what, content = data.draw(damaged(originals))
    path = tmp_path / "last.npz"
    path.write_bytes(content)
    MARK.unlink(missing_ok=True)
    for load in (read_meta, load_checkpoint):
        try:
            result = call_strictly(load, path)
        except CheckpointError as e:
            assert str(e) and "\n" not in str(e), (what, str(e))
        else:
            if load is load_checkpoint:
                _assert_loaded_exactly(path, *result)
        assert not MARK.exists(), f"{what}: unpickling ran code"


def test_odd_paths(originals, tmp_path):
    """Paths that are not checkpoint files: CheckpointError; a valid one under a non-UTF-8 name loads."""
    odd = os.fsdecode(os.fsencode(str(tmp_path)) + b"/\xff\xfe.npz")
    Path(odd).write_bytes(originals["a"])
    _assert_loaded_exactly(odd, *load_checkpoint(odd))
    for path in [tmp_path / ("a" * 300), tmp_path / "missing.npz", tmp_path, "/dev/null",
                 "/proc/self/mem", tmp_path / "a" / "b.npz", ""]:
        for load in (read_meta, load_checkpoint):
            with pytest.raises(CheckpointError):
                call_strictly(load, path)
