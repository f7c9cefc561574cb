"""A class's grades: `python -m minivae check DIR` over a folder of student folders.

DIR is a class when none of its own files is an exercise or a fill-in lesson,
and two or more of its folders hold one: each such folder is one student,
named by the folder (name them by the identifier your LMS matches students
on: a login, an e-mail address, a student number).  Every student is graded
on the same parts: each exercise and lesson anyone in the class handed in,
and each one `--exercise` or `--lesson` names; what a student lacks scores
0.  `check` prints each student's tables, then one row per student with the
total; `--csv PATH` writes the gradebook an LMS imports:

    student,1.1,1.2,1.3,4.1,4.2,4.3,L03.1,L03.2,total
    alice,1,1,1,1,1,0,1,1,7
    bob,1,1,1,0,0,0,0,0,3

a header row, the student's identifier first, then one column of points per
part (named as results.json numbers them, report.py) and the total.
"""
import csv
import io
import sys
from pathlib import Path

from ..files.atomic import atomic_write
from .parts import PASS
from .reading import exercise_files
from .report import order
from .untrusted import shown


def student_folders(folder):
    """The student folders of a class folder, by name; None when `folder` is one student's."""
    folder = Path(folder)
    tops = {f.path.relative_to(folder).parts[0] for f in exercise_files(folder)}
    if any((folder / top).is_file() for top in tops) or len(tops) < 2:
        return None
    return sorted(tops)


def handed_in(folder, students):
    """Every exercise and lesson number any student's folder holds."""
    return {f.number for s in students for f in exercise_files(Path(folder) / s)}


def grade_class(folder, students, grade_one, out=None):
    """{student: [Report]}: grade_one(student folder) for each, under a heading line."""
    out = out or sys.stdout
    grades = {}
    for student in students:
        print(f"\n== {shown(student, 200)} ==", file=out)
        grades[student] = grade_one(Path(folder) / student)
    return grades


def columns(grades):
    """The part ids of the gradebook, in order: exercises by number, then lessons."""
    ids = {(order(r.number), p.number): r.part_id(p)
           for reports in grades.values() for r in reports if r.counted for p in r.parts}
    return [ids[k] for k in sorted(ids)]


def scores(reports):
    """{part id: points} of a student's counted reports."""
    return {r.part_id(p): p.score for r in reports if r.counted for p in r.parts}


def print_totals(folder, grades, out=None):
    """One row per student: points of the total, and parts passed."""
    out = out or sys.stdout
    most = max((sum(r.max_score for r in reports if r.counted) for reports in grades.values()),
               default=0)
    width = max([len(shown(s, 60)) for s in grades] + [7])
    print(f"\ngradebook of {shown(folder, 500)}: {len(grades)} students, {most:g} points",
          file=out)
    print(f"{'student':<{width}}  {'points':>8}  parts passed", file=out)
    for student, reports in grades.items():
        counted = [r for r in reports if r.counted]
        passed = sum(p.status == PASS for r in counted for p in r.parts)
        print(f"{shown(student, 60):<{width}}  {sum(r.score for r in counted):>8g}  {passed} of "
              f"{sum(len(r.parts) for r in counted)}", file=out)


def csv_text(grades):
    """The gradebook as CSV text (module docstring)."""
    ids = columns(grades)
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(["student", *ids, "total"])
    for student, reports in grades.items():
        got = scores(reports)
        writer.writerow([student, *(f"{got.get(i, 0.0):g}" for i in ids),
                         f"{sum(got.values()):g}"])
    return text.getvalue()


def write_csv(path, grades):
    """Write the gradebook atomically (an LMS never reads half a file), in UTF-8; a byte of a
    folder's name that is not UTF-8 is written as a backslash escape."""
    data = csv_text(grades).encode("utf-8", errors="backslashreplace")
    atomic_write(path, lambda f: f.write(data))
