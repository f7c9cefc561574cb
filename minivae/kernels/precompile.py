"""Compiling the Numba twins before a run needs them, and doing it beside other work.

Numba compiles a function the first time it sees a type signature (seconds,
once: jit.py keeps the machine code on disk) and loads it from that cache on
every later first call (tens of milliseconds for all of them).  Either way it
should not happen inside a training epoch, so train() calls kernels.warmup(dtype),
which calls `warmup` below, before its first step.  Building a model compiles
nothing: a lesson or a user's script that skips the warm-up just compiles (or
loads) each twin at its first call.

`in_background` starts that work on a second thread, for a caller that has
something else to do first: `train` reads MNIST meanwhile (decompression,
hashing and NumPy's casts release the GIL, so the two overlap; README,
"Speed", has the measurement).  A failure there stays quiet: the caller then
calls warmup() itself, which tries again and reports it.
"""
import threading
import time

import numpy as np

_seconds = {}              # dtype name -> seconds its twins took to compile or load


def warmup(dtype, backend):
    """Compile (or load) `backend`'s twins for dtype, once per dtype; return the seconds
    that took (the first time), or None under numpy, which has nothing to compile."""
    if backend != "numba":
        return None
    name = np.dtype(dtype).name
    if name not in _seconds:
        t0 = time.perf_counter()
        compile_for(np.dtype(dtype))
        _seconds[name] = time.perf_counter() - t0
    return _seconds[name]


def compile_for(dtype):
    """Run every twin the models and optimizers use on tiny arrays of `dtype`.

    The data-facing inputs are also warmed read-only, as MNIST arrays often are.
    """
    from . import layers, losses, optim, reparam
    f = np.dtype(dtype).type
    a, b, w = np.ones((2, 3), f), np.ones((3, 2), f), np.ones(3, f)
    decayed = np.ones(3, bool)
    ro = a.copy()
    ro.flags.writeable = False
    for relu in (False, True):
        y = layers.dense_forward(a, b, w[:2], relu=relu)
        layers.dense_backward(a, b, y, np.empty_like(b), np.empty(2, f), relu_y=y if relu else None)
    layers.relu_backward(layers.relu_forward(a), a)
    layers.sigmoid(a)
    wide = np.ones((1, losses.PRODUCT_MAX_D + 1), f)        # the float32 rows' other path
    for x in (a, ro):
        losses.bernoulli_nll_and_grad(a, x)
        z, std = reparam.reparam_forward(a, a, x)
    losses.bernoulli_nll_and_grad(wide, wide)
    reparam.reparam_backward(z, std, a)
    losses.kl_normal_and_grads(a, a)
    for weight_decay in (0.0, 0.1):                 # without decay the kernels skip the mask
        optim.sgd_step(w.copy(), w, w.copy(), 0.1, 0.9, weight_decay, decayed, 0.0)
        optim.adam_step(w.copy(), w, w.copy(), w.copy(), 0.1, 0.9, 0.999, 1e-8, 1, weight_decay,
                        decayed, 0.0)


def in_background(dtype, backend):
    """Start warmup(dtype, backend) on a daemon thread; return the thread (join it)."""
    def quietly():
        try:
            warmup(dtype, backend)
        except Exception:       # noqa: BLE001  the caller's warmup() tries again and reports it
            pass
    thread = threading.Thread(target=quietly, name="minivae-warmup", daemon=True)
    thread.start()
    return thread
