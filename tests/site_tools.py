"""Fixtures of the course-site tests (imported by tests/conftest.py).

`site_extra`  skips (fails under CI=true) when the site extra is not installed.
`quick_site`  one `python -m minivae site --quick` build for the whole session:
              (folder, what the command printed).

The tests that build a site run under the numba backend only (`one_backend`):
the site's machinery does not depend on the backend, and CI runs the suite
once per backend, so the second run skips instead of building the same sites
again (the quick build executes all nine lessons: about a minute and a half).
"""
import importlib.util
import os
import subprocess
import sys

import pytest

from minivae.commands.site import EXTRA


def need_site_extra():
    missing = [m for m in EXTRA if importlib.util.find_spec(m) is None]
    if missing:
        msg = f"the site extra is missing ({', '.join(missing)}): pip install -e \".[site]\""
        if os.environ.get("CI") == "true":
            pytest.fail(msg)
        pytest.skip(msg)


@pytest.fixture
def site_extra():
    need_site_extra()


def one_backend():
    """Skip under MINIVAE_BACKEND=numpy: a site is built in the numba run of the suite."""
    if os.environ.get("MINIVAE_BACKEND", "numba") == "numpy":
        pytest.skip("site builds run under the numba backend only (the site does not depend on "
                    "the backend; CI runs the suite under both and builds once)")


def site_env(mnist_dir, **extra):
    env = dict(os.environ, MPLBACKEND="Agg", MINIVAE_DATA=str(mnist_dir), **extra)
    env.pop("MINIVAE_QUICK", None)
    return env


@pytest.fixture(scope="session")
def quick_site(tmp_path_factory, mnist_dir):
    need_site_extra()
    one_backend()
    out = tmp_path_factory.mktemp("quick") / "site"
    done = subprocess.run([sys.executable, "-m", "minivae", "site", "--quick", "--out", str(out)],
                          env=site_env(mnist_dir), capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stdout + done.stderr
    return out, done.stdout + done.stderr
