"""`python -m minivae notebooks [NN ...] [--out DIR] [--execute] [--quick]`: the lessons as notebooks.

Each lesson NN_topic.py, a `# %%` cell script, is converted by jupytext:
markdown cells stay markdown and code cells stay code.  --execute runs each
notebook in a real Jupyter kernel (nbclient with ipykernel), working in
DIR, and saves it with its outputs, figures included (the lessons' PNG files
land in DIR/out/).  --quick puts a first cell setting MINIVAE_QUICK=1 into
every notebook, so it runs the lessons' seconds-long form now and whenever
it is run again.  --student writes the fill-in notebooks instead: the lessons
whose derivations are marked as solution regions (classroom/regions.py), each
region replaced by a stub that raises NotImplementedError, for a student to
fill in and `python -m minivae check` to grade.  Needs the notebook extra:
pip install "minivae[notebook]".

A lesson that fails is reported in one line, with the lesson's own last
error message.  Ctrl-C (or SIGTERM) stops the running kernel, keeps the
notebooks already written, and exits 130 (143) with one line.
"""
import importlib.util
import signal
import sys
import time
from pathlib import Path

from ..classroom.kernel import execute, to_notebook, write
from ..classroom.materials import chosen_lessons, lesson_number
from ..classroom.reading import INSTALL
from ..classroom.regions import fill_in_notebook
from ..errors import ArgumentError
from ..files.atomic import make_dirs

EXTRA = ("jupytext", "nbclient", "nbformat", "ipykernel")


def add_arguments(p):
    p.add_argument("lessons", nargs="*", metavar="NN", help="lesson numbers, e.g. 01 03 07b (default: all)")
    p.add_argument("--out", type=Path, default=Path("notebooks"),
                   help="folder for the .ipynb files (default notebooks/)")
    p.add_argument("--execute", action="store_true",
                   help="run each notebook in a Jupyter kernel and save it with its outputs")
    p.add_argument("--quick", action="store_true", help="notebooks that run the lessons' --quick form")
    p.add_argument("--student", action="store_true",
                   help="fill-in notebooks: the lessons' solution regions blanked (default: the "
                        "lessons that have them)")
    p.add_argument("--timeout", type=int, default=None, metavar="S",
                   help="seconds one cell may run when executing (default: no limit)")
    p.add_argument("--force", action="store_true",
                   help="replace a file of the same name that is not a lesson notebook "
                        "this command wrote, or a fill-in notebook (a student's work?); "
                        "never a .py file")


def missing_extra():
    """The notebook extra's packages that cannot be imported here."""
    return [name for name in EXTRA if importlib.util.find_spec(name) is None]


def run(args):
    missing = missing_extra()
    if missing:
        print(f"minivae notebooks: needs {', '.join(missing)}: {INSTALL}", file=sys.stderr)
        return 2
    scripts = chosen_lessons(args.lessons)
    if args.student:
        scripts = fill_in_lessons(scripts, chosen=bool(args.lessons), execute=args.execute)
    from ..files.overwrite import check_target
    for script in scripts:              # every target, before any lesson is converted or run
        target = args.out / f"{script.stem}.ipynb"
        check_target(target, "notebook", "--out", force=args.force)
        if not args.force and _fill_in(target):
            raise ArgumentError(f"--out {target} is a fill-in notebook, perhaps a student's "
                                "work; pass --force to replace it")
    make_dirs(args.out)
    failed = written = 0
    for i, script in enumerate(scripts, start=1):
        print(f"[{i}/{len(scripts)}] {script.stem}: ", end="", flush=True)
        try:
            nb = to_notebook(script, args.quick)
            if args.student:
                nb = fill_in_notebook(nb, f"{script.stem}.ipynb")
            problem = None
            if args.execute:
                t0 = time.perf_counter()
                problem = execute(nb, args.out, args.timeout)
                done = "failed after" if problem else "executed in"
                print(f"{done} {time.perf_counter() - t0:.1f} s, ", end="")
            target = args.out / f"{script.stem}.ipynb"
            write(nb, target)
        except KeyboardInterrupt as stop:
            from ..errors import Terminated
            how = "stopped by SIGTERM" if isinstance(stop, Terminated) else "interrupted"
            print(flush=True)               # ends the progress line
            print(f"minivae notebooks: {how} in {script.stem}, whose notebook was not written; "
                  f"{plural(written, 'notebook')} written before it in {args.out}",
                  file=sys.stderr, flush=True)
            return 128 + (signal.SIGTERM if isinstance(stop, Terminated) else signal.SIGINT)
        written += 1
        print(f"{count(nb, 'code')} code and {plural(count(nb, 'markdown'), 'markdown cell')}"
              + (f", {plural(figures(nb), 'figure')}" if args.execute else "") + f" -> {target}",
              flush=True)
        if problem:
            print(f"minivae notebooks: {script.stem}: {problem}", file=sys.stderr)
            failed += 1
    if failed:
        print(f"minivae notebooks: {failed} of {len(scripts)} notebooks failed", file=sys.stderr)
    return 1 if failed else 0


def fill_in_lessons(scripts, chosen, execute):
    """The scripts that have solution regions; a chosen one without is an ArgumentError."""
    from ..classroom.fill_in import FILL_IN
    if execute:
        raise ArgumentError("--student with --execute: a fill-in notebook stops at its first "
                            "blank; execute the lessons themselves (without --student)")
    without = [lesson_number(s) for s in scripts if lesson_number(s) not in FILL_IN]
    if chosen and without:
        raise ArgumentError(f"lesson {', '.join(without)} has nothing to fill in; the fill-in "
                            f"lessons are {', '.join(FILL_IN)}")
    return [s for s in scripts if lesson_number(s) in FILL_IN]


def _fill_in(path):
    """Whether path is a fill-in notebook of `notebooks --student` (its metadata says so)."""
    import json
    try:
        meta = json.loads(path.read_bytes()).get("metadata", {}).get("minivae", {})
        return isinstance(meta, dict) and meta.get("student") is True
    except (OSError, ValueError, AttributeError):
        return False


def plural(n, noun):
    return f"{n} {noun}" + ("" if n == 1 else "s")


def count(nb, cell_type):
    return sum(c.cell_type == cell_type for c in nb.cells)


def figures(nb):
    """How many image/png outputs the executed notebook holds."""
    return sum("image/png" in o.get("data", {}) for c in nb.cells for o in c.get("outputs", []))
