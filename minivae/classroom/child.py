"""The child process of the sandbox: runs the student's code and answers the grader's calls.

    python -I -u -c BOOT PACKAGE MEMORY PATH...        (sandbox.py starts it)

-I: no PYTHON* variables, no user site, and neither the working folder nor
the student's folder on the import path, which is exactly PATH... (the
grader's own, without those).  BOOT makes `minivae` a package whose
__init__.py never runs here, since that would load the reference maths
(model.py and all) into the student's process; then it calls main().

Requests arrive on stdin and answers leave on stdout, framed as wire.send
writes them.  Both streams move to private file descriptors first: the
student's code reads an empty stdin, and what it prints, from Python or from
C (file descriptors 1 and 2), lands in the grader's file for printed output,
never inside an answer.  The limits of guard.py hold from the start, its
refusals from the moment the student's code is loaded.  If the child's own
code fails (say, the student's code replaced part of pickle), it says so in
an answer, or exits with FAILED, and never prints a traceback into what the
student's code printed.
"""
import io
import os
import pickle
import sys
import traceback
import types
import warnings

import numpy as np

from . import guard
from .wire import FAILED, NUMERIC, Foreign, Outcome, read_frame, send

MODULE = "minivae_student"      # the student's code runs as this module (so not as __main__)
LABELS = set()                  # the labels its code was compiled under: a .py path, or "NB, cell N"
MAX_ELEMENTS = 2 ** 22          # entries of a returned array sent back; a larger one is refused
TEXT = 200                      # characters of an exception's message sent back


def main():
    package, memory = sys.argv[1], int(sys.argv[2])
    requests, answers = os.dup(0), os.dup(1)
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
    os.dup2(2, 1)
    guard.limit(memory)
    try:
        send(answers, Outcome(value="ready"))
        student, modules = None, {}
        while (frame := read_frame(requests)) is not None:
            request = _Requests(io.BytesIO(frame), modules).load()     # the grader's: trusted
            if request[0] == "load":
                chunks, folder, notebook, given = request[1:]
                modules = guard.refuse(package, given)
                student, outcome = load(chunks, folder, notebook)
            else:
                outcome = call(student, *request[1:])
            sys.stdout.flush()
            sys.stderr.flush()
            send(answers, outcome)
    except BaseException as e:                      # noqa: BLE001  the child's own failure
        try:
            send(answers, Outcome(problem=f"the grader's child process failed "
                                          f"({one_line(e)})", kind="error"))
        finally:
            os._exit(FAILED)


class _Requests(pickle.Unpickler):
    """Reads the grader's requests; the classes of the layers it hands over (given.py) come
    from the modules loaded before guard.refuse hid them."""

    def __init__(self, file, modules):
        super().__init__(file)
        self.modules = modules

    def find_class(self, module, name):
        if module in self.modules:
            return getattr(self.modules[module], name)
        return super().find_class(module, name)


# -- loading ---------------------------------------------------------------------------
def load(chunks, folder, notebook):
    """Run the student's code as a fresh module: (module, Outcome) or (None, Outcome(problem))."""
    if folder:
        sys.path.insert(0, folder)                  # the student's own modules, as `python FILE` would
    module = types.ModuleType(MODULE)
    module.__file__ = chunks[0][0] if chunks else "<empty>"
    if notebook:
        module.display = _display                   # what a notebook cell may call without IPython
    sys.modules[MODULE] = module                    # dataclasses and pickle look the module up
    LABELS.update(label for label, _ in chunks)
    for label, source in chunks:
        try:
            code = compile(source, label, "exec")
        except SyntaxError as e:
            return None, Outcome(problem=f"{_at(label, e.lineno, notebook)}: syntax error: {e.msg}",
                                 kind="error")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                exec(code, module.__dict__)
        except SystemExit:
            return None, Outcome(problem=f"{label}: importing it called exit()", kind="error")
        except BaseException as e:                  # noqa: BLE001  KeyboardInterrupt and all
            place, line = _student_line(e)
            return None, Outcome(problem=f"{_at(place or label, line, notebook)}: importing it "
                                         f"raised {one_line(e)}", kind="error")
    return module, Outcome(value="loaded")


def _display(*objects, **_):
    print(*objects)


def _at(label, line, notebook):
    if line is None:
        return label
    return f"{label}, line {line}" if notebook else f"{label}:{line}"


def _student_line(e):
    """(label, line) of the innermost frame of exception e in the student's code (the
    traceback's frames only: no source file is read)."""
    frames = [(f.f_code.co_filename, line) for f, line in traceback.walk_tb(e.__traceback__)
              if f.f_code.co_filename in LABELS]
    return frames[-1] if frames else (None, "?")


def one_line(e):
    """'Type: first line of the message', each part cut short (the grader escapes it)."""
    name = str(type(e).__name__)[:100]
    try:
        text = str(e)[:100 * TEXT].strip().splitlines()
    except Exception:                               # noqa: BLE001  a __str__ that raises
        text = ["(its message could not be read)"]
    return f"{name}: {text[0][:TEXT]}" if text else name


# -- calling ---------------------------------------------------------------------------
def call(student, name, args):
    """student.name(*args): Outcome(result as plain data, keys of model.params it changed)."""
    fn = getattr(student, name, None)
    if not callable(fn):
        return Outcome(problem=f"the file defines no function {name}()", kind="error")
    models = [a for a in args if isinstance(getattr(a, "params", None), dict)]
    before = [{k: v.copy() for k, v in m.params.items()} for m in models]
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = fn(*args)
    except NotImplementedError:
        return Outcome(problem="not implemented yet", kind="todo")
    except BaseException as e:                      # noqa: BLE001  SystemExit included
        label, line = _student_line(e)
        cell = label.rsplit(", ", 1)[-1] + ", " if label and ", cell " in label else ""
        return Outcome(problem=f"{name}() raised {one_line(e)} ({cell}line {line})",
                       kind="error")
    changed = tuple(k for m, params in zip(models, before) for k, v in params.items()
                    if not np.array_equal(m.params.get(k), v))
    try:
        value = plain(value)
    except Exception as e:                          # noqa: BLE001  an object that resists reading
        return Outcome(problem=f"{name}() returned something unreadable ({one_line(e)})",
                       kind="wrong")
    return Outcome(value=value, changed=changed)


def plain(value, depth=0):
    """The result as data the grader can read: numeric arrays and NumPy numbers, Python's
    plain types, containers of those; anything else becomes Foreign(what it is)."""
    if value is None or isinstance(value, np.generic) and value.dtype.kind in NUMERIC:
        return value
    if type(value) is np.ndarray:
        if value.dtype.kind not in NUMERIC:
            return Foreign("array of Python objects" if value.dtype == object
                           else f"array of dtype {value.dtype}")
        return value if value.size <= MAX_ELEMENTS else \
            Foreign(f"array of {value.size:,} entries, too large to send")
    for kind in (bool, int, float, complex, str):
        if isinstance(value, kind) and not isinstance(value, np.ndarray):
            return kind(value)[:100 * TEXT] if kind is str else kind(value)
    if depth < 3 and isinstance(value, (tuple, list)) and len(value) <= 10_000:
        items = [plain(v, depth + 1) for v in value]
        return items if isinstance(value, list) else tuple(items)
    if depth < 3 and isinstance(value, dict) and len(value) <= 10_000:
        return {str(k)[:TEXT]: plain(v, depth + 1) for k, v in value.items()}
    return Foreign(f"{type(value).__module__}.{type(value).__qualname__}"[:TEXT])
