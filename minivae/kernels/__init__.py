"""Numba twins of the maths, and the switch that chooses them.

The mathematics is written once, in NumPy, in the maths modules (layers.py,
reparam.py, losses.py, optim.py), each function under the formula it
computes.  Where a function is on the training step's hot path, a faster twin
exists: a function of the same name and signature in this subpackage's module
of the same name (minivae.losses.kl_normal_and_grads ->
minivae.kernels.losses.kl_normal_and_grads).  It computes the same numbers
(tests/unit/test_kernels.py holds the two equal, float64 to 1e-12), and the
maths function chooses it in its own body, where a reader sees the choice:

    twin = kernels.twins(__name__)          # once, at the top of minivae/losses.py

    def kl_normal_and_grads(mu, log_var):
        if twin.kl_normal_and_grads:        # the numba backend: the twin computes it
            return twin.kl_normal_and_grads(mu, log_var)
        var = np.exp(log_var)               # the NumPy lines
        ...

`twin.NAME` is the twin while the numba backend is on, None under numpy.  The
two backends:

    numpy   the NumPy lines under the formula: what a reader reads
    numba   BLAS for the matrix products, fused @njit passes for the
            elementwise work around them and for the optimizer update

`set_backend(name)` chooses (`with using(name):` for one block); at import the
backend is $MINIVAE_BACKEND when set ("numpy" or "numba"; any other value is
an error, see minivae/environment.py), else DEFAULT, the faster one in
`python -m minivae bench` (README, "Speed").  Without numba installed
everything runs on numpy.  set_backend fills in every module's `twin`
attributes at once; nothing rebinds a module's names.  A function whose
NumPy lines were edited since its twin was verified runs those lines on
either backend, and says so once (verified.py).

The machinery behind the speed is explained where it lives:

    threads.py         the thread policy: BLAS threads, how idle ones wait, the
                       update's threads, chosen when a run starts; with
                       cores.py (the cores a run may use) and openblas.py
                       (OpenBLAS steered at run time)
    update_threads.py  the optimizer update on two threads
    flush.py           why tiny weights and moments are flushed to zero, and how
    precompile.py      compiling (or loading) the twins before a run needs them,
                       and doing it on a second thread while MNIST is read
    jit.py             the Numba options every twin is compiled with
"""
import contextlib
import importlib
import os
import sys

import numpy as np

from .. import environment
from ..errors import ArgumentError
from . import precompile, verified

BACKENDS = ("numpy", "numba")
DEFAULT = "numba"          # faster on both presets in `python -m minivae bench`
ENV_VAR = "MINIVAE_BACKEND"
FLAG_HELP = ("numpy: run the NumPy lines of the maths modules, as you read them; numba: "
             "their Numba twins, faster (the default; as $MINIVAE_BACKEND, which it overrides)")

_backend = "numpy"
_twins = {}                # "losses" -> the Twins that minivae/losses.py holds
_announced = set()         # the edited functions already named on stderr


class Twins:
    """A maths module's Numba twins, by name: the twin when the numba backend is on and
    the module's NumPy lines are the ones it was verified against, else None."""

    def __init__(self, module, names):
        self._module = module
        for name in names:
            setattr(self, name, None)

    def __repr__(self):
        on = [n for n, f in vars(self).items() if not n.startswith("_") and f is not None]
        return f"<twins of minivae.{self._module}: {', '.join(on) or 'none'} on>"


def twins(module):
    """The Twins of maths module `module` (its __name__), filled for the active backend."""
    short = module.rsplit(".", 1)[-1]
    if short not in _twins:
        names = [key.split(".")[1] for key in verified.COMPUTES if key.split(".")[0] == short]
        if not names:
            raise ValueError(f"minivae.kernels has no twins for {module}")
        _twins[short] = Twins(short, names)
        _fill({short: _twins[short]}, _backend)
    return _twins[short]


def _fill(modules, backend):
    """Set every twin attribute of `modules` ({"losses": Twins, ...}) for `backend`:
    all twins found first, so a failure leaves nothing half switched."""
    chosen = {}
    for short, t in modules.items():
        for name in vars(t):
            if not name.startswith("_"):
                chosen[short, name] = _twin(f"{short}.{name}") if backend == "numba" else None
    for (short, name), fn in chosen.items():
        setattr(modules[short], name, fn)


def _twin(key):
    """The Numba twin `key` ("losses.kl_normal_and_grads") when the NumPy lines it computes
    are those it was verified against; else None, and their names on stderr, once."""
    edited = verified.edited(key)
    for function in edited:
        if function not in _announced:
            _announced.add(function)
            print(f"minivae: {function} was edited: running your NumPy lines; its Numba twin "
                  "computes the original", file=sys.stderr, flush=True)
    if edited:
        return None
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


def set_backend(name):
    """Make `name` ("numpy" or "numba") compute every function that has a twin, from now on.

    Compiles nothing: a twin compiles (or loads from Numba's disk cache) when first
    called, unless warmup() ran first, as train() does.
    """
    global _backend
    if name not in BACKENDS:
        raise ArgumentError(f"backend must be one of {', '.join(BACKENDS)}, got {name!r}")
    if name == "numba" and not _numba_importable():
        raise ArgumentError("backend 'numba' needs the numba package, which cannot be "
                            "imported here; use 'numpy' or `pip install numba`")
    _fill(_twins, name)
    _backend = name


@contextlib.contextmanager
def using(name):
    """Within a with block, set_backend(name); after it, the backend that was active before."""
    before = _backend
    set_backend(name)
    try:
        yield
    finally:
        set_backend(before)


def describe():
    """One line for the start of a run: the backend in use, and how to run the NumPy lines."""
    if _backend == "numpy":
        return "backend numpy: the NumPy lines of the maths modules run, as you read them"
    return ("backend numba: the maths modules' Numba twins (minivae/kernels/) run; "
            "--backend numpy or MINIVAE_BACKEND=numpy runs the NumPy lines you read")


def warmup(dtype=np.float32):
    """Compile (or load from the disk cache) the active backend's twins for dtype, once;
    return the seconds that took, or None under numpy."""
    return precompile.warmup(dtype, _backend)


def warmup_in_background(dtype=np.float32):
    """warmup(dtype) on a second thread (precompile.py); returns the thread to join."""
    return precompile.in_background(dtype, _backend)


def set_update_threads(n):
    """The numba optimizer update on n threads, 1 or 2 (threads.py chooses when a run
    starts); returns the count before.  The numpy backend's update is one NumPy
    expression after another and is not affected."""
    if not _numba_importable():
        raise ArgumentError("update threads are a numba-backend setting; numba is not importable")
    from . import update_threads
    return update_threads.set_threads(n)


def set_blas_threads(n):
    """The matrix products on n OpenBLAS threads from now on (threads.py chooses when a run
    starts); returns the count before, or None (and changes nothing) when NumPy's BLAS
    is not OpenBLAS."""
    from . import openblas
    blas = openblas.find()
    if blas is None:
        return None
    before = blas.threads()
    blas.set_threads(n)
    return before


def thread_info():
    """CPU count, the cores a run may use, OpenBLAS's threads and its idle workers' timeout
    N (2ᴺ ticks; None: not OpenBLAS) and, when numba is importable (whichever backend is
    active), Numba's threads and layer and the numba update's threads."""
    from . import cores, openblas
    blas = openblas.find()
    info = {"cpus": os.cpu_count(), "usable_cores": cores.usable(),
            "blas_threads": blas and blas.threads(),
            "blas_timeout": blas.timeout() if blas and blas.steers_timeout else None}
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
