"""Grading a submission: `python -m minivae check N|FILE|DIR`, or check(FILE) in a notebook cell.

Each stub (lessons/exercises/exNN_*.py) asks a student for one backward pass,
or one numerically delicate formula, of the paper's model, and names the
minivae function that solves it.  The classroom's grading modules:

    reading.py          a submission's code (.py, or a notebook's cells) and its exercise
    sandbox.py, child.py, wire.py   the student's code in a child process, under a time limit
    parts.py, hints.py  how one part is graded, and the mistakes it recognizes
    exercises.py, model_exercises.py   the eight graders, and EXERCISES
    submission.py       grade a file or a folder, print the tables (this module)
    gradescope.py       the results as Gradescope's results.json
    handout.py          a stub as a notebook, with a last cell that checks it
    materials.py        where the stubs and lessons are (package data)
"""
import os
import sys
import time
from pathlib import Path
from typing import NamedTuple, Optional

import numpy as np

from .. import kernels
from ..errors import ArgumentError
from .exercises import EXERCISES
from .materials import stubs_dir
from .parts import ERROR, PASS, TIMEOUT, TODO
from .reading import exercise_files, exercise_of, read_code
from .sandbox import TIMEOUT as DEFAULT_TIMEOUT
from .sandbox import PRINTED_CUT, Sandbox
from .wire import Outcome

SEED = 2016             # the inputs of every check: a result is repeatable
PRINTED_LINES = 5       # of what the student's code printed, this many lines are shown
RANGE = f"1–{len(EXERCISES)}"

__all__ = ["EXERCISES", "Report", "check", "grade_file", "grade_folder", "stub_path"]


class Report(NamedTuple):
    path: Optional[Path]        # None: the folder held no file for this exercise
    number: int
    parts: list                 # [parts.Part]
    problem: str = ""           # why nothing was graded (the import failed), else ""
    printed: str = ""           # what the student's code printed
    seconds: float = 0.0

    @property
    def passed(self):
        return bool(self.parts) and all(p.status == PASS for p in self.parts)


def stub_path(number):
    """The stub lessons/exercises/exNN_*.py of exercise `number`."""
    exercise_number(number)
    path = stubs_dir() / EXERCISES[number][0]
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: this minivae was installed without its "
                                "exercises")
    return path


def exercise_number(number):
    if number not in EXERCISES:
        raise ArgumentError(f"no exercise {number}: there are exercises {RANGE}")
    return number


# -- grading ---------------------------------------------------------------------------
def grade_file(path, number=None, timeout=DEFAULT_TIMEOUT):
    """The Report of one .py file or notebook.  Which exercise: `number` if given, else the
    file's EXERCISE = N line, else the exNN at the start of its name."""
    t0 = time.perf_counter()
    code = read_code(path)
    number = number or exercise_of(code)
    if number is None:
        raise ArgumentError(f"cannot tell which exercise {path} is: keep its EXERCISE = N line, "
                            f"or pass --exercise N ({RANGE})")
    if number not in EXERCISES:
        raise ArgumentError(f"{path} says it is exercise {number}, but there are exercises {RANGE}")
    grader = EXERCISES[number][2]
    folder = str(Path(path).resolve().parent)
    # minivae's side of each comparison runs on the NumPy backend, as the child does
    # (sandbox.py): on the exercises' tiny arrays Numba would only add its compile,
    # 3-4 s the first time a course's grader or a student checks exercise 6, 7 or 8
    with kernels.using("numpy"), Sandbox(code.chunks, code.notebook, timeout, folder) as student:
        loaded = student.load()
        parts = grader(student, np.random.default_rng(SEED))
        return Report(Path(path), number, parts, loaded.problem or "", student.output(),
                      time.perf_counter() - t0)


class _Absent:
    """Stands in for a student whose folder holds no file for an exercise."""

    def __init__(self, problem):
        self.outcome = Outcome(problem=problem, kind="error")

    def call(self, *_):
        return self.outcome


def grade_folder(folder, required=(), timeout=DEFAULT_TIMEOUT, out=None):
    """Reports for every exercise file in folder (reading.exercise_files), printing each as
    it is graded, plus a zero-score Report for each `required` exercise it lacks."""
    found = [(path, n) for path, n in exercise_files(folder) if n in EXERCISES]   # not ex99_*
    if not found and not required:
        raise ArgumentError(f"{folder} holds no exercise files (exNN_*.py or .ipynb, or a file "
                            f"with an EXERCISE = N line)")
    reports = []
    for path, number in sorted(found, key=lambda f: (f[1], f[0])):
        if reports:
            print(file=out or sys.stdout)
        try:
            reports.append(grade_file(path, number, timeout))
        except ArgumentError as e:                  # unreadable: graded as not importable
            reports.append(absent(number, str(e), path))
        print_report(reports[-1], out=out)
    for number in sorted(set(required) - {n for _, n in found}):
        reports.append(absent(number, f"no file for exercise {number} in {folder}"))
        print_report(reports[-1], out=out)
    return reports


def absent(number, problem, path=None):
    """A Report of exercise `number`, every part failed with `problem`."""
    grader = EXERCISES[number][2]
    return Report(path, number, grader(_Absent(problem), np.random.default_rng(SEED)), problem)


def check(path, exercise=None, timeout=DEFAULT_TIMEOUT):
    """Grade a file from Python (a notebook cell, an nbgrader test): print the table, return
    the Report (report.passed is True when every part passes)."""
    if os.environ.get("MINIVAE_SANDBOX"):           # this code is itself being graded
        print("(check skipped: this notebook is being graded)")
        return None
    path = Path(path)
    if not path.is_file():
        more = " (save the notebook under this name, or change the name here)" \
            if path.suffix == ".ipynb" else ""
        raise FileNotFoundError(f"{path}: no such file{more}")
    report = grade_file(path, exercise, timeout)
    print_report(report)
    return report


# -- the tables ------------------------------------------------------------------------
def print_report(report, out=None, stub=False):
    """One file's table, its failing parts with their hints, and what its code printed.
    stub: the file is the stub minivae ships (`check N`): advise copying it first."""
    out = out or sys.stdout
    title = EXERCISES[report.number][1]
    print(f"exercise {report.number}: {title}  ({report.path or 'not submitted'})", file=out)
    if report.problem:
        print(f"could not grade it: {report.problem}", file=out)
    else:
        print(f"{'part':<5} {'what':<36} {'vs finite diff.':>15} {'vs minivae':>11}  result",
              file=out)
        for p in report.parts:
            fd = "—" if p.err_fd is None else f"{p.err_fd:.1e}"
            ref = "—" if p.err_ref is None else f"{p.err_ref:.1e}"
            print(f"{p.number:<5} {p.what:<36} {fd:>15} {ref:>11}  {p.status}", file=out)
        for p in report.parts:
            if p.status != PASS:
                print(f"part {p.number}: {failure(p)}", file=out)
    passed = sum(p.status == PASS for p in report.parts)
    advice = ""
    if passed < len(report.parts) and report.path is not None:
        advice = (f"; to work on it, copy it first: python -m minivae exercise {report.number} "
                  f"--out DIR, then check DIR/{report.path.name}") if stub else \
                 f"; edit {report.path}{', save it' if report.path.suffix == '.ipynb' else ''} " \
                 f"and check again"
    print(f"passed {passed} of {len(report.parts)} parts{advice}", file=out)
    lines = report.printed.splitlines()
    if lines:
        shown = min(len(lines), PRINTED_LINES)
        count = "over 1 MB" if report.printed.endswith(PRINTED_CUT) else \
            f"{len(lines)} line{'s' * (len(lines) != 1)}"
        print(f"your code printed {count}" + (f"; the first {shown} lines:" if shown < len(lines)
                                               else ":"), file=out)
        for line in lines[:shown]:
            print(f"  | {line[:160]}", file=out)


def failure(part):
    """What a part that did not pass says after "part N: "."""
    if part.status in (TIMEOUT, TODO):
        return part.note
    return f"{part.status} — {part.note}" if part.status == ERROR else f"FAIL — {part.note}"


def print_summary(folder, reports, out=None):
    """The folder's table: one row per file."""
    out = out or sys.stdout
    print(f"\nsummary of {folder}", file=out)
    names = [str(r.path.relative_to(folder)) if r.path else "(not submitted)" for r in reports]
    width = max([len(n) for n in names] + [4])
    print(f"{'file':<{width}}  exercise  passed   result", file=out)
    for name, r in zip(names, reports):
        passed = sum(p.status == PASS for p in r.parts)
        result = "pass" if r.passed else _first_problem(r)
        print(f"{name:<{width}}  {r.number:<8}  {passed} of {len(r.parts):<3} {result}", file=out)
    files = sum(r.passed for r in reports)
    parts = sum(p.status == PASS for r in reports for p in r.parts)
    print(f"passed {files} of {len(reports)} files, {parts} of "
          f"{sum(len(r.parts) for r in reports)} parts", file=out)


def _first_problem(report):
    if report.problem:
        return report.problem[:70]
    bad = next(p for p in report.parts if p.status != PASS)
    return f"part {bad.number}: {failure(bad)[:60]}"
