"""OpenBLAS's idle worker threads, and why minivae asks them to sleep sooner.

NumPy's matrix products run on OpenBLAS, which keeps a worker thread on every
core.  When a product ends, each worker spins, polling for the next one, for
2ᴺ clock ticks (its time-stamp counter) before it goes to sleep,
N = $OPENBLAS_THREAD_TIMEOUT: 28 by default, about 0.1 s at 2–3 GHz, far
longer than a training step's gaps between products.  A spinning worker
holds its core.  The optimizer update (a pass over every parameter, bound by
memory bandwidth, see update_threads.py) runs right after the backward pass's last
product, so a second thread for it finds both cores taken and gains nothing.

OpenBLAS reads the variable once, when NumPy loads it.  So `import minivae`,
*before NumPy is imported*, sets it to TIMEOUT (2¹⁶ ticks, tens of
microseconds) unless it is set already; `python -m minivae ...` always
imports minivae first.  With the workers napping, the numba backend splits
each optimizer update over two threads (update_threads.py); with
them spinning (NumPy was imported first and the variable was not set) it
keeps the update on one thread, as a second one then gained nothing.
README, "Speed", has the measurements; to choose for yourself, set the
variable before Python starts (`OPENBLAS_THREAD_TIMEOUT=28` restores
OpenBLAS's default).

Only OpenBLAS (what NumPy's wheels ship) is looked at; under another BLAS the
update stays on one thread.
"""
import os
import sys

from .. import environment

ENV_VAR = "OPENBLAS_THREAD_TIMEOUT"
TIMEOUT = 16            # 2¹⁶ ticks; 12 to 20 worked alike, 28 (OpenBLAS's default) did not
NAPS_UP_TO = 20         # a setting this low (2²⁰ ticks or fewer) counts as napping
OPENBLAS_DEFAULT = 28   # what OpenBLAS uses when the variable is unset, empty or 0
OPENBLAS_RANGE = (4, 30)  # OpenBLAS clamps a setting to these


def configure():
    """Set ENV_VAR to TIMEOUT if NumPy is not loaded yet and the user has not set it.

    Returns whether OpenBLAS's workers nap, i.e. ENV_VAR, as OpenBLAS reads it
    (0 is its default, other values are clamped to OPENBLAS_RANGE), is at most
    NAPS_UP_TO (assumed when NumPy was already loaded and the variable is set:
    it then came from the shell).  A value that is not a whole number is an
    EnvironmentVariableError, as is one of OPENBLAS_NUM_THREADS.
    """
    environment.whole_number("OPENBLAS_NUM_THREADS", "threads for matrix products; 0: "
                             "OpenBLAS's default, one per core")
    if "numpy" not in sys.modules:
        os.environ.setdefault(ENV_VAR, str(TIMEOUT))
    n = environment.whole_number(ENV_VAR, f"OpenBLAS's idle threads nap after 2^N clock ticks; "
                                 f"{OPENBLAS_RANGE[0]}-{OPENBLAS_RANGE[1]}, 0: its default "
                                 f"{OPENBLAS_DEFAULT}")
    return bool(n) and n <= NAPS_UP_TO   # unset or 0: OpenBLAS's 28; its clamp to
                                         # OPENBLAS_RANGE leaves the answer as it is


def blas_is_openblas():
    """Whether NumPy was built against OpenBLAS (its wheels are: scipy-openblas)."""
    import numpy as np
    try:
        name = np.__config__.CONFIG["Build Dependencies"]["blas"]["name"]
    except (AttributeError, KeyError, TypeError):
        return False
    return "openblas" in str(name).lower()


# runs when minivae/__init__.py imports this module, before NumPy
NAPS = environment.at_import(configure)


def update_threads():
    """Threads for the optimizer update: 2 when OpenBLAS's workers nap and 2 cores exist."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return 2 if NAPS and (cores or 1) >= 2 and blas_is_openblas() else 1
