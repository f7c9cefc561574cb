"""Checkpoints: one `.npz` holding everything needed to continue a run exactly.

Layout (all plain arrays, read with allow_pickle=False):

    format            "minivae-checkpoint"        format_version  1
    model             JSON: VAE constructor arguments (VAE.config())
    optimizer         JSON: optimizer name, hyperparameters, and where weight decay
                      applies ("decayed": "weights", the model's W, or "all")
    config            JSON: the training configuration (TrainConfig as a dict)
    epoch             epochs completed
    rng_states        JSON: {stream: bit-generator state} for every random stream
    history           JSON: one dict per finished epoch
    threads           JSON: {"blas": the BLAS threads the run was trained with}
                      (optional; kernels/threads.py keeps them on resuming)
    param/<name>      every entry of model.params, e.g. param/decoder.0.W
    optim/<key>       every entry of optimizer.state_dict(), e.g. optim/m

Writes are atomic: the file is written beside its target under a temporary
name, flushed to disk (fsync), then renamed over the target (os.replace),
so an interrupted write leaves the previous checkpoint intact.  Anything
wrong with a file being read raises CheckpointError saying what.
"""
import json
import zipfile
import zlib
from pathlib import Path

import numpy as np

from .atomic import atomic_write
from .overwrite import ZIP
from ..errors import ArgumentError, CheckpointError
from ..mlp import weight_mask
from ..model import VAE
from ..optim import SGD, Adam

FORMAT = "minivae-checkpoint"
FORMAT_VERSION = 1
NPY = b"\x93NUMPY"         # how a .npy file starts (a .npz is a zip archive: overwrite.ZIP)
_OPTIMIZERS = {"adam": (Adam, ("lr", "beta1", "beta2", "adam_eps", "weight_decay",
                               "flush_subnormal")),
               "sgd": (SGD, ("lr", "momentum", "weight_decay", "flush_subnormal"))}


# --- random streams ----------------------------------------------------------
def rng_state(rng):
    """The bit-generator state of a np.random.Generator, as a JSON-ready dict."""
    return rng.bit_generator.state


def rng_from_state(state):
    """A np.random.Generator continuing exactly from `state` (see rng_state)."""
    try:
        bit_gen = getattr(np.random, state["bit_generator"])()
        bit_gen.state = state
    except (AttributeError, KeyError, TypeError, ValueError, OverflowError) as e:
        raise CheckpointError(f"a random-stream state is not valid ({e!r})") from e
    return np.random.Generator(bit_gen)


# --- writing -------------------------------------------------------------------
def _optimizer_spec(optimizer, model):
    for name, (cls, hyper) in _OPTIMIZERS.items():
        if type(optimizer) is cls:
            return {"name": name, **{h: getattr(optimizer, h) for h in hyper},
                    "decayed": _decayed(optimizer, model)}
    raise ArgumentError(f"cannot checkpoint an optimizer of type {type(optimizer).__name__}")


def _decayed(optimizer, model):
    """Where the optimizer's weight decay applies: "weights" (the model's W, mlp.weight_mask)
    or "all" (every parameter); another mask cannot be written down."""
    if np.array_equal(optimizer.decayed, weight_mask(model.params)):
        return "weights"
    if optimizer.decayed.all():
        return "all"
    raise ArgumentError("cannot checkpoint an optimizer whose weight decay applies to neither "
                        "the model's weights alone nor to every parameter")


def save_checkpoint(path, model, optimizer, config: dict, epoch: int, rng_states: dict, history,
                    threads=None):
    """Write model, optimizer state, config, epoch, stream states, history and (when
    given) the threads the run was trained with to path."""
    arrays = {
        "format": np.array(FORMAT), "format_version": np.int64(FORMAT_VERSION),
        "model": np.array(json.dumps(model.config())),
        "optimizer": np.array(json.dumps(_optimizer_spec(optimizer, model))),
        "config": np.array(json.dumps(config)),
        "epoch": np.int64(epoch),
        "rng_states": np.array(json.dumps(rng_states)),
        "history": np.array(json.dumps(list(history))),
    }
    if threads is not None:
        arrays["threads"] = np.array(json.dumps(threads))
    arrays.update({f"param/{k}": v for k, v in model.params.items()})
    arrays.update({f"optim/{k}": np.asarray(v) for k, v in optimizer.state_dict().items()})
    atomic_write(path, lambda f: np.savez(f, **arrays))
    return Path(path)


def checkpoint_bytes(model, optimizer):
    """About how many bytes save_checkpoint writes for these: their arrays, uncompressed."""
    state = optimizer.state_dict().values()
    return model.flat_params.nbytes + sum(np.asarray(v).nbytes for v in state)


# --- reading -------------------------------------------------------------------
def _open(path):
    path = Path(path)
    try:
        is_file, exists = path.is_file(), path.exists()
    except OSError as e:                    # e.g. a name too long for the filesystem
        raise CheckpointError(f"{path}: cannot be read ({e.strerror or e})") from None
    if not is_file:
        raise CheckpointError(f"{path}: " + ("not a regular file, so not a checkpoint" if exists
                                             else "no such checkpoint file"))
    try:
        with open(path, "rb") as f:
            head = f.read(len(NPY))
    except OSError as e:
        raise CheckpointError(f"{path}: cannot be read ({e.strerror or e})") from None
    if not head.startswith(ZIP):            # np.load would take it for a .npy or a pickle
        what = ("is empty" if not head else "holds one NumPy array (.npy)" if head == NPY
                else "does not start as a .npz (zip) archive does")
        raise CheckpointError(f"{path}: not a checkpoint: the file {what}; a checkpoint is the "
                              ".npz a training run writes (last.npz in its run folder)")
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        raise CheckpointError(f"{path}: not a readable .npz checkpoint ({e})") from e


def _get(npz, key, path):
    try:
        return npz[key]
    except KeyError:
        raise CheckpointError(f"{path}: lacks '{key}', so it is not a complete minivae "
                              "checkpoint") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as e:
        raise CheckpointError(f"{path}: entry '{key}' is damaged ({e})") from e


def _json(npz, key, path):
    a = _get(npz, key, path)
    if a.shape != () or a.dtype.kind != "U":
        raise CheckpointError(f"{path}: '{key}' should hold a JSON string")
    try:
        return json.loads(str(a))
    except json.JSONDecodeError as e:
        raise CheckpointError(f"{path}: '{key}' is not valid JSON ({e})") from e


def _read_meta(npz, path):
    fmt = _get(npz, "format", path)
    if fmt.shape != () or str(fmt) != FORMAT:
        raise CheckpointError(f"{path}: not a minivae checkpoint (format {fmt!s:.40})")
    version = _get(npz, "format_version", path)
    if version.shape != () or version.dtype.kind not in "iu" or int(version) != FORMAT_VERSION:
        raise CheckpointError(f"{path}: checkpoint format version {version!s:.20}, but this "
                              f"minivae reads version {FORMAT_VERSION}")
    epoch = _get(npz, "epoch", path)
    if epoch.shape != () or epoch.dtype.kind not in "iu" or int(epoch) < 0:
        raise CheckpointError(f"{path}: 'epoch' should be a non-negative integer")
    meta = {k: _json(npz, k, path) for k in ("model", "optimizer", "config", "rng_states", "history")}
    if not (isinstance(meta["config"], dict) and isinstance(meta["rng_states"], dict)
            and isinstance(meta["history"], list) and isinstance(meta["model"], dict)
            and isinstance(meta["optimizer"], dict)):
        raise CheckpointError(f"{path}: its JSON entries have the wrong types")
    if "threads" in npz.files:          # absent from checkpoints older than the thread policy
        meta["threads"] = _json(npz, "threads", path)
        blas = meta["threads"].get("blas") if isinstance(meta["threads"], dict) else 0
        if blas is not None and not (type(blas) is int and blas >= 1):
            raise CheckpointError(f"{path}: 'threads' should say how many BLAS threads "
                                  "trained the run")
    meta.update(epoch=int(epoch), format_version=FORMAT_VERSION)
    return meta


def read_meta(path):
    """Only the JSON parts and epoch of a checkpoint (fast: no parameters read)."""
    with _open(path) as npz:
        return _read_meta(npz, path)


def _fill(target, saved, what, path):
    """Copy a saved array into a live one after checking shape and dtype."""
    if saved.shape != target.shape:
        raise CheckpointError(f"{path}: {what} has shape {saved.shape}, but the checkpoint's "
                              f"configuration implies {target.shape}")
    if saved.dtype != target.dtype:
        raise CheckpointError(f"{path}: {what} has dtype {saved.dtype}, expected {target.dtype}")
    if saved.dtype.kind == "f" and not np.isfinite(saved).all():
        raise CheckpointError(f"{path}: {what} contains NaN or inf")
    target[...] = saved


def load_checkpoint(path):
    """Read a checkpoint -> (model, optimizer, meta).

    meta: {"config", "epoch", "rng_states", "history", "model", "optimizer",
    "format_version"}.  Raises CheckpointError for a missing, truncated,
    damaged or foreign file, a wrong format version, or arrays whose shapes
    do not match the stored model configuration.
    """
    with _open(path) as npz:
        meta = _read_meta(npz, path)
        try:
            model = VAE(**meta["model"])
        except (TypeError, ValueError) as e:
            raise CheckpointError(f"{path}: its model configuration is not valid ({e})") from e
        expected = {f"param/{k}" for k in model.params}
        extra = sorted(k for k in npz.files if k.startswith("param/") and k not in expected)
        if extra:
            raise CheckpointError(f"{path}: holds parameters the configuration does not "
                                  f"have: {', '.join(extra[:3])}")
        for name, p in model.params.items():
            _fill(p, _get(npz, f"param/{name}", path), f"parameter {name}", path)
        spec = dict(meta["optimizer"])
        spec.setdefault("flush_subnormal", True)    # checkpoints from before the flush
        decayed = spec.pop("decayed", "all")        # and from before decay spared the biases
        cls, hyper = _OPTIMIZERS.get(spec.pop("name", None), (None, ()))
        if cls is None or set(spec) != set(hyper) or decayed not in ("weights", "all"):
            raise CheckpointError(f"{path}: unknown optimizer specification {meta['optimizer']}")
        decayed = weight_mask(model.params) if decayed == "weights" else None
        try:
            optimizer = cls(model.flat_params, model.flat_grads, decayed=decayed, **spec)
        except (TypeError, ValueError) as e:
            raise CheckpointError(f"{path}: optimizer settings are not valid ({e})") from e
        state = {}
        for key, live in optimizer.state_dict().items():
            saved = _get(npz, f"optim/{key}", path)
            if np.ndim(live) == 0:
                if saved.shape != () or saved.dtype.kind not in "iu" or int(saved) < 0:
                    raise CheckpointError(f"{path}: optimizer entry '{key}' is not a count")
                state[key] = int(saved)
            else:
                _fill(live, saved, f"optimizer state '{key}'", path)
                state[key] = live
        optimizer.load_state_dict(state)
    for name, s in meta["rng_states"].items():
        rng_from_state(s)           # validate now, not when resuming
    return model, optimizer, meta
