"""A lesson as a notebook, run in a real Jupyter kernel: what `notebooks` and `site` share.

`to_notebook` converts a `# %%` lesson script with jupytext (optionally with a
first cell that turns on the quick form), `execute` runs it in a fresh
python3 kernel (nbclient, ipykernel) and says in one line what went wrong,
`write` saves it atomically.  Needs the notebook extra (jupytext, nbclient,
ipykernel), imported only when called.
"""
import atexit
import os
import signal
import threading
import time

QUICK_CELL = ('# The quick form of the lesson (seconds, not minutes): minivae.lesson reads this.\n'
              'import os\n'
              'os.environ["MINIVAE_QUICK"] = "1"')


def to_notebook(script, quick):
    """The lesson as a notebook: jupytext's conversion, a Python 3 kernelspec, the quick cell."""
    import jupytext
    import nbformat
    nb = jupytext.read(script)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["minivae"] = {"lesson": script.stem}     # how a later run knows it wrote it
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
