"""What grading one file gives, and its tables: a Report of an exercise or a filled-in lesson.

A Report names its parts as every output does (the tables here, Gradescope's
results.json, the gradebook's CSV): part 3 of exercise 5 is "5.3", part 1 of
lesson 03 is "L03.1".  A part's score is its weight when it passes, else 0
(weights and hidden parts come from a teacher's rubric, rubric.py).
Everything a student controls (file names, messages, what the code printed)
is shown through untrusted.shown: escaped, on one line, cut short.
"""
import sys
from pathlib import Path
from typing import NamedTuple, Optional

from .exercises import EXERCISES
from .fill_in import TITLES
from .parts import ERROR, PASS, TIMEOUT, TODO
from .sandbox import PRINTED_CUT
from .untrusted import shown

PRINTED_LINES = 5       # of what the student's code printed, this many lines are shown


class Report(NamedTuple):
    path: Optional[Path]        # None: the folder held no file for this exercise or lesson
    number: object              # an exercise's (int) or a lesson's ("03")
    parts: list                 # [parts.Part]
    problem: str = ""           # why nothing was graded (the import failed), else ""
    printed: str = ""           # what the student's code printed
    seconds: float = 0.0
    counted: bool = True        # False: another file of the folder counts for this exercise

    @property
    def passed(self):
        return bool(self.parts) and all(p.status == PASS for p in self.parts)

    @property
    def label(self):
        return label(self.number)

    @property
    def title(self):
        return TITLES[self.number] if isinstance(self.number, str) else EXERCISES[self.number][1]

    def part_id(self, part):
        """"5.3", "L03.1": how results.json and the gradebook name a part."""
        prefix = f"L{self.number}" if isinstance(self.number, str) else str(self.number)
        return f"{prefix}.{part.number}"

    @property
    def score(self):
        return sum(p.score for p in self.parts)

    @property
    def max_score(self):
        return sum(p.weight for p in self.parts)


def label(number):
    """"exercise 5", "lesson 03"."""
    return f"lesson {number}" if isinstance(number, str) else f"exercise {number}"


def order(number):
    """A sort key that puts the exercises (by number) before the lessons."""
    return (0, number, "") if isinstance(number, int) else (1, 0, number)


def counted_once(reports):
    """reports, with counted=False on all but the best of several for one exercise or lesson."""
    best = {}
    for i, r in enumerate(reports):
        if r.number not in best or r.score > best[r.number][0]:
            best[r.number] = (r.score, i)
    return [r._replace(counted=best[r.number][1] == i) for i, r in enumerate(reports)]


def print_report(report, out=None, stub=False):
    """One file's table, its failing parts with their hints, and what its code printed.
    stub: the file is the stub minivae ships (`check N`): advise copying it first."""
    out = out or sys.stdout
    where = shown(report.path, 500) if report.path else "not submitted"
    print(f"{report.label}: {report.title}  ({where})", file=out)
    if report.problem:
        print(f"could not grade it: {shown(report.problem, 1000)}", file=out)
    else:
        print(f"{'part':<5} {'what':<36} {'vs finite diff.':>15} {'vs minivae':>11}  result",
              file=out)
        for p in report.parts:
            fd = "—" if p.err_fd is None else f"{p.err_fd:.1e}"
            ref = "—" if p.err_ref is None else f"{p.err_ref:.1e}"
            extra = "  (hidden)" if p.hidden else ""
            points = f"  {p.score:g} of {p.weight:g} points" if p.weight != 1 else ""
            print(f"{p.number:<5} {p.what:<36} {fd:>15} {ref:>11}  {p.status}{points}{extra}",
                  file=out)
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
        what = r.number if isinstance(r.number, int) else f"L{r.number}"
        result = ("pass" if r.passed else _first_problem(r)) if r.counted else \
            f"not counted: {counting[r.number]} counts for {r.label}"
        print(f"{name:<{width}}  {what:<8}  {passed} of {len(r.parts):<3} {result}", file=out)
    counted = [r for r in reports if r.counted]
    files = sum(r.passed for r in counted)
    parts = sum(p.status == PASS for r in counted for p in r.parts)
    score, most = sum(r.score for r in counted), sum(r.max_score for r in counted)
    points = f", {score:g} of {most:g} points" if most != sum(len(r.parts) for r in counted) else ""
    print(f"passed {files} of {len(counted)} files, {parts} of "
          f"{sum(len(r.parts) for r in counted)} parts{points}", file=out)


def _first_problem(report):
    if report.problem:
        return shown(report.problem, 70)
    bad = next(p for p in report.parts if p.status != PASS)
    return f"part {bad.number}: {shown(failure(bad), 60)}"
