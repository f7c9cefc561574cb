"""The child process of the sandbox: runs the student's code and answers the grader's calls.

    python -m minivae.classroom.child

Requests arrive on stdin and answers leave on stdout, framed as wire.send
writes them.  Both streams move to private file descriptors first: the
student's code reads an empty stdin, and what it prints, from Python or from
C (file descriptors 1 and 2), lands in the grader's file for printed output,
never inside an answer.
"""
import os
import pickle
import sys
import traceback
import types
import warnings

import numpy as np

from .wire import Foreign, ModelSpec, Outcome, read_frame, send

MODULE = "minivae_student"      # the student's code runs as this module (so not as __main__)
FILE_LIMIT = 2 ** 26           # bytes any one file may grow to (print in an endless loop)
LABELS = set()                  # the labels its code was compiled under: a .py path, or "NB, cell N"


def main():
    requests, answers = os.dup(0), os.dup(1)
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
    os.dup2(2, 1)
    if os.name == "posix":              # what the student's code writes: 64 MB at most
        import resource
        resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_LIMIT, FILE_LIMIT))
    send(answers, Outcome(value="ready"))
    student = None
    while (frame := read_frame(requests)) is not None:
        request = pickle.loads(frame)               # from the grader: trusted
        if request[0] == "load":
            student, outcome = load(*request[1:])
        else:
            outcome = call(student, *request[1:])
        sys.stdout.flush()
        sys.stderr.flush()
        send(answers, outcome)


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
    """(label, line) of the innermost frame of exception e in the student's code."""
    frames = [f for f in traceback.extract_tb(e.__traceback__) if f.filename in LABELS]
    return (frames[-1].filename, frames[-1].lineno) if frames else (None, "?")


def one_line(e):
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0][:200]}" if text else type(e).__name__


# -- calling ---------------------------------------------------------------------------
def call(student, name, args):
    """student.name(*args): Outcome(result as plain data, keys of model.params it changed)."""
    fn = getattr(student, name, None)
    if not callable(fn):
        return Outcome(problem=f"the file defines no function {name}()", kind="error")
    args = [build(a) for a in args]
    models = [a for a in args if hasattr(a, "flat_params")]
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


def build(arg):
    """A ModelSpec rebuilt as the model it describes; anything else as it came."""
    if not isinstance(arg, ModelSpec):
        return arg
    from ..cvae import CVAE
    from ..model import VAE
    model = {"VAE": VAE, "CVAE": CVAE}[arg.kind](**arg.config)
    model.flat_params[...] = arg.flat_params
    return model


def plain(value, depth=0):
    """The result as data the grader can read: arrays, NumPy scalars, Python's plain types,
    containers of those; anything else becomes Foreign(its type's name)."""
    if value is None or isinstance(value, np.generic) and value.dtype != object:
        return value
    if type(value) is np.ndarray:
        return value if value.dtype != object else Foreign("an array of Python objects")
    for kind in (bool, int, float, complex, str):
        if isinstance(value, kind) and not isinstance(value, np.ndarray):
            return kind(value)
    if depth < 3 and isinstance(value, (tuple, list)) and len(value) <= 10_000:
        items = [plain(v, depth + 1) for v in value]
        return items if isinstance(value, list) else tuple(items)
    if depth < 3 and isinstance(value, dict) and len(value) <= 10_000:
        return {str(k): plain(v, depth + 1) for k, v in value.items()}
    return Foreign(f"{type(value).__module__}.{type(value).__qualname__}")


if __name__ == "__main__":
    main()
