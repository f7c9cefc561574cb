"""`python -m minivae lesson NN`: a lesson run from the package, writing where it is run.

(.ci/wheel runs it from an installed wheel, outside the clone, and checks that
nothing was written into site-packages.)
"""
import os
import subprocess
import sys
from pathlib import Path

from minivae.classroom import lesson
from minivae.commands.cli import main


def run(cwd, *argv):
    env = {**os.environ, "MPLBACKEND": "Agg", "OPENBLAS_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "minivae", "lesson", *argv], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_a_lesson_writes_to_minivae_out_here_or_to_out(tmp_path):
    proc = run(tmp_path, "01", "--quick", "--seed", "3")
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in (tmp_path / "minivae-out").iterdir()) == \
        ["01_fig1.png", "01_fig2_ring.png", "01_inverse_cdf.png"]
    assert "saved minivae-out/01_fig2_ring.png" in proc.stdout
    proc = run(tmp_path, "1", "--out", "figures", "--quick")
    assert proc.returncode == 0 and (tmp_path / "figures" / "01_inverse_cdf.png").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["figures", "minivae-out"]


def test_the_lesson_s_own_flags_and_errors_reach_it(tmp_path, capsys):
    proc = run(tmp_path, "03", "--help")
    assert proc.returncode == 0 and "--quick" in proc.stdout and "--seed" in proc.stdout
    assert main(["lesson", "10"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["minivae lesson: error: no lesson 10; the lessons are 01, 02, 03, 04, 05, 06, "
                   "07, 07b, 08, 09"]
    proc = run(tmp_path, "03", "--quick", "--seed", "x")
    assert proc.returncode == 2 and "argument --seed: invalid int value: 'x'" in proc.stderr


def test_a_lesson_of_the_installed_package_never_writes_into_it(tmp_path, monkeypatch):
    """A wheel's `python -m minivae.lessons.03_reparam` has its script inside the package:
    its figures go to minivae-out/ in the working folder.  A lesson script anywhere else
    (a clone's lessons/) keeps out/ beside it."""
    package = tmp_path / "site-packages" / "minivae"
    (package / "lessons").mkdir(parents=True)
    monkeypatch.setattr(lesson.resources, "files", lambda name: package)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", [str(package / "lessons" / "03_reparam.py")])
    assert lesson._default_out() == tmp_path / "minivae-out"
    clone = tmp_path / "clone" / "lessons" / "03_reparam.py"
    monkeypatch.setattr(sys, "argv", [str(clone)])
    assert lesson._default_out() == clone.parent / "out"
    assert not Path("lessons").exists()


def test_a_lesson_never_writes_over_a_file_that_is_not_a_png(tmp_path):
    """files/overwrite.py's rule: a figure replaces a PNG (a lesson's own, from before), never
    a student's notes that happen to carry a figure's name."""
    out = tmp_path / "figures"
    out.mkdir()
    notes = out / "01_fig1.png"
    notes.write_text("my notes on Fig. 1\n")
    proc = run(tmp_path, "01", "--quick", "--out", "figures")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"--out {Path('figures') / '01_fig1.png'} exists and is not a PNG; give another file name"]
    assert notes.read_text() == "my notes on Fig. 1\n"
    notes.unlink()
    assert run(tmp_path, "01", "--quick", "--out", "figures").returncode == 0
    assert run(tmp_path, "01", "--quick", "--out", "figures").returncode == 0   # its own PNGs


def test_an_out_that_is_a_file_is_named_in_one_line(tmp_path, capsys):
    """--out naming a file, or a folder under one: exit 2 and a line that says what is in the
    way, the same line the exercise command gives (files/atomic.make_dirs)."""
    (tmp_path / "notes").write_text("my notes\n")
    for out, why in (("notes", "a file of that name is in the way"),
                     ("notes/figures", "a file stands where one of its parent folders would be")):
        proc = run(tmp_path, "01", "--quick", "--out", out)
        assert proc.returncode == 2
        assert proc.stderr.strip().splitlines() == [f"--out: cannot make the folder {out}: {why}"]
        assert main(["exercise", "1", "--out", str(tmp_path / out)]) == 2
        assert capsys.readouterr().err.strip().splitlines() == [
            f"minivae exercise: error: cannot make the folder {tmp_path / out}: {why}"]
    assert (tmp_path / "notes").read_text() == "my notes\n"
