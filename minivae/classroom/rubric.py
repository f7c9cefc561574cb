"""A teacher's rubric: the parts' weights, and hidden parts (`check … --rubric FILE`).

The rubric is a Python file of the teacher's own, kept out of the students'
folders (check refuses one inside the folder it grades):

    import numpy as np
    from minivae.classroom.rubric import hidden
    from minivae.losses import kl_normal

    WEIGHTS = {"4": 2, "5.1": 0.5, "L03": 3}    # every part of exercise 4, part 1 of 5,
                                                # every part of lesson 03 (its regions)

    @hidden(exercise=4, weight=2)
    def kl_far_out(student, rng):
        \"\"\"kl_normal at log_var out to ±20\"\"\"
        mu, log_var = rng.standard_normal((3, 2)), 20 * rng.uniform(-1, 1, (3, 2))
        return student.call("kl_normal", mu, log_var), kl_normal(mu, log_var)

A weight is a part's points (1 when the rubric says nothing).  A hidden part
is a function (student, rng) of the exercise it names: it calls the student's
functions through student.call, as the graders do, and returns what came
back with the value it should be (an array, or a tuple or dict of arrays).
The grader compares them output by output (parts.grade: relative error below
`threshold`, 1e-7 unless given, entry by entry too).  Hidden parts follow the
exercise's own parts (exercise 4's first is part 4.4), are graded in the
same child process, and go into results.json with Gradescope's
"visibility": "after_published": a student sees them once the grades are
published.  The docstring's first line names the part.

A rubric that does not load, or whose hidden part raises, is the teacher's
to mend: one line naming the file (ArgumentError), and no one is graded.
"""
import importlib.util
import math
import re
from typing import NamedTuple

import numpy as np

from ..errors import ArgumentError
from ..gradcheck import LAYER_THRESHOLD
from .parts import grade, returned

SEED = 2016
_KEY = re.compile(r"(\d+|L\d\d[a-z]?)(\.\d+)?")


def hidden(exercise, weight=1.0, threshold=LAYER_THRESHOLD):
    """Marks a function (student, rng) -> (what came back, the value it should be) as a
    hidden part of `exercise`, worth `weight` points."""
    def mark(fn):
        fn.minivae_hidden = (exercise, float(weight), threshold)
        return fn
    return mark


class Hidden(NamedTuple):
    fn: object
    exercise: int
    weight: float
    threshold: float

    @property
    def what(self):
        doc = (self.fn.__doc__ or "").strip().splitlines()
        return (doc[0] if doc else self.fn.__name__)[:60]


class Rubric(NamedTuple):
    path: object = None
    weights: dict = {}          # "4", "4.3", "L03", "L03.1" -> points
    hidden: tuple = ()          # Hidden, in the order of the file

    def weigh(self, report):
        """The report with each part's weight: its own key's, else (a hidden part has its own)
        its exercise's or lesson's, else 1."""
        def weight(part):
            key = report.part_id(part)
            whole = part.weight if part.hidden else self.weights.get(key.split(".")[0], part.weight)
            return self.weights.get(key, whole)
        return report._replace(parts=[p._replace(weight=weight(p)) for p in report.parts])

    def grade_hidden(self, number, student, first):
        """The hidden Parts of exercise `number`, numbered from `first`, on `student` (a Sandbox,
        or what stands in for a missing file)."""
        parts = []
        for n, h in enumerate((h for h in self.hidden if h.exercise == number), start=first):
            try:
                got, ref = h.fn(student, np.random.default_rng([SEED, n]))
            except Exception as e:                  # noqa: BLE001  the teacher's code
                raise ArgumentError(f"--rubric {self.path}: the hidden part {h.fn.__name__} "
                                    f"raised {type(e).__name__}: {e}") from None
            if isinstance(ref, (tuple, list)):
                names = tuple(f"value {i}" for i in range(1, len(ref) + 1))
                got, ref = returned(got, names), dict(zip(names, ref))
            parts.append(grade(n, h.what, got, ref, None, (), h.threshold)._replace(
                weight=h.weight, hidden=True))
        return parts


def load(path, exercises, lessons):
    """The Rubric of a teacher's file; a file that does not load, or asks for exercises,
    lessons or weights that are not there, is an ArgumentError naming it."""
    spec = importlib.util.spec_from_file_location("minivae_rubric", path)
    if spec is None:
        raise ArgumentError(f"--rubric {path}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as e:                          # noqa: BLE001  the teacher's code
        raise ArgumentError(f"--rubric {path} does not load: {type(e).__name__}: {e}") from None
    weights = getattr(module, "WEIGHTS", {})
    if not isinstance(weights, dict):
        raise ArgumentError(f"--rubric {path}: WEIGHTS is not a dict")
    for key, value in weights.items():
        match = _KEY.fullmatch(key) if isinstance(key, str) else None
        known = match and (int(match.group(1)) in exercises if match.group(1).isdigit()
                           else match.group(1)[1:] in lessons)
        if not known:
            raise ArgumentError(f"--rubric {path}: WEIGHTS key {key!r} names no exercise or "
                                f"lesson part (\"4\", \"4.3\", \"L03\", \"L03.1\")")
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not 0 <= value < math.inf:
            raise ArgumentError(f"--rubric {path}: WEIGHTS[{key!r}] = {value!r} is not a "
                                "number of points")
    marked = sorted((fn for fn in vars(module).values() if hasattr(fn, "minivae_hidden")),
                    key=lambda fn: fn.__code__.co_firstlineno)
    parts = tuple(Hidden(fn, *fn.minivae_hidden) for fn in marked)
    for h in parts:
        if h.exercise not in exercises:
            raise ArgumentError(f"--rubric {path}: {h.fn.__name__} is a hidden part of "
                                f"exercise {h.exercise}, which does not exist")
        if not 0 <= h.weight < math.inf:
            raise ArgumentError(f"--rubric {path}: {h.fn.__name__}'s weight {h.weight!r} is "
                                "not a number of points")
    return Rubric(path, {k: float(v) for k, v in weights.items()}, parts)
