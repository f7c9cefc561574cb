"""The package's imports point one way: no cycles, nothing imports a module above it.

Read from the source (ast), so imports hidden inside functions count too.
LAYERS is the module map of README.md, bottom to top; a module may import
only modules of its own layer or below.  A new module must be placed here.
"""
import ast
from pathlib import Path

import pytest

import minivae

PACKAGE = Path(minivae.__file__).parent

LAYERS = [
    # foundations: no minivae imports but each other
    {"errors", "checks", "atomic", "blas_threads", "kernels_numpy", "_numba_kernels"},
    {"kernels"},                                        # the backend switch
    {"layers", "reparam", "losses", "mlp", "tower"},    # the maths
    {"model", "cvae", "regressor", "optim"},            # models and optimizers
    {"batches", "download", "data", "evaluate", "checkpoint", "history", "plots", "gradcheck"},
    {"config"},                                         # a run's configuration
    {"train"},                                          # the training loop
    {"lesson", "grading", "graders", "exercises"},      # what lessons and the classroom kit use
    {"cli", "__main__", "__init__", "commands"},        # the commands (minivae/commands/*)
]


def module_name(path):
    rel = path.relative_to(PACKAGE).with_suffix("")
    parts = rel.parts
    if parts[0] == "commands":
        return "commands"           # the commands form one layer, at the top
    return parts[0]


def imports_of(path, pkg_parts=None):
    """Names of minivae modules imported anywhere in the file (relative or absolute).

    pkg_parts: the file's sub-package inside minivae, () or ("commands",).
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
            for t in names:
                if t:
                    found.add("commands" if t[0] == "commands" else t[0])
        elif isinstance(node, ast.Import):
            for a in node.names:
                parts = a.name.split(".")
                if parts[0] == "minivae" and len(parts) > 1:
                    found.add("commands" if parts[1] == "commands" else parts[1])
    return found


def graph():
    g = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        name = module_name(path)
        g.setdefault(name, set()).update(imports_of(path) - {name})
    return g


def layer_of(name):
    for i, layer in enumerate(LAYERS):
        if name in layer:
            return i
    raise AssertionError(f"module {name!r} is not placed in LAYERS (tests/test_architecture.py)")


def test_every_module_has_a_layer():
    for name in graph():
        layer_of(name)


def test_no_import_points_up():
    upward = [f"{a} (layer {layer_of(a)}) imports {b} (layer {layer_of(b)})"
              for a, targets in graph().items() for b in targets
              if a not in ("__init__",) and layer_of(b) > layer_of(a)]
    assert not upward, upward


def test_no_cycles():
    g = {a: {b for b in bs if b in graph()} for a, bs in graph().items() if a != "__init__"}
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


@pytest.mark.parametrize("source, expected", [
    ("from .model import VAE", {"model"}),
    ("def f():\n    from .trainloop import Run", {"trainloop"}),
    ("from . import kernels", {"kernels"}),
    ("import minivae.data", {"data"}),
])
def test_the_scanner_sees_hidden_imports(tmp_path, source, expected):
    """The check can fail: a function-level import is found like a top-level one."""
    path = tmp_path / "probe.py"
    path.write_text(source)
    assert imports_of(path, pkg_parts=()) == expected
