"""A bug planted in a scratch copy of the package, as a student editing the maths plants one.

The copy keeps its files' times and Numba's disk cache (its twins load instead
of compiling) and runs as `python -m minivae` with the copy first on the path,
with the default settings: the numba backend, unless numba is missing.  An
edited NumPy function runs as edited on either backend, so the planted line
is what fails, and says where.
"""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import minivae
from minivae import kernels
from minivae.commands.cli import BUG

PACKAGE = Path(minivae.__file__).resolve().parent
# in layers.dense_backward: a wrong transpose (the product fails), and db as a mean (it runs)
TRANSPOSE = ("return dy @ W.T if need_dx else None", "return dy @ W if need_dx else None")
DB_MEAN = ("np.sum(dy, axis=0, out=db)", "np.mean(dy, axis=0, out=db)")
NUMBA = "numba" in kernels.available_backends()


@pytest.fixture
def scratch(tmp_path):
    """plant(old, new) edits layers.py in a copy of the package and returns the planted
    line's number; run(*args) runs `python -m minivae ARGS` on the copy."""
    shutil.copytree(PACKAGE, tmp_path / "minivae")          # copy2: the times are kept
    layers = tmp_path / "minivae" / "layers.py"

    def plant(old, new):
        text = layers.read_text(encoding="utf-8")
        assert text.count(old) == 1, old
        layers.write_text(text.replace(old, new), encoding="utf-8")
        return text[:text.index(old)].count("\n") + 1

    def run(*args):
        env = {**os.environ, "PYTHONPATH": str(tmp_path), "MPLBACKEND": "Agg"}
        env.pop("MINIVAE_BACKEND", None)                    # the default settings
        return subprocess.run([sys.executable, "-m", "minivae", *map(str, args)], env=env,
                              cwd=tmp_path, capture_output=True, text=True, timeout=600)
    plant.run, plant.layers = run, layers
    return plant


def edited_line(function):
    return (f"minivae: {function} was edited: running your NumPy lines; its Numba twin "
            "computes the original")


def test_a_planted_bug_shows_its_traceback_and_a_user_error_stays_one_line(scratch, mnist_dir,
                                                                          tmp_path):
    line = scratch(*TRANSPOSE)
    tiny = ["--data", mnist_dir, "--hidden", "8", "--z-dim", "2", "--subset", "60",
            "--test-subset", "30", "--epochs", "1", "--batch-size", "30", "--no-images", "--quiet"]
    bug = scratch.run("train", *tiny, "--out", tmp_path / "run")
    lines = bug.stderr.strip().splitlines()
    assert bug.returncode == 1, bug.stderr
    assert "Traceback (most recent call last):" in bug.stderr
    assert f'File "{scratch.layers}", line {line}, in dense_backward' in bug.stderr, bug.stderr
    assert lines[-1] == f"minivae train: {BUG}"
    if NUMBA:           # the default backend is numba: the edit ran all the same, and it said so
        assert lines[0] == edited_line("layers.dense_backward"), lines[0]
    user = scratch.run("train", *tiny, "--epochs", "0", "--out", tmp_path / "run2")
    assert user.returncode == 2 and "Traceback" not in user.stderr
    assert user.stderr.strip().splitlines()[-1] == ("minivae train: error: epochs must be a "
                                                     "positive integer, got 0")


def gradcheck_rows(stdout):
    """{component: [its cells, one per backend]} of gradcheck's table."""
    return {m[1].strip(): re.findall(r"(\S+) (pass|FAIL)", m[2])
            for m in re.finditer(r"^(\S.*?)  +((?:\S+ (?:pass|FAIL) *)+)  +\de-0\d$", stdout, re.M)}


def test_gradcheck_fails_a_bug_planted_in_the_numpy_lines_in_every_column(scratch):
    """db as a mean: the dense row fails under numpy, and under numba, where the edited
    NumPy lines run too; rows that do not reach dense_backward pass."""
    scratch(*DB_MEAN)
    out = scratch.run("gradcheck")
    rows = gradcheck_rows(out.stdout)
    assert out.returncode == 1 and len(rows) == 11, out.stdout + out.stderr
    columns = 2 if NUMBA else 1
    assert [r for _, r in rows["layers.dense_forward, dense_backward"]] == ["FAIL"] * columns
    assert [r for _, r in rows["losses.kl_normal_and_grads (Eq. 7)"]] == ["pass"] * columns
    if NUMBA:
        assert out.stderr.strip() == edited_line("layers.dense_backward")


def test_gradcheck_names_what_a_planted_bug_raised_and_checks_the_rest(scratch):
    line = scratch(*TRANSPOSE)
    out = scratch.run("gradcheck")
    rows = gradcheck_rows(out.stdout)
    assert out.returncode == 1 and len(rows) == 11, out.stdout + out.stderr
    assert rows["layers.dense_forward, dense_backward"][0] == ("raised", "FAIL")
    assert rows["losses.bernoulli_nll_and_grad"][0][1] == "pass"
    assert ("FAIL on numpy: layers.dense_forward, dense_backward raised ValueError: matmul: "
            in out.stdout), out.stdout
    assert f"(minivae/layers.py:{line})" in out.stdout


@pytest.mark.skipif(not NUMBA, reason="numba is not importable")
def test_gradcheck_fails_a_bug_planted_in_a_twin_in_the_numba_column(monkeypatch, capsys):
    """A twin that doubles db (in-process: the twin module's function replaced): the dense
    row fails in the numba column alone."""
    from minivae.commands.cli import main
    from minivae.kernels import layers as twins
    real = twins.dense_backward

    def db_doubled(x, W, dy, dW, db, need_dx=True, relu_y=None):
        dx = real(x, W, dy, dW, db, need_dx, relu_y)
        db *= 2
        return dx
    monkeypatch.setattr(twins, "dense_backward", db_doubled)
    try:
        code = main(["gradcheck"])
    finally:
        monkeypatch.undo()
        kernels.set_backend(kernels.get_backend())          # the real twin back in place
    rows = gradcheck_rows(capsys.readouterr().out)
    assert code == 1 and len(rows) == 11
    assert [r for _, r in rows["layers.dense_forward, dense_backward"]] == ["pass", "FAIL"]
    assert [r for _, r in rows["losses.kl_normal_and_grads (Eq. 7)"]] == ["pass", "pass"]
