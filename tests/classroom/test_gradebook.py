"""`check DIR` over a class: a folder per student, a total each, and the gradebook CSV."""
import csv
import io
import json

import pytest

from minivae.classroom.gradebook import student_folders
from student_code import check, solved, write

DENSE = [f"1.{n}" for n in (1, 2, 3)]
KL = [f"4.{n}" for n in (1, 2, 3)]


@pytest.fixture
def course(tmp_path):
    """alice solves exercises 1 and 4, bob hands in 1 only, carol 4 with the KL's −1 missing."""
    subs = tmp_path / "subs"
    for name in ("alice", "bob", "carol"):
        (subs / name).mkdir(parents=True)
    write(subs / "alice", 1, solved(1))
    (subs / "alice" / "week2").mkdir()
    write(subs / "alice" / "week2", 4, solved(4))
    write(subs / "bob", 1, solved(1))
    write(subs / "carol", 4, solved(4).replace("0.5 * (np.exp(log_var) - 1)", "0.5 * np.exp(log_var)"))
    return subs


def rows(path):
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))


def test_a_class_gets_a_total_each_and_a_csv_an_lms_imports(tmp_path, capsys, course):
    book = tmp_path / "grades.csv"
    code, out, err = check(capsys, course, "--csv", book)
    assert code == 1 and err == "", err
    assert [line for line in out.splitlines() if line.startswith("== ")] == \
        ["== alice ==", "== bob ==", "== carol =="]
    table = out[out.index("gradebook of"):].splitlines()
    assert table[0] == f"gradebook of {course}: 3 students, 6 points"
    assert [line.split() for line in table[2:]] == [
        ["alice", "6", "6", "of", "6"], ["bob", "3", "3", "of", "6"], ["carol", "2", "2", "of", "6"]]
    assert "no file for exercise 4 in" in out                     # bob: graded on it, 0
    got = rows(book)
    assert got[0] == ["student", *DENSE, *KL, "total"]
    assert got[1:] == [["alice", "1", "1", "1", "1", "1", "1", "6"],
                       ["bob", "1", "1", "1", "0", "0", "0", "3"],
                       ["carol", "0", "0", "0", "1", "1", "0", "2"]]
    for row in got[1:]:
        assert sum(float(v) for v in row[1:-1]) == float(row[-1])


def test_a_rubric_weighs_the_gradebook_and_a_required_exercise_counts(tmp_path, capsys, course):
    rubric = tmp_path / "rubric.py"
    rubric.write_text('WEIGHTS = {"4": 2}\n')
    book = tmp_path / "grades.csv"
    code, out, _ = check(capsys, course, "--csv", book, "--rubric", rubric, "--exercise", 2)
    got = rows(book)
    assert got[0] == ["student", *DENSE, "2.1", "2.2", *KL, "total"]
    assert [row[-1] for row in got[1:]] == ["9", "3", "4"]
    assert "3 students, 11 points" in out


def test_one_student_s_folder_is_not_a_class(tmp_path, capsys, course):
    """alice's week2/ is her own subfolder; a folder with a file of its own is one student;
    a class needs two students."""
    assert student_folders(course) == ["alice", "bob", "carol"]
    assert student_folders(course / "alice") is None
    write(course, 2, solved(2))
    assert student_folders(course) is None
    assert student_folders(course / "bob") is None
    code, out, _ = check(capsys, course / "alice", "--csv", tmp_path / "alice.csv")
    assert code == 0 and "gradebook of" not in out
    assert rows(tmp_path / "alice.csv")[1] == ["alice", "1", "1", "1", "1", "1", "1", "6"]


def test_json_is_one_student_s_and_csv_a_folder_s(tmp_path, capsys, course):
    code, out, err = check(capsys, course, "--json", tmp_path / "r.json")
    assert code == 2 and "holds 3 students' folders; for the class, use --csv" in err, err
    assert json.loads((tmp_path / "r.json").read_text())["tests"] == []
    code, out, err = check(capsys, course / "bob" / "ex01_dense_backward.py", "--csv",
                           tmp_path / "b.csv")
    assert code == 2 and "--csv writes the gradebook of a folder" in err, err


def test_the_csv_follows_the_overwrite_rule(tmp_path, capsys, course):
    notes = tmp_path / "notes.csv"
    notes.write_text("my,own,notes\n")
    code, out, err = check(capsys, course, "--csv", notes)
    assert code == 2 and out == "" and "exists and is not a gradebook CSV of check" in err
    assert notes.read_text() == "my,own,notes\n"
    book = tmp_path / "grades.csv"
    assert check(capsys, course, "--csv", book)[0] == 1
    (course / "bob" / "ex04_kl.py").write_text((course / "alice" / "week2" / "ex04_kl.py").read_text())
    assert check(capsys, course, "--csv", book)[0] == 1             # its own file: replaced
    assert rows(book)[2][-1] == "6"
