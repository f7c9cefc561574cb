"""What the child process refuses while the student's code runs, and the limits it runs under.

    limit(memory)         at start: RLIMIT_AS (memory, 2 GB by default), RLIMIT_NPROC 0
                          (no new process or thread, for any user but root) and
                          RLIMIT_FSIZE (64 MB per file), where the platform has them
    refuse(package, given)   before the student's code is loaded, for good:

  * minivae's reference maths (ANSWERS: the modules that hold the answers)
    cannot be reached, by name (import, importlib, __import__, a pickle) or by
    file (a sys.path trick, spec_from_file_location, reading or linking the
    source).  The child never loaded them (child.py: minivae's __init__ does
    not run there), and nothing can load them now: the part fails with
    "uses minivae.losses: write it yourself".  What an exercise is given
    (as its stub imports it) stays importable, those names only; exercises
    6-8 get their layers as objects (given.py).  A notebook's own check cell
    (`from minivae.classroom.submission import check`) finds a check() that
    only says it is skipped.
  * no new process (fork, subprocess, os.system, exec, posix_spawn, or those
    of libc through ctypes), no signal to another process, no change of the
    limits above.

An audit hook (PEP 578), which cannot be removed once added, refuses what is
not allowed.  This stops the easy tricks of a student who wants to pass or
to reach the grader.  It is no sandbox against one who works at it: code
that finds another way into the C level runs with the grader's rights.  A
course's grader belongs in a container (README, "Teaching with minivae").
"""
import importlib
import os
import sys
import types

ANSWERS = ("layers", "reparam", "losses", "optim", "model", "mlp", "tower", "cvae", "regressor",
           "evaluate", "kernels")
TOP_LEVEL = ("VAE", "ELBOTerms", "CVAE", "Regressor")      # what minivae/__init__.py exports
MEMORY = 2 * 2 ** 30        # bytes of address space: RLIMIT_AS; check --memory
FILE_LIMIT = 2 ** 26        # bytes any one file may grow to (print in an endless loop)
SKIPPED = "(check skipped: this notebook is being graded)"
NO_PROCESS = "starting another process is not allowed in a graded file"
NO_SIGNAL = "signalling another process is not allowed in a graded file"
NO_LIMITS = "changing the resource limits is not allowed in a graded file"
PROCESS_EVENTS = {"os.fork", "os.forkpty", "os.posix_spawn", "os.spawn", "os.exec", "os.system",
                  "subprocess.Popen", "os.startfile"}
LIMIT_EVENTS = {"resource.setrlimit", "resource.prlimit"}
LIBC_PROCESS = {"fork", "vfork", "clone", "clone3", "syscall", "kill", "killpg", "tgkill", "tkill",
                "sigqueue", "setsid", "setpgid", "daemon", "system", "popen", "posix_spawn",
                "posix_spawnp", "execl", "execle", "execlp", "execv", "execve", "execvp",
                "execvpe", "fexecve", "setrlimit", "prlimit", "prlimit64"}


def limit(memory=MEMORY):
    """This process's resource limits, soft and hard, lowered to memory bytes of address
    space, no new processes (root is exempt) and FILE_LIMIT bytes per file; a limit the
    platform lacks or refuses is left as it is."""
    try:
        import resource
    except ImportError:                 # not POSIX
        return
    for name, value in (("RLIMIT_AS", memory), ("RLIMIT_NPROC", 0), ("RLIMIT_FSIZE", FILE_LIMIT)):
        which = getattr(resource, name, None)
        if which is None:
            continue
        hard = resource.getrlimit(which)[1]
        value = value if hard == resource.RLIM_INFINITY else min(value, hard)
        try:
            resource.setrlimit(which, (value, value))
        except (ValueError, OSError):
            pass


def is_answer(name):
    """Whether module `name` ("minivae.losses", "minivae.kernels.layers") holds answers."""
    parts = name.split(".")
    return len(parts) > 1 and parts[0] == "minivae" and parts[1] in ANSWERS


def refuse(package, given):
    """Refuse ANSWERS from now on in this process, except the `given` names.

    package: the folder of the minivae package; given: {module: (names, ...)}, what the
    exercise's stub imports from minivae.  Returns {name: module} of the minivae modules
    loaded before, for the child's own use (rebuilding the layers the grader hands over).
    """
    if given:
        importlib.import_module("minivae.classroom.given")      # the layers' classes
    loaded = {n: m for n, m in sys.modules.items() if n == "minivae" or n.startswith("minivae.")}
    for name in [n for n in loaded if is_answer(n)]:
        del sys.modules[name]
        parent, _, child = name.rpartition(".")
        if parent in sys.modules and getattr(sys.modules[parent], child, None) is loaded[name]:
            delattr(sys.modules[parent], child)
    for name, names in given.items():
        sys.modules[name] = facade = _facade(name, names, loaded[name])
        parent, _, child = name.rpartition(".")
        setattr(sys.modules[parent], child, facade)
    sys.modules["minivae"].__getattr__ = _top_level
    sys.modules["minivae.classroom.submission"] = types.ModuleType(
        "minivae.classroom.submission", "check() as a graded notebook's cell finds it")
    sys.modules["minivae.classroom.submission"].check = skipped_check
    sys.addaudithook(_Hook(package))
    return loaded


def skipped_check(*args, **kwargs):
    """check() inside a notebook that is being graded: it grades nothing."""
    print(SKIPPED)


def _refusal(what):
    return f"uses {what}: write it yourself"


def _top_level(name):
    """`from minivae import VAE` and the like: the package's own names are answers too."""
    if name in TOP_LEVEL:
        raise ImportError(_refusal(f"minivae.{name}"))
    raise AttributeError(f"module 'minivae' has no attribute {name!r}")


def _facade(name, names, module):
    """Module `name` as an exercise is given it: those names of it, and no others."""
    facade = types.ModuleType(name, f"{name}, as this exercise is given it: {', '.join(names)}")
    for n in names:
        setattr(facade, n, getattr(module, n))

    def missing(attr):
        if attr.startswith("__"):               # what the import system asks (__path__, ...)
            raise AttributeError(attr)
        raise ImportError(f"uses {name}.{attr}: this exercise is given only {', '.join(names)} "
                          f"of {name}")
    facade.__getattr__ = missing
    return facade


class _Hook:
    """The audit hook: what is refused, by event (PEP 578's table of events)."""

    def __init__(self, package):
        self.package = os.path.realpath(package)
        self.pid = os.getpid()
        self.group = os.getpgrp() if hasattr(os, "getpgrp") else self.pid     # POSIX only

    def __call__(self, event, args):
        if event == "import" and is_answer(args[0]):
            raise ImportError(_refusal(args[0]))
        if event in ("open", "os.link"):
            self._check_file(args[0])
        elif event in PROCESS_EVENTS:
            raise PermissionError(NO_PROCESS)
        elif event == "os.kill" and args[0] not in (self.pid, 0, -self.group):
            raise PermissionError(NO_SIGNAL)
        elif event == "os.killpg" and args[0] not in (0, self.group):
            raise PermissionError(NO_SIGNAL)
        elif event in LIMIT_EVENTS:
            raise PermissionError(NO_LIMITS)
        elif event in ("ctypes.dlsym", "ctypes.dlsym/handle") and args[1] in LIBC_PROCESS:
            raise PermissionError(NO_PROCESS)

    def _check_file(self, path):
        """A file of ANSWERS (its source, its bytecode, a link to it) is not opened."""
        if isinstance(path, int):
            return
        try:
            real = os.path.realpath(os.fsdecode(os.fspath(path)))
        except (TypeError, ValueError):
            return
        if not real.startswith(self.package + os.sep):
            return
        parts = real[len(self.package) + 1:].split(os.sep)
        if parts[0] == "__pycache__" and len(parts) > 1:
            parts = parts[1:]
        module = parts[0].split(".")[0]
        if module in ANSWERS:
            raise PermissionError(_refusal(f"minivae.{module}"))
