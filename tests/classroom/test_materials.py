"""Where the lessons and stubs are: package data when installed, lessons/ in a clone that
was never installed (`python -m minivae …` run from its root)."""
import importlib.util
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from minivae.classroom import materials
from minivae.errors import ArgumentError

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def clone(tmp_path_factory):
    """A copy of the repository's source tree, and a run(*argv) of `python -m minivae` in it
    whose import path holds the libraries but no installed minivae (python -S: no .pth file
    runs, so neither does an editable install's)."""
    root = tmp_path_factory.mktemp("clone") / "minivae-clone"
    for part in ("minivae", "lessons"):
        shutil.copytree(REPO / part, root / part, ignore=shutil.ignore_patterns("__pycache__", "out"))
    for part in ("setup.cfg", "pyproject.toml", "README.md"):
        shutil.copy(REPO / part, root / part)
    libraries = {sysconfig.get_paths()[k] for k in ("purelib", "platlib")}
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sorted(libraries)), "MPLBACKEND": "Agg",
           "OPENBLAS_NUM_THREADS": "1"}

    def run(*argv, cwd=root):
        return subprocess.run([sys.executable, "-S", *argv], cwd=cwd, env=env, capture_output=True,
                              text=True, timeout=600)
    outside = run("-c", "import minivae", cwd=root.parent)
    assert outside.returncode == 1 and "No module named 'minivae'" in outside.stderr  # the premise
    return root, run


def test_exercise_and_check_work_in_a_clone_that_was_never_installed(clone):
    root, run = clone
    proc = run("-m", "minivae", "exercise", "1", "5", "--out", "work")
    assert proc.returncode == 0, proc.stderr
    assert (root / "work" / "ex01_dense_backward.py").read_bytes() == \
        (root / "lessons" / "exercises" / "ex01_dense_backward.py").read_bytes()
    proc = run("-m", "minivae", "check", "1")
    assert proc.returncode == 1 and "passed 0 of 3 parts" in proc.stdout, proc.stdout + proc.stderr
    assert proc.stdout.count("not implemented yet") >= 3
    proc = run("-m", "minivae", "check", "work")
    assert proc.returncode == 1 and "passed 0 of 2 files, 0 of 6 parts" in proc.stdout, proc.stderr
    assert "Traceback" not in proc.stderr


def test_notebooks_and_lessons_work_in_a_clone_that_was_never_installed(clone):
    if importlib.util.find_spec("jupytext") is None:
        pytest.skip('the notebook extra is missing: pip install -e ".[notebook]"')
    root, run = clone
    proc = run("-m", "minivae", "notebooks", "03", "--out", "nb")
    assert proc.returncode == 0 and (root / "nb" / "03_reparam.ipynb").is_file(), proc.stderr
    proc = run("-m", "minivae", "notebooks", "--student", "04", "--out", "fill")
    assert proc.returncode == 0, proc.stderr
    proc = run("-m", "minivae", "check", "fill/04_kl_and_elbo.ipynb")
    assert proc.returncode == 1 and "part 1: not implemented yet" in proc.stdout, proc.stderr
    proc = run("-m", "minivae", "lesson", "01", "--quick")
    assert proc.returncode == 0 and (root / "minivae-out" / "01_fig2_ring.png").is_file(), proc.stderr


def test_lessons_beside_the_package_must_be_minivae_s(tmp_path, monkeypatch):
    """Outside an install, a lessons/ folder beside the package counts only when it holds
    __init__.py and exercises/__init__.py; else one line says there are no lessons."""
    (tmp_path / "minivae").mkdir()
    (tmp_path / "lessons").mkdir()
    files = {"minivae": tmp_path / "minivae"}

    def fake_files(name):
        if name not in files:
            raise ModuleNotFoundError(name)
        return files[name]
    monkeypatch.setattr(materials.resources, "files", fake_files)
    with pytest.raises(ArgumentError, match="this minivae has no lessons"):
        materials.lessons_dir()
    (tmp_path / "lessons" / "__init__.py").write_text("")
    (tmp_path / "lessons" / "exercises").mkdir()
    (tmp_path / "lessons" / "exercises" / "__init__.py").write_text("")
    assert materials.lessons_dir() == tmp_path / "lessons"
    assert materials.stubs_dir() == tmp_path / "lessons" / "exercises"
    with pytest.raises(ArgumentError, match="no lessons in"):
        materials.chosen_lessons(["03"])
