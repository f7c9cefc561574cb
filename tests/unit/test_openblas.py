"""OpenBLAS steered at run time (minivae/kernels/openblas.py): its threads and its idle
workers' timeout change whatever was imported first, products stay right, and the
environment is left as it was."""
import os
import subprocess
import sys

import numpy as np
import pytest

from minivae.kernels import openblas

BLAS = openblas.find()
pytestmark = pytest.mark.skipif(BLAS is None, reason="NumPy's BLAS here is not OpenBLAS")


def test_it_is_numpys_own_openblas():
    name = str(np.__config__.CONFIG["Build Dependencies"]["blas"]["name"]).lower()
    assert "openblas" in name and "openblas" in BLAS.path.lower()


def test_threads_change_and_products_stay_right():
    before = BLAS.threads()
    a = np.random.default_rng(0).random((300, 400))
    want = a @ a.T
    try:
        for n in (1, 2, before):
            BLAS.set_threads(n)
            assert BLAS.threads() == n
            np.testing.assert_allclose(a @ a.T, want, rtol=1e-12)
    finally:
        BLAS.set_threads(before)


@pytest.mark.skipif(not (BLAS and BLAS.steers_timeout), reason="this OpenBLAS lacks the calls")
def test_the_timeout_changes_and_the_environment_is_left_alone(monkeypatch):
    monkeypatch.delenv("OPENBLAS_THREAD_TIMEOUT", raising=False)
    before = BLAS.timeout()
    a = np.random.default_rng(1).random((300, 300)).astype(np.float32)
    want = a @ a
    try:
        for n in (16, 28, 4, 12):
            BLAS.set_timeout(n)
            assert BLAS.timeout() == n
            assert "OPENBLAS_THREAD_TIMEOUT" not in os.environ
            np.testing.assert_array_equal(a @ a, want)      # the workers came back
        monkeypatch.setenv("OPENBLAS_THREAD_TIMEOUT", "30")
        BLAS.set_timeout(20)
        assert BLAS.timeout() == 20 and os.environ["OPENBLAS_THREAD_TIMEOUT"] == "30"
    finally:
        BLAS.set_timeout(before)


SHOW = """
import os
from minivae.kernels import openblas, threads
b = openblas.find()
print(b.threads(), b.timeout(), os.environ.get("OPENBLAS_THREAD_TIMEOUT"))
threads.apply(threads.Setting(1, 16, 2))
print(b.threads(), b.timeout(), os.environ.get("OPENBLAS_THREAD_TIMEOUT"))
"""


@pytest.mark.skipif(not (BLAS and BLAS.steers_timeout), reason="this OpenBLAS lacks the calls")
def test_no_import_order_matters():
    """Importing minivae changes no BLAS setting, and the thread policy sets them all
    alike whether NumPy or minivae was imported first."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "GOTO_NUM_THREADS",
                        "OPENBLAS_THREAD_TIMEOUT")}
    out = {first: subprocess.run([sys.executable, "-c", first + SHOW], env=env, text=True,
                                 capture_output=True, check=True).stdout.split("\n")[:2]
           for first in ("import minivae\nimport numpy", "import numpy\nimport minivae")}
    a, b = out.values()
    assert a == b
    assert a[0].split()[1:] == ["28", "None"]       # OpenBLAS's own timeout, nothing set
    assert a[1].split() == ["1", "16", "None"]


def cpu_while_idle(a):
    """CPU seconds this process spends in the 50 ms after a product (spinning workers)."""
    a @ a
    t = os.times()
    os.system("sleep 0.05")                    # a child's wait: the workers alone run
    u = os.times()
    return (u.user + u.system) - (t.user + t.system)


@pytest.mark.skipif(not (BLAS and BLAS.steers_timeout) or len(os.sched_getaffinity(0)) < 2,
                    reason="needs an OpenBLAS with the calls, and two cores")
def test_the_workers_wait_as_told():
    """After a product, workers told to spin (2²⁸ ticks, ~0.1 s) burn CPU for a while;
    told to nap (2⁴ ticks) they burn none: the timeout reaches the running workers."""
    before, threads = BLAS.timeout(), BLAS.threads()
    a = np.ones((400, 400), np.float32)
    try:
        BLAS.set_threads(2)
        BLAS.set_timeout(28)
        spinning = max(cpu_while_idle(a) for _ in range(3))
        BLAS.set_timeout(4)
        napping = min(cpu_while_idle(a) for _ in range(3))
    finally:
        BLAS.set_timeout(before)
        BLAS.set_threads(threads)
    assert spinning >= 0.01 and napping <= 0.005, (spinning, napping)


def test_kernels_set_blas_threads_returns_the_count_before():
    from minivae import kernels
    before = BLAS.threads()
    assert kernels.set_blas_threads(1) == before
    try:
        assert BLAS.threads() == 1
        assert kernels.set_blas_threads(2) == 1 and BLAS.threads() == 2
    finally:
        kernels.set_blas_threads(before)
