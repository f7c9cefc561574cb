"""bench's rows under load (minivae/commands/bench_load.py): each worker's environment, the
busy processes, and a worker's answers.  No time is held to a bound here; the run of
`bench --quick` in test_bench.py checks the rows it reports."""
import io
import json
import time
from pathlib import Path

import numpy as np
import pytest

from minivae.commands import bench_load


def test_each_worker_gets_its_settings_variables_and_no_others():
    mine = {"PATH": "/bin", "OPENBLAS_NUM_THREADS": "7", "OMP_NUM_THREADS": "3",
            "NUMBA_NUM_THREADS": "1", "OPENBLAS_THREAD_TIMEOUT": "4"}
    envs = {name: bench_load.worker_env(name, 4, mine) for name in bench_load.SETTINGS}
    assert envs["default"] == {"PATH": "/bin"}
    assert envs["1 thread"] == {"PATH": "/bin", "OPENBLAS_NUM_THREADS": "1"}
    assert envs["napping"] == {"PATH": "/bin", "OPENBLAS_NUM_THREADS": "4",
                               "OPENBLAS_THREAD_TIMEOUT": "16"}
    assert envs["spinning"] == {"PATH": "/bin", "OPENBLAS_NUM_THREADS": "4",
                                "OPENBLAS_THREAD_TIMEOUT": "28"}
    assert bench_load.BEFORE in bench_load.SETTINGS


def cpu_ticks(pid):
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])        # utime + stime


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")
def test_the_busy_processes_spin_until_stopped():
    procs = bench_load.busy(2)
    try:
        time.sleep(0.5)
        assert all(p.poll() is None for p in procs)
        assert all(cpu_ticks(p.pid) > 0 for p in procs)
    finally:
        bench_load.stop(procs)
    assert all(p.returncode is not None for p in procs)


def test_a_worker_starts_a_run_per_line_and_says_what_it_chose(tmp_path, monkeypatch):
    """serve(), in this process, with one BLAS thread fixed by the variable; a run with the
    load arriving says what it chose, then waits for "go"."""
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    np.save(tmp_path / "x.npy", np.random.default_rng(0).random((300, 784), dtype=np.float32))
    lines = iter([json.dumps({"x_path": str(tmp_path / "x.npy"), "preset": "pytorch-example"}),
                  "2", "3 arriving", "go", "1"])
    out = io.StringIO()
    bench_load.serve(lines, out)
    answers = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(answers) == 4 and answers[1] == {"settled": "1 thread"}
    for a in answers[:1] + answers[2:]:
        assert set(a) == {"settle_s", "steps_s", "setting"} and a["setting"] == "1 thread"
        assert a["settle_s"] >= 0 and a["steps_s"] > 0
