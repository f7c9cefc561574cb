"""Numba with nowhere to keep its cache (a read-only install, an unwritable HOME): one line,
and the kernels still compile, into a temporary folder removed at exit (minivae.kernels.jit)."""
import os
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("numba")

# Numba's two writable places, as they answer when neither can be written (each returns
# None when its folder is not writable: numba.core.caching._SourceFileBackedLocatorMixin)
SCRIPT = textwrap.dedent("""
    import numba.core.caching as caching
    none = classmethod(lambda cls, py_func, py_file: None)
    caching.InTreeCacheLocator.from_function = none
    caching.UserWideCacheLocator.from_function = none
    import numpy as np
    import minivae
    from minivae import kernels
    from minivae.kernels import losses as twins      # the Numba twins: compiled at first call
    import numba
    kl, dmu, dlv = twins.kl_normal_and_grads(np.zeros((2, 3)), np.zeros((2, 3)))
    assert kernels.get_backend() == "numba" and np.all(kl == 0)
    print(numba.config.CACHE_DIR)
""")


def test_no_writable_cache_folder_is_one_line_and_a_temporary_cache(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_")}
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                          env={**env, "MINIVAE_BACKEND": "numba"}, cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr
    from minivae.kernels.jit import NO_CACHE
    assert proc.stderr == NO_CACHE + "\n"
    folder = proc.stdout.strip()
    assert os.path.basename(folder).startswith("minivae-numba-")
    assert not os.path.exists(folder)                   # removed at exit
