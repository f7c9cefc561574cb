"""Numba twins of the maths, and the switch that chooses them.

The mathematics is written once, in NumPy, in the maths modules (layers.py,
reparam.py, losses.py, optim.py), each function under the formula it
computes.  Where a function is on the training step's hot path it carries
one extra line, the decorator `@accelerated`, which says that a faster twin
exists: a function of the same name in this subpackage's module of the same
name (minivae.losses.kl_normal -> minivae.kernels.losses.kl_normal).  The
twin computes the same numbers (tests/unit/test_kernels.py holds the two
equal, float64 to 1e-12) and runs when the numba backend is on:

    numpy   the NumPy lines under the formula: what a reader reads
    numba   BLAS for the matrix products, fused @njit passes for the
            elementwise work around them and for the optimizer update

`set_backend(name)` chooses (`with using(name):` for one block); at import the backend is $MINIVAE_BACKEND when
set ("numpy" or "numba"; any other value is an error, see
minivae/environment.py), else DEFAULT, the faster one in `python -m minivae
bench` (README, "Speed").  Without numba installed everything runs on numpy.
Nothing rebinds a module's names: each accelerated function keeps its own
one-element slot holding the implementation in use, and set_backend fills
the slots.

The machinery behind the speed is explained where it lives:

    blas_threads.py    OpenBLAS's idle worker threads, told to nap sooner
    update_threads.py  the optimizer update on two threads
    flush.py           why tiny weights and moments are flushed to zero, and where
    precompile.py      compiling (or loading) the twins before a run needs them,
                       and doing it on a second thread while MNIST is read
    jit.py             the Numba options every twin is compiled with
"""
# First, before NumPy loads: OpenBLAS reads its thread timeout then (blas_threads.py).
from . import blas_threads  # noqa: F401  isort: skip

import contextlib
import functools
import importlib
import os

import numpy as np

from .. import environment
from . import precompile

BACKENDS = ("numpy", "numba")
DEFAULT = "numba"          # faster on both presets in `python -m minivae bench`
ENV_VAR = "MINIVAE_BACKEND"

_backend = "numpy"
_slots = {}                # "losses.kl_normal" -> [the implementation in use], one per function
_numpy = {}                # "losses.kl_normal" -> the NumPy function itself


def accelerated(numpy_fn):
    """Decorator: `numpy_fn` has a Numba twin of the same name in minivae.kernels.

    The decorated function calls whichever implementation the active backend
    names; `numpy_fn` itself stays reachable as `.numpy`, for tests and readers.
    """
    key = f"{numpy_fn.__module__.rsplit('.', 1)[-1]}.{numpy_fn.__name__}"
    slot = _slots[key] = [numpy_fn]
    _numpy[key] = numpy_fn
    if _backend == "numba":
        slot[0] = _twin(key)

    @functools.wraps(numpy_fn)
    def call(*args, **kwargs):
        return slot[0](*args, **kwargs)
    call.numpy = numpy_fn
    call.kernel = key
    return call


def _twin(key):
    """The Numba twin of the accelerated function `key` ("module.name")."""
    module, name = key.split(".")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


def _numba_importable():
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


def available_backends():
    """The backends that can run here: always "numpy", "numba" when importable."""
    return BACKENDS if _numba_importable() else ("numpy",)


def get_backend():
    """The name of the active backend."""
    return _backend


def implementation(key, backend):
    """The function computing accelerated function `key` ("losses.kl_normal") in `backend`."""
    if key not in _numpy:
        raise ValueError(f"no accelerated function {key!r}; there are {', '.join(sorted(_numpy))}")
    if backend not in available_backends():
        raise ValueError(f"backend {backend!r} is not available here: {available_backends()}")
    return _numpy[key] if backend == "numpy" else _twin(key)


def set_backend(name):
    """Make `name` ("numpy" or "numba") compute every accelerated function from now on."""
    _switch(name)
    precompile.rewarm(name)             # models already built must not compile mid-epoch


def _switch(name):
    global _backend
    if name not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {name!r}")
    if name == "numba" and not _numba_importable():
        raise ValueError("backend 'numba' needs the numba package, which cannot be "
                         "imported here; use 'numpy' or `pip install numba`")
    chosen = {key: _numpy[key] if name == "numpy" else _twin(key) for key in _slots}
    for key, slot in _slots.items():        # all twins found first: never half switched
        slot[0] = chosen[key]
    _backend = name


@contextlib.contextmanager
def using(name):
    """Within a with block, set_backend(name); after it, the backend that was active before.

    The switch back compiles nothing: models built before the block were warmed
    for that backend already, and those the block builds are its own.
    """
    before = _backend
    set_backend(name)
    try:
        yield
    finally:
        _switch(before)


def warmup(dtype=np.float32):
    """Compile (or load from the disk cache) the active backend's twins for dtype.

    A no-op under numpy and on every call after the first per backend and dtype.
    """
    precompile.warmup(dtype, _backend)


def warmup_in_background(dtype=np.float32):
    """warmup(dtype) on a second thread (precompile.py); returns the thread to join."""
    return precompile.in_background(dtype, _backend)


def set_update_threads(n=None):
    """The numba optimizer update on n threads, 1 or 2 (None: the measured choice, see
    update_threads.py); returns the count before.  The numpy backend's update is one
    NumPy expression after another and is not affected."""
    if not _numba_importable():
        raise ValueError("update threads are a numba-backend setting; numba is not importable")
    from . import update_threads
    return update_threads.set_threads(n)


def thread_info():
    """CPU count, $OPENBLAS_NUM_THREADS and, when numba is importable (whichever backend
    is active), Numba's threads and layer and the numba update's threads."""
    info = {"cpus": os.cpu_count(), "blas_env": os.environ.get("OPENBLAS_NUM_THREADS")}
    if _numba_importable():
        from . import update_threads
        info.update(update_threads.thread_info())
    return info


JIT_DISABLED = ("NUMBA_DISABLE_JIT is set, so the numba backend's kernels run as plain Python: "
                "training will be some 100 to 400 times slower (unset it, or set "
                "MINIVAE_BACKEND=numpy)")


def jit_disabled():
    """Whether the numba backend is on but runs uncompiled: NUMBA_DISABLE_JIT is not 0.

    Its twins then run as plain Python loops (`train` says JIT_DISABLED when it starts).
    """
    return _backend == "numba" and bool(_NUMBA_DISABLE_JIT)


def _initial_backend():
    """$MINIVAE_BACKEND (an error when not one of BACKENDS), else DEFAULT."""
    requested = environment.choice(ENV_VAR, BACKENDS)
    name = requested or DEFAULT
    if name == "numba" and not _numba_importable():
        if requested:
            import warnings
            warnings.warn(f"{ENV_VAR}=numba but numba cannot be imported; using numpy",
                          RuntimeWarning, stacklevel=3)
        name = "numpy"
    return name


def _numba_disable_jit():
    """$NUMBA_DISABLE_JIT, after checking numba's variables before numba reads them.

    numba answers a value it cannot parse with a warning that holds a whole
    traceback, NUMBA_NUM_THREADS=0 with a traceback, and an unusable
    NUMBA_CACHE_DIR by silently caching elsewhere.
    """
    environment.whole_number("NUMBA_NUM_THREADS", "threads for numba's parallel loops",
                             empty_is_unset=False, least=1)
    environment.folder("NUMBA_CACHE_DIR", "a folder for numba's compiled code", writable=True)
    return environment.whole_number("NUMBA_DISABLE_JIT", "0: numba compiles the kernels; 1: they "
                                    "run as plain Python, 100 to 400 times slower",
                                    empty_is_unset=False)


_NUMBA_DISABLE_JIT = environment.at_import(_numba_disable_jit)
set_backend(environment.at_import(_initial_backend))
