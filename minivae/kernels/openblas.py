"""OpenBLAS, the library under NumPy's matrix products, steered while it runs.

NumPy's wheels bundle OpenBLAS (as scipy-openblas).  When it loads, it
starts a worker thread per core and reads its settings from the environment
(OPENBLAS_NUM_THREADS, OPENBLAS_THREAD_TIMEOUT, ...); a setting made by
putting a variable in the environment therefore works only before NumPy is
imported.  minivae changes two settings at run time instead, so that it does
not matter what a script imported first:

  threads   how many threads split a product: `openblas_set_num_threads`,
            OpenBLAS's public call (threadpoolctl uses the same one).
  timeout   how long an idle worker spins, polling for the next product,
            before it sleeps: 2ᴺ clock ticks, N = OPENBLAS_THREAD_TIMEOUT
            (28 by default, about 0.1 s).  OpenBLAS reads N only when it
            starts its workers.  So N is put in the environment, OpenBLAS is
            asked to read the environment again (`openblas_read_env`), and
            its workers are stopped (`blas_thread_shutdown_`, the call OpenBLAS
            makes itself before a fork); the next product starts them afresh,
            with the new N.  The environment is then left as it was.

Neither changes what a product computes, except that the number of threads
can change its last bits (threads.py says why that matters).  The library is
looked for among the files this process has loaded (/proc/self/maps, Linux)
or in NumPy's folder of bundled libraries, and each call under the names
OpenBLAS's builds give it (plain, scipy-openblas's `scipy_` prefix, the `64_`
suffix of 64-bit-integer builds).  Where NumPy uses another BLAS, or a call
is missing, `find()` answers None, or the OpenBLAS it returns cannot change
the timeout, and nothing is changed.
"""
import ctypes
import os
from pathlib import Path

TIMEOUT_VAR = "OPENBLAS_THREAD_TIMEOUT"
DEFAULT_TIMEOUT = 28            # what OpenBLAS uses when the variable is unset, empty or 0
TIMEOUT_RANGE = (4, 30)         # OpenBLAS clamps a setting to these


def as_read(n):
    """The timeout N that OpenBLAS makes of a setting n: its default for 0, else n clamped."""
    return min(max(n, TIMEOUT_RANGE[0]), TIMEOUT_RANGE[1]) if n else DEFAULT_TIMEOUT


def _candidates():
    """Paths of the loaded (or NumPy-bundled) shared libraries that look like OpenBLAS,
    NumPy's own first."""
    try:
        with open("/proc/self/maps") as maps:
            fields = (line.split(None, 5) for line in maps)
            paths = {f[5].strip() for f in fields if len(f) == 6}
    except OSError:
        import numpy
        folder = Path(numpy.__file__).parent
        paths = {str(p) for d in (folder.parent / "numpy.libs", folder / ".dylibs")
                 if d.is_dir() for p in d.iterdir()}
    return sorted((p for p in paths if "openblas" in p.lower()), key=lambda p: ("numpy" not in p, p))


def _function(lib, name, restype=ctypes.c_int):
    """lib's function `name` under any of the names OpenBLAS builds give it, or None."""
    for prefix in ("", "scipy_"):
        for suffix in ("", "64_", "_64"):
            try:
                f = getattr(lib, f"{prefix}{name}{suffix}")
            except AttributeError:
                continue
            f.restype = restype
            return f
    return None


class OpenBLAS:
    """The OpenBLAS that NumPy's matrix products run on; see the module docstring."""

    def __init__(self, lib, path):
        self.path = path
        self._get = _function(lib, "openblas_get_num_threads")
        self._set = _function(lib, "openblas_set_num_threads", None)
        self._read_env = _function(lib, "openblas_read_env", None)
        self._shutdown = _function(lib, "blas_thread_shutdown_")
        self._timeout = _function(lib, "openblas_thread_timeout", ctypes.c_uint)
        self.steers_timeout = None not in (self._read_env, self._shutdown, self._timeout)

    def threads(self):
        return int(self._get())

    def set_threads(self, n):
        self._set(ctypes.c_int(int(n)))

    def timeout(self):
        """N: idle workers spin for 2ᴺ ticks before they sleep."""
        return as_read(int(self._timeout()) if self.steers_timeout else 0)

    def set_timeout(self, n):
        """Workers started from now on spin for 2ⁿ ticks; those running are stopped (the
        next product starts them).  Call it while no thread is inside a matrix product."""
        if not self.steers_timeout or self.timeout() == n:
            return
        before = os.environ.get(TIMEOUT_VAR)
        os.environ[TIMEOUT_VAR] = str(n)
        try:
            self._read_env()
        finally:
            if before is None:
                del os.environ[TIMEOUT_VAR]
            else:
                os.environ[TIMEOUT_VAR] = before
        self._shutdown()


_found = []


def find():
    """The OpenBLAS of NumPy's matrix products, or None (another BLAS, or no thread calls)."""
    if not _found:
        import numpy  # noqa: F401  loads OpenBLAS
        blas = None
        for path in _candidates():
            try:
                lib = ctypes.CDLL(path)
            except OSError:
                continue
            candidate = OpenBLAS(lib, path)
            if candidate._get is not None and candidate._set is not None:
                blas = candidate
                break
        _found.append(blas)
    return _found[0]
