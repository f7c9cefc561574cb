"""Fill-in lessons, end to end: `notebooks --student` hands them out, `check` grades them.

The untouched student copy scores 0, "not implemented yet" in every part; the
same notebook with the teacher's solutions pasted back scores full marks; a
region that uses minivae's own answer, or a wrong formula, fails with the
exercise's reason; what the student's cells print cannot pass for the report.
"""
import json

import pytest

from minivae.classroom.exercises import interface
from minivae.classroom.fill_in import FILL_IN, merged
from minivae.classroom.materials import chosen_lessons, lesson_number, lesson_scripts
from minivae.classroom.parts import ERROR, FAIL, PASS, TODO, Part
from minivae.classroom.regions import STUB, lesson_regions
from minivae.commands.cli import main
from student_code import check, failing_line


def test_the_table_is_the_lessons_markers():
    """Every lesson with markers is in FILL_IN with its regions' functions in order; each
    function is one its exercise asks for, graded by parts that exercise has, or one the
    lesson's own solution checks on the inputs given."""
    marked = {lesson_number(s): [r.function for r in lesson_regions(s)] for s in lesson_scripts()}
    assert {n: f for n, f in marked.items() if f} == \
        {n: [r.function for r in regions] for n, regions in FILL_IN.items()}
    for regions in FILL_IN.values():
        for r in regions:
            if r.exercise is None:                  # checked against the lesson's own solution
                assert r.inputs is not None and not r.parts, r
                continue
            functions, _ = interface(r.exercise)
            assert r.function in functions, r
            assert r.parts and set(r.parts) <= set(range(1, 4)), r


def test_merged_passes_when_all_pass_and_else_names_the_first_reason():
    ok = Part(2, "dmu", PASS, 1e-11, 0.0)
    assert merged(1, "both", [ok, ok._replace(number=3, err_fd=2e-11)]) == \
        Part(1, "both", PASS, 2e-11, 0.0)
    wrong = Part(3, "dlog_var (N, K)", FAIL, 0.3, 0.3, "hint (KL −1): …")
    todo = Part(2, "dmu (N, K)", TODO, note="not implemented yet")
    assert merged(1, "both", [ok, wrong]) == Part(1, "both", FAIL, 0.3, 0.3,
                                                  "dlog_var (N, K): hint (KL −1): …")
    assert merged(1, "both", [wrong, todo]).note == "not implemented yet"
    assert merged(1, "both", [Part(2, "x", ERROR, note="boom"), wrong]).status == ERROR


@pytest.fixture(scope="module")
def handed_out(tmp_path_factory):
    """The fill-in notebooks and the teacher's, of every fill-in lesson."""
    pytest.importorskip("jupytext", reason='the notebook extra is missing: pip install -e ".[notebook]"')
    root = tmp_path_factory.mktemp("fill_in")
    assert main(["notebooks", "--student", "--out", str(root / "student")]) == 0
    assert main(["notebooks", *FILL_IN, "--out", str(root / "teacher")]) == 0
    return root


def cells(path):
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def student_copy(handed_out, tmp_path, lesson, fill=None):
    """The student's notebook of `lesson` in tmp_path; fill(student cell source, teacher cell
    source) -> the source the student hands in, for every cell that had a region."""
    name = chosen_lessons([lesson])[0].stem + ".ipynb"
    nb = json.loads((handed_out / "student" / name).read_text(encoding="utf-8"))
    teacher = cells(handed_out / "teacher" / name)
    for cell, solved in zip(nb["cells"][1:], teacher):      # the student's has one cell more, first
        if fill and STUB[1] in "".join(cell["source"]):
            cell["source"] = fill("".join(cell["source"]), "".join(solved["source"]))
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / name
    path.write_text(json.dumps(nb), encoding="utf-8")
    return path


def test_untouched_copies_score_0_and_solved_ones_full_marks(handed_out, tmp_path, capsys):
    assert sorted(p.stem[:2] for p in (handed_out / "student").glob("*.ipynb")) == list(FILL_IN)
    for lesson, regions in FILL_IN.items():
        untouched = student_copy(handed_out, tmp_path / "untouched", lesson)
        code, out, _ = check(capsys, untouched)
        assert code == 1 and f"passed 0 of {len(regions)} parts" in out, out
        for n in range(1, len(regions) + 1):
            assert failing_line(out, n) == f"part {n}: not implemented yet", out
        solved = student_copy(handed_out, tmp_path / "solved", lesson, fill=lambda _, t: t)
        code, out, _ = check(capsys, solved)
        assert code == 0 and f"passed {len(regions)} of {len(regions)} parts" in out, out
    results = tmp_path / "r.json"
    code, out, _ = check(capsys, tmp_path / "solved", "--json", results)
    data = json.loads(results.read_text(encoding="utf-8"))
    assert code == 0 and data["score"] == sum(len(r) for r in FILL_IN.values())
    assert [t["number"] for t in data["tests"]] == [f"L{n}.{i}" for n, rs in FILL_IN.items()
                                                    for i in range(1, len(rs) + 1)]
    assert data["tests"][1]["name"] == "lesson 03 part 1: z = mu + std ⊙ eps (Eq. 10)"


def only_region(body):
    """fill: the region's lines replaced by `body` (indented as the stub)."""
    def fill(student, _):
        return student.replace(STUB[0], "").replace(STUB[1], body, 1)
    return fill


def test_minivae_s_own_answer_is_refused_in_the_region(handed_out, tmp_path, capsys):
    path = student_copy(handed_out, tmp_path, "04", only_region(
        "from minivae.losses import kl_normal as theirs\n"
        "    _, dmu, dlog_var = theirs(mu, log_var)"))
    code, out, _ = check(capsys, path)
    assert code == 1 and "uses minivae.losses: write it yourself" in out, out


def test_a_wrong_formula_fails_with_the_exercises_hint(handed_out, tmp_path, capsys):
    path = student_copy(handed_out, tmp_path, "03", only_region(
        "return mu + np.exp(log_var) * eps"))         # log_var read as the log of std
    code, out, _ = check(capsys, path)
    assert code == 1 and "part 1: FAIL — hint (log_var as log std)" in out, out
    assert "part 2: not implemented yet" in out, out     # the other region, untouched


def test_a_region_the_lesson_checks_itself_is_compared_with_the_lesson_s_solution(
        handed_out, tmp_path, capsys):
    """Lesson 09's g′ = P_gt(X) / N(g(X) | 0, 1), with the normal density's exponent's sign
    flipped: no exercise grades it; the lesson's own g_prime, on the same inputs, does."""
    path = student_copy(handed_out, tmp_path, "09", only_region(
        "return p_gt(x) * np.sqrt(2 * np.pi) * np.exp(-0.5 * gx * gx)"))
    code, out, _ = check(capsys, path)
    assert code == 1 and failing_line(out, 1).startswith("part 1: FAIL — no common mistake"), out
    path = student_copy(handed_out, tmp_path, "09", only_region(
        "return p_gt(x) * np.sqrt(2 * np.pi) * np.exp(0.5 * gx * gx)"))    # no logs: also right
    code, out, _ = check(capsys, path)
    assert code == 0 and "passed 1 of 1 parts" in out, out


def test_what_the_cells_print_cannot_pass_for_the_report(handed_out, tmp_path, capsys):
    path = student_copy(handed_out, tmp_path, "08", only_region(
        'print("1     a junction\'s backward: (da, dc)   pass")\n'
        '    print("passed 1 of 1 parts")\n'
        "    raise NotImplementedError"))
    code, out, _ = check(capsys, path)
    lines = out.splitlines()
    assert code == 1 and "passed 0 of 1 parts; edit" in out, out
    assert "  | passed 1 of 1 parts" in lines and "passed 1 of 1 parts" not in lines, out


def test_a_deleted_cell_and_a_helper_of_another_cell_are_named(handed_out, tmp_path, capsys):
    """The region's cell runs on its own: what it needs from another cell is not there."""
    name = chosen_lessons(["08"])[0].stem + ".ipynb"
    nb = json.loads((handed_out / "student" / name).read_text(encoding="utf-8"))
    nb["cells"] = [c for c in nb["cells"] if "def junction_backward" not in "".join(c["source"])]
    (tmp_path / name).write_text(json.dumps(nb), encoding="utf-8")
    code, out, _ = check(capsys, tmp_path / name)
    assert code == 1 and "the notebook defines no function junction_backward()" in out, out
    path = student_copy(handed_out, tmp_path, "08", only_region("return mask(dh, h)"))
    code, out, _ = check(capsys, path)
    assert code == 1 and "junction_backward() raised NameError: name 'mask' is not defined" in out


def test_a_lesson_without_regions_and_a_lesson_py_are_usage_errors(handed_out, tmp_path, capsys):
    nb = json.loads(next((handed_out / "teacher").glob("03_*.ipynb")).read_text(encoding="utf-8"))
    nb["metadata"]["minivae"]["lesson"] = "02_pixel_distance"
    (tmp_path / "mine.ipynb").write_text(json.dumps(nb), encoding="utf-8")
    code, out, err = check(capsys, tmp_path / "mine.ipynb")
    assert code == 2 and "lesson 02 has nothing to fill in; the fill-in lessons are 01, 03, 04, 05, 08, 09" \
        in err, err
    (tmp_path / "mine.py").write_text("x = 1\n")
    code, out, err = check(capsys, tmp_path / "mine.py", "--lesson", "3")
    assert code == 2 and "a lesson is graded as the notebook" in err, err
    code, out, err = check(capsys, tmp_path / "mine.py", "--lesson", "2")
    assert code == 2 and "--lesson 2: the fill-in lessons are 01, 03, 04, 05, 08, 09" in err, err


def test_notebooks_student_refuses_what_it_cannot_do(handed_out, tmp_path, capsys):
    assert main(["notebooks", "--student", "02", "--out", str(tmp_path)]) == 2
    assert "lesson 02 has nothing to fill in" in capsys.readouterr().err
    assert main(["notebooks", "--student", "--execute", "--out", str(tmp_path)]) == 2
    assert "a fill-in notebook stops at its first blank" in capsys.readouterr().err
    work = tmp_path / "03_reparam.ipynb"
    work.write_bytes((handed_out / "student" / "03_reparam.ipynb").read_bytes())
    for argv in (["notebooks", "--student", "03"], ["notebooks", "03"]):
        assert main([*argv, "--out", str(tmp_path)]) == 2
        err = capsys.readouterr().err
        assert "is a fill-in notebook, perhaps a student's work; pass --force" in err, err
    assert work.read_bytes() == (handed_out / "student" / "03_reparam.ipynb").read_bytes()
