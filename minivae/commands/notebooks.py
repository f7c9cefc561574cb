"""`python -m minivae notebooks [NN ...] [--out DIR] [--execute] [--quick]`: the lessons as notebooks.

Each lesson NN_topic.py, a `# %%` cell script, is converted by jupytext:
markdown cells stay markdown and code cells stay code.  --execute runs each
notebook in a real Jupyter kernel (nbclient with ipykernel), working in
DIR, and saves it with its outputs, figures included (the lessons' PNG files
land in DIR/out/).  --quick puts a first cell setting MINIVAE_QUICK=1 into
every notebook, so it runs the lessons' seconds-long form now and whenever
it is run again.  Needs the notebook extra: pip install "minivae[notebook]".

A lesson that fails is reported in one line, with the lesson's own last
error message.  Ctrl-C (or SIGTERM) stops the running kernel, keeps the
notebooks already written, and exits 130 (143) with one line.
"""
import atexit
import importlib.util
import os
import signal
import sys
import threading
import time
from pathlib import Path

from ..classroom.reading import INSTALL
from ..errors import ArgumentError
from ..files.atomic import make_dirs

EXTRA = ("jupytext", "nbclient", "nbformat", "ipykernel")
QUICK_CELL = ('# The quick form of the lesson (seconds, not minutes): minivae.lesson reads this.\n'
              'import os\n'
              'os.environ["MINIVAE_QUICK"] = "1"')


def add_arguments(p):
    p.add_argument("lessons", nargs="*", metavar="NN", help="lesson numbers, e.g. 01 03 (default: all)")
    p.add_argument("--out", type=Path, default=Path("notebooks"),
                   help="folder for the .ipynb files (default notebooks/)")
    p.add_argument("--execute", action="store_true",
                   help="run each notebook in a Jupyter kernel and save it with its outputs")
    p.add_argument("--quick", action="store_true", help="notebooks that run the lessons' --quick form")
    p.add_argument("--timeout", type=int, default=None, metavar="S",
                   help="seconds one cell may run when executing (default: no limit)")


def lesson_scripts(selected=()):
    """The lesson scripts, all of them or those whose number is in `selected`."""
    from ..classroom.materials import lesson_scripts as every_lesson
    scripts = every_lesson()
    if not scripts:
        raise FileNotFoundError("no lessons found: this minivae was installed without them")
    if not selected:
        return scripts
    by_number = {s.name[:2]: s for s in scripts}
    unknown = [n for n in selected if n.zfill(2) not in by_number]
    if unknown:
        raise ArgumentError(f"no lesson {', '.join(unknown)}; the lessons are {', '.join(by_number)}")
    return [by_number[n.zfill(2)] for n in selected]


def missing_extra():
    """The notebook extra's packages that cannot be imported here."""
    return [name for name in EXTRA if importlib.util.find_spec(name) is None]


def run(args):
    missing = missing_extra()
    if missing:
        print(f"minivae notebooks: needs {', '.join(missing)}: {INSTALL}", file=sys.stderr)
        return 2
    scripts = lesson_scripts(args.lessons)
    make_dirs(args.out)
    failed = written = 0
    for i, script in enumerate(scripts, start=1):
        print(f"[{i}/{len(scripts)}] {script.stem}: ", end="", flush=True)
        try:
            nb = to_notebook(script, args.quick)
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


def to_notebook(script, quick):
    """The lesson as a notebook: jupytext's conversion, a Python 3 kernelspec, the quick cell."""
    import jupytext
    import nbformat
    nb = jupytext.read(script)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    if quick:
        nb.cells.insert(0, nbformat.v4.new_code_cell(QUICK_CELL, metadata={"tags": ["minivae-quick"]}))
    return nb


def execute(nb, workdir, timeout):
    """Run nb in a fresh python3 kernel in workdir (in place); None, or what went wrong.

    nbclient runs on a second thread.  On the main thread it would take over
    SIGINT and answer Ctrl-C by shutting the kernel down under the running
    cell, a cascade of tracebacks; here Ctrl-C stays a KeyboardInterrupt in
    the main thread, which kills the kernel (its own process group: Jupyter
    starts it in a new session) and raises on.
    """
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, DeadKernelError
    env = dict(os.environ)
    if env.get("MPLBACKEND", "").lower() == "agg":      # let ipykernel choose its inline backend
        del env["MPLBACKEND"]
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            extra_arguments=["--IPKernelApp.log_level=ERROR"],   # no TCP warning
                            resources={"metadata": {"path": str(workdir)}})
    outcome, done = {}, threading.Event()

    def work():
        try:
            client.execute(env=env)
        except BaseException as e:      # noqa: BLE001  handed to the main thread below
            outcome["error"] = e
        finally:
            done.set()
    # Waited for with an Event, not Thread.join: under CPython 3.11 a join that
    # Ctrl-C interrupts can mark the thread as ended while it still runs.
    threading.Thread(target=work, name="minivae-notebook", daemon=True).start()
    try:
        while not done.wait(0.1):
            pass
    except KeyboardInterrupt:
        client.log.disabled = True      # what dies with the kernel is expected, not news
        deadline = time.monotonic() + 30
        while not done.is_set() and time.monotonic() < deadline:
            _kill_kernel(client)        # again, if it was still starting the last time
            done.wait(0.2)
        # nbclient registers a clean-up for exit and leaves it behind when the kernel
        # dies while starting; run at exit, it would fail on the kernel it cleaned up.
        atexit.unregister(getattr(client, "_cleanup_kernel", None))
        raise
    error = outcome.get("error")
    if isinstance(error, CellExecutionError):
        return failed_cell(nb)
    if isinstance(error, (DeadKernelError, TimeoutError, RuntimeError)):
        first = (str(error).strip().splitlines() or [""])[0]
        return f"the kernel stopped: {type(error).__name__}: {first}"
    if error is not None:
        raise error
    return None


def _kill_kernel(client):
    """SIGKILL the kernel's process group, if it has started and not ended."""
    process = getattr(getattr(getattr(client, "km", None), "provisioner", None), "process", None)
    if process is None or process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except OSError:                         # not a group leader after all, or gone already
        try:
            process.kill()
        except OSError:
            pass


def failed_cell(nb):
    """'cell N (…first line…) raised E: message' for the first cell with an error output.

    When the lesson printed to stderr, its last line there is added; IPython's
    own "To exit: use 'exit'…" warning (after a sys.exit) is not the lesson's.
    """
    for n, cell in enumerate(nb.cells, start=1):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                first = next((line for line in cell.source.splitlines() if line.strip()), "")
                said = [line.strip() for o in cell.outputs if o.get("name") == "stderr"
                        for line in o["text"].splitlines()
                        if line.strip() and not _ipython_exit_warning(line)]
                said = f"; it printed: {said[-1]}" if said else ""
                return f"cell {n} ({first.strip()[:60]}) raised {out['ename']}: {out['evalue']}{said}"
    return "a cell failed"


def _ipython_exit_warning(line):
    return "To exit: use 'exit'" in line


def write(nb, path):
    """Write nb as .ipynb atomically: an interrupted write leaves any older file whole."""
    import jupytext
    from ..files.atomic import atomic_write_text
    text = jupytext.writes(nb, fmt="ipynb")
    text += "" if text.endswith("\n") else "\n"          # as jupytext.write ends it
    atomic_write_text(path, text)


def plural(n, noun):
    return f"{n} {noun}" + ("" if n == 1 else "s")


def count(nb, cell_type):
    return sum(c.cell_type == cell_type for c in nb.cells)


def figures(nb):
    """How many image/png outputs the executed notebook holds."""
    return sum("image/png" in o.get("data", {}) for c in nb.cells for o in c.get("outputs", []))
