"""Where a function of the maths modules is, read from its source with `ast` at run time.

No line number is stored anywhere: the equation index names a module, a
function (or Class.method) and a key expression, and `locate` finds the
function's lines and the line holding the expression in the source as it is
now, decorators or not.  `root` is the folder holding the minivae package
(default: the installed one, found through importlib), so a test can point
it at a scratch copy.
"""
import ast
import importlib.util
from pathlib import Path
from typing import NamedTuple, Optional

MATHS_MODULES = ("layers", "reparam", "losses", "optim", "model", "cvae", "evaluate")


class Location(NamedTuple):
    path: Path              # the module's file
    relative: str           # "minivae/losses.py", as printed
    first: int              # the def line (1-based)
    last: int               # the function's last line
    key_line: Optional[int]  # the line holding the key expression, None when it is gone


class StaleEntry(LookupError):
    """The index names a function that no longer exists, or whose source lacks the key."""


def package_root():
    """The folder that holds the installed minivae package (site-packages, or a clone)."""
    return Path(importlib.util.find_spec("minivae").origin).parent.parent


def module_path(module, root=None):
    return Path(root or package_root()) / "minivae" / f"{module}.py"


def find_function(tree, qualname):
    """The FunctionDef (or ClassDef) named by "f" or "Class.method" in a parsed module, or None."""
    body = tree.body
    node = None
    for part in qualname.split("."):
        node = next((n for n in body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                       ast.ClassDef)) and n.name == part), None)
        if node is None:
            return None
        body = node.body
    return node


def squeeze(text):
    """Text without any whitespace, so a key survives reformatting within its line."""
    return "".join(text.split())


def locate(code, root=None):
    """The Location of an index Code record; raises StaleEntry when the function is gone."""
    path = module_path(code.module, root)
    lines = path.read_text(encoding="utf-8").splitlines()
    node = find_function(ast.parse("\n".join(lines), filename=str(path)), code.function)
    if node is None:
        raise StaleEntry(f"minivae/{code.module}.py has no function {code.function}")
    key = squeeze(code.key)
    key_line = next((n for n in range(node.lineno, node.end_lineno + 1)
                     if key in squeeze(lines[n - 1])), None)
    return Location(path, f"minivae/{code.module}.py", node.lineno, node.end_lineno, key_line)


def problems(entries, root=None, repo=None):
    """Every way the index has gone stale, as sentences (empty when all holds).

    Checks each code record (function and key expression), and, given the
    repository folder `repo`, that each test file and test function exists;
    the lessons and exercises are checked against the package's own.
    """
    from ..classroom.materials import lesson_scripts, stubs_dir
    lessons = {p.stem for p in lesson_scripts()}
    stubs = {p.stem for p in stubs_dir().glob("ex*.py")}
    found = []
    for e in entries:
        if not e.code and not e.no_code:
            found.append(f"{e.label}: no code and no reason why")
        for c in e.code:
            try:
                where = locate(c, root)
            except StaleEntry as gone:
                found.append(f"{e.label}: {gone}")
                continue
            if where.key_line is None:
                found.append(f"{e.label}: {c.function} in {where.relative} no longer holds {c.key!r}")
        found += [f"{e.label}: no lesson {name}" for name in e.lessons if name not in lessons]
        if e.exercise and e.exercise not in stubs:
            found.append(f"{e.label}: no exercise {e.exercise}")
        for test in e.tests if repo else ():
            file, _, name = test.partition("::")
            path = Path(repo) / file
            if not path.is_file() or find_function(ast.parse(path.read_text(encoding="utf-8")),
                                                   name) is None:
                found.append(f"{e.label}: no test {test}")
    return found
