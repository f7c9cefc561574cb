"""A teacher's rubric (`check --rubric FILE`): weights, and hidden parts shown after publishing."""
import json

import pytest

from student_code import check, failing_line, solved, write

RUBRIC = '''
import numpy as np
from minivae.classroom.rubric import hidden
from minivae.losses import kl_normal

WEIGHTS = {"4": 2, "4.3": 5, "1.2": 0.5}


@hidden(exercise=4, weight=3)
def kl_far_out(student, rng):
    """kl_normal at |log_var| up to 20"""
    mu, log_var = rng.standard_normal((3, 2)), 20 * rng.uniform(-1, 1, (3, 2))
    return student.call("kl_normal", mu, log_var), kl_normal(mu, log_var)
'''

# exercise 4 solved for the log-variances the visible parts use (|log_var| of a few units),
# with the exponent clipped where it "never" matters: the hidden part finds it
CLIPPED = '''
def kl_normal(mu, log_var):
    var = np.exp(np.clip(log_var, -8, 8))
    kl = 0.5 * np.sum(var + mu ** 2 - 1 - log_var, axis=1)
    return kl, mu.copy(), 0.5 * (var - 1)
'''


@pytest.fixture
def rubric(tmp_path):
    path = tmp_path / "teacher" / "rubric.py"
    path.parent.mkdir()
    path.write_text(RUBRIC)
    return path


def test_weights_and_a_hidden_part_go_into_results_json(tmp_path, capsys, rubric):
    work = tmp_path / "student"
    work.mkdir()
    write(work, 1, solved(1))
    write(work, 4, CLIPPED)
    results = tmp_path / "results.json"
    code, out, err = check(capsys, work, "--rubric", rubric, "--json", results)
    assert code == 1 and err == "", err
    data = json.loads(results.read_text(encoding="utf-8"))
    tests = {t["number"]: t for t in data["tests"]}
    assert {n: (t["score"], t["max_score"]) for n, t in tests.items()} == {
        "1.1": (1, 1), "1.2": (0.5, 0.5), "1.3": (1, 1),          # its own key, else 1
        "4.1": (2, 2), "4.2": (2, 2), "4.3": (5, 5),              # "4.3" before "4"
        "4.4": (0, 3)}                                            # the hidden part: failed
    assert data["score"] == 11.5
    hidden = tests["4.4"]
    assert hidden["visibility"] == "after_published" and hidden["status"] == "failed"
    assert hidden["name"] == "exercise 4 part 4: kl_normal at |log_var| up to 20"
    assert all("visibility" not in t for n, t in tests.items() if n != "4.4")
    assert data["output"].startswith("passed 6 of 6 parts in 2 files")   # the visible ones
    assert "4     kl_normal at |log_var| up to 20" in out and "(hidden)" in out
    assert failing_line(out, 4).startswith("part 4: FAIL — ")


def test_a_right_answer_passes_the_hidden_part(tmp_path, capsys, rubric):
    code, out, _ = check(capsys, write(tmp_path, 4, solved(4)), "--rubric", rubric)
    assert code == 0 and "passed 4 of 4 parts" in out, out
    assert "  3 of 3 points  (hidden)" in out, out


def test_without_a_rubric_the_student_sees_the_visible_parts_only(tmp_path, capsys):
    code, out, _ = check(capsys, write(tmp_path, 4, CLIPPED))
    assert code == 0 and "passed 3 of 3 parts" in out and "hidden" not in out


def test_a_missing_exercise_scores_0_in_its_hidden_parts_too(tmp_path, capsys, rubric):
    (tmp_path / "s").mkdir()
    write(tmp_path / "s", 1, solved(1))
    results = tmp_path / "r.json"
    code, out, _ = check(capsys, tmp_path / "s", "--exercise", 4, "--rubric", rubric,
                         "--json", results)
    data = json.loads(results.read_text(encoding="utf-8"))
    assert code == 1 and data["score"] == 2.5
    assert [(t["number"], t["max_score"]) for t in data["tests"][3:]] == \
        [("4.1", 2), ("4.2", 2), ("4.3", 5), ("4.4", 3)]


@pytest.mark.parametrize("source, says", [
    ("import nothing_here\n", "does not load: ModuleNotFoundError: No module named 'nothing_here'"),
    ("WEIGHTS = [1]\n", "WEIGHTS is not a dict"),
    ("WEIGHTS = {'9': 1}\n", "WEIGHTS key '9' names no exercise or lesson part"),
    ("WEIGHTS = {'L02': 1}\n", "WEIGHTS key 'L02' names no exercise or lesson part"),
    ("WEIGHTS = {'4': -1}\n", "WEIGHTS['4'] = -1 is not a number of points"),
    ("WEIGHTS = {'4': float('nan')}\n", "WEIGHTS['4'] = nan is not a number of points"),
    ("from minivae.classroom.rubric import hidden\n@hidden(exercise=9)\ndef f(s, r):\n    pass\n",
     "f is a hidden part of exercise 9, which does not exist"),
    ("from minivae.classroom.rubric import hidden\n@hidden(exercise=4)\ndef f(s, r):\n"
     "    return 1 / 0\n", "the hidden part f raised ZeroDivisionError: division by zero"),
])
def test_a_rubric_the_teacher_must_mend_is_one_line_and_grades_no_one(tmp_path, capsys, source,
                                                                      says):
    path = tmp_path / "rubric.py"
    path.write_text(source)
    (tmp_path / "s").mkdir()
    code, out, err = check(capsys, write(tmp_path / "s", 4, solved(4)), "--rubric", path)
    assert code == 2 and out == "" and says in err and len(err.strip().splitlines()) == 1, err


def test_a_rubric_inside_the_graded_folder_is_refused(tmp_path, capsys):
    write(tmp_path, 4, solved(4))
    (tmp_path / "rubric.py").write_text(RUBRIC)
    code, out, err = check(capsys, tmp_path, "--rubric", tmp_path / "rubric.py")
    assert code == 2 and out == "" and "a student could have written it" in err, err
