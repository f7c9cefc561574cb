"""What the grader takes from the child process: data it checked, and text it escaped.

The child runs the student's code, so its answers are untrusted even after
wire.plain_loads has built them (which builds nothing but plain data):

  * `checked(outcome)` is the one door.  An Outcome passes only with a known
    kind, a short text problem, keys of model.params that are short strings,
    and a value made of NumPy numbers and numeric arrays, Python's plain
    types and at most MAX_DEPTH levels of containers, MAX_NODES items in all
    (a list of 10,000 references to one array is 10,000 items, though its
    pickle is small).  Anything else becomes the part's error, never the
    grader's crash.  Nothing is converted here: parts.py compares arrays
    only, so no list the student built is turned into an array in the grader.
  * `shown(text)` is how any text the student controls reaches a terminal or
    results.json: control characters (line breaks, ANSI escapes such as
    "\\x1b[2K"), invisible format characters (a right-to-left override) and
    lone surrogates (a file name byte that is not UTF-8) as backslash escapes,
    on one line, cut to a length.
"""
import unicodedata

import numpy as np

from .wire import NUMERIC, Foreign, Outcome

KINDS = ("ok", "todo", "error", "timeout", "wrong")
TEXT_LIMIT = 2 ** 20        # characters of any one string kept from the child (1 MB)
MAX_DEPTH = 4               # levels of containers in a value
MAX_NODES = 100_000         # items in a value, containers and their entries
MAX_KEYS = 1_000            # keys of model.params a call may report as changed
_ESCAPED = {"Cc", "Cf", "Cs", "Zl", "Zp"}     # control, format, surrogate, line/paragraph breaks
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def shown(text, limit=300):
    """text on one line, every character that could move the cursor, hide or reorder text
    escaped, cut to `limit` characters (… marks the cut)."""
    text = str(text)[:TEXT_LIMIT]
    out, n = [], 0
    for ch in text:
        if unicodedata.category(ch) in _ESCAPED:
            ch = _escape(ch)
        out.append(ch)
        n += len(ch)
        if n > limit:
            return "".join(out)[:limit - 1] + "…"
    return "".join(out)


def _escape(ch):
    code = ord(ch)
    if ch in _NAMED:
        return _NAMED[ch]
    if 0xDC80 <= code <= 0xDCFF:            # a byte that is not UTF-8, as Python decodes
        return f"\\x{code - 0xDC00:02x}"     # file names (surrogateescape): shown as that byte
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


class Unreadable(ValueError):
    """The child's answer is not what a child of this grader sends."""


def checked(outcome):
    """The child's answer as an Outcome the grader can use (its texts escaped), or
    Unreadable saying why it is not one."""
    if type(outcome) is not Outcome:
        raise Unreadable(f"a {shown(type(outcome).__name__, 60)} instead of an Outcome")
    if type(outcome.kind) is not str or outcome.kind not in KINDS:
        raise Unreadable(f"an unknown kind {shown(repr(outcome.kind), 60)}")
    problem, changed = outcome.problem, outcome.changed
    if problem is not None and type(problem) is not str:
        raise Unreadable(f"a problem that is a {shown(type(problem).__name__, 60)}")
    if type(changed) is not tuple or len(changed) > MAX_KEYS \
            or any(type(k) is not str for k in changed):
        raise Unreadable("a list of changed parameters that is not a tuple of names")
    _check_value(outcome.value, 0, [MAX_NODES])
    return Outcome(outcome.value, None if problem is None else shown(problem, 1000), outcome.kind,
                   tuple(shown(k, 100) for k in changed))


def _check_value(value, depth, budget):
    budget[0] -= 1
    if budget[0] < 0:
        raise Unreadable(f"more than {MAX_NODES:,} items")
    kind = type(value)
    if value is None or kind in (bool, int, float, complex):
        return
    if kind is str:
        if len(value) > TEXT_LIMIT:
            raise Unreadable(f"a text of {len(value):,} characters")
        return
    if kind is Foreign:
        if type(value.type_name) is not str or len(value.type_name) > TEXT_LIMIT:
            raise Unreadable("a type name that is not a short text")
        return
    if kind is np.ndarray or isinstance(value, np.generic):
        if value.dtype.kind not in NUMERIC:
            raise Unreadable(f"an array of dtype {shown(value.dtype, 60)}")
        return
    if depth >= MAX_DEPTH:
        raise Unreadable(f"containers nested more than {MAX_DEPTH} deep")
    if kind in (tuple, list):
        for item in value:
            _check_value(item, depth + 1, budget)
        return
    if kind is dict:
        for k, item in value.items():
            if type(k) is not str:
                raise Unreadable("a dict whose keys are not texts")
            _check_value(k, depth + 1, budget)
            _check_value(item, depth + 1, budget)
        return
    raise Unreadable(f"a {shown(kind.__name__, 60)}")
