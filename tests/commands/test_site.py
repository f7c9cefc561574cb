"""`python -m minivae site` as a user meets it: a folder it will not write over, a failing lesson
named with its error and no site written, Ctrl-C stopping it at once.  (The build itself
is tested in tests/site/.)"""
import signal
import subprocess
import sys
import time

import pytest

from site_tools import one_backend, site_env


def minivae_site(*args, env=None):
    return subprocess.run([sys.executable, "-m", "minivae", "site", *args], capture_output=True,
                          text=True, env=env, timeout=600)


def test_a_folder_that_is_not_a_site_is_refused_in_one_line(tmp_path, site_extra):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "notes.md").write_text("mine")
    done = minivae_site("--out", str(tmp_path / "docs"))
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith(f"minivae site: error: --out {tmp_path / 'docs'} is not empty "
                                  "and holds no minivae site")
    assert [p.name for p in (tmp_path / "docs").iterdir()] == ["notes.md"]


def test_a_failing_lesson_is_named_and_no_site_is_written(tmp_path, mnist_dir, site_extra):
    one_backend()
    env = site_env(mnist_dir, MINIVAE_ARGS="--seed not-a-number")
    done = minivae_site("--quick", "--out", str(tmp_path / "site"), env=env)
    assert done.returncode == 1, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("minivae site: lesson 01_latent_variables failed: cell ")
    assert "EnvironmentVariableError" in last and "MINIVAE_ARGS" in last and last.endswith("; no site written")
    assert list(tmp_path.iterdir()) == []                  # no site, no temporary folder


def test_ctrl_c_stops_the_build_with_one_line_and_exit_130(tmp_path, mnist_dir, site_extra):
    one_backend()
    child = subprocess.Popen([sys.executable, "-m", "minivae", "site", "--quick", "--out",
                              str(tmp_path / "site")], env=site_env(mnist_dir),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = ""
    while "[1/" not in seen:
        char = child.stdout.read(1)
        assert char, child.stderr.read()
        seen += char
    time.sleep(1.5)                                         # the first lesson's kernel is running
    t0 = time.monotonic()
    child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=60)
    assert child.returncode == 130, err
    assert time.monotonic() - t0 < 30
    assert err.strip().splitlines() == ["minivae site: interrupted"]
    assert list(tmp_path.iterdir()) == []
