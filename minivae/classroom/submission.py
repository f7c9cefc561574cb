"""Grading a submission: `python -m minivae check N|FILE|DIR`, or check(FILE) in a notebook cell.

Each stub (lessons/exercises/exNN_*.py) asks a student for one backward pass,
or one numerically delicate formula, of the paper's model, and names the
minivae function that solves it.  The classroom's grading modules:

    reading.py          a submission's code (.py, or a notebook's cells) and its exercise
    sandbox.py, child.py, wire.py   the student's code in a child process, under a time limit
    guard.py, given.py, untrusted.py   what the child refuses and is handed; what the grader
                        accepts from it
    parts.py, hints.py  how one part is graded, and the mistakes it recognizes
    exercises.py, model_exercises.py   the eight graders, and EXERCISES
    submission.py       grade a file or a folder, print the tables (this module)
    gradescope.py       the results as Gradescope's results.json
    handout.py          a stub as a notebook, with a last cell that checks it
    materials.py        where the stubs and lessons are (package data)
"""
import ast
import functools
import os
import sys
import time
from pathlib import Path
from typing import NamedTuple, Optional

import numpy as np

from .. import kernels
from ..errors import ArgumentError
from .exercises import EXERCISES
from .guard import MEMORY, skipped_check
from .materials import stubs_dir
from .parts import ERROR, PASS, TIMEOUT, TODO
from .reading import disagreement, exercise_files, exercise_of, read_code
from .sandbox import TIMEOUT as DEFAULT_TIMEOUT
from .sandbox import PRINTED_CUT, Sandbox
from .untrusted import shown
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
    counted: bool = True        # False: another file of the folder counts for this exercise

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


@functools.lru_cache(maxsize=None)
def interface(number):
    """(functions, given) of exercise `number`, read from its stub: the functions it asks
    for (those that raise NotImplementedError), and what it imports from minivae,
    {module: names}, which is all a graded file may import from minivae (guard.py)."""
    tree = ast.parse(stub_path(number).read_bytes())
    functions = tuple(node.name for node in tree.body if isinstance(node, ast.FunctionDef)
                      and any(isinstance(n, ast.Raise) for n in ast.walk(node)))
    given = {node.module: tuple(a.name for a in node.names) for node in tree.body
             if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("minivae.")}
    return functions, given


# -- grading ---------------------------------------------------------------------------
def grade_file(path, number=None, timeout=DEFAULT_TIMEOUT, memory=MEMORY):
    """The Report of one .py file or notebook.  Which exercise: `number` if given, else the
    exNN at the start of the file's name, else its EXERCISE = N line; a file whose name,
    EXERCISE line and functions do not agree on it scores 0, with the reason."""
    t0 = time.perf_counter()
    code = read_code(path)
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
        return absent(number, f"{Path(path).name}: {problem}", Path(path))
    grader = EXERCISES[number][2]
    folder = str(Path(path).resolve().parent)
    # minivae's side of each comparison runs on the NumPy backend, as the child does
    # (sandbox.py): on the exercises' tiny arrays Numba would only add its compile,
    # 3-4 s the first time a course's grader or a student checks exercise 6, 7 or 8
    with kernels.using("numpy"), Sandbox(code.chunks, code.notebook, timeout, folder, given,
                                         memory) as student:
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


def grade_folder(folder, required=(), timeout=DEFAULT_TIMEOUT, out=None, memory=MEMORY):
    """Reports for every exercise file in folder (reading.exercise_files), printing each as
    it is graded, plus a zero-score Report for each `required` exercise it lacks.  An
    exercise counts once: of several files for it, the one that passes most parts counts."""
    found = [f for f in exercise_files(folder) if f.number in EXERCISES]    # not ex99_*
    if not found and not required:
        raise ArgumentError(f"{folder} holds no exercise files (exNN_*.py or .ipynb, or a "
                            f"file with an EXERCISE = N line)")
    reports = []
    for path, number, refused in sorted(found, key=lambda f: (f.number, f.path)):
        if reports:
            print(file=out or sys.stdout)
        try:
            reports.append(absent(number, refused, path) if refused
                           else grade_file(path, number, timeout, memory))
        except ArgumentError as e:                  # unreadable: graded as not importable
            reports.append(absent(number, str(e), path))
        print_report(reports[-1], out=out)
    for number in sorted(set(required) - {f.number for f in found}):
        reports.append(absent(number, f"no file for exercise {number} in {folder}"))
        print_report(reports[-1], out=out)
    return counted_once(reports)


def counted_once(reports):
    """reports, with counted=False on all but the best of several for one exercise."""
    best = {}
    for i, r in enumerate(reports):
        score = sum(p.status == PASS for p in r.parts)
        if r.number not in best or score > best[r.number][0]:
            best[r.number] = (score, i)
    return [r._replace(counted=best[r.number][1] == i) for i, r in enumerate(reports)]


def absent(number, problem, path=None):
    """A Report of exercise `number`, every part failed with `problem`."""
    grader = EXERCISES[number][2]
    return Report(path, number, grader(_Absent(problem), np.random.default_rng(SEED)), problem)


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


# -- the tables ------------------------------------------------------------------------
# Everything a student controls (file names, messages, what the code printed) is shown
# through untrusted.shown: escaped, on one line, cut short.
def print_report(report, out=None, stub=False):
    """One file's table, its failing parts with their hints, and what its code printed.
    stub: the file is the stub minivae ships (`check N`): advise copying it first."""
    out = out or sys.stdout
    title = EXERCISES[report.number][1]
    where = shown(report.path, 500) if report.path else "not submitted"
    print(f"exercise {report.number}: {title}  ({where})", file=out)
    if report.problem:
        print(f"could not grade it: {shown(report.problem, 1000)}", file=out)
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
                 f"; edit {where}{', save it' if report.path.suffix == '.ipynb' else ''} " \
                 f"and check again"
    print(f"passed {passed} of {len(report.parts)} parts{advice}", file=out)
    lines = report.printed.splitlines()
    if lines:
        n = min(len(lines), PRINTED_LINES)
        count = "over 1 MB" if report.printed.endswith(PRINTED_CUT) else \
            f"{len(lines)} line{'s' * (len(lines) != 1)}"
        print(f"your code printed {count}" + (f"; the first {n} lines:" if n < len(lines)
                                               else ":"), file=out)
        for line in lines[:n]:
            print(f"  | {shown(line, 160)}", file=out)


def failure(part):
    """What a part that did not pass says after "part N: ", on one line."""
    note = shown(part.note, 1000)
    if part.status in (TIMEOUT, TODO):
        return note
    return f"{part.status} — {note}" if part.status == ERROR else f"FAIL — {note}"


def print_summary(folder, reports, out=None):
    """The folder's table: one row per file; a file not counted (another one of its
    exercise is) is listed, and left out of the totals."""
    out = out or sys.stdout
    print(f"\nsummary of {shown(folder, 500)}", file=out)
    names = [shown(r.path.relative_to(folder), 200) if r.path else "(not submitted)"
             for r in reports]
    counting = {r.number: name for name, r in zip(names, reports) if r.counted}
    width = max([len(n) for n in names] + [4])
    print(f"{'file':<{width}}  exercise  passed   result", file=out)
    for name, r in zip(names, reports):
        passed = sum(p.status == PASS for p in r.parts)
        result = ("pass" if r.passed else _first_problem(r)) if r.counted else \
            f"not counted: {counting[r.number]} counts for exercise {r.number}"
        print(f"{name:<{width}}  {r.number:<8}  {passed} of {len(r.parts):<3} {result}", file=out)
    counted = [r for r in reports if r.counted]
    files = sum(r.passed for r in counted)
    parts = sum(p.status == PASS for r in counted for p in r.parts)
    print(f"passed {files} of {len(counted)} files, {parts} of "
          f"{sum(len(r.parts) for r in counted)} parts", file=out)


def _first_problem(report):
    if report.problem:
        return shown(report.problem, 70)
    bad = next(p for p in report.parts if p.status != PASS)
    return f"part {bad.number}: {shown(failure(bad), 60)}"
