"""classroom.report: how a Report names its parts, scores them, and which file counts."""
import io
from pathlib import Path

from minivae.classroom.parts import FAIL, PASS, Part
from minivae.classroom.report import Report, counted_once, order, print_summary


def report(number, statuses, weights=None, path="x.py"):
    weights = weights or [1.0] * len(statuses)
    parts = [Part(n, f"part {n}", s, weight=w) for n, (s, w) in
             enumerate(zip(statuses, weights), start=1)]
    return Report(Path(path), number, parts)


def test_parts_are_named_as_results_json_and_the_gradebook_name_them():
    ex, lesson = report(5, [PASS, FAIL]), report("03", [PASS])
    assert [ex.part_id(p) for p in ex.parts] == ["5.1", "5.2"]
    assert lesson.part_id(lesson.parts[0]) == "L03.1"
    assert (ex.label, lesson.label) == ("exercise 5", "lesson 03")
    assert lesson.title.startswith("the reparameterization trick")
    assert sorted(["05", 7, "03", 1], key=order) == [1, 7, "03", "05"]


def test_a_score_is_the_weights_of_the_parts_that_pass():
    r = report(4, [PASS, FAIL, PASS], [2.0, 5.0, 0.5])
    assert (r.score, r.max_score, r.passed) == (2.5, 7.5, False)


def test_of_several_files_for_one_exercise_the_highest_score_counts():
    """Points, not parts: one part worth 5 beats two worth 1 each."""
    two = report(4, [PASS, PASS, FAIL], [1, 1, 5], "a.py")
    heavy = report(4, [FAIL, FAIL, PASS], [1, 1, 5], "b.py")
    other = report(1, [FAIL], path="c.py")
    assert [r.counted for r in counted_once([two, heavy, other])] == [False, True, True]
    assert [r.counted for r in counted_once([two, two._replace(path=Path("z.py"))])] == [True, False]


def test_the_summary_adds_points_when_they_differ_from_parts():
    out = io.StringIO()
    print_summary(Path("."), [report(4, [PASS, FAIL], [2, 1], "ex04.py")], out=out)
    assert out.getvalue().splitlines()[-1] == "passed 0 of 1 files, 1 of 2 parts, 2 of 3 points"
    out = io.StringIO()
    print_summary(Path("."), [report(4, [PASS, FAIL], path="ex04.py")], out=out)
    assert out.getvalue().splitlines()[-1] == "passed 0 of 1 files, 1 of 2 parts"
