"""What passes between the grader and the child process (minivae.classroom.sandbox, child.py).

Each message is a frame: 8 bytes of length, then a pickle.  The grader's
requests are ("load", chunks, folder, notebook, given) and ("call", name,
args); the child answers each with one Outcome.  The child unpickles
requests as they come (the grader is trusted); the grader reads answers with
plain_loads, which builds only arrays, NumPy scalars and dtypes, Python's
plain types and the two NamedTuples below, so nothing a student's code sends
can run in the grader, and then checks them (untrusted.checked).
"""
import io
import os
import pickle
from typing import NamedTuple, Optional

MAX_ANSWER = 2 ** 26    # bytes; a larger answer is refused
NUMERIC = "biufc"       # the dtype kinds of arrays an answer may hold: bool, integers, floats, complex
FAILED = 70             # the child's exit status when its own code failed (EX_SOFTWARE)


class Outcome(NamedTuple):
    """What one load or call gave: a value, or the problem instead."""
    value: object = None
    problem: Optional[str] = None   # None when it answered
    kind: str = "ok"                # "ok", "todo" (NotImplementedError), "error", "timeout",
                                    # or "wrong" (an answer of the wrong form: parts.py)
    changed: tuple = ()             # keys of model.params the call changed


class Foreign(NamedTuple):
    """Stands in for a returned object that is not plain data (a tensor, a custom class)."""
    type_name: str


def send(fd, message):
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    data = len(data).to_bytes(8, "big") + data
    while data:
        data = data[os.write(fd, data):]


def read_frame(fd):
    """The next frame's bytes from fd, or None at the end of the stream."""
    header = _read_exact(fd, 8)
    if header is None:
        return None
    size = int.from_bytes(header, "big")
    if size > MAX_ANSWER:
        raise ValueError(f"an answer of {size / 2 ** 20:.0f} MB")
    return _read_exact(fd, size)


def _read_exact(fd, n):
    chunks, got = [], 0
    while got < n:
        chunk = os.read(fd, min(n - got, 2 ** 20))
        if not chunk:
            return None
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


class _PlainUnpickler(pickle.Unpickler):
    """Builds only arrays, NumPy scalars and dtypes, Foreign, and Python's plain types."""
    ALLOWED = {("numpy", "ndarray"), ("numpy", "dtype"), (__name__, "Foreign"),
               (__name__, "Outcome"), ("builtins", "complex")} | {
        (f"numpy.{core}.{module}", name) for core in ("core", "_core")
        for module, name in (("multiarray", "_reconstruct"), ("multiarray", "scalar"),
                             ("numeric", "_frombuffer"))}

    def find_class(self, module, name):
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refused to build {module}.{name}")


def plain_loads(data):
    return _PlainUnpickler(io.BytesIO(data)).load()
