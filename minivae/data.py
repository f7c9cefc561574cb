"""MNIST from its four IDX gzip files (Doersch §4).

Pixels are scaled to [0, 1] (×1/255), as in the tutorial's experiments.
The MNIST directory is the first one given of: `data_dir` (the CLI's `--data DIR`),
`$MINIVAE_DATA`, and `data/mnist/` in the current directory (in a clone of the
repository, run from its root, that is the repository's own data/ folder).
Files missing there are downloaded into it from `MIRRORS` (or the one base
URL in `$MINIVAE_MNIST_MIRROR`; both variables are checked as
minivae/environment.py says).  Every file is checked for its IDX magic,
dimensions and length, and the sha256 of its decompressed payload: mirrors
recompress, so the .gz bytes differ while the payload must not.  No file,
on disk or from a mirror, may be larger than its payload (plus MARGIN) or
decompress to more: a huge, endless or "bomb" file is refused by name
before it fills memory, and a download has DEADLINE to arrive.
"""
from __future__ import annotations

import functools
import hashlib
import re
import struct
import zlib
from pathlib import Path

import numpy as np

from . import environment
from .files.download import DEADLINE, download_first
from .validate import choice
from .errors import ArgumentError, DataError

__all__ = ["DataError", "FILES", "MIRRORS", "read_idx", "find_mnist", "load_mnist"]


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

MIRRORS = ["https://ossci-datasets.s3.amazonaws.com/mnist/",
           "https://storage.googleapis.com/cvdf-datasets/mnist/",
           "http://yann.lecun.com/exdb/mnist/"]
TIMEOUT = 30.0                    # seconds per socket operation while downloading
# DEADLINE (files/download.py): seconds one file may take to arrive, 10 minutes
MARGIN = 2 ** 20                  # bytes a file may hold beyond its payload (gzip's overhead)
GUNZIP_CHUNK = 2 ** 22            # bytes of output per step of decompression
_MAGIC_NDIM = {2049: 1, 2051: 3}  # IDX: 0x0000 08 nd -- unsigned bytes, nd dimensions
_VERIFIED: set = set()            # (path, size, mtime_ns) of files that passed every check
_CACHE: dict = {}                 # (dir, split, dtype) -> (x, y), both read-only


def _size(name) -> int:
    """Bytes of the IDX payload of MNIST file `name`: its header and its data."""
    shape = EXPECTED[name][1]
    return 4 + 4 * len(shape) + int(np.prod(shape))


def _gunzip(raw: bytes, limit, where) -> bytes:
    """raw's gzip members decompressed in chunks, refusing output beyond `limit` bytes."""
    out, total = [], 0
    while raw:
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        while not d.eof:                # one member, GUNZIP_CHUNK bytes of output at a time
            part = d.decompress(raw, GUNZIP_CHUNK)
            raw = d.unconsumed_tail
            total += len(part)
            if limit is not None and total > limit:
                raise DataError(f"{where}: decompresses to more than the {limit:,} bytes it "
                                "can hold; it is corrupt or not that MNIST file")
            out.append(part)
            if not part and not raw:    # all read, nothing more comes out, no end marker
                raise EOFError("the stream ends before its end marker")
        raw = d.unused_data
    return b"".join(out)


def _payload(path: Path, where, name=None) -> bytes:
    """The file's IDX bytes, gunzipped if it is gzip: sniffed, as IDX starts 00 00 and
    browsers often gunzip a download yet keep its ".gz".  For a known MNIST file `name`
    the file, and what it decompresses to, may not exceed the payload's size (plus
    MARGIN for the file), so a huge or endless one is refused before it fills memory."""
    limit = _size(name) if name in EXPECTED else None
    try:
        size = path.stat().st_size
        if limit is not None and size > limit + MARGIN:
            raise DataError(f"{where}: {size:,} bytes, more than {name} can be "
                            f"({limit + MARGIN:,} at most); it is not that MNIST file")
        raw = path.read_bytes()
        return _gunzip(raw, limit, where) if raw[:2] == b"\x1f\x8b" else raw
    except (EOFError, zlib.error) as e:
        raise DataError(f"{where}: broken gzip stream ({e}); it is truncated or corrupt") from e
    except MemoryError:
        raise DataError(f"{where}: out of memory while reading it") from None
    except OSError as e:
        raise DataError(f"{where}: cannot read ({e})") from e


def _parse_idx(buf: bytes, where, ndim_expected=None) -> np.ndarray:
    """Validate an IDX header against the buffer and view its data as uint8 (read-only)."""
    magic = int.from_bytes(buf[:4], "big") if len(buf) >= 4 else None
    ndim = _MAGIC_NDIM.get(magic)
    if ndim is None or ndim_expected not in (None, ndim):
        want = {1: "2049 (labels)", 3: "2051 (images)"}.get(ndim_expected, "2051 or 2049")
        raise DataError(f"{where}: bad magic number {magic}, expected {want}; "
                        "this is not the right MNIST IDX file")
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

    Images (magic 2051) -> (N, rows, cols); labels (magic 2049) -> (N,). Checks
    magic (against the name's "idx1"/"idx3" if it has one), dimensions and
    length, not the hash (see `find_mnist`).
    """
    path = Path(path)
    named = re.search(r"idx([13])", path.name)
    known = path.name if path.name in EXPECTED else None
    return _parse_idx(_payload(path, path, known), path, int(named.group(1)) if named else None)


def _check(path: Path, name: str, where=None) -> np.ndarray:
    """Read `path` as the MNIST file `name`: IDX checks, expected shape, payload sha256.

    `where` names the file in error messages (default: `path`, a local file).
    """
    want_sha, want_shape = EXPECTED[name]
    fix = "" if where else ": delete it so it is downloaded again, or replace it"
    where = where or path
    buf = _payload(path, where, name)
    arr = _parse_idx(buf, where, len(want_shape))
    if arr.shape != want_shape:
        raise DataError(f"{where}: shape {arr.shape}, but {name} must be {want_shape}{fix}")
    got = hashlib.sha256(buf).hexdigest()
    if got != want_sha:
        raise DataError(f"{where}: sha256 of the decompressed payload is {got[:16]}..., expected "
                        f"{want_sha[:16]}...; it is corrupt or not the standard {name}{fix}")
    return arr


def _stamp(path: Path):
    st = path.stat()
    return (str(path.resolve()), st.st_size, st.st_mtime_ns)


def _default_dir() -> Path:
    return Path.cwd() / "data" / "mnist"


def _help(target: Path, why: str) -> str:
    """The one paragraph a DataError for missing MNIST shows."""
    return (f"MNIST is not available in {target} ({why}). Put the four files "
            f"{', '.join(ALL_FILES)} (from any MNIST mirror, e.g. {MIRRORS[0]}) into {target}, "
            "or put them in any directory and set MINIVAE_DATA=/path/to/it or pass --data DIR.")


def _locate(data_dir, download: bool, mirrors, timeout: float) -> Path:
    """The directory MNIST lives in, downloading missing files into it if allowed."""
    env = None if data_dir is not None else environment.folder(
        "MINIVAE_DATA", "the folder holding the MNIST files")
    target = Path(data_dir) if data_dir is not None else env if env else _default_dir()
    target = target.expanduser()
    for name in ALL_FILES:
        if (target / name).exists() and not (target / name).is_file():
            raise DataError(f"{target / name} is a folder or other non-file where the MNIST file "
                            f"{name} should be; remove it (it is not downloaded over)")
    missing = [n for n in ALL_FILES if not (target / n).is_file()]
    if not missing:
        return target
    if not download:
        raise DataError(_help(target, f"missing {', '.join(missing)}; download=False"))
    if mirrors is None:
        env_mirror = environment.url("MINIVAE_MNIST_MIRROR")
        mirrors = [env_mirror] if env_mirror else MIRRORS
    mirrors = [mirrors] if isinstance(mirrors, str) else mirrors
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DataError(_help(target, f"cannot create it: {e}")) from None
    for name in missing:
        urls = [base.rstrip("/") + "/" + name for base in mirrors]
        verify = functools.partial(_check, name=name, where="downloaded file")
        failed = download_first(urls, target / name, verify, timeout, _size(name) + MARGIN,
                                DEADLINE)
        if failed:
            raise DataError(_help(target, "download failed: " + "; ".join(failed)))
        _VERIFIED.add(_stamp(target / name))
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
    choice("split", split, tuple(FILES))
    dt = np.dtype(dtype)
    if dt.kind != "f":
        raise ArgumentError(f"dtype must be a floating type, got {dt}")
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
