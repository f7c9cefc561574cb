"""Command line: `python -m minivae COMMAND` (or `minivae COMMAND`).

Each command lives in its own module, imported only when it runs, which
exposes `add_arguments(parser)` and `run(args) -> exit code`.  Errors a user
can cause (bad flags, missing data, a damaged checkpoint: minivae's own error
classes, errors.USER_ERRORS) end in one line on stderr and exit status 2.
Any other exception is a bug, in minivae or in code you edited: its full
traceback, then one line saying so, and exit status 1.  Ctrl-C exits 130;
SIGTERM is turned into the same clean stop (errors.Terminated) and exits 143.
"""
import argparse
import contextlib
import importlib
import os
import signal
import sys
import threading
import traceback

# command -> (module, one-line help)
COMMANDS = {
    "gradcheck": ("minivae.commands.gradcheck", "check every hand-derived gradient against finite differences"),
    "bench": ("minivae.commands.bench", "time kernels and training, fresh and trained: numpy vs numba vs PyTorch vs the BLAS floor"),
    "train": ("minivae.commands.train", "train a VAE on MNIST, or resume a run (§4.1)"),
    "sample": ("minivae.commands.sample", "decode samples z ~ N(0, I) from a checkpoint (Fig. 7)"),
    "evaluate": ("minivae.commands.evaluate", "test-set -ELBO (§2.3) and importance-sampled log P(X) (beyond the paper)"),
    "explore": ("minivae.commands.explore", "write the latent explorer page of a 2-D-latent checkpoint (beyond the paper)"),
    "lesson": ("minivae.commands.lesson", "run a lesson, writing its figures to ./minivae-out/ (or --out)"),
    "exercise": ("minivae.commands.exercise", "copy exercise stubs to work on"),
    "check": ("minivae.commands.check", "grade an exercise against finite differences and minivae's own code"),
    "notebooks": ("minivae.commands.notebooks", "write every lesson as a Jupyter notebook, optionally executed"),
    "site": ("minivae.commands.site", "build the course site: the lessons executed, the maths beside the paper"),
    "where": ("minivae.commands.where", "where the code computes an equation or figure of the paper, and what checks it"),
}


class _Parser(argparse.ArgumentParser):
    """An argparse parser whose errors are one line (usage is one --help away)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def main(argv=None):
    try:
        return _main(argv)
    except KeyboardInterrupt:               # Ctrl-C while a command's modules load
        print("minivae: interrupted", file=sys.stderr)
        return 130


def _main(argv):
    parser = _Parser(prog="minivae", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    argv = sys.argv[1:] if argv is None else list(argv)
    from ..environment import escape_unencodable_output
    escape_unencodable_output()             # a path that is not UTF-8, an ASCII-only locale
    chosen = argv[0] if argv and argv[0] in COMMANDS else None
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if name == chosen:                  # import only the module that runs
            mod = importlib.import_module(module)
            if hasattr(mod, "add_arguments"):
                mod.add_arguments(p)
            p.set_defaults(_module=mod)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    from ..errors import USER_ERRORS, Terminated
    with _sigterm_raises(Terminated):
        try:
            return int(args._module.run(args) or 0)
        except (*USER_ERRORS, MemoryError) as e:
            message = " ".join(str(e).split()) or type(e).__name__       # always one line
            if isinstance(e, MemoryError):
                message = f"out of memory ({message})"
            print(f"minivae {args.command}: error: {message}", file=sys.stderr)
            return 2
        except Terminated:
            print(f"minivae {args.command}: stopped by SIGTERM", file=sys.stderr)
            return 128 + signal.SIGTERM
        except KeyboardInterrupt:
            print(f"minivae {args.command}: interrupted", file=sys.stderr)
            return 130
        except BrokenPipeError:             # the reader went away (`| head`): nothing to say
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
            return 128 + signal.SIGPIPE
        except Exception:                   # noqa: BLE001  a bug: its traceback, then one line
            traceback.print_exc()
            print(f"minivae {args.command}: {BUG}", file=sys.stderr)
            return 1


BUG = ("this looks like a bug in the code (minivae's, or lines you edited), not in your "
       "input: the traceback above shows where it happened")


@contextlib.contextmanager
def _sigterm_raises(exception):
    """Within it, SIGTERM raises `exception` (in the main thread, where Python runs handlers)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        raise exception()
    before = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL if before is None else before)
