"""The package's imports point one way: no cycles, nothing imports a module above it.
And every module has its test file, or a line in tests/README.md saying where it is tested.

Read from the source (ast), so imports hidden inside functions count too.
LAYERS is the module map of README.md, bottom to top; a module may import
only modules of its own layer or below.  A new module must be placed here.
Modules of the subpackages are named "kernels.flush", "files.atomic", ...;
"kernels" is the switch (kernels/__init__.py), and the commands form one
group, "commands", at the top.
"""
import ast
import re
from pathlib import Path

import pytest

import minivae

PACKAGE = Path(minivae.__file__).parent
TESTS = Path(__file__).resolve().parents[1]
SUBPACKAGES = ("kernels", "files", "classroom", "explorer", "site")

LAYERS = [
    # foundations: errors and checks; the Numba twins and the machinery of speed; files
    {"errors", "validate", "environment", "progress",
     "kernels.cores", "kernels.openblas", "kernels.threads", "kernels.watch", "kernels.jit",
     "kernels.flush", "kernels.update_threads",
     "kernels.layers", "kernels.reparam", "kernels.losses", "kernels.optim", "kernels.matmul",
     "kernels.precompile", "kernels.verified",
     "files.atomic", "files.download", "files.plots", "files.run_lock", "files.run_folder",
     "files.overwrite"},
    {"kernels"},                                                # the backend switch
    {"layers", "reparam", "losses", "mlp", "tower", "optim"},    # the maths
    {"model", "cvae", "regressor"},                             # the models
    {"batches", "data", "evaluate", "gradcheck", "files.history", "files.checkpoint"},
    {"config"},                                                 # a run's configuration
    {"train"},                                                  # the training loop
    {"classroom.lesson", "classroom.materials", "classroom.hints", "classroom.wire",
     "classroom.sandbox", "classroom.guard", "classroom.given", "classroom.untrusted",
     "classroom.child", "classroom.reading", "classroom.parts", "classroom.exercises",
     "classroom.model_exercises", "classroom.submission", "classroom.gradescope",
     "classroom.handout", "classroom.kernel", "classroom.regions", "classroom.fill_in",
     "classroom.report", "classroom.rubric", "classroom.gradebook"},   # lessons and exercises
    {"explorer.export", "explorer.live"},                       # the latent explorer (a lesson's tool)
    {"site.equations", "site.source", "site.typeset", "site.maths_pages", "site.lessons",
     "site.build"},                                             # the course site
    {"commands", "__main__", "__init__"},                       # the command line
]
# the subpackages' faces (their __init__.py) hold docstrings only, except kernels'
FACES = {"files", "classroom", "explorer", "site"}


def module_name(parts):
    """The LAYERS name of a module given as path parts inside minivae (no suffix)."""
    parts = [p for p in parts if p != "__init__"] or ["__init__"]
    if parts[0] == "commands":
        return "commands"           # the commands form one layer, at the top
    if parts[0] in SUBPACKAGES and len(parts) > 1:
        return f"{parts[0]}.{parts[1]}"
    return parts[0]


def imports_of(path, pkg_parts=None):
    """Names of minivae modules imported anywhere in the file (relative or absolute).

    pkg_parts: the file's sub-package inside minivae, () or ("kernels",) etc.
    """
    tree = ast.parse(path.read_text(), filename=str(path))
    if pkg_parts is None:
        pkg_parts = path.relative_to(PACKAGE).parent.parts
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(pkg_parts[:len(pkg_parts) - node.level + 1])
                target = base + (node.module.split(".") if node.module else [])
                names = [target] if node.module else [base + [a.name] for a in node.names]
            elif node.module and node.module.split(".")[0] == "minivae":
                target = node.module.split(".")[1:]
                names = [target] if target else [[a.name] for a in node.names]
            else:
                continue
            found.update(module_name(t) for t in names if t)
        elif isinstance(node, ast.Import):
            for a in node.names:
                parts = a.name.split(".")
                if parts[0] == "minivae" and len(parts) > 1:
                    found.add(module_name(parts[1:]))
    return found


def graph():
    g = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        name = module_name(path.relative_to(PACKAGE).with_suffix("").parts)
        if name in FACES:
            continue
        g.setdefault(name, set()).update(imports_of(path) - {name})
    return g


def layer_of(name):
    for i, layer in enumerate(LAYERS):
        if name in layer:
            return i
    raise AssertionError(f"module {name!r} is not placed in LAYERS (tests/unit/test_architecture.py)")


def test_every_module_has_a_layer():
    for name in graph():
        layer_of(name)
    assert set().union(*LAYERS) <= set(graph()), set().union(*LAYERS) - set(graph())


def test_no_import_points_up():
    upward = [f"{a} (layer {layer_of(a)}) imports {b} (layer {layer_of(b)})"
              for a, targets in graph().items() for b in targets
              if a not in ("__init__",) and layer_of(b) > layer_of(a)]
    assert not upward, upward


def test_no_cycles():
    full = graph()                  # parsed once: every file's imports
    g = {a: {b for b in bs if b in full} for a, bs in full.items() if a != "__init__"}
    state, cycles = {}, []

    def visit(node, path):
        state[node] = "open"
        for nxt in sorted(g.get(node, ())):
            if state.get(nxt) == "open":
                cycles.append(path[path.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = "done"
    for node in sorted(g):
        if node not in state:
            visit(node, [node])
    assert not cycles, cycles


def test_faces_only_describe():
    """files/, classroom/, explorer/ and site/ __init__.py hold a docstring and nothing else."""
    for face in FACES:
        tree = ast.parse((PACKAGE / face / "__init__.py").read_text())
        assert len(tree.body) == 1 and isinstance(tree.body[0].value, ast.Constant), face


def test_nothing_walks_up_from_its_own_file():
    """An installed wheel has no repository around it: the package finds its lessons
    and stubs as package data, never as parents of __file__."""
    walk = re.compile(r"Path\(__file__\)|os\.path\.\w+\(__file__")
    offenders = [str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py")
                 if walk.search(p.read_text())]
    assert not offenders, offenders


@pytest.mark.parametrize("source, pkg, expected", [
    ("from .model import VAE", (), {"model"}),
    ("def f():\n    from .trainloop import Run", (), {"trainloop"}),
    ("from . import kernels", (), {"kernels"}),
    ("import minivae.data", (), {"data"}),
    ("from .kernels.flush import flush", (), {"kernels.flush"}),
    ("from .jit import jit", ("kernels",), {"kernels.jit"}),
    ("from ..errors import DataError", ("files",), {"errors"}),
    ("from . import update_threads", ("kernels",), {"kernels.update_threads"}),
])
def test_the_scanner_sees_hidden_imports(tmp_path, source, pkg, expected):
    """The check can fail: a function-level import is found like a top-level one."""
    path = tmp_path / "probe.py"
    path.write_text(source)
    assert imports_of(path, pkg_parts=pkg) == expected


# -- a test file for each module ---------------------------------------------------------
REASON = re.compile(r"^- `(minivae/[\w/]+\.py)`: (.+)$")


def without_test_file(modules, test_files):
    """The modules (paths from the repository's root, "minivae/files/atomic.py") that have
    no test file of their own among test_files (paths from tests/, "unit/test_atomic.py").

    minivae/X.py's and minivae/SUB/X.py's file is tests/**/test_X.py.  Where modules share
    the name X (no two test files can), test_X.py belongs to the one whose subpackage names
    its folder (tests/commands/test_X.py: minivae/commands/X.py), else to minivae/X.py.
    """
    def owner(test_file):
        folder, name = Path(test_file).parent.name, Path(test_file).name
        named = [m for m in modules if f"test_{Path(m).name}" == name]
        if len(named) < 2:
            return named
        return ([m for m in named if Path(m).parts[1:-1] == (folder,)]
                or [m for m in named if len(Path(m).parts) == 2])
    return set(modules) - {m for t in test_files for m in owner(t)}


def reasons_of(readme_text):
    """{module path: reason} from the lines "- `minivae/....py`: reason" of tests/README.md."""
    return {m.group(1): m.group(2) for m in map(REASON.match, readme_text.splitlines()) if m}


def unmatched(modules, test_files, reasons):
    """(modules with neither a test file nor a reason, reasons for no such module or for a
    module that has its test file)."""
    lacking = without_test_file(modules, test_files)
    return sorted(lacking - set(reasons)), sorted(set(reasons) - lacking)


def test_every_module_has_its_test_file_or_a_reason_in_the_tests_readme():
    modules = [p.relative_to(PACKAGE.parent).as_posix() for p in PACKAGE.rglob("*.py")
               if p.name not in ("__init__.py", "__main__.py")]
    reasons = reasons_of((TESTS / "README.md").read_text(encoding="utf-8"))
    tests = [p.relative_to(TESTS).as_posix() for p in TESTS.rglob("test_*.py")]
    missing, stale = unmatched(modules, tests, reasons)
    assert not missing, f"give these a test file, or a line in tests/README.md: {missing}"
    assert not stale, f"tests/README.md gives a reason for a module gone or with a file: {stale}"
    cited = {c for r in reasons.values() for c in re.findall(r"tests/[\w/]+\.py", r)}
    broken = sorted(c for c in cited if not (TESTS.parent / c).is_file())
    assert not broken, f"tests/README.md names test files that do not exist: {broken}"


@pytest.mark.parametrize("modules, tests, reasons, expected", [
    (["minivae/a.py"], [], {}, (["minivae/a.py"], [])),                        # neither
    (["minivae/a.py"], ["unit/test_a.py"], {}, ([], [])),
    (["minivae/a.py"], [], {"minivae/a.py": "r"}, ([], [])),
    ([], [], {"minivae/gone.py": "r"}, ([], ["minivae/gone.py"])),              # a module gone
    (["minivae/a.py"], ["unit/test_a.py"], {"minivae/a.py": "r"}, ([], ["minivae/a.py"])),
    (["minivae/k/b.py"], ["unit/test_b.py"], {}, ([], [])),
    # a shared name: the top level's file, or the file in the subpackage's own folder
    (["minivae/a.py", "minivae/k/a.py"], ["unit/test_a.py"], {}, (["minivae/k/a.py"], [])),
    (["minivae/a.py", "minivae/k/a.py"], ["k/test_a.py"], {}, (["minivae/a.py"], [])),
    (["minivae/j/a.py", "minivae/k/a.py"], ["k/test_a.py"], {}, (["minivae/j/a.py"], [])),
])
def test_the_test_file_check_fails_both_ways(modules, tests, reasons, expected):
    """The check can fail: a module with neither file nor reason, and a reason for a
    module that is gone or has its file; a module never borrows the file of another
    module of its name."""
    assert unmatched(modules, tests, reasons) == expected


def test_a_reason_is_a_list_line_naming_one_module():
    text = "- `minivae/files/atomic.py`: a reason, with `code`.\n- `tests/x.py`: no\n- prose"
    assert reasons_of(text) == {"minivae/files/atomic.py": "a reason, with `code`."}
