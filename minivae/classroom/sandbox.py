"""The student's code in a child process: the grader asks, the child answers, in time or not at all.

    grader (this process)                   child: child.py, started with python -I
    Sandbox(code, timeout)     spawn  ->    imports NumPy, sets its limits (guard.py)
                               <- ready
    .load()                    load   ->    refuses minivae's answers (guard.py),
                                            runs the student's code as a module
                               <- loaded, or what went wrong
    .call(name, *args)         call   ->    name(*args); a model goes as its layers (given.py)
                               <- the result as plain data, or what went wrong

Every answer is awaited for at most `timeout` seconds; then the child's whole
session (its own process group) is killed, and the next call starts a new
child (which runs the student's code again).  So an endless loop costs one
part, and os._exit, a crash, sys.exit or a killed child end as an Outcome the
grader reads, never as the grader's own exit.  Answers are read as plain
data only (wire.py) and checked before use (untrusted.py): nothing the
student's code sends runs here or crashes the grader.  Whatever the student's
code prints goes to one file (`printed`), read back cut to its first megabyte.

The child's import path holds neither the grader's working folder nor the
student's folder until the student's code loads (then the folder goes first,
as `python FILE` would put it, for the student's own modules).  What guard.py
does not stop, a container does: README, "Teaching with minivae".
"""
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
from importlib import resources
from pathlib import Path

from ..errors import GraderError
from .guard import MEMORY
from .untrusted import checked, shown
from .wire import FAILED, Outcome, plain_loads, read_frame, send

TIMEOUT = 10.0          # seconds a part (or the import of the file) may take; --timeout
SETUP = 180.0           # seconds the child may take to start: NumPy, on a busy machine
MAX_PRINTED = 2 ** 20   # bytes of the student's printed output that are read back
PRINTED_CUT = "\n(… and more: over 1 MB in all)"
# The child's first lines: the minivae package without running its __init__.py (which
# would load the reference maths), its import path, then the child itself.
BOOT = """import importlib.machinery, importlib.util, sys
spec = importlib.machinery.ModuleSpec("minivae", None, is_package=True)
spec.submodule_search_locations = [sys.argv[1]]
sys.modules["minivae"] = importlib.util.module_from_spec(spec)
sys.path[:] = sys.argv[3:]
from minivae.classroom.child import main
main()
"""


def no_answer(timeout):
    return f"no answer in {timeout:g} s (an endless loop?)"


# -- the grader's side ------------------------------------------------------------------
class Sandbox:
    """The student's code, loaded in a child process; a context manager that kills it at the end.

    chunks: [(label, source)] as minivae.classroom.reading.read_code gives them, with
    notebook True for a notebook's cells; folder: put first on the child's sys.path
    when the code loads (the student's own modules); given: what the exercise's stub
    imports from minivae ({module: names}, submission.interface); memory: bytes of address
    space the child may use.
    """

    def __init__(self, chunks, notebook=False, timeout=TIMEOUT, folder=None, given=None,
                 memory=MEMORY):
        self.chunks, self.notebook, self.timeout = chunks, notebook, timeout
        self.folder, self.given, self.memory = folder, dict(given or {}), memory
        self.printed = tempfile.TemporaryFile()     # the student's stdout and stderr, every child
        self.proc = self.answers = None
        self.loaded = None                          # the Outcome of the last load

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        self.printed.close()

    def load(self):
        """Start a child and run the student's code in it: Outcome (kind "ok" when it loaded)."""
        self.stop()
        self._start()
        self.loaded = self._ask(("load", self.chunks, self.folder, self.notebook, self.given),
                                self.timeout, importing=True)
        return self.loaded

    def call(self, name, *args):
        """name(*args) in the child: Outcome(value) or Outcome(problem).  Models go as their
        layers (given.py)."""
        if self.loaded is None or (self.proc is None and not self.loaded.problem):
            self.load()                 # the first call, or the child was stopped after a call
        if self.loaded.problem:
            return self.loaded
        return self._ask(("call", name, [_handed(a) for a in args]), self.timeout)

    def output(self):
        """What the student's code printed so far, as text: its first MAX_PRINTED bytes."""
        self.printed.seek(0)
        text = self.printed.read(MAX_PRINTED + 1)
        cut = PRINTED_CUT if len(text) > MAX_PRINTED else ""
        return text[:MAX_PRINTED].decode("utf-8", errors="replace") + cut

    def stop(self):
        if self.proc is None:
            return
        try:
            if os.name == "posix":
                os.killpg(self.proc.pid, signal.SIGKILL)   # the child's whole process group
            else:
                self.proc.kill()
        except (ProcessLookupError, PermissionError):
            pass
        self.proc.wait()
        self.proc.stdin.close()         # its stdout is the reader thread's to close
        self.proc = None

    # -- spawning and waiting ---------------------------------------------------------
    def _start(self):
        # The exercises' arrays are tiny: the NumPy backend spares the child Numba, and
        # one BLAS thread is fastest (and the only one RLIMIT_NPROC leaves it).
        env = dict(os.environ, MINIVAE_SANDBOX="1", MPLBACKEND="Agg", MINIVAE_BACKEND="numpy",
                   OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
        cmd = [sys.executable, "-I", "-u", "-c", BOOT, str(resources.files("minivae")),
               str(int(self.memory)), *_import_path(self.folder)]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.printed, env=env,
                                     start_new_session=os.name == "posix")
        self.answers = queue.Queue()
        threading.Thread(target=_reader, args=(self.proc.stdout, self.answers), daemon=True).start()
        ready = self._await(SETUP)
        if ready.problem:               # the grader's fault, not the student's: no score
            raise GraderError(f"the grader's child process did not start: {ready.problem}")

    def _ask(self, request, limit, importing=False):
        try:
            send(self.proc.stdin.fileno(), request)
        except OSError:
            pass                                    # the child is gone; _await says how
        return self._await(limit, importing)

    def _await(self, limit, importing=False):
        """The child's next answer within `limit` seconds, or an Outcome that says why not."""
        when = "importing it: " if importing else ""
        try:
            frame = self.answers.get(timeout=limit)
        except queue.Empty:
            self.stop()
            return Outcome(problem=when + no_answer(limit), kind="timeout")
        if isinstance(frame, bytes):
            try:
                return checked(plain_loads(frame))
            except Exception as e:                  # noqa: BLE001  a forged or broken answer
                self.stop()
                return Outcome(problem=f"{when}its answer could not be read ({shown(e, 200)})",
                               kind="error")
        try:
            code = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            code = None                             # alive, but its answers stopped
        self.stop()
        return Outcome(problem=when + _ended(code, frame), kind="error")


def _import_path(folder):
    """The grader's import path without its working folder and the student's folder."""
    drop = {"", os.getcwd()}
    inside = str(Path(folder).resolve()) if folder else None
    return [p for p in sys.path if p not in drop
            and not (inside and (p == inside or p.startswith(inside + os.sep)))]


def _reader(stream, answers):
    """Move the child's frames into the queue, then a str (why they ended), then close.

    Only this thread closes the stream, so its file descriptor cannot be reused
    by the next child's pipe while it still reads.
    """
    with stream:
        try:
            frame = read_frame(stream.fileno())
            while frame is not None:
                answers.put(frame)
                frame = read_frame(stream.fileno())
            answers.put("")
        except ValueError as e:                     # an answer too large to read
            answers.put(str(e))
        except OSError:
            answers.put("")


def _ended(code, reason=""):
    """What a child's exit status says, for a student."""
    if reason:
        return f"the process sent {reason} and was stopped"
    if code is not None and code < 0:
        name = signal.Signals(-code).name if -code in signal.valid_signals() else f"signal {-code}"
        why = {"SIGSEGV": " (a crash in compiled code?)", "SIGKILL": " (out of memory?)",
               "SIGABRT": " (a crash in compiled code?)"}.get(name, "")
        return f"the process was killed by {name}{why}"
    if code is None:
        return "the process stopped answering (its output channel was closed)"
    if code == FAILED:
        return (f"the grader's child process failed (exit status {FAILED}): did the code "
                "replace part of Python that the grader's child relies on?")
    return f"the process ended with exit status {code} (os._exit()?)"


def _handed(arg):
    """A VAE or CVAE goes to the child as its layers (given.py); anything else as itself."""
    from ..cvae import CVAE
    from ..model import VAE
    from .given import GivenCVAE, GivenVAE
    if isinstance(arg, VAE):
        return GivenVAE(arg)
    if isinstance(arg, CVAE):
        return GivenCVAE(arg)
    return arg
