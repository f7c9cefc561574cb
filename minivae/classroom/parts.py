"""How a part of an exercise is graded: check what came back, compare, hint.

The student's function runs in the sandbox on float64 inputs (with a random
upstream gradient); what comes back is checked output by output

  * for its type, shape and dtype (float64 in gives float64 out) and for inf
    and NaN, each named with where it is;
  * against minivae's own implementation (the reference solution the stub
    names) and against central differences (minivae.gradcheck.numerical_grad)
    of a forward pass written in the grader from the formula,

each output with its own minivae.gradcheck.rel_error, never flattened into
one vector with the others.  A part passes when every error is below its
threshold, LAYER or MODEL, which ARE gradcheck's documented thresholds, and
when every entry, too, is that close to minivae's, |v − r| ≤ threshold ·
(|v| + |r|) + ATOL, as np.allclose compares: the array's scale may not hide
one small entry that is wrong (a per-pixel nll 5e-4 nats off beside
entries of 1e4).  A failing part is compared with known-wrong variants of
the right answer; the first that matches names the hint
(minivae.classroom.hints).  What came back is only ever compared as the
array or number it must be: a list is never turned into an array here.
"""
from typing import NamedTuple, Optional

import numpy as np

from ..gradcheck import LAYER_THRESHOLD, MODEL_THRESHOLD, numerical_grad, rel_error
from .hints import HINTS
from .wire import Foreign, Outcome

LAYER = LAYER_THRESHOLD     # one layer or loss in float64 (minivae.gradcheck): 1e-7
MODEL = MODEL_THRESHOLD     # a whole model, whose layers' errors add up: 1e-6
MATCH = 1e-6                # a result within this rel. error of a wrong variant "is" that variant
ATOL = 1e-12                # an entry this close to minivae's passes, however small both are:
                            # float64 rounding of these O(1) sums is ~1e-16, any mistake far more

PASS, FAIL, TODO, ERROR, TIMEOUT = "pass", "FAIL", "not implemented yet", "error", "timeout"
_STATUS = {"todo": TODO, "error": ERROR, "timeout": TIMEOUT, "wrong": FAIL}
NO_MATCH = "no common mistake matches: compare your formula with the stub's, entry by entry, " \
           "on a small input"


class Part(NamedTuple):
    number: int
    what: str
    status: str                     # PASS, FAIL, TODO, ERROR or TIMEOUT
    err_fd: Optional[float] = None  # rel. error vs central differences (None: no derivative)
    err_ref: Optional[float] = None  # rel. error vs minivae's implementation
    note: str = ""                  # the hint, or what went wrong
    weight: float = 1.0             # its points (a teacher's rubric may change them: rubric.py)
    hidden: bool = False            # a rubric's hidden part: shown to students after publishing

    @property
    def score(self):
        return self.weight if self.status == PASS else 0.0


def hint(key):
    return f"hint ({key}): {HINTS[key]}"


# -- what came back ------------------------------------------------------------------
def wrong(problem):
    return Outcome(problem=problem, kind="wrong")


def returned(outcome, names):
    """A call returning len(names) values -> an Outcome whose value is {name: value}."""
    if outcome.problem is not None:
        return outcome
    value, expected = outcome.value, f"{len(names)} ({', '.join(names)})"
    if value is None:
        return wrong("returned None: a missing `return`?")
    if not isinstance(value, (tuple, list)):
        return wrong(f"returned one {_kind(value)}, expected {expected} values")
    if len(value) != len(names):
        return wrong(f"returned {len(value)} values, expected {expected}")
    return outcome._replace(value=dict(zip(names, value)))


def pick(outcome, name):
    """One of the values `returned` split out."""
    return outcome if outcome.problem is not None else outcome._replace(value=outcome.value[name])


def entries(outcome, keys, what="the gradient dict"):
    """A call returning a dict -> an Outcome whose value is {key: value} for keys."""
    if outcome.problem is not None:
        return outcome
    value = outcome.value
    if value is None:
        return wrong("returned None: a missing `return`?")
    if not isinstance(value, dict):
        return wrong(f"{what} is {_a(_kind(value))}, not a dict")
    missing = [k for k in keys if k not in value]
    if missing:
        return wrong(f"{what} lacks {', '.join(missing[:3])}" + (" …" if len(missing) > 3 else ""))
    return outcome._replace(value={k: value[k] for k in keys})


def _kind(value):
    if isinstance(value, Foreign):
        return value.type_name
    if isinstance(value, np.ndarray):
        return "array"
    return type(value).__name__


def _a(noun):
    return ("an " if noun[:1] in "aeiou" else "a ") + noun


def _problem(label, value, ref):
    """Why value cannot be compared with ref (type, shape, dtype), or None."""
    if value is None:
        return f"{label}None: a missing `return`?" if label else "returned None: a missing `return`?"
    said = label or "returned "
    if ref.shape == () and isinstance(value, (float, np.floating)):
        value = np.asarray(value)
    if not isinstance(value, np.ndarray):
        expected = "a float" if ref.shape == () else f"a NumPy array of shape {ref.shape}"
        return f"{said}{_a(_kind(value))}, expected {expected}"
    if value.shape != ref.shape:
        return f"{said}shape {value.shape}, expected {ref.shape}"
    if value.dtype != ref.dtype:
        return (f"{said}dtype {value.dtype}, expected {ref.dtype}: {ref.dtype} in gives "
                f"{ref.dtype} out (a cast, or an array made with another dtype?)")
    return None


def _nonfinite(label, value):
    nan, inf = int(np.isnan(value).sum()), int(np.isinf(value).sum())
    counts = " and ".join(f"{n} {w}" for n, w in ((nan, "NaN"), (inf, "inf")) if n)
    first = [tuple(int(i) for i in ix) for ix in np.argwhere(~np.isfinite(value))[:3]]
    at = ", ".join(str(ix[0] if len(ix) == 1 else list(ix)) for ix in first) if value.ndim else ""
    return f"{label or 'the result: '}{counts} of {value.size} entries" + (f" (first at {at})" if at else "")


# -- grading one part ------------------------------------------------------------------
def away_from_zero(a, gap=0.1):
    """a pushed at least `gap` from 0, so a ReLU's kink never sits within h of an input."""
    return np.where(a >= 0, a + gap, a - gap)


def common(ref, N):
    """The wrong variants every gradient can fall into: sign, 1/N, factor 2 (ref: an array
    or a dict of them)."""
    def times(c):
        return {k: c * r for k, r in ref.items()} if isinstance(ref, dict) else c * ref
    return [(times(-1), "sign"), (times(N), "1/N missing"), (times(1 / N), "1/N doubled"),
            (times(2), "factor 2"), (times(0.5), "factor 2")]


def grade(number, what, got, ref, fd=None, variants=(), threshold=LAYER, nonfinite=None):
    """One Part: the student's outcome against minivae's result (ref) and central differences (fd).

    ref is one array (got.value one value) or a dict of named arrays (got.value
    a dict with those names, from `returned` or `entries`); fd likewise, or
    None where there is no derivative to take; variants [(wrong, hint key)],
    each wrong shaped like ref; nonfinite: the hint key for an inf or NaN where
    an overflow is the likely cause (a dict by name for several outputs).
    """
    if got.problem is not None:
        return Part(number, what, _STATUS[got.kind], note=got.problem)
    single = not isinstance(ref, dict)
    refs = {"": ref} if single else ref
    fds = {"": fd} if single else (fd or {})
    values = {"": got.value} if single else got.value
    nonfinite = {"": nonfinite} if single else (nonfinite or {})
    for name, r in refs.items():
        problem = _problem(name and f"{name}: ", values[name], np.asarray(r))
        if problem:
            return Part(number, what, FAIL, note=_match(values, variants, single) or problem)
    values = {name: np.asarray(v) for name, v in values.items()}
    for name, v in values.items():
        if not np.isfinite(v).all():
            key = nonfinite.get(name)
            note = _nonfinite(name and f"{name}: ", v) + (f"; {hint(key)}" if key else "")
            return Part(number, what, FAIL, note=note)
    err_ref = {name: rel_error(values[name], r) for name, r in refs.items()}
    err_fd = {name: rel_error(values[name], f) for name, f in fds.items() if f is not None}
    entries_off = {name: off for name, r in refs.items()
                   if (off := off_entry(values[name], np.asarray(r), threshold))}
    worst_ref, worst_fd = max(err_ref.values()), max(err_fd.values(), default=None)
    if worst_ref < threshold and (worst_fd is None or worst_fd < threshold) and not entries_off:
        if got.changed:
            return Part(number, what, FAIL, worst_fd, worst_ref, "right values, but "
                        + _changed(got.changed))
        return Part(number, what, PASS, worst_fd, worst_ref)
    note = _match(values, variants, single) or \
        NO_MATCH + _which(err_ref, err_fd, threshold, entries_off)
    if got.changed:
        note += "; and " + _changed(got.changed)
    return Part(number, what, FAIL, worst_fd, worst_ref, note)


def _match(values, variants, single):
    """The hint of the first variant every output matches, or None."""
    for wrong_value, key in variants:
        wrongs = {"": wrong_value} if single else wrong_value
        if all(_same(values[name], w) for name, w in wrongs.items()):
            return hint(key)
    return None


def _same(value, wrong_value):
    """Whether value, an array or a number as the child sent it, is wrong_value."""
    if not isinstance(value, (np.ndarray, float, np.floating)):
        return False                    # a list of 10,000 arrays is not made one here
    w = np.asarray(wrong_value, dtype=np.float64)
    if np.shape(value) != w.shape or np.asarray(value).dtype.kind not in "fiu":
        return False
    got = np.asarray(value, dtype=np.float64)
    return np.isfinite(w).all() and np.isfinite(got).all() and rel_error(got, w) < MATCH


def off_entry(value, ref, threshold):
    """'[i, j] (rel. error 4e-06)' for the entry of value furthest outside
    |v − r| ≤ threshold · (|v| + |r|) + ATOL, or "" when every entry is inside."""
    diff, scale = np.abs(value - ref), np.abs(value) + np.abs(ref)
    outside = diff > threshold * scale + ATOL
    if not outside.any():
        return ""
    rel = np.where(outside, diff / np.maximum(scale, ATOL), 0.0)
    at = np.unravel_index(np.argmax(rel), rel.shape)
    return f"[{', '.join(str(int(i)) for i in at)}] (rel. error {rel[at]:.1e})"


def _which(err_ref, err_fd, threshold, entries_off):
    """'; off (rel. error): a (3e-04)' for the outputs of a part of several that are off as
    a whole, and '; off entry by entry: b[2] (rel. error 4e-06)' for those off in one entry."""
    whole = [f"{name} ({max(e, err_fd.get(name, 0.0)):.1e})" for name, e in err_ref.items()
             if max(e, err_fd.get(name, 0.0)) >= threshold and len(err_ref) > 1]
    entry = [f"{name}{at}" for name, at in entries_off.items() if err_ref[name] < threshold]
    return (f"; off (rel. error): {', '.join(whole)}" if whole else "") + \
        (f"; off entry by entry: {', '.join(entry)}" if entry else "")


def _changed(keys):
    listed = ", ".join(keys[:3]) + (" …" if len(keys) > 3 else "")
    return (f"the call changed model.params ({listed}): computing a gradient must leave "
            f"the parameters as they are")


def fd_params(loss, params, keys):
    """Central differences of loss() with respect to params[k], for k in keys: {k: array}."""
    return {k: numerical_grad(loss, params[k]) for k in keys}
