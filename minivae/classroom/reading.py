"""What a submission holds: the code of a .py file or a notebook, and which exercise it answers.

A .py file is one chunk of code labelled with its path.  A notebook (.ipynb,
read as JSON, every field checked) gives one chunk per code cell, labelled
"PATH, cell N", the way `Run All` would run them, except that

  * IPython's own syntax is commented out: line magics and shell escapes
    (`%matplotlib inline`, `!pip install …`) and `obj?` help;
  * a cell in another language (`%%bash`, `%%html`, …) is left out;
  * the cell that runs the check (tagged CHECK_TAG, as `python -m minivae
    exercise N --notebook` writes it) is left out, so grading a notebook
    never starts a second grading.

A file larger than LIMITS, a link that leaves the folder being graded, or a
notebook that is not one is refused in one line naming the file (ArgumentError).
Nothing here runs the student's code (minivae.classroom.sandbox does).
"""
import ast
import json
import os
import re
import stat
from pathlib import Path
from typing import NamedTuple, Optional

from ..errors import ArgumentError

SUFFIXES = (".py", ".ipynb")
LIMITS = {".py": 2 ** 20, ".ipynb": 20 * 2 ** 20}       # bytes a submitted file may hold
CHECK_TAG = "minivae-check"
INSTALL = 'pip install "minivae[notebook]" (in a clone: pip install -e ".[notebook]")'
_EXERCISE_LINE = re.compile(r"^EXERCISE\s*=\s*(\d+)\s*(#.*)?$", re.MULTILINE)
_IPYTHON_LINE = re.compile(r"^\s*[%!]|^[^#]*\?\s*$")
_CELL_MAGICS_RUN = ("%%time", "%%timeit", "%%capture")   # still Python below their first line
_SKIPPED_DIRS = {"__pycache__", ".ipynb_checkpoints"}


class Code(NamedTuple):
    path: Path
    chunks: list            # [(label, source)]: source is bytes for a .py file, str for a cell
    notebook: bool
    lesson: Optional[str] = None    # "03": a lesson notebook of `notebooks` (its metadata says so)


class Found(NamedTuple):
    """A file of a folder that answers an exercise or is a lesson, or was refused (problem: why)."""
    path: Path
    number: object          # an exercise's (int) or a lesson's ("03")
    problem: Optional[str] = None


def check_suffix(path):
    """Refuse, in one line, a file that is neither Python nor a notebook."""
    path = Path(path)
    if path.suffix not in SUFFIXES:
        hint = "; if it holds Python, rename it to end in .py" if ".py" in path.name else ""
        raise ArgumentError(f"{path}: not a Python file (.py) or a notebook (.ipynb){hint}")


def read_bytes(path):
    """The bytes of a submitted file, refused unless it is a regular file within LIMITS.

    Opened without waiting (a pipe answers at once) and measured before it is read,
    so neither a pipe nor a sparse file of gigabytes can stop the grader.
    """
    limit = LIMITS[Path(path).suffix]
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as e:
        raise ArgumentError(f"{path}: cannot be read ({e.strerror or e})") from None
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ArgumentError(f"{path}: not a regular file (a pipe or a device)")
        if st.st_size > limit:
            raise ArgumentError(f"{path}: {st.st_size:,} bytes, more than the {limit:,} a "
                                f"{Path(path).suffix} file may hold; refused")
        return f.read(limit + 1)[:limit]


def read_code(path):
    """The Code of a .py file or a notebook."""
    path = Path(path)
    check_suffix(path)
    data = read_bytes(path)
    if path.suffix == ".py":
        return Code(path, [(str(path), data)], notebook=False)
    chunks, lesson = notebook_chunks(path, data)
    return Code(path, chunks, True, lesson)


def notebook_chunks(path, data):
    """([(label, source)] of a notebook's code cells, as the module docstring says; the
    number of the lesson it is, or None)."""
    try:
        nb = json.loads(data)
    except (ValueError, RecursionError) as e:       # not UTF-8, not JSON, nested without end
        why = str(e).strip().splitlines()[0][:100] if str(e).strip() else ""
        raise ArgumentError(f"{path}: not a readable notebook ({type(e).__name__}: "
                            f"{why})") from None
    cells = nb.get("cells") if isinstance(nb, dict) else None
    if not isinstance(cells, list):
        found = f"nbformat {nb.get('nbformat')!r}" if isinstance(nb, dict) else "not an object"
        raise ArgumentError(f"{path}: not a version 4 notebook (no list of cells; {found})")
    chunks = []
    for n, cell in enumerate(cells, start=1):
        source = _cell_source(path, n, cell)
        if source is not None:
            chunks.append((f"{path}, cell {n}", source))
    return chunks, _lesson(nb)


def _lesson(nb):
    """"03" when the notebook's metadata says it is lesson 03_reparam (as `notebooks` writes it)."""
    meta = nb.get("metadata")
    mine = meta.get("minivae") if isinstance(meta, dict) else None
    stem = mine.get("lesson") if isinstance(mine, dict) else None
    match = re.fullmatch(r"(\d\d[a-z]?)_\w+", stem) if isinstance(stem, str) else None
    return match.group(1) if match else None


def _cell_source(path, n, cell):
    """The Python of cell n, None for a cell that is not run; every field checked first."""
    def bad(what):
        return ArgumentError(f"{path}: not a valid notebook: cell {n} {what}")
    if not isinstance(cell, dict) or not isinstance(cell.get("cell_type"), str):
        raise bad("has no cell_type")
    source = cell.get("source", "")
    if isinstance(source, list) and all(isinstance(s, str) for s in source):
        source = "".join(source)
    if not isinstance(source, str):
        raise bad(f"has a source that is not text (a {type(source).__name__})")
    metadata = cell.get("metadata", {})
    tags = metadata.get("tags", []) if isinstance(metadata, dict) else None
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise bad("has metadata or tags that are not a list of texts")
    if cell["cell_type"] != "code" or CHECK_TAG in tags:
        return None
    return python_of_cell(source)


def python_of_cell(source):
    """A cell's source with IPython's syntax commented out; None for a cell in another language."""
    lines = source.splitlines()
    if lines and lines[0].startswith("%%") and not lines[0].startswith(_CELL_MAGICS_RUN):
        return None
    return "\n".join("# " + line if _IPYTHON_LINE.match(line) else line for line in lines) + "\n"


# -- which exercise ----------------------------------------------------------------------
def _text(code):
    return "\n".join(s.decode("utf-8", "replace") if isinstance(s, bytes) else s
                     for _, s in code.chunks)


def named(path):
    """The exercise the file's name says (exNN_…), or None."""
    match = re.match(r"ex(\d+)", Path(path).name)
    return int(match.group(1)) if match else None


def exercise_of(code):
    """The exercise a submission answers: the exNN of its name, else its EXERCISE = N line
    (where the two disagree, `disagreement` says so)."""
    if named(code.path) is not None:
        return named(code.path)
    line = _EXERCISE_LINE.search(_text(code))
    return int(line.group(1)) if line else None


def disagreement(code, number, functions):
    """Why `code` is not exercise `number`, or None: its EXERCISE lines, its name and the
    functions it defines (of `functions`, the exercise's, it must define one) must agree."""
    said = sorted({int(m.group(1)) for m in _EXERCISE_LINE.finditer(_text(code))})
    if said and said != [number]:
        lines = " and ".join(f"EXERCISE = {n}" for n in said)
        return f"it says {lines}, but it is graded as exercise {number}"
    if named(code.path) not in (None, number):
        return f"its name says exercise {named(code.path)}, but it is graded as exercise {number}"
    defined = defined_names(code)
    if defined is not None and not defined & set(functions):
        return (f"it defines none of exercise {number}'s functions ({', '.join(functions)}); "
                "is it another exercise?")
    return None


def defined_names(code):
    """Names the code binds at module level (functions, classes, assignments, imports),
    or None when that cannot be told without running it (a syntax error, `import *`)."""
    names = set()
    for _, source in code.chunks:
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError):
            return None
        stack = list(tree.body)
        while stack:
            node = stack.pop()
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                if any(a.name == "*" for a in node.names):
                    return None
                names.update((a.asname or a.name).split(".")[0] for a in node.names)
            elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                names.update(n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name))
            else:               # if, try, with, for, while at module level: their bodies count
                stack.extend(c for c in ast.iter_child_nodes(node) if isinstance(c, ast.stmt))
    return names


def exercise_files(folder):
    """[Found] for every .py and .ipynb file below folder that answers an exercise, or is a
    lesson notebook (its number a text, "03").

    A file answers one when its name or its EXERCISE line says which; a notebook is a
    lesson when its metadata says so (as `notebooks` writes it); an unreadable
    one counts when its name says (grading it says what is wrong).  A file reached
    through a link that leaves the folder is refused, never read.  Hidden folders,
    __pycache__ and .ipynb_checkpoints are skipped.
    """
    root, found = Path(folder).resolve(), []
    for path in sorted(Path(folder).rglob("*")):
        parts = path.relative_to(folder).parts
        if (path.suffix not in SUFFIXES or not path.is_file()
                or any(p.startswith(".") or p in _SKIPPED_DIRS for p in parts)):
            continue
        real = path.resolve()
        if root not in real.parents:
            if named(path) is not None:
                found.append(Found(path, named(path), f"{path} is a link to {real}, outside "
                                                      f"{folder}: refused"))
            continue
        try:
            code = read_code(path)
            number = exercise_of(code)
            number = code.lesson if number is None else number
        except (ValueError, OSError):
            number = named(path)
        if number is not None:
            found.append(Found(path, number))
    return found
