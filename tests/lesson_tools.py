"""What the lesson tests share: running a lesson, reading its printed numbers, its Exercises
cell, and a lesson's own functions, defined without running the lesson."""
import ast
import os
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

REPO = Path(__file__).resolve().parents[1]
LESSONS = REPO / "lessons"


def run_lesson(script, out, *extra, env=None, timeout=300):
    """Run lessons/<script> --quick --out out *extra in a subprocess; return its stdout.

    One BLAS thread unless the caller's environment says otherwise: on a busy
    2-core machine OpenBLAS's spinning workers made --quick runs 4x slower
    (measured); the results are the same.
    """
    full_env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONIOENCODING": "utf-8",
                "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS", "1"), **(env or {})}
    proc = subprocess.run([sys.executable, str(LESSONS / script), "--quick", "--out", str(out), *extra],
                          cwd=REPO, env=full_env, capture_output=True, text=True, encoding="utf-8",
                          timeout=timeout)
    assert proc.returncode == 0, f"{script} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout


def grab(pattern, text, cast=float, n=None):
    """The groups of the first match of pattern, cast; or, given n, of all n matches."""
    if n is None:
        m = re.search(pattern, text)
        assert m, f"no line matching {pattern!r} in:\n{text}"
        return [cast(g) for g in m.groups()]
    found = [[cast(g) for g in m.groups()] for m in re.finditer(pattern, text)]
    assert len(found) == n, f"expected {n} lines matching {pattern!r}, found {len(found)}:\n{text}"
    return found


def exercise_items(script):
    """The numbered items of the lesson's last cell, which must be a markdown cell titled
    "Exercises" (issue 12 §2), 3 to 5 of them, each with an expected observation."""
    last = (LESSONS / script).read_text(encoding="utf-8").split("# %%")[-1]
    assert last.startswith(" [markdown]\n# ## Exercises\n"), f"{script}: last cell is not the Exercises cell"
    items = re.split(r"^# (\d)\. ", last, flags=re.M)[1:]
    numbers = [int(n) for n in items[0::2]]
    bodies = [" ".join(line.lstrip("#").strip() for line in b.splitlines()) for b in items[1::2]]
    assert 3 <= len(numbers) <= 5 and numbers == list(range(1, len(numbers) + 1)), numbers
    for n, body in zip(numbers, bodies):
        assert "*What should happen:*" in body, f"{script} exercise {n} has no expected observation"
    return bodies


def lesson_functions(script, *names):
    """The functions `names` of lessons/<script>, to call from a test without running the lesson.

    Only the lesson's top-level imports and those functions' definitions are executed, so
    a function may use what the lesson imports but no variable its cells compute.
    """
    path = LESSONS / script
    tree = ast.parse(path.read_text(encoding="utf-8"))
    body = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))
            or (isinstance(node, ast.FunctionDef) and node.name in names)]
    found = {node.name for node in body if isinstance(node, ast.FunctionDef)}
    assert found == set(names), f"{script} defines no {sorted(set(names) - found)}"
    namespace = {"__name__": f"lesson_{path.stem}"}
    exec(compile(ast.Module(body=body, type_ignores=[]), str(path), "exec"), namespace)
    return SimpleNamespace(**{name: namespace[name] for name in names})
