"""The environment variables minivae reads, each checked where it is read.

A value minivae does not understand is an error, EnvironmentVariableError (a
ValueError) naming the variable, its value and the values it accepts, never a
silent fallback to a default.  An empty value counts as unset, except where
the program that reads the variable after minivae does not treat it so (numba
warns with a traceback about an empty NUMBA_DISABLE_JIT or NUMBA_NUM_THREADS).

    variable                  read in                   accepts
    MINIVAE_BACKEND           kernels/__init__.py       numpy | numba, any case
    MINIVAE_DATA              data.py                   a folder (made if missing)
    MINIVAE_MNIST_MIRROR      data.py                   one base URL: http://, https://, file://
    MINIVAE_QUICK             classroom/lesson.py       1 | 0 (or true/false, yes/no, on/off)
    MINIVAE_ARGS              classroom/lesson.py       a lesson's flags, as on its command line
    OPENBLAS_THREAD_TIMEOUT   kernels/threads.py        a whole number (OpenBLAS: naps after 2ᴺ ticks)
    OPENBLAS_NUM_THREADS      kernels/threads.py        a whole number (0: one thread per core);
      GOTO_NUM_THREADS,                                 so are these two, which OpenBLAS reads
      OMP_NUM_THREADS                                   after it (and PyTorch, OMP_NUM_THREADS)
    NUMBA_DISABLE_JIT         kernels/__init__.py       a whole number; not 0: nothing is compiled
    NUMBA_NUM_THREADS         kernels/__init__.py       a whole number >= 1 (kernels/threads.py:
                                                        the optimizer update's threads, at most 2)
    NUMBA_CACHE_DIR           kernels/__init__.py       a writable folder (made if missing)
    MPLBACKEND                files/plots.py, lesson.py a matplotlib backend (matplotlib checks it)
    MINIVAE_SANDBOX           classroom/submission.py   set or not (check sets it in its child process:
                                                        a graded notebook's own check() cell is skipped)

The numba variables are read while `import minivae` runs.  There a bad
value makes the import raise, except while minivae's own command line starts
(`python -m minivae …`, the `minivae` script): then it is one line on stderr
and exit status 2, like every other user error (`at_import`).  The thread
variables are read when a run starts (kernels/threads.py), with the same
one-line error.

This module imports nothing but the standard library.
"""
import os
import re
import sys
import tempfile
from pathlib import Path

from .errors import EnvironmentVariableError

_WHOLE = re.compile(r"\s*\d+\s*")
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")
URL_SCHEMES = ("http://", "https://", "file://")


def invalid(name, value, accepts):
    """The error for a value of `name` that is not understood."""
    return EnvironmentVariableError(f"environment variable {name}={value!r} is not understood; "
                                    f"it accepts {accepts}")


def _value(name, empty_is_unset=True):
    value = os.environ.get(name)
    return None if value is None or (value == "" and empty_is_unset) else value


def choice(name, options):
    """One of `options` (compared in lower case, spaces around ignored), or None when unset."""
    value = _value(name)
    if value is None:
        return None
    if value.strip().lower() not in options:
        raise invalid(name, value, f"{' or '.join(options)} (any case), or unset")
    return value.strip().lower()


def switch(name):
    """True for 1/true/yes/on, False for 0/false/no/off (any case), None when unset."""
    value = _value(name)
    if value is None:
        return None
    word = value.strip().lower()
    if word not in _TRUE + _FALSE:
        raise invalid(name, value, "1 or 0 (also true/false, yes/no, on/off), or unset")
    return word in _TRUE


def whole_number(name, meaning, empty_is_unset=True, least=0):
    """A whole number ≥ least written in decimal digits, or None when unset.

    meaning: what the numbers do, for the message.  Stricter than the
    programs reading these variables after minivae (OpenBLAS's atoi takes
    "16abc" as 16), so that minivae and they never read one value two ways.
    """
    value = _value(name, empty_is_unset)
    if value is None:
        return None
    if not _WHOLE.fullmatch(value) or int(value) < least:
        what = "a whole number" if least == 0 else f"a whole number >= {least}"
        raise invalid(name, value, f"{what} ({meaning})")
    return int(value)


def folder(name, what, writable=False):
    """A Path that is a folder or can be made one, or None when unset.

    what: the folder's purpose, for the message.  writable: probe with a
    temporary file (removed at once) that the folder, or its nearest existing
    ancestor, takes new files.
    """
    value = _value(name)
    if value is None:
        return None
    accepts = f"the path of {what} (made if missing)"
    path = Path(value).expanduser()
    if not value.strip():
        raise invalid(name, value, accepts)
    try:
        ancestor = existing_ancestor(path)
        if not ancestor.is_dir():
            raise invalid(name, value, f"{accepts}; {ancestor} is a file")
        if writable:
            with tempfile.TemporaryFile(dir=ancestor):
                pass
    except OSError as e:
        raise invalid(name, value, f"{accepts}; {ancestor} cannot be written "
                                   f"({e.strerror or e})") from None
    return path


def existing_ancestor(path):
    """`path` if it exists, else its nearest existing ancestor (at worst a missing drive's root)."""
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def url(name):
    """A base URL (http://, https:// or file://), or None when unset."""
    value = _value(name)
    if value is None:
        return None
    if not value.strip().lower().startswith(URL_SCHEMES) or len(value.split()) != 1:
        raise invalid(name, value, "one base URL starting with " + ", ".join(URL_SCHEMES))
    return value.strip()


def import_matplotlib():
    """`import matplotlib`, which checks $MPLBACKEND: an unknown backend names the variable."""
    try:
        import matplotlib
    except ValueError as e:
        if _value("MPLBACKEND") is None:
            raise
        raise invalid("MPLBACKEND", os.environ["MPLBACKEND"], f"a matplotlib backend ({e})") from None
    return matplotlib


# --- while `import minivae` runs -------------------------------------------------
def at_import(read):
    """read(): a variable read while minivae is imported.

    Its error makes the import raise, except while minivae's command line
    starts: there it is one line on stderr and exit status 2.
    """
    try:
        return read()
    except EnvironmentVariableError as e:
        if not _command_line_starting():
            raise
        escape_unencodable_output()
        print(f"minivae: error: {e}", file=sys.stderr)
        raise SystemExit(2) from None


def leave_working_folder():
    """While `python -m minivae …` starts, take the working folder off the import path.

    Python puts it first for -m, so a folder of students' files graded from inside it
    (a scipy/ of their own) would stand in for the libraries the grader imports.
    minivae itself is imported already, and its own modules come from its package.
    """
    if _command_line_starting() and sys.argv[:1] == ["-m"] and sys.path[:1] in (
            [""], [os.getcwd()]):
        del sys.path[0]


def _command_line_starting():
    """True while `python -m minivae …` or the `minivae` script imports the package."""
    if Path(sys.argv[0] if sys.argv else "").name == "minivae":     # the console script
        return True
    if sys.argv[:1] != ["-m"]:          # runpy sets argv[0] to "-m" while importing the package
        return False
    orig = getattr(sys, "orig_argv", None)      # Python ≥ 3.10: the interpreter's own argv
    if orig is None:
        return True
    for i, arg in enumerate(orig):
        if arg.startswith("-m"):
            module = arg[2:] or (orig[i + 1] if i + 1 < len(orig) else "")
            return module == "minivae"
    return False


# --- output ------------------------------------------------------------------------
def escape_unencodable_output():
    """Make stdout and stderr print any text.

    Under a locale whose encoding lacks a character (LC_ALL=C with
    PYTHONUTF8=0 is ASCII), it prints as a backslash escape instead of
    raising UnicodeEncodeError.  A stream that cannot be reconfigured (a
    notebook kernel's) is left alone: it writes UTF-8 anyway.
    """
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(errors="backslashreplace")
        except (AttributeError, ValueError, OSError):
            pass
