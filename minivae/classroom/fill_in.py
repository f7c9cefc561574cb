"""Grading a fill-in lesson: `python -m minivae check 03_reparam.ipynb`, one part per region.

`python -m minivae notebooks --student` hands out the lessons with their
solution regions blanked (regions.py).  Each region lies in a function of a
self-contained cell.  The cell of the student's notebook that defines it (the
last one, as Run All leaves it) runs on its own in the grader's child process
(sandbox.py), and the function is graded there, one of two ways:

  * most are functions an exercise asks for too, with the same name and
    arguments (lesson 03's reparam_forward and reparam_backward are exercise
    5's): the cell runs under that exercise's guard (guard.py: from minivae
    it may import only what the exercise's stub imports, so the lesson's
    answer, minivae's own function, is refused), and the exercise's grader
    (exercises.py, model_exercises.py) calls it; the region's part passes
    when every part of the exercise that grades it (FILL_IN) passes, and
    otherwise says why, as that part does;
  * the others (lesson 01's f_inverse_cdf, lesson 09's g_prime) are the
    lesson's own: the grader calls the student's function and the lesson's,
    the solution minivae carries, each in a child of its own with nothing of
    minivae's maths to import, on the same inputs, and compares what they
    return (parts.grade, relative error below 1e-7).

The other cells are the lesson, which the grader does not run: the numbers
and checks they print are the student's to read, the grade is the grader's.
What the student's cells print is shown after the table, as for an exercise.
"""
import ast
import re
from typing import NamedTuple

import numpy as np

from .exercises import EXERCISES, interface
from .materials import chosen_lessons
from .parts import ERROR, FAIL, PASS, TIMEOUT, TODO, Part, grade
from .regions import script_cells
from .wire import Outcome

SEED = 2016


class FillIn(NamedTuple):
    """What grades one region of a lesson."""
    function: str           # the function whose body the lesson marks
    what: str               # the part's name in the tables
    exercise: int = None    # the exercise whose grader checks the function (None: the lesson's
    parts: tuple = ()       #   own solution does, on `inputs`), and the parts of it that do
    inputs: object = None   # rng -> the arguments the student's function and the lesson's get


# lesson -> its regions, in the order of the lesson (tests/classroom/test_fill_in.py holds this
# equal to the lessons' markers)
FILL_IN = {
    "01": (FillIn("f_inverse_cdf", "f(z) = F⁻¹(G(z)) (§2's footnote)",
                  inputs=lambda rng: (2.5 * rng.standard_normal(40),)),),
    "03": (FillIn("reparam_forward", "z = mu + std ⊙ eps (Eq. 10)", 5, (1,)),
           FillIn("reparam_backward", "its backward: dmu, dlog_var", 5, (2, 3))),
    "04": (FillIn("kl_normal", "Eq. 7's gradients: dmu, dlog_var", 4, (2, 3)),),
    "05": (FillIn("log_weights", "log P(X|z) + log P(z) − log Q(z|X)", 7, (3,)),),
    "08": (FillIn("junction_backward", "a junction's backward: (da, dc)", 8, (1,)),),
    "09": (FillIn("g_prime", "g′(X), the slope of g = G⁻¹∘F", inputs=lambda rng: (
        rng.uniform(-4, 4, 30), 2 * rng.standard_normal(30))),),
}
TITLES = {"01": "a latent variable bent into any shape (§2's opening, its footnote), filled in",
          "03": "the reparameterization trick (§2.2, Eq. 10), filled in",
          "04": "the KL term's gradients (§2.2, Eq. 7), filled in",
          "05": "the importance weights of log P(X) (beyond the paper), filled in",
          "08": "the CVAE's junctions (§3, Fig. 6), filled in",
          "09": "zero approximation error in 1-D (Appendix A), filled in"}
_ORDER = [TODO, TIMEOUT, ERROR, FAIL]        # of several failing parts, the first of these names it


def defining_cell(chunks, function):
    """The last (label, source) of a notebook's code cells that defines `function` at its top
    level, or None."""
    pattern = re.compile(rf"^(async\s+)?def\s+{re.escape(function)}\s*\(", re.MULTILINE)
    found = None
    for label, source in chunks:
        try:
            defined = {n.name for n in ast.parse(source).body
                       if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
        except (SyntaxError, ValueError):
            defined = {function} if pattern.search(source) else set()  # loading it says what's wrong
        if function in defined:
            found = (label, source)
    return found


def grade_regions(chunks, lesson, sandbox):
    """One Part per region of `lesson` from a notebook's code cells (label, source).

    sandbox(cells, given) opens a Sandbox for those cells that may import `given` from
    minivae; returns ([Part], what the student's cells printed).
    """
    parts, printed = [], []
    for n, region in enumerate(FILL_IN[lesson], start=1):
        cell = defining_cell(chunks, region.function)
        if cell is None:
            parts.append(Part(n, region.what, FAIL, note=f"the notebook defines no function "
                                                         f"{region.function}() (a deleted cell?)"))
            continue
        rng = np.random.default_rng(SEED)
        if region.exercise is None:
            args = region.inputs(rng)
            want = _solution(lesson, region, args, sandbox)
        given = interface(region.exercise)[1] if region.exercise else {}
        with sandbox([cell], given) as student:
            student.load()
            if region.exercise is None:
                parts.append(grade(n, region.what, student.call(region.function, *args), want))
            else:
                graded = EXERCISES[region.exercise][2](_Only(student, region.function), rng)
                parts.append(merged(n, region.what, [p for p in graded if p.number in region.parts]))
            printed.append(student.output())
    return parts, "".join(printed)


def _solution(lesson, region, args, sandbox):
    """What the lesson's own function, the solution minivae carries, returns for args."""
    script, = chosen_lessons([lesson])
    cells = [(f"{script.name}, line {start}", source)
             for start, source in script_cells(script.read_text(encoding="utf-8"))]
    with sandbox([defining_cell(cells, region.function)], {}) as teacher:
        want = teacher.call(region.function, *args)
    if want.problem:                            # the lesson minivae carries is broken: a bug
        raise RuntimeError(f"lesson {lesson}'s own {region.function}: {want.problem}")
    return want.value


class _Only:
    """The student's sandbox as an exercise's grader sees it, answering only for one function:
    the grader's calls of the exercise's other functions are not made (they would fail, or
    grade a function the lesson does not ask for, at the cost of a call each)."""

    def __init__(self, student, function):
        self.student, self.function = student, function

    def call(self, name, *args):
        if name != self.function:
            return Outcome(problem="not asked for here", kind="error")
        return self.student.call(name, *args)


def merged(number, what, parts):
    """One Part of several: it passes when all do; else the first failing one (not implemented,
    then a timeout, an error, a failure) gives its status and note."""
    err_fd = max((p.err_fd for p in parts if p.err_fd is not None), default=None)
    err_ref = max((p.err_ref for p in parts if p.err_ref is not None), default=None)
    failing = sorted((p for p in parts if p.status != PASS), key=lambda p: _ORDER.index(p.status))
    if not failing:
        return Part(number, what, PASS, err_fd, err_ref)
    first = failing[0]
    note = first.note if len(parts) == 1 or first.status == TODO else f"{first.what}: {first.note}"
    return Part(number, what, first.status, err_fd, err_ref, note)
