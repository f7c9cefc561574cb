"""Shared pytest fixtures.

`mnist_dir`   Path of a directory holding MNIST's four IDX .gz files.
`mnist_small` (x_train, y_train, x_test, y_test): the first 2000 training and
              500 test examples, float32 in [0, 1] and int64, read-only.
`tiny_run`    a run folder after one epoch of a tiny VAE: last.npz and its history.
`browser`     one headless Chromium for the session (browser_tools.py).
`site_extra`, `quick_site`   the site extra, and one quick build of the course site (site_tools.py).

Tests that use them never download: without MNIST they skip (or fail in CI).
"""
import os
import signal
from pathlib import Path

import pytest

from browser_tools import browser  # noqa: F401  (the fixture: headless Chromium)
from site_tools import quick_site, site_extra  # noqa: F401  (the fixtures of the site's tests)

REPO = Path(__file__).resolve().parents[1]

# Some tests press Ctrl-C on a child process (SIGINT).  A shell starts a background
# job with SIGINT ignored, every child inherits that, and Python then installs no
# KeyboardInterrupt handler: the child would run on.  A handler, unlike "ignored",
# is reset to the default at exec, so the children get Python's usual Ctrl-C.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


def _has_mnist(d: Path) -> bool:
    from minivae.data import FILES   # imported here so a broken package fails tests, not collection
    return all((d / name).is_file() for pair in FILES.values() for name in pair)


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """Directory with the four MNIST files, first found of:
    $MINIVAE_DATA, ../shared/data/mnist beside the repo, the repo's data/mnist.

    If none has them: pytest.fail when $CI == "true" (CI must not silently
    skip), else pytest.skip with a hint.
    """
    candidates = [Path(os.environ["MINIVAE_DATA"])] if os.environ.get("MINIVAE_DATA") else []
    candidates += [REPO.parent / "shared" / "data" / "mnist", REPO / "data" / "mnist"]
    for d in candidates:
        if _has_mnist(d):
            return d
    msg = ("MNIST not found: set MINIVAE_DATA to a directory holding the four IDX .gz files "
           f"(looked in {', '.join(map(str, candidates))})")
    if os.environ.get("CI") == "true":
        pytest.fail(msg)
    pytest.skip(msg)


@pytest.fixture(scope="session")
def mnist_small(mnist_dir):
    """(x_train[:2000], y_train[:2000], x_test[:500], y_test[:500]) via load_mnist.

    x: (N, 784) float32 in [0, 1]; y: (N,) int64. Views of load_mnist's cached,
    read-only arrays: copy before modifying.
    """
    from minivae.data import load_mnist
    x_train, y_train = load_mnist("train", data_dir=mnist_dir, download=False)
    x_test, y_test = load_mnist("test", data_dir=mnist_dir, download=False)
    return x_train[:2000], y_train[:2000], x_test[:500], y_test[:500]


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, mnist_dir):
    """A run folder (last.npz, history.json, history.csv) after one epoch of a 784-16-2 VAE
    on 200 digits: a checkpoint for commands that read one.  Copy before changing it."""
    from minivae.commands.cli import main
    out = tmp_path_factory.mktemp("tiny") / "run"
    assert main(["train", "--data", str(mnist_dir), "--hidden", "16", "--z-dim", "2", "--subset",
                 "200", "--test-subset", "50", "--epochs", "1", "--no-images", "--quiet",
                 "--out", str(out)]) == 0
    return out
