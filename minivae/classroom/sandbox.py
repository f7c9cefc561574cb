"""The student's code in a child process: the grader asks, the child answers, in time or not at all.

    grader (this process)                   child: python -m minivae.classroom.child
    Sandbox(code, timeout)     spawn  ->    imports NumPy and minivae (its NumPy backend)
                               <- ready
    .load()                    load   ->    runs the student's code as a module
                               <- loaded, or what went wrong
    .call(name, *args)         call   ->    name(*args), a model rebuilt from its ModelSpec
                               <- the result as plain data, or what went wrong

Every answer is awaited for at most `timeout` seconds; then the child's whole
process group is killed, and the next call starts a new child (which runs the
student's code again).  So an endless loop costs one part, and os._exit, a
crash, sys.exit or a killed child end as an Outcome the grader reads, never
as the grader's own exit.  Answers are read as plain data only (wire.py):
nothing the student's code sends runs here.  Whatever the student's code
prints goes to one file (`printed`), read back cut to its first megabyte.

This guards against accidents, not against a student bent on cheating, whose
code runs with the grader's rights: run a course's grader in its own
container, as Gradescope does.
"""
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading

from ..errors import GraderError
from .wire import ModelSpec, Outcome, plain_loads, read_frame, send

TIMEOUT = 10.0          # seconds a part (or the import of the file) may take; --timeout
SETUP = 180.0           # seconds the child may take to start: NumPy and minivae, on a busy machine
MAX_PRINTED = 2 ** 20   # bytes of the student's printed output that are read back
PRINTED_CUT = "\n(… and more: over 1 MB in all)"


def no_answer(timeout):
    return f"no answer in {timeout:g} s (an endless loop?)"


# -- the grader's side ------------------------------------------------------------------
class Sandbox:
    """The student's code, loaded in a child process; a context manager that kills it at the end.

    chunks: [(label, source)] as minivae.classroom.reading.read_code gives them, with
    notebook True for a notebook's cells; folder: put first on the child's sys.path
    (the student's own modules).
    """

    def __init__(self, chunks, notebook=False, timeout=TIMEOUT, folder=None):
        self.chunks, self.notebook, self.timeout = chunks, notebook, timeout
        self.folder = folder
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
        self.loaded = self._ask(("load", self.chunks, self.folder, self.notebook), self.timeout,
                                importing=True)
        return self.loaded

    def call(self, name, *args):
        """name(*args) in the child: Outcome(value) or Outcome(problem).  Models go as ModelSpec."""
        if self.loaded is None or (self.proc is None and not self.loaded.problem):
            self.load()                 # the first call, or the child was stopped after a call
        if self.loaded.problem:
            return self.loaded
        return self._ask(("call", name, [_spec(a) for a in args]), self.timeout)

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
                os.killpg(self.proc.pid, signal.SIGKILL)   # the child and all it started
            else:
                self.proc.kill()
        except (ProcessLookupError, PermissionError):
            pass
        self.proc.wait()
        self.proc.stdin.close()         # its stdout is the reader thread's to close
        self.proc = None

    # -- spawning and waiting ---------------------------------------------------------
    def _start(self):
        # The exercises' arrays are tiny: the NumPy backend spares the child Numba's
        # import and cache load (about 0.5 s of every check of exercises 6-8), and one
        # BLAS thread is fastest.
        env = dict(os.environ, MINIVAE_SANDBOX="1", PYTHONUNBUFFERED="1", MPLBACKEND="Agg",
                   MINIVAE_BACKEND="numpy", PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
        env.setdefault("OPENBLAS_NUM_THREADS", "1")
        cmd = [sys.executable, "-m", "minivae.classroom.child"]
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
                return plain_loads(frame)
            except Exception as e:                  # noqa: BLE001  a forged or broken answer
                self.stop()
                return Outcome(problem=f"{when}its answer could not be read "
                                       f"({type(e).__name__}: {e})", kind="error")
        try:
            code = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            code = None                             # alive, but its answers stopped
        self.stop()
        return Outcome(problem=when + _ended(code, frame), kind="error")


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
    return f"the process ended with exit status {code} (os._exit()?)"


def _spec(arg):
    """A VAE or CVAE goes to the child as a ModelSpec; anything else as itself."""
    from ..cvae import CVAE
    from ..model import VAE
    if isinstance(arg, (VAE, CVAE)):
        return ModelSpec(type(arg).__name__, arg.config(), arg.flat_params.copy())
    return arg
