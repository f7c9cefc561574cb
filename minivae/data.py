"""MNIST from its four IDX gzip files, minibatches, and binarization (Doersch §4).

Pixels are scaled to [0, 1] (×1/255), as in the tutorial's experiments.
Where the files are looked for (`find_mnist`), first given wins:
  1. `data_dir` (the CLI's `--data DIR`),
  2. `$MINIVAE_DATA`,
  3. `data/mnist/` in the repo (the parent of this package if it holds
     setup.cfg), else `./data/mnist` under the working directory.
Files missing there are downloaded into that same directory from `MIRRORS`
(or the one base URL in `$MINIVAE_MNIST_MIRROR`). Every file is checked
for its IDX magic, dimensions and length, and the sha256 of its decompressed
payload: mirrors recompress, so the .gz bytes differ while the payload must not.
"""
from __future__ import annotations

import functools
import gzip
import hashlib
import http.client
import operator
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from .download import download_to


class DataError(RuntimeError):
    """MNIST is missing, corrupt, or could not be downloaded; the message says what to do."""


FILES = {"train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
         "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")}
ALL_FILES = FILES["train"] + FILES["test"]

# name -> (sha256 of the decompressed payload, shape in its IDX header)
EXPECTED = {
    "train-images-idx3-ubyte.gz":
        ("ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db", (60000, 28, 28)),
    "train-labels-idx1-ubyte.gz":
        ("65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5", (60000,)),
    "t10k-images-idx3-ubyte.gz":
        ("0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7", (10000, 28, 28)),
    "t10k-labels-idx1-ubyte.gz":
        ("ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2", (10000,)),
}

MIRRORS = [
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
]
TIMEOUT = 30.0                    # seconds per socket operation while downloading
_MAGIC_NDIM = {2049: 1, 2051: 3}  # IDX: 0x0000 08 nd -- unsigned bytes, nd dimensions
_VERIFIED: set = set()            # (path, size, mtime_ns) of files that passed every check
_CACHE: dict = {}                 # (dir, split, dtype) -> (x, y), both read-only


def _payload(path: Path) -> bytes:
    """The file's IDX bytes, gunzipped if it is gzip (sniffed: IDX starts with 00 00)."""
    try:
        raw = path.read_bytes()
        # Sniff rather than trust the suffix: browsers often gunzip yet keep ".gz".
        return gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
    except (EOFError, gzip.BadGzipFile, zlib.error) as e:
        raise DataError(f"{path}: broken gzip stream ({e}); the file is truncated or corrupt") from e
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e})") from e


def _parse_idx(buf: bytes, where) -> np.ndarray:
    """Validate an IDX header against the buffer and view its data as uint8 (read-only)."""
    magic = int.from_bytes(buf[:4], "big") if len(buf) >= 4 else None
    ndim = _MAGIC_NDIM.get(magic)
    if ndim is None:
        raise DataError(f"{where}: bad magic number {magic} (expected 2051 for images or 2049 "
                        "for labels); this is not an MNIST IDX file")
    start = 4 + 4 * ndim
    if len(buf) < start:
        raise DataError(f"{where}: IDX header cut short ({len(buf)} bytes)")
    dims = struct.unpack(f">{ndim}I", buf[4:start])
    need, have = int(np.prod(dims)), len(buf) - start
    if have != need:
        raise DataError(f"{where}: header says shape {dims} = {need} bytes of data, "
                        f"but the file holds {have}; it is truncated or corrupt")
    return np.frombuffer(buf, np.uint8, offset=start).reshape(dims)


def read_idx(path) -> np.ndarray:
    """Read one IDX file (gzip or raw) -> read-only uint8 array shaped as its header says.

    Images (magic 2051) -> (N, rows, cols); labels (magic 2049) -> (N,).
    Checks magic, dimensions and length, not the hash (see `find_mnist`).
    """
    path = Path(path)
    return _parse_idx(_payload(path), path)


def _check(path: Path, name: str) -> np.ndarray:
    """Read `path` as the MNIST file `name`: IDX checks, expected shape, payload sha256."""
    want_sha, want_shape = EXPECTED[name]
    buf = _payload(path)
    arr = _parse_idx(buf, path)
    if arr.shape != want_shape:
        raise DataError(f"{path}: shape {arr.shape}, but {name} must be {want_shape}")
    got = hashlib.sha256(buf).hexdigest()
    if got != want_sha:
        raise DataError(f"{path}: sha256 of the decompressed payload is {got[:16]}..., expected "
                        f"{want_sha[:16]}... for {name}; the file is corrupt or not the standard "
                        "MNIST file: delete it so it is downloaded again, or replace it")
    return arr


def _stamp(path: Path):
    st = path.stat()
    return (str(path.resolve()), st.st_size, st.st_mtime_ns)


def _default_dir() -> Path:
    repo = Path(__file__).resolve().parent.parent
    return repo / "data" / "mnist" if (repo / "setup.cfg").is_file() else Path.cwd() / "data" / "mnist"


def _help(target: Path, why: str) -> str:
    """The one paragraph a DataError for missing MNIST shows."""
    return (f"MNIST is not available in {target} ({why}). Put the four files "
            f"{', '.join(ALL_FILES)} (from any MNIST mirror, e.g. {MIRRORS[0]}) into {target}, "
            "or put them in any directory and set MINIVAE_DATA=/path/to/it or pass --data DIR.")


def _locate(data_dir, download: bool, mirrors, timeout: float) -> Path:
    """The directory MNIST lives in, downloading missing files into it if allowed."""
    env = os.environ.get("MINIVAE_DATA")
    target = Path(data_dir) if data_dir is not None else Path(env) if env else _default_dir()
    target = target.expanduser()
    missing = [n for n in ALL_FILES if not (target / n).is_file()]
    if not missing:
        return target
    if not download:
        raise DataError(_help(target, f"missing {', '.join(missing)}; download=False"))
    if mirrors is None:
        env_mirror = os.environ.get("MINIVAE_MNIST_MIRROR")
        mirrors = [env_mirror] if env_mirror else MIRRORS
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DataError(_help(target, f"cannot create it: {e}")) from e
    for name in missing:
        errors = []
        for base in mirrors:
            url = base.rstrip("/") + "/" + name
            try:
                download_to(url, target / name, functools.partial(_check, name=name), timeout)
            except (OSError, ValueError, DataError, http.client.HTTPException) as e:
                errors.append(f"{url}: {e}")   # URLError and timeouts are OSErrors
                continue
            _VERIFIED.add(_stamp(target / name))
            break
        else:
            raise DataError(_help(target, "download failed: " + "; ".join(errors)))
    return target


def find_mnist(data_dir=None, download=True, *, mirrors=None, timeout=TIMEOUT) -> Path:
    """Directory holding all four MNIST files, each fully validated (see module docstring).

    `mirrors`: base URLs to try, in order (default: $MINIVAE_MNIST_MIRROR, else MIRRORS).
    Raises DataError if the files are missing and cannot be downloaded, or are corrupt.
    """
    d = _locate(data_dir, download, mirrors, timeout)
    for name in ALL_FILES:
        if _stamp(d / name) not in _VERIFIED:   # hash each file once per process
            _check(d / name, name)
            _VERIFIED.add(_stamp(d / name))
    return d


def load_mnist(split="train", data_dir=None, dtype=np.float32, download=True, *, mirrors=None):
    """MNIST `split` ("train" | "test") -> (x (N, 784) in [0, 1] of `dtype`, y (N,) int64).

    Validated like `find_mnist`, but only this split's two files are read and
    hashed. Results are cached per process; the arrays are read-only (take
    `.copy()` to modify), so no caller can corrupt what the next one gets.
    """
    if split not in FILES:
        raise ValueError(f"split must be one of {sorted(FILES)}, got {split!r}")
    dt = np.dtype(dtype)
    if dt.kind != "f":
        raise ValueError(f"dtype must be a floating type, got {dt}")
    d = _locate(data_dir, download, mirrors, TIMEOUT)
    key = (str(d.resolve()), split, dt.str)
    if key not in _CACHE:
        img_name, lab_name = FILES[split]
        images, labels = _check(d / img_name, img_name), _check(d / lab_name, lab_name)
        _VERIFIED.update({_stamp(d / img_name), _stamp(d / lab_name)})
        x = images.reshape(len(images), -1).astype(dt)   # (N, 784)
        x /= 255
        y = labels.astype(np.int64)                       # (N,)
        x.flags.writeable = y.flags.writeable = False
        _CACHE[key] = (x, y)
    return _CACHE[key]


def _check_rng(rng):
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")


def binarize_dynamic(x, rng) -> np.ndarray:
    """A fresh Bernoulli(x) draw per pixel, same dtype as x (Doersch §4.2: "redrawn every time").

    x: (...) float in [0, 1]; each call gives new 0/1 values with E[out] = x.
    """
    _check_rng(rng)
    x = np.asarray(x)
    if x.dtype.kind != "f":
        raise TypeError(f"x must be a float array, got dtype {x.dtype}")
    # u < x with u ~ U[0, 1) is 1 with probability x; draw u in x's precision when numpy can.
    u = rng.random(x.shape, dtype=x.dtype if x.dtype in (np.float32, np.float64) else np.float64)
    return (u < x).astype(x.dtype)


def binarize_threshold(x, threshold=0.5) -> np.ndarray:
    """Fixed binarization: 1 where x > threshold, else 0; same dtype as x."""
    x = np.asarray(x)
    if x.dtype.kind != "f":
        raise TypeError(f"x must be a float array, got dtype {x.dtype}")
    return (x > threshold).astype(x.dtype)


def iterate_minibatches(n, batch_size, rng=None, shuffle=True, drop_last=False):
    """Iterator of int64 index arrays covering range(n) once, `batch_size` at a time.

    shuffle=True draws a fresh permutation from `rng` (required then);
    drop_last=True skips a final batch shorter than `batch_size`.
    Arguments are checked at the call, not at the first `next()`.
    """
    n, batch_size = operator.index(n), operator.index(batch_size)
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if shuffle:
        _check_rng(rng)
    order = rng.permutation(n) if shuffle else np.arange(n, dtype=np.int64)
    stop = n - n % batch_size if drop_last else n
    return (order[start:start + batch_size] for start in range(0, stop, batch_size))
