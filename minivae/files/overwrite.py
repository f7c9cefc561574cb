"""Which existing file a command may write over: one rule for every file a user names.

`sample --out`, `check --json --csv`, `bench --json`, `notebooks --out` and
`explore --out --name` write a file whose name the user gives.  Each asks
`check_target` first, before any long work starts.  The name must end in the
suffix of what the command writes (.png, .json, .csv, ...: `sample --out
samples.jpg` is refused, not given PNG bytes), and the command writes only

  * a new file, or
  * a file of the kind the same command writes, recognised by its content
    (OWN below: a PNG, minivae's results.json, minivae's bench JSON, a
    lesson notebook of `notebooks`, the explorer's page and weights file,
    check's gradebook CSV).

It never writes over an input of the same command (the checkpoint `sample`
reads, the file `check` grades), a checkpoint (any .npz or zip archive), a
training history, or a source file (.py, .ipynb): those are refused even
with --force.  Any other existing file is refused unless the user passes
--force.  A refusal is one line naming the file and what it is.
"""
import json
import os
import stat
from pathlib import Path

from ..errors import ArgumentError

PNG = b"\x89PNG\r\n\x1a\n"
ZIP = b"PK\x03\x04"
HISTORY_START = "epoch,"            # history.csv's header (files/history.py)
SOURCE_SUFFIXES = (".py", ".pyw", ".pyi", ".ipynb")
JSON_LIMIT = 2 ** 26                # bytes: a larger JSON file is not one of minivae's


def _json(path):
    try:
        if path.stat().st_size > JSON_LIMIT:
            return None
        return json.loads(path.read_bytes())
    except (OSError, ValueError):       # unreadable, not UTF-8 or not JSON
        return None


def _is_results(path):
    data = _json(path)          # Gradescope's results.json as classroom/gradescope.py writes it
    return isinstance(data, dict) and {"score", "tests"} <= set(data) and isinstance(data["tests"], list)


def _is_bench(path):
    data = _json(path)          # commands/bench.py's JSON
    return isinstance(data, dict) and {"kernels", "presets", "steps", "repeats"} <= set(data)


def _is_lesson_notebook(path):
    data = _json(path)          # commands/notebooks.py marks the notebooks it writes
    meta = data.get("metadata") if isinstance(data, dict) else None
    return isinstance(meta, dict) and isinstance(meta.get("minivae"), dict) \
        and "lesson" in meta["minivae"]


def _is_gradebook(path):
    first = _head(path, 2 ** 16).split(b"\n", 1)[0]    # classroom/gradebook.py's header row
    return first.startswith(b"student,") and first.endswith(b",total")


EXPLORER_TITLE = b"<title>minivae: walk the latent space of a VAE</title>"   # explorer/explorer.html
EXPLORER_WEIGHTS = b"window.MINIVAE_EXPLORER = "                            # explorer/export.py


def _is_explorer_page(path):
    return EXPLORER_TITLE in _head(path, 4096)


def _is_explorer_weights(path):
    return EXPLORER_WEIGHTS in _head(path, 4096)


# kind -> (what it is, for a message; the suffix its name ends in; does the file's
# content say it is one)
OWN = {"png": ("a PNG", ".png", lambda path: _head(path, len(PNG)) == PNG),
       "results": ("a results.json of check", ".json", _is_results),
       "bench": ("a JSON file of bench", ".json", _is_bench),
       "notebook": ("a lesson notebook of notebooks", ".ipynb", _is_lesson_notebook),
       "gradebook": ("a gradebook CSV of check", ".csv", _is_gradebook),
       "explorer page": ("an explorer page of explore", ".html", _is_explorer_page),
       "explorer weights": ("an explorer weights file of explore", ".js", _is_explorer_weights)}


def _head(path, n):
    try:
        with open(path, "rb") as f:
            return f.read(n)
    except OSError:
        return b""


def _protected(path):
    """What the file is when no command may write over it, else None."""
    if path.suffix.lower() in SOURCE_SUFFIXES:
        return "a source file"
    head = _head(path, 64)
    if head.startswith(ZIP):
        return "a checkpoint or other archive"
    if head.startswith(b"#!"):
        return "a script"
    if head.decode("utf-8", "replace").startswith(HISTORY_START) or _is_history_json(path):
        return "a training history"
    return None


def _is_history_json(path):
    data = _json(path) if _head(path, 1) == b"[" else None
    return isinstance(data, list) and bool(data) and all(isinstance(r, dict) and "epoch" in r
                                                         for r in data)


def check_target(path, kind, flag, inputs=(), force=False):
    """Refuse (ArgumentError) writing the file `path` unless the rule above allows it.

    kind: a key of OWN, what the command writes; flag: how the user named the
    file ("--out"), for the message; inputs: the files the same command reads;
    force: the user passed --force (None: the command has no --force).
    """
    path = Path(path)
    what, suffix, own = OWN[kind]
    named = path.suffix.lower() == suffix   # `--out samples.jpg` would get PNG bytes
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        st = None       # a new file (or a dangling link, replaced); the caller checks its folder
    except OSError as e:
        raise ArgumentError(f"{flag} {path}: cannot be checked ({e.strerror or e})") from None
    if st is not None:
        _check_existing(path, st, flag, inputs)
        if named and own(path):
            return
        protected = _protected(path)
        if protected:
            raise ArgumentError(f"{flag} {path} exists and is {protected}, which is never "
                                "written over; give another file name")
    if not named:
        raise ArgumentError(f"{flag} {path} does not end in {suffix}, and the file written is "
                            f"{what}; give a name that ends in {suffix}")
    if st is not None and not force:
        raise ArgumentError(f"{flag} {path} exists and is not {what}; give another file name"
                            + ("" if force is None else ", or pass --force to replace it"))


def _check_existing(path, st, flag, inputs):
    """Refuse a folder, a special file and a file the command reads."""
    if stat.S_ISDIR(st.st_mode):
        raise ArgumentError(f"{flag} {path} is a folder; give the path of a file")
    if not stat.S_ISREG(st.st_mode):
        raise ArgumentError(f"{flag} {path} is a special file (a pipe or a device), not a file "
                            "it can write")
    for given in inputs:
        try:
            same = os.path.samefile(path, given)
        except OSError:
            same = False
        if same:
            raise ArgumentError(f"{flag} {path} is {given}, which this command reads; "
                                "give another file name")
