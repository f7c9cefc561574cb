"""What a course hands in: notebooks, whole folders, results for an autograder, and the
handed-out notebook that checks itself; usage errors take one line and exit 2."""
import json
import os
import subprocess
import sys
import time

import pytest

from minivae import kernels
from minivae.classroom.exercises import EXERCISES
from minivae.classroom.materials import stubs_dir
from minivae.commands.cli import main
from student_code import STUBS, check, failing_line, result_rows, solved, write


def notebook_of(tmp_path, n, code, extra_cells=(), name=None):
    """Exercise n handed out as a notebook (exercise --notebook), its code cell replaced;
    the test skips where nbformat (the notebook extra) is missing."""
    nbformat = pytest.importorskip("nbformat", reason="the notebook extra is missing: "
                                                      'pip install -e ".[notebook]"')
    assert main(["exercise", str(n), "--notebook", "--out", str(tmp_path), "--force"]) == 0
    path = tmp_path / (STUBS / EXERCISES[n][0]).with_suffix(".ipynb").name
    nb = nbformat.read(path, as_version=4)
    nb.cells[1].source = code
    for i, source in extra_cells:
        nb.cells.insert(i, nbformat.v4.new_code_cell(source))
    target = path.with_name(name) if name else path
    nbformat.write(nb, target)
    if name:
        path.unlink()
    return target


def stub_code(n):
    return (STUBS / EXERCISES[n][0]).read_text(encoding="utf-8")


def test_a_folder_is_graded_with_one_summary_and_results_json(tmp_path, capsys):
    work = tmp_path / "student"
    (work / "part2").mkdir(parents=True)
    write(work, 1, solved(1))
    write(work, 2, solved(2, 1))
    write(work / "part2", 4, solved(4))
    write(work, 3, solved(3, 1), name="my_nll.py")                  # its EXERCISE line says 3
    write(work, 7, solved(7) + "\ndef log_weights(model, x, mu, log_var, eps):\n"
                               "    while True:\n        pass")
    (work / "helpers.py").write_text("def helper():\n    return 1\n")
    notebook_of(work, 5, stub_code(5) + solved(5), extra_cells=[
        (1, "%matplotlib inline\n!pip install nothing\nimport numpy as np\nnp.mean?"),
        (2, "%%bash\necho a cell in another language"),
        (3, "from minivae.classroom.submission import check\ncheck('ex05_reparam.ipynb')")])
    (work / ".ipynb_checkpoints").mkdir()
    write(work / ".ipynb_checkpoints", 6, "")                       # unfinished, but skipped
    results = tmp_path / "results.json"
    code, out, err = check(capsys, work, "--timeout", 2, "--json", results)
    assert code == 1 and err == "" and "Traceback" not in out, out + err
    summary = out[out.index("summary of"):].splitlines()
    assert summary[1].split() == ["file", "exercise", "passed", "result"]
    rows = {line.split()[0]: line.split()[1:] for line in summary[2:-1]}
    assert rows == {
        "ex01_dense_backward.py": ["1", "3", "of", "3", "pass"],
        "ex02_relu_sigmoid.py": ["2", "2", "of", "2", "pass"],
        "my_nll.py": ["3", "3", "of", "3", "pass"],
        "part2/ex04_kl.py": ["4", "3", "of", "3", "pass"],
        "ex05_reparam.ipynb": ["5", "3", "of", "3", "pass"],
        "ex07_importance_logpx.py": ["7", "2", "of", "3", "part", "3:", "no", "answer", "in", "2",
                                     "s", "(an", "endless", "loop?)"]}, out
    assert summary[-1] == "passed 5 of 6 files, 16 of 17 parts"
    assert "(check skipped: this notebook is being graded)" in out  # the untagged check cell
    data = json.loads(results.read_text(encoding="utf-8"))
    assert set(data) == {"score", "execution_time", "output", "tests"}
    assert data["score"] == 16 == sum(t["score"] for t in data["tests"]) and len(data["tests"]) == 17
    for t in data["tests"]:
        assert set(t) == {"name", "number", "score", "max_score", "status", "output"}
        assert t["max_score"] == 1.0 and t["status"] == ("passed" if t["score"] else "failed")
    loop = next(t for t in data["tests"] if t["number"] == "7.3")
    assert loop["score"] == 0 and "no answer in 2 s (an endless loop?)" in loop["output"]
    assert loop["name"] == "exercise 7 part 3: log_weights (S, B)"


def test_an_exercise_the_folder_lacks_scores_zero(tmp_path, capsys):
    write(tmp_path, 1, solved(1))
    results = tmp_path / "results.json"
    code, out, _ = check(capsys, tmp_path, "--exercise", 1, "--exercise", 4, "--json", results)
    assert code == 1 and "exercise 4: Eq. 7's KL and its gradients  (not submitted)" in out
    data = json.loads(results.read_text(encoding="utf-8"))
    assert [(t["number"], t["score"]) for t in data["tests"]] == \
        [("1.1", 1.0), ("1.2", 1.0), ("1.3", 1.0), ("4.1", 0.0), ("4.2", 0.0), ("4.3", 0.0)]
    assert "no file for exercise 4" in data["tests"][-1]["output"] and data["score"] == 3


def test_a_notebooks_error_names_its_cell(tmp_path, capsys):
    path = notebook_of(tmp_path, 2, stub_code(2) + solved(2),
                       extra_cells=[(2, "x = 1\nprint(undefined_name)")], name="mywork.ipynb")
    code, out, _ = check(capsys, path, "--exercise", 2)
    assert code == 1
    assert f"could not grade it: {path}, cell 3, line 2: importing it raised NameError" in out, out


def test_grading_a_notebook_needs_no_notebook_package(tmp_path, capsys, monkeypatch):
    """A notebook is JSON, read and checked field by field: the grader needs neither
    jupytext nor nbformat (an autograder's image may lack the notebook extra)."""
    path = notebook_of(tmp_path, 2, stub_code(2) + solved(2))
    capsys.readouterr()
    for package in ("jupytext", "nbformat"):
        monkeypatch.setitem(sys.modules, package, None)             # importing it fails
    code, out, err = check(capsys, path)
    assert code == 0 and err == "" and "passed 2 of 2 parts" in out, out + err


def test_the_handed_out_notebook_checks_itself(tmp_path, capsys):
    """exercise --notebook: the task as markdown, the stub as code, a last cell that checks;
    graded as it is, then solved; and run in a real kernel (nbclient, ipykernel)."""
    nbclient = pytest.importorskip("nbclient", reason="the notebook extra is missing: "
                                                      'pip install -e ".[notebook]"')
    path = notebook_of(tmp_path, 5, stub_code(5))
    import nbformat
    nb = nbformat.read(path, as_version=4)
    assert [c.cell_type for c in nb.cells] == ["markdown", "code", "markdown", "code"]
    assert nb.cells[0].source.startswith("# Exercise 5: the reparameterization layer (Eq. 10")
    assert "log\\_var = log diag Σ" in nb.cells[0].source and "Copy it first:" not in nb.cells[0].source
    assert "EXERCISE = 5" in nb.cells[1].source and nb.cells[3].metadata["tags"] == ["minivae-check"]
    code, out, _ = check(capsys, path)
    assert code == 1 and out.count(": not implemented yet") == 3
    assert main(["exercise", "5", "--notebook", "--out", str(tmp_path)]) == 2    # not overwritten
    assert "exists" in capsys.readouterr().err
    nb.cells[1].source += solved(5)
    nbformat.write(nb, path)
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    printed = "".join(o.get("text", "") for o in nb.cells[-1].outputs)
    assert "passed 3 of 3 parts" in printed and "exercise 5:" in printed, printed


@pytest.mark.parametrize("argv, message", [
    (["9"], "no exercise 9: there are exercises 1–8"),
    (["3", "--exercise", "9"], "no exercise 9: there are exercises 1–8"),
    (["{tmp}/mywork.py.txt"], "not a Python file (.py) or a notebook (.ipynb); if it holds "
                              "Python, rename it to end in .py"),
    (["{tmp}/notes.txt"], "not a Python file (.py) or a notebook (.ipynb)"),
    (["{tmp}/empty"], "holds no exercise files"),
    (["{tmp}/nothing.py"], "no such file or folder"),
    (["{tmp}/mine.py"], "cannot tell which exercise"),
    (["{tmp}/says9.py"], "says it is exercise 9, but there are exercises 1–8"),
    (["{tmp}/stray"], "holds no exercise files"),                  # ex99_*, EXERCISE = 9
    (["{tmp}/mine.py", "--exercise", "1", "--exercise", "2"], "give --exercise or --lesson once for a file"),
])
def test_usage_errors_take_one_line_and_exit_2(tmp_path, capsys, argv, message):
    (tmp_path / "mywork.py.txt").write_text("EXERCISE = 1\n")
    (tmp_path / "notes.txt").write_text("notes\n")
    (tmp_path / "mine.py").write_text("x = 1\n")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "helpers.py").write_text("x = 1\n")
    (tmp_path / "says9.py").write_text("EXERCISE = 9\n")
    (tmp_path / "stray").mkdir()
    (tmp_path / "stray" / "ex99_a.py").write_text("x = 1\n")
    (tmp_path / "stray" / "says9.py").write_text("EXERCISE = 9\n")
    code, out, err = check(capsys, *[a.format(tmp=tmp_path) for a in argv],
                           "--json", tmp_path / "results.json")
    assert code == 2 and out == "" and message in err and len(err.strip().splitlines()) == 1, err
    data = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    assert data["score"] == 0 and data["tests"] == [] and message in data["output"]   # for an autograder


@pytest.mark.parametrize("seconds", ["0", "-1", "soon", "inf"])
def test_a_timeout_is_a_positive_number_of_seconds(capsys, seconds):
    with pytest.raises(SystemExit) as stop:
        main(["check", "3", "--timeout", seconds])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and len(err.strip().splitlines()) == 1
    assert f"--timeout: must be a positive number of seconds, got '{seconds}'" in err


def test_exercise_copies_and_refuses_to_overwrite(tmp_path, capsys):
    assert main(["exercise", "5", "--out", str(tmp_path / "mine")]) == 0
    copy = tmp_path / "mine" / EXERCISES[5][0]
    assert copy.read_text(encoding="utf-8") == (stubs_dir() / EXERCISES[5][0]).read_text(encoding="utf-8")
    capsys.readouterr()
    copy.write_text("EXERCISE = 5\n# my work\n", encoding="utf-8")
    assert main(["exercise", "5", "--out", str(tmp_path / "mine")]) == 2
    err = capsys.readouterr().err
    assert "exists" in err and "--force" in err and len(err.strip().splitlines()) == 1
    assert copy.read_text(encoding="utf-8") == "EXERCISE = 5\n# my work\n"
    assert main(["exercise", "5", "--out", str(tmp_path / "mine"), "--force"]) == 0
    assert copy.read_text(encoding="utf-8") == (stubs_dir() / EXERCISES[5][0]).read_text(encoding="utf-8")


def test_exercise_hands_out_several_and_writes_none_when_one_exists(tmp_path, capsys):
    out = tmp_path / "mine"
    assert main(["exercise", "1", "2", "3", "2", "--out", str(out)]) == 0
    names = [EXERCISES[n][0] for n in (1, 2, 3)]
    assert sorted(p.name for p in out.iterdir()) == names
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[:3] == [f"copied {n} to {out / n}" for n in names]
    assert lines[3] == f"edit them, then check them all with: python -m minivae check {out}"
    (out / names[2]).write_text("EXERCISE = 3\n# my work\n")
    assert main(["exercise", "3", "4", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"minivae exercise: error: {out / names[2]} exists (your work?); pass --force "
                   "to overwrite it"]
    assert not (out / EXERCISES[4][0]).exists()                 # nothing written before refusing
    assert main(["exercise", "1", "9", "--out", str(tmp_path / "other")]) == 2
    assert "no exercise 9" in capsys.readouterr().err and not (tmp_path / "other").exists()


@pytest.mark.parametrize("json_path, message", [("nofolder/results.json", "there is no folder"),
                                               (".", "is a folder; give the path of a file")])
def test_a_bad_json_path_is_refused_before_grading(tmp_path, capsys, json_path, message):
    code, out, err = check(capsys, "99", "--json", tmp_path / json_path)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1 and message in err, err


def test_a_grader_that_cannot_start_its_child_scores_no_one(tmp_path, capsys, monkeypatch):
    """The grader's own failure is a usage error (exit 2, results.json says why), never
    a student's 0 (exit 1) that an autograder would record."""
    write(tmp_path, 1, solved(1))
    monkeypatch.setattr("minivae.classroom.sandbox.sys.executable", "/bin/false")
    results = tmp_path / "results.json"
    code, out, err = check(capsys, tmp_path, "--json", results)
    assert code == 2 and "the grader's child process did not start" in err, err
    data = json.loads(results.read_text(encoding="utf-8"))
    assert data["score"] == 0 and data["tests"] == [] and "did not start" in data["output"]


@pytest.mark.parametrize("caller", kernels.available_backends())
def test_grading_computes_on_numpy_and_leaves_the_callers_backend(tmp_path, capsys, monkeypatch,
                                                                  caller):
    """minivae's side of each comparison runs on the NumPy backend, and so does the student's
    code in its child (nothing for Numba to compile); a notebook or a test that calls the
    grader keeps its own backend."""
    seen = []
    name, title, grader = EXERCISES[6]

    def spy(student, rng):
        seen.append(kernels.get_backend())
        return grader(student, rng)

    monkeypatch.setitem(EXERCISES, 6, (name, title, spy))
    before = kernels.get_backend()
    try:
        kernels.set_backend(caller)
        in_child = "import os\nassert os.environ['MINIVAE_BACKEND'] == 'numpy'\n"
        code, out, _ = check(capsys, write(tmp_path, 6, solved(6) + in_child))
        assert (code, seen, kernels.get_backend()) == (0, ["numpy"], caller), out
    finally:
        kernels.set_backend(before)


def test_the_suggested_check_command_is_shell_quoted(tmp_path, capsys):
    import shlex
    out = tmp_path / "my work"
    assert main(["exercise", "5", "--out", str(out)]) == 0
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert line.startswith("edit it, then check it with: python -m minivae check '")
    assert shlex.split(line.split(": ", 1)[1])[-1] == str(out / "ex05_reparam.py")


# -- a folder as a course hands it in, strange files and all -------------------------------
def test_an_exercise_counts_once_and_a_file_must_be_the_exercise_it_claims(tmp_path, capsys):
    """Eight copies of one solved exercise, each saying EXERCISE = 1, earn exercise 1's
    three parts once, not the 24 of all eight exercises; a copy named as another
    exercise is refused."""
    for n in range(1, 9):
        write(tmp_path, 1, solved(1), name=f"copy{n}.py")
    write(tmp_path, 1, solved(1), name="ex02_copy.py")
    results = tmp_path / "results.json"
    argv = [a for n in range(1, 9) for a in ("--exercise", n)]
    code, out, _ = check(capsys, tmp_path, *argv, "--json", results)
    assert code == 1
    data = json.loads(results.read_text(encoding="utf-8"))
    assert data["score"] == 3 and len(data["tests"]) == 24, data["output"]
    assert ("could not grade it: ex02_copy.py: it says EXERCISE = 1, but it is graded as "
            "exercise 2") in out, out


def test_several_honest_files_for_one_exercise_count_the_best_once(tmp_path, capsys):
    write(tmp_path, 4, "", name="ex04_first_try.py")                # unfinished
    write(tmp_path, 4, solved(4))
    results = tmp_path / "results.json"
    code, out, _ = check(capsys, tmp_path, "--json", results)
    summary = out[out.index("summary of"):].splitlines()
    assert summary[-1] == "passed 1 of 1 files, 3 of 3 parts", out
    assert "ex04_first_try.py  4         0 of 3   not counted: ex04_kl.py counts for exercise 4" \
        in summary, out
    data = json.loads(results.read_text(encoding="utf-8"))
    assert data["score"] == 3 and len(data["tests"]) == 3 and code == 0


def test_a_file_defining_another_exercise_is_refused(tmp_path, capsys):
    path = tmp_path / "mine.py"
    path.write_text(stub_code(1).replace("EXERCISE = 1", "EXERCISE = 2") + solved(1))
    code, out, _ = check(capsys, path)
    assert code == 1 and ("could not grade it: mine.py: it defines none of exercise 2's "
                          "functions (relu_backward, sigmoid_backward); is it another "
                          "exercise?") in out, out
    code, out, _ = check(capsys, write(tmp_path, 1, solved(1)), "--exercise", 2)
    assert code == 1 and "it says EXERCISE = 1, but it is graded as exercise 2" in out, out


def test_a_link_leaving_the_folder_is_refused(tmp_path, capsys):
    elsewhere, folder = tmp_path / "elsewhere", tmp_path / "student"
    elsewhere.mkdir()
    folder.mkdir()
    write(elsewhere, 4, solved(4), name="solution.py")
    (folder / "ex04_kl.py").symlink_to(elsewhere / "solution.py")
    write(folder, 1, solved(1), name="real.py")
    (folder / "ex01_dense_backward.py").symlink_to(folder / "real.py")      # inside: fine
    code, out, _ = check(capsys, folder)
    assert (f"could not grade it: {folder / 'ex04_kl.py'} is a link to "
            f"{elsewhere / 'solution.py'}, outside {folder}: refused") in out, out
    assert "ex01_dense_backward.py  1         3 of 3   pass" in out, out


def test_the_grader_imports_nothing_from_the_folder_it_grades(tmp_path):
    """Graded from inside the students' folder, where a scipy/ and a numpy/ of theirs would
    rewrite results.json: neither the grader nor the child's starting path holds them."""
    for fake in ("scipy", "numpy"):
        (tmp_path / fake).mkdir()
        (tmp_path / fake / "__init__.py").write_text(
            f"open({str(tmp_path / 'PWNED')!r}, 'a').write({fake!r})\n"
            f"open({str(tmp_path / 'r.json')!r}, 'w').write('{{\"score\": 100}}')\n")
    write(tmp_path, 1, solved(1) + '''
import sys, os
print("start", [p for p in sys.path[1:] if p in ("", os.getcwd())])''')
    proc = subprocess.run([sys.executable, "-m", "minivae", "check", ".", "--json", "r.json"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not (tmp_path / "PWNED").exists()
    assert json.loads((tmp_path / "r.json").read_text())["score"] == 3
    assert "  | start []" in proc.stdout


@pytest.mark.parametrize("what, cells, says", [
    ("a number for a source", [{"cell_type": "code", "source": 5, "metadata": {}}],
     "cell 1 has a source that is not text (a int)"),
    ("null tags", [{"cell_type": "code", "source": "x = 1", "metadata": {"tags": None}}],
     "cell 1 has metadata or tags that are not a list of texts"),
    ("a cell that is a list", [[1, 2]], "cell 1 has no cell_type"),
    ("no cells", None, "not a version 4 notebook (no list of cells; nbformat 3)"),
])
def test_a_bad_notebook_is_one_student_s_zero_not_the_folder_s_crash(tmp_path, capsys, what,
                                                                     cells, says):
    nb = {"nbformat": 3, "worksheets": []} if cells is None else \
        {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    (tmp_path / "ex02_relu_sigmoid.ipynb").write_text(json.dumps(nb))
    write(tmp_path, 1, solved(1))
    code, out, err = check(capsys, tmp_path, "--json", tmp_path / "r.json")
    assert code == 1 and err == "", out + err
    assert f"could not grade it: {tmp_path / 'ex02_relu_sigmoid.ipynb'}: " in out and says in out
    assert json.loads((tmp_path / "r.json").read_text())["score"] == 3


def test_a_huge_file_is_refused_by_name_before_it_is_read(tmp_path, capsys):
    """A sparse 8 GB .py (and a 300 MB one in a file of its own): no memory, no time."""
    huge = tmp_path / "ex02_relu_sigmoid.py"
    with open(huge, "wb") as f:
        f.truncate(8 * 2 ** 30)
    write(tmp_path, 1, solved(1))
    t0 = time.monotonic()
    code, out, _ = check(capsys, tmp_path)
    assert time.monotonic() - t0 < 60 and code == 1
    assert (f"could not grade it: {huge}: 8,589,934,592 bytes, more than the 1,048,576 a .py "
            "file may hold; refused") in out, out
    assert "ex01_dense_backward.py  1         3 of 3   pass" in out
    with open(huge, "r+b") as f:
        f.truncate(300 * 2 ** 20)
    code, out, err = check(capsys, huge)
    assert "314,572,800 bytes, more than the 1,048,576" in out + err and "os._exit" not in out


def test_names_and_messages_that_are_not_utf8_lose_no_grade(tmp_path, capsys):
    """A file name with the byte 0xff and an exception message with a lone surrogate:
    both shown escaped, results.json written, every other part scored."""
    name = os.fsdecode(b"ex01_\xff.py")
    write(tmp_path, 1, solved(1), name=name)
    write(tmp_path, 2, solved(2) + '''
def relu_backward(dy, y):
    raise ValueError("bad \\ud800 surrogate")''')
    results = tmp_path / "results.json"
    code, out, err = check(capsys, tmp_path, "--json", results)
    assert code == 1 and err == "", err
    assert "ex01_\\xff.py" in out and "bad \\ud800 surrogate" in out, out
    data = json.loads(results.read_bytes().decode("utf-8"))          # strict UTF-8
    assert data["score"] == 4 and "file: " + str(tmp_path / "ex01_\\xff.py") in \
        data["tests"][0]["output"]


def test_the_child_s_own_failure_is_not_what_the_student_printed(tmp_path, capsys):
    code_text = '''
import pickle
pickle.dumps = None                 # what the grader's child sends its answers with'''
    code, out, _ = check(capsys, write(tmp_path, 1, solved(1) + code_text))
    assert "could not grade it: importing it: the grader's child process failed (exit status " \
           "70): did the code replace part of Python that the grader's child relies on?" in out
    assert "your code printed" not in out and "Traceback" not in out, out


def test_the_child_starts_without_the_caller_s_folder_or_the_student_s(tmp_path, capsys,
                                                                       monkeypatch):
    """As from a notebook's kernel, whose import path holds its working folder: the child's
    path holds neither it nor the student's folder until the student's code loads."""
    cwd, folder = tmp_path / "cwd", tmp_path / "student"
    cwd.mkdir()
    folder.mkdir()
    monkeypatch.chdir(cwd)
    monkeypatch.syspath_prepend(str(cwd))
    monkeypatch.syspath_prepend("")
    path = write(folder, 1, solved(1) + f'''
import os, sys
print("start", [p for p in sys.path[1:] if p in ("", os.getcwd(), {str(folder)!r})])''')
    code, out, _ = check(capsys, path)
    assert code == 0 and "  | start []" in out.splitlines(), out
