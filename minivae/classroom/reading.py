"""What a submission holds: the code of a .py file or a notebook, and which exercise it answers.

A .py file is one chunk of code labelled with its path.  A notebook (.ipynb,
read with jupytext, from the notebook extra) gives one chunk per code cell,
labelled "PATH, cell N", the way `Run All` would run them, except that

  * IPython's own syntax is commented out: line magics and shell escapes
    (`%matplotlib inline`, `!pip install …`) and `obj?` help;
  * a cell in another language (`%%bash`, `%%html`, …) is left out;
  * the cell that runs the check (tagged CHECK_TAG, as `python -m minivae
    exercise N --notebook` writes it) is left out, so grading a notebook
    never starts a second grading.

Nothing here runs the student's code (minivae.classroom.sandbox does).
"""
import re
from pathlib import Path
from typing import NamedTuple

from ..errors import ArgumentError

SUFFIXES = (".py", ".ipynb")
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


def check_suffix(path):
    """Refuse, in one line, a file that is neither Python nor a notebook."""
    path = Path(path)
    if path.suffix not in SUFFIXES:
        hint = "; if it holds Python, rename it to end in .py" if ".py" in path.name else ""
        raise ArgumentError(f"{path}: not a Python file (.py) or a notebook (.ipynb){hint}")


def read_code(path):
    """The Code of a .py file or a notebook."""
    path = Path(path)
    check_suffix(path)
    if path.suffix == ".py":
        try:
            source = path.read_bytes()
        except OSError as e:
            raise ArgumentError(f"{path}: cannot be read ({e.strerror or e})") from None
        return Code(path, [(str(path), source)], notebook=False)
    return Code(path, notebook_chunks(path), notebook=True)


def notebook_chunks(path):
    """[(label, source)] of a notebook's code cells, as the module docstring says."""
    try:
        import jupytext
    except ImportError:
        raise ArgumentError(f"{path}: reading a notebook needs jupytext: {INSTALL}") from None
    try:
        nb = jupytext.read(str(path))
    except Exception as e:                          # noqa: BLE001  JSON or format errors
        raise ArgumentError(f"{path}: not a readable notebook ({type(e).__name__}: "
                            f"{str(e).strip().splitlines()[0] if str(e).strip() else ''})") from None
    chunks = []
    for n, cell in enumerate(nb.cells, start=1):
        if cell.cell_type != "code" or CHECK_TAG in cell.metadata.get("tags", []):
            continue
        source = python_of_cell(cell.source)
        if source is not None:
            chunks.append((f"{path}, cell {n}", source))
    return chunks


def python_of_cell(source):
    """A cell's source with IPython's syntax commented out; None for a cell in another language."""
    lines = source.splitlines()
    if lines and lines[0].startswith("%%") and not lines[0].startswith(_CELL_MAGICS_RUN):
        return None
    return "\n".join("# " + line if _IPYTHON_LINE.match(line) else line for line in lines) + "\n"


def exercise_of(code, name_only=False):
    """The exercise a submission answers: its EXERCISE = N line, else the exNN of its name."""
    if not name_only:
        text = "\n".join(s.decode("utf-8", "replace") if isinstance(s, bytes) else s
                         for _, s in code.chunks)
        line = _EXERCISE_LINE.search(text)
        if line:
            return int(line.group(1))
    named = re.match(r"ex(\d+)", Path(code.path).name)
    return int(named.group(1)) if named else None


def exercise_files(folder):
    """[(path, exercise or None)] for every .py and .ipynb file below folder that answers one.

    A file answers an exercise when its EXERCISE line or its name says which;
    a notebook that cannot be read counts when its name says (grading it will
    say what is wrong).  Hidden folders, __pycache__ and .ipynb_checkpoints are
    skipped.
    """
    found = []
    for path in sorted(Path(folder).rglob("*")):
        parts = path.relative_to(folder).parts
        if (path.suffix not in SUFFIXES or not path.is_file()
                or any(p.startswith(".") or p in _SKIPPED_DIRS for p in parts)):
            continue
        try:
            number = exercise_of(read_code(path))
        except (ValueError, OSError):
            number = exercise_of(Code(path, [], path.suffix == ".ipynb"), name_only=True)
            if number is None:
                continue
        if number is not None:
            found.append((path, number))
    return found
