"""Hot-path kernels and the switch between their two backends.

For the maths, read minivae/kernels_numpy.py: every kernel there is a few
lines of NumPy under the formula it computes.  This module only chooses who
computes it.  Model code calls the plain functions of this module, e.g.
`kernels.dense_forward(x, W, b, relu=True)`, and never knows which backend ran:

    numpy   minivae/kernels_numpy.py — the vectorized reference
    numba   minivae/_numba_kernels.py — BLAS for the matrix products, fused
            @njit passes for the elementwise work around them and for the
            optimizer update; tests/test_kernels.py holds it equal to numpy

How the switch works: `set_backend(name)` assigns each kernel name of this
module (the list in `set_backend`, also kept in NAMES) the function of the
same name in the chosen backend's module, so a call costs exactly a plain
function call.  Call through the module (`kernels.adam_update(...)`);
`from minivae.kernels import adam_update` would keep whichever backend was
active at import.

At import the backend is $MINIVAE_BACKEND when set ("numpy" or "numba"), else
DEFAULT, the faster one in `python -m minivae bench` (README, "Speed").
Without numba installed everything runs on numpy.

Numba compiles a kernel the first time it sees a dtype (seconds, once: the
machine code is cached on disk).  `warmup(dtype)` does that up front; VAE's
constructor calls it, and `set_backend` repeats it for every dtype warmed so
far, so no compilation lands inside a training epoch.

Threads: OpenBLAS runs the matrix products on every core.  Every other Numba
kernel runs on the calling thread, except the optimizer update, which splits
over the caller and one helper thread when OpenBLAS's idle workers sleep
instead of spinning (minivae/blas_threads.py); no second thread pool starts
beside OpenBLAS's.  README's Speed section has the measurements behind this.
"""
import os
import warnings

import numpy as np

from . import kernels_numpy
from .kernels_numpy import (adam_update, bernoulli_nll, dense_backward,  # noqa: F401
                            dense_forward, kl_normal, relu_backward, relu_forward,
                            reparam_backward, reparam_forward, sgd_update, sigmoid)
from .kernels_numpy import matmul  # noqa: F401  BLAS under every backend (see implementation)

# The names set_backend rebinds.  `matmul` is not among them: the Numba loop
# matmul is for reading and benchmarking, reached through implementation().
NAMES = ("dense_forward", "dense_backward", "relu_forward", "relu_backward", "sigmoid",
         "bernoulli_nll", "reparam_forward", "reparam_backward", "kl_normal",
         "sgd_update", "adam_update")
__all__ = [*NAMES, "matmul", "set_backend", "get_backend", "warmup", "available_backends",
           "implementation", "thread_info", "set_update_threads"]
BACKENDS = ("numpy", "numba")
DEFAULT = "numba"          # faster on both presets in `python -m minivae bench`
ENV_VAR = "MINIVAE_BACKEND"

_backend = "numpy"
_warm = set()              # (backend, dtype name) pairs already compiled or loaded
_dtypes = set()            # every dtype warmed so far, warmed again on a backend switch


def _numba_module():
    """minivae._numba_kernels, or None when numba cannot be imported."""
    try:
        from . import _numba_kernels
    except ImportError:
        return None
    return _numba_kernels


def available_backends():
    """The backends that can run here: always "numpy", "numba" when importable."""
    return BACKENDS if _numba_module() is not None else ("numpy",)


def get_backend():
    """The name of the active backend."""
    return _backend


def implementation(name, backend):
    """The function computing kernel `name` (one of NAMES, or "matmul") in `backend`."""
    if name not in NAMES + ("matmul",):
        raise ValueError(f"no kernel named {name!r}")
    module = kernels_numpy if backend == "numpy" else _numba_module()
    if backend not in BACKENDS or module is None:
        raise ValueError(f"backend {backend!r} is not available here: {available_backends()}")
    return getattr(module, name)


def set_update_threads(n=None):
    """The numba backend's optimizer update on n threads, 1 or 2 (None: the measured
    choice, see minivae/blas_threads.py); returns the count before.  No effect on
    the numpy backend, whose update is one NumPy expression after another."""
    module = _numba_module()
    if module is None:
        raise ValueError("update threads are a numba-backend setting; numba is not importable")
    return module.set_update_threads(n)


def thread_info():
    """CPU count, $OPENBLAS_NUM_THREADS and, when numba is importable (whichever backend
    is active), Numba's threads and layer and the numba update's threads."""
    info = {"cpus": os.cpu_count(), "blas_env": os.environ.get("OPENBLAS_NUM_THREADS")}
    module = _numba_module()
    if module is not None:
        info.update(module.thread_info())
    return info


def set_backend(name):
    """Make `name` ("numpy" or "numba") compute every kernel from now on."""
    global _backend, dense_forward, dense_backward, relu_forward, relu_backward, sigmoid
    global bernoulli_nll, reparam_forward, reparam_backward, kl_normal, sgd_update, adam_update
    if name not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {name!r}")
    k = kernels_numpy if name == "numpy" else _numba_module()
    if k is None:
        raise ValueError("backend 'numba' needs the numba package, which cannot be "
                         "imported here; use 'numpy' or `pip install numba`")
    # the names in NAMES, one by one (tests/test_kernels.py checks the two lists agree)
    dense_forward, dense_backward = k.dense_forward, k.dense_backward
    relu_forward, relu_backward, sigmoid = k.relu_forward, k.relu_backward, k.sigmoid
    bernoulli_nll, kl_normal = k.bernoulli_nll, k.kl_normal
    reparam_forward, reparam_backward = k.reparam_forward, k.reparam_backward
    sgd_update, adam_update = k.sgd_update, k.adam_update
    _backend = name
    for dtype in sorted(_dtypes):       # models already built must not compile mid-epoch
        warmup(dtype)


def warmup(dtype=np.float32):
    """Compile (or load from the disk cache) the active backend's kernels for dtype.

    A no-op under numpy and on every call after the first per backend and dtype.
    """
    key = (_backend, np.dtype(dtype).name)
    _dtypes.add(key[1])
    if key not in _warm:
        if _backend == "numba":
            _numba_module().warmup(np.dtype(dtype))
        _warm.add(key)


def _initial_backend():
    requested = os.environ.get(ENV_VAR, "").strip().lower()
    if requested and requested not in BACKENDS:
        warnings.warn(f"{ENV_VAR}={requested!r} is not one of {BACKENDS}; using the default",
                      RuntimeWarning, stacklevel=3)
        requested = ""
    name = requested or DEFAULT
    if name == "numba" and _numba_module() is None:
        if requested:
            warnings.warn(f"{ENV_VAR}=numba but numba cannot be imported; using numpy",
                          RuntimeWarning, stacklevel=3)
        name = "numpy"
    return name


set_backend(_initial_backend())
