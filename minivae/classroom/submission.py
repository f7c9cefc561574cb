"""Grading a submission: `python -m minivae check N|FILE|DIR`, or check(FILE) in a notebook cell.

Each stub (lessons/exercises/exNN_*.py) asks a student for one backward pass,
or one numerically delicate formula, of the paper's model, and names the
minivae function that solves it; a fill-in lesson notebook (`notebooks
--student`) asks for the lines between a lesson's solution markers.  The
classroom's grading modules:

    reading.py          a submission's code (.py, or a notebook's cells) and what it answers
    sandbox.py, child.py, wire.py   the student's code in a child process, under a time limit
    guard.py, given.py, untrusted.py   what the child refuses and is handed; what the grader
                        accepts from it
    parts.py, hints.py  how one part is graded, and the mistakes it recognizes
    exercises.py, model_exercises.py   the eight graders, and EXERCISES
    regions.py, fill_in.py   the lessons' solution regions, and how a filled-in lesson is graded
    rubric.py           a teacher's weights and hidden parts
    submission.py       grade a file or a folder (this module)
    report.py           a file's Report, its table and a folder's summary
    gradebook.py        a class: a folder of student folders, a total each, a CSV
    gradescope.py       the results as Gradescope's results.json
    handout.py          a stub as a notebook, with a last cell that checks it
    materials.py        where the stubs and lessons are (package data)
"""
import os
import time
from pathlib import Path

import numpy as np

from .. import kernels
from ..errors import ArgumentError
from .exercises import EXERCISES, RANGE, interface
from .fill_in import FILL_IN, grade_regions
from .guard import MEMORY, skipped_check
from .reading import disagreement, exercise_files, exercise_of, read_code
from .parts import ERROR, Part
from .report import Report, counted_once, label, order, print_report
from .rubric import Rubric
from .sandbox import TIMEOUT as DEFAULT_TIMEOUT
from .sandbox import Sandbox
from .wire import Outcome

SEED = 2016             # the inputs of every check: a result is repeatable
NO_RUBRIC = Rubric()

__all__ = ["Report", "check", "grade_file", "grade_folder"]


# -- grading ---------------------------------------------------------------------------
def grade_file(path, number=None, timeout=DEFAULT_TIMEOUT, memory=MEMORY, rubric=NO_RUBRIC):
    """The Report of one .py file or notebook.  What it answers: `number` if given (an
    exercise's int, a lesson's "03"), else the exNN at the start of the file's name, its
    EXERCISE = N line, or a notebook's lesson metadata; a file whose name, EXERCISE line and
    functions do not agree on the exercise scores 0, with the reason."""
    t0 = time.perf_counter()
    code = read_code(path)
    if isinstance(number, str) or (number is None and exercise_of(code) is None and code.lesson):
        return rubric.weigh(_grade_lesson(code, number or code.lesson, timeout, memory, t0))
    number = number or exercise_of(code)
    if number is None:
        raise ArgumentError(f"cannot tell which exercise {path} is: keep its EXERCISE = N "
                            f"line, or pass --exercise N ({RANGE})")
    if number not in EXERCISES:
        raise ArgumentError(f"{path} says it is exercise {number}, but there are exercises "
                            f"{RANGE}")
    functions, given = interface(number)
    problem = disagreement(code, number, functions)
    if problem:
        return absent(number, f"{Path(path).name}: {problem}", Path(path), rubric)
    grader = EXERCISES[number][2]
    folder = str(Path(path).resolve().parent)
    # minivae's side of each comparison runs on the NumPy backend, as the child does
    # (sandbox.py): on the exercises' tiny arrays Numba would only add its compile,
    # 3-4 s the first time a course's grader or a student checks exercise 6, 7 or 8
    with kernels.using("numpy"), Sandbox(code.chunks, code.notebook, timeout, folder, given,
                                         memory) as student:
        loaded = student.load()
        parts = grader(student, np.random.default_rng(SEED))
        parts += rubric.grade_hidden(number, student, len(parts) + 1)
        return rubric.weigh(Report(Path(path), number, parts, loaded.problem or "",
                                   student.output(), time.perf_counter() - t0))


def _grade_lesson(code, lesson, timeout, memory, t0):
    """A filled-in lesson notebook's Report: one part per region (fill_in.py)."""
    if lesson not in FILL_IN:
        raise ArgumentError(f"{code.path}: lesson {lesson} has nothing to fill in; the "
                            f"fill-in lessons are {', '.join(FILL_IN)}")
    if not code.notebook:
        raise ArgumentError(f"{code.path}: a lesson is graded as the notebook `python -m "
                            f"minivae notebooks --student` wrote (.ipynb)")
    folder = str(Path(code.path).resolve().parent)
    with kernels.using("numpy"):
        parts, printed = grade_regions(
            code.chunks, lesson, lambda cells, given: Sandbox(cells, True, timeout, folder,
                                                              given, memory))
    return Report(Path(code.path), lesson, parts, "", printed, time.perf_counter() - t0)


class _Absent:
    """Stands in for a student whose folder holds no file for an exercise."""

    def __init__(self, problem):
        self.outcome = Outcome(problem=problem, kind="error")

    def call(self, *_):
        return self.outcome


def absent(number, problem, path=None, rubric=NO_RUBRIC):
    """A Report of exercise or lesson `number`, every part failed with `problem`."""
    if isinstance(number, str):
        parts = [Part(n, r.what, ERROR, note=problem) for n, r in enumerate(FILL_IN[number], 1)]
    else:
        parts = EXERCISES[number][2](_Absent(problem), np.random.default_rng(SEED))
        parts += rubric.grade_hidden(number, _Absent(problem), len(parts) + 1)
    return rubric.weigh(Report(path, number, parts, problem))


def grade_folder(folder, required=(), timeout=DEFAULT_TIMEOUT, out=None, memory=MEMORY,
                 rubric=NO_RUBRIC):
    """Reports for every exercise file and fill-in lesson notebook in folder
    (reading.exercise_files), printing each as it is graded, plus a zero-score Report for
    each `required` exercise or lesson it lacks.  Each counts once: of several files for
    it, the one that scores most counts."""
    found = [f for f in exercise_files(folder) if f.number in EXERCISES or f.number in FILL_IN]
    if not found and not required:
        raise ArgumentError(f"{folder} holds no exercise files (exNN_*.py or .ipynb, or a "
                            f"file with an EXERCISE = N line) and no fill-in lesson notebooks")
    reports = []
    for path, number, refused in sorted(found, key=lambda f: (order(f.number), f.path)):
        if reports:
            print(file=out)
        try:
            reports.append(absent(number, refused, path, rubric) if refused
                           else grade_file(path, number, timeout, memory, rubric))
        except ArgumentError as e:                  # unreadable: graded as not importable
            reports.append(absent(number, str(e), path, rubric))
        print_report(reports[-1], out=out)
    for number in sorted(set(required) - {f.number for f in found}, key=order):
        kind = "lesson notebook" if isinstance(number, str) else "file"
        reports.append(absent(number, f"no {kind} for {label(number)} in {folder}",
                              rubric=rubric))
        print_report(reports[-1], out=out)
    return counted_once(reports)


def check(path, exercise=None, timeout=DEFAULT_TIMEOUT, memory=MEMORY):
    """Grade a file from Python (a notebook cell, an nbgrader test): print the table, return
    the Report (report.passed is True when every part passes)."""
    if os.environ.get("MINIVAE_SANDBOX"):           # this code is itself being graded
        return skipped_check()
    path = Path(path)
    if not path.is_file():
        more = " (save the notebook under this name, or change the name here)" \
            if path.suffix == ".ipynb" else ""
        raise FileNotFoundError(f"{path}: no such file{more}")
    report = grade_file(path, exercise, timeout, memory)
    print_report(report)
    return report
