"""Grading a student's exercise file: `python -m minivae check N|FILE`.

Each stub (lessons/exercises/exNN_*.py) asks a student for one backward pass,
or one numerically delicate formula, of the paper's model, and names the
minivae function that solves it.  The classroom's modules:

    parts.py        how one part is graded: import the student's file, call,
                    compare with central differences and with minivae, find a hint
    exercises.py    the eight graders, one per stub, and EXERCISES
    submission.py   grade a file and print the table (this module)
    materials.py    where the stubs and lessons are (package data)
"""
import re
import sys
from pathlib import Path

import numpy as np

from .exercises import EXERCISES
from .materials import stubs_dir
from .parts import TODO, StudentFileError, load

SEED = 2016             # the inputs of every check: a result is repeatable

__all__ = ["EXERCISES", "grade_file", "resolve", "stub_path"]


def stub_path(number):
    """The stub lessons/exercises/exNN_*.py of exercise `number`."""
    if number not in EXERCISES:
        raise ValueError(f"no exercise {number}: they are numbered 1 to {len(EXERCISES)}")
    path = stubs_dir() / EXERCISES[number][0]
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: this minivae was installed without its "
                                "exercises")
    return path


def resolve(target, number=None):
    """(path, number or None) for `check N`, or `check FILE [--exercise N]`."""
    if re.fullmatch(r"\d+", target):
        return stub_path(int(target)), int(target)
    path = Path(target)
    if not path.is_file():
        raise FileNotFoundError(f"{target}: no such file (give a file or an exercise number 1–8)")
    return path, number


def grade_file(path, number=None, out=None):
    """Grade the student's file; print the table to `out` (stdout); return 0 (all pass) or 1.

    Which exercise: `number` if given, else the file's EXERCISE = N line,
    else the exNN at the start of its name.
    """
    out = out or sys.stdout
    try:
        module = load(path)
    except StudentFileError as e:
        print(f"minivae check: {e}", file=out)
        return 1
    named = re.match(r"ex(\d+)", Path(path).name)
    number = number or getattr(module, "EXERCISE", None) or (int(named.group(1)) if named else None)
    if number not in EXERCISES:
        raise ValueError(f"cannot tell which exercise {path} is: keep its EXERCISE = N line, "
                         f"or pass --exercise N (1 to {len(EXERCISES)})")
    _, title, grader = EXERCISES[number]
    parts = grader(module, np.random.default_rng(SEED))
    print(f"exercise {number}: {title}  ({path})", file=out)
    print(f"{'part':<5} {'what':<36} {'vs finite diff.':>15} {'vs minivae':>11}  result", file=out)
    for p in parts:
        fd = "—" if p.err_fd is None else f"{p.err_fd:.1e}"
        ref = "—" if p.err_ref is None else f"{p.err_ref:.1e}"
        print(f"{p.number:<5} {p.what:<36} {fd:>15} {ref:>11}  {p.status}", file=out)
    for p in parts:
        if p.status != "pass":
            note = f" — {p.note}" if p.note and p.note != TODO else ""
            print(f"part {p.number}: {p.status}{note}", file=out)
    passed = sum(p.status == "pass" for p in parts)
    print(f"passed {passed} of {len(parts)} parts"
          + ("" if passed == len(parts) else f"; edit {path} and check again"), file=out)
    return 0 if passed == len(parts) else 1
