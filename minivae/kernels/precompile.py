"""Compiling the Numba twins before a run needs them, and doing it beside other work.

Numba compiles a function the first time it sees a type signature (seconds,
once: jit.py keeps the machine code on disk) and loads it from that cache on
every later first call (tens of milliseconds for all of them).  Either way it
should not happen inside a training epoch: VAE() calls kernels.warmup(dtype),
which calls `warmup` below, and set_backend("numba") repeats it for every
dtype warmed so far (`rewarm`).

`in_background` starts that work on a second thread, for a caller that has
something else to do first: `train` reads MNIST meanwhile (decompression,
hashing and NumPy's casts release the GIL, so the two overlap; README,
"Speed", has the measurement).  A failure there stays quiet: VAE() warms up
again and reports it.
"""
import threading

import numpy as np

_warm = set()              # (backend, dtype name) pairs already compiled or loaded
_dtypes = set()            # every dtype warmed so far, warmed again on a backend switch


def warmup(dtype, backend):
    """Compile (or load) `backend`'s twins for dtype: once per backend and dtype."""
    key = (backend, np.dtype(dtype).name)
    _dtypes.add(key[1])
    if key not in _warm:
        if backend == "numba":
            compile_for(np.dtype(dtype))
        _warm.add(key)


def rewarm(backend):
    """warmup every dtype warmed so far for `backend` (after a switch of backends)."""
    for dtype in sorted(_dtypes):
        warmup(dtype, backend)


def compile_for(dtype):
    """Run every twin the models and optimizers use on tiny arrays of `dtype`.

    The data-facing inputs are also warmed read-only, as MNIST arrays often are.
    """
    from . import layers, losses, optim, reparam
    f = np.dtype(dtype).type
    a, b, w = np.ones((2, 3), f), np.ones((3, 2), f), np.ones(3, f)
    ro = a.copy()
    ro.flags.writeable = False
    for relu in (False, True):
        y = layers.dense_forward(a, b, w[:2], relu=relu)
        layers.dense_backward(a, b, y, np.empty_like(b), np.empty(2, f), relu_y=y if relu else None)
    layers.relu_backward(layers.relu_forward(a), a)
    layers.sigmoid(a)
    for x in (a, ro):
        losses.bernoulli_nll(a, x)
        z, std = reparam.reparam_forward(a, a, x)
    reparam.reparam_backward(z, std, a)
    losses.kl_normal(a, a)
    optim.sgd_update(w.copy(), w, w.copy(), 0.1, 0.9, 0.0)
    optim.adam_update(w.copy(), w, w.copy(), w.copy(), 0.1, 0.9, 0.999, 1e-8, 1, 0.0)


def in_background(dtype, backend):
    """Start warmup(dtype, backend) on a daemon thread; return the thread (join it)."""
    def quietly():
        try:
            warmup(dtype, backend)
        except Exception:       # noqa: BLE001  VAE() warms up again and reports it there
            pass
    thread = threading.Thread(target=quietly, name="minivae-warmup", daemon=True)
    thread.start()
    return thread
