"""Hot-path kernels and the switch between their two backends.

Model code calls the plain functions of this module, e.g.
`kernels.dense_forward(x, W, b, relu=True)`, and never knows which backend
computed them:

    numpy   minivae/kernels_numpy.py — the vectorized reference; read it first
    numba   minivae/_numba_kernels.py — BLAS for the matrix products, fused
            @njit passes for the elementwise work around them and for the
            optimizer update

`set_backend(name)` rebinds this module's names to one backend's functions,
so a call costs exactly a plain function call.  Call through the module
(`kernels.adam_update(...)`); `from minivae.kernels import adam_update` would
keep whichever backend was active at import.

At import the backend is $MINIVAE_BACKEND when set ("numpy" or "numba"), else
DEFAULT, the faster one in `python -m minivae bench` on the machines measured.
Without numba installed everything runs on numpy.

Numba compiles a kernel the first time it sees a dtype (seconds, once: the
machine code is cached on disk).  `warmup(dtype)` does that up front; VAE's
constructor calls it, and `set_backend` repeats it for every dtype warmed so
far, so no compilation lands inside a training epoch.

Threads: only OpenBLAS runs threads (its matrix products use every core);
every numba kernel runs on the calling thread, so no two thread pools fight
over the cores and no threading variable needs setting.  Measured on the
2-core reference machine (doersch preset, batch 100, matmuls alone 10.0 ms
per step): with a parallel Numba Adam update a step took 20–25 ms under
Numba's default OpenMP layer (its threads spin after each update, taking the
cores from the next matmuls) and 12.5–16 ms, erratic, under its "workqueue"
layer (idle threads nap and wake, slowing the matmuls 10–20%); with the
one-thread update it takes 11.8–12.2 ms and the matmuls run at full speed.
The update is memory-bound (as fast as a bare copy-like pass over the same
four arrays).  Split over two plain Python threads (the kernels release the
GIL) it ran 1.5× faster on its own (1.64 vs 2.43 ms) but gained nothing
inside training, where OpenBLAS's worker, still spinning after the last
matmul, holds the second core; updating each layer right after its backward
(its arrays still in cache) was 5–17% slower.
"""
import os
import warnings

import numpy as np

from . import kernels_numpy
from .kernels_numpy import (adam_update, dense_backward, dense_forward,  # noqa: F401
                            kl_standard_normal, relu_backward, relu_forward, reparam_backward,
                            reparam_forward, sgd_update, sigmoid, sigmoid_xent)
from .kernels_numpy import matmul  # noqa: F401  BLAS under every backend (see implementation)

# The names set_backend rebinds.  `matmul` is not among them: the Numba loop
# matmul is for reading and benchmarking, reached through implementation().
NAMES = ("dense_forward", "dense_backward", "relu_forward", "relu_backward", "sigmoid",
         "sigmoid_xent", "reparam_forward", "reparam_backward", "kl_standard_normal",
         "sgd_update", "adam_update")
__all__ = [*NAMES, "matmul", "set_backend", "get_backend", "warmup", "available_backends",
           "implementation", "thread_info"]
BACKENDS = ("numpy", "numba")
DEFAULT = "numba"          # bench: numba/numpy time 0.34–0.44 (doersch), 0.50–0.65 (pytorch-example)
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


def thread_info():
    """CPU count, $OPENBLAS_NUM_THREADS and, under numba, Numba's threads and layer."""
    info = {"cpus": os.cpu_count(), "blas_env": os.environ.get("OPENBLAS_NUM_THREADS")}
    if _backend == "numba":
        info.update(_numba_module().thread_info())
    return info


def set_backend(name):
    """Make `name` ("numpy" or "numba") compute every kernel from now on."""
    global _backend
    if name not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {name!r}")
    module = kernels_numpy if name == "numpy" else _numba_module()
    if module is None:
        raise ValueError("backend 'numba' needs the numba package, which cannot be "
                         "imported here; use 'numpy' or `pip install numba`")
    globals().update({n: getattr(module, n) for n in NAMES})
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
