"""The grades as Gradescope's results.json (`python -m minivae check … --json PATH`).

Gradescope's autograder specification (gradescope-autograders.readthedocs.io,
"Autograder Specifications") reads /autograder/results/results.json:

    {"score": 20.0,                       the total
     "execution_time": 14,                seconds
     "output": "passed 20 of 22 parts …", shown above the tests
     "tests": [{"name": "exercise 5 part 2: dmu (N, K)", "number": "5.2",
                "score": 1.0, "max_score": 1.0, "status": "passed" | "failed",
                "output": "the hint, or what went wrong, and the relative errors"}, …]}

One test per part (a fill-in lesson's region is a part, "L03.1"), worth its
weight: one point unless a teacher's rubric (rubric.py) says otherwise.  A
rubric's hidden part carries "visibility": "after_published", so Gradescope
shows it to the student once the grades are published; the "output" summary
counts the visible parts only.  Other autograders that read this format (and
nbgrader users, who call minivae.classroom.submission.check from a cell)
need nothing else.
"""
import json
from collections import Counter

from ..files.atomic import atomic_write
from .parts import PASS
from .untrusted import shown


def results(reports, seconds, problem=""):
    """The results.json dict of a list of report.Reports (problem: why none were graded).

    A report not counted (report.counted_once: another file of its exercise counts)
    adds no test; every text a student controls is escaped (untrusted.shown), and what
    their code printed is marked "| ", line by line.
    """
    counted = [r for r in reports if r.counted]
    repeated = Counter(r.number for r in counted)
    tests = []
    for r in counted:
        where = f" ({shown(r.path.name, 200)})" if repeated[r.number] > 1 and r.path else ""
        for p in r.parts:
            test = {"name": f"{r.label} part {p.number}: {p.what}{where}",
                    "number": r.part_id(p), "score": p.score, "max_score": p.weight,
                    "status": "passed" if p.status == PASS else "failed",
                    "output": _output(r, p)}
            if p.hidden:
                test["visibility"] = "after_published"
            tests.append(test)
    visible = [t for t in tests if "visibility" not in t]
    summary = shown(problem, 2000) or (
        f"passed {sum(t['status'] == 'passed' for t in visible)} of {len(visible)} parts in "
        f"{sum(r.path is not None for r in counted)} files")
    printed = [f"{shown(r.path.name, 200)} printed:\n" + "\n".join(
                   "| " + shown(line, 300) for line in r.printed.splitlines()[:20])
               for r in counted if r.printed.strip() and r.path]
    return {"score": sum(t["score"] for t in tests), "execution_time": round(seconds, 1),
            "output": "\n\n".join([summary] + printed), "tests": tests}


def _output(report, part):
    errors = [f"{e:.1e} vs {what}" for e, what in ((part.err_fd, "central differences"),
                                                  (part.err_ref, "minivae"))
              if e is not None]
    lines = [f"file: {shown(report.path, 500)}" if report.path else "not submitted"]
    if part.status != PASS:
        note = shown(part.note, 2000)
        lines.append(f"{part.status}: {note}" if part.note != part.status else part.status)
    if errors:
        lines.append("relative error " + ", ".join(errors))
    return "\n".join(lines)


def write(path, reports, seconds, problem=""):
    """Write results.json atomically (an autograder never reads half a file); a character
    UTF-8 cannot hold, should one be left, is written as a backslash escape."""
    text = json.dumps(results(reports, seconds, problem), indent=2, ensure_ascii=False)
    atomic_write(path, lambda f: f.write(text.encode("utf-8", errors="backslashreplace")))
