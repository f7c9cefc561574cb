"""What every lesson script shares: its command line and how it shows figures.

Each lesson (lessons/NN_topic.py) calls `args = lesson.parse_args(__doc__)`,
does its work, and hands each figure to `lesson.save(fig, args, "name")`,
which writes args.out/name.png and shows the figure only when a display exists.
parse_args prints the lesson's first line: which backend computes the maths
(`--backend numpy` runs the NumPy lines the lesson points you to; the default,
numba, their Numba twins: minivae/kernels/).
A lesson of the installed package (a wheel's `python -m minivae.lessons.03_reparam`,
or `python -m minivae lesson 03`) writes to minivae-out/ in the working folder,
never into the installation.

In a Jupyter notebook (`python -m minivae notebooks`) there is no command
line, so the flags come from the environment instead:

    MINIVAE_QUICK=1                the --quick form (also honoured by scripts;
                                   1/0, true/false, yes/no, on/off)
    MINIVAE_ARGS="--epochs 3"      any other flags, as on the command line

set before the kernel starts, or in a first cell:
`import os; os.environ["MINIVAE_QUICK"] = "1"`.  Figures show inline, and the
default output folder is out/ beside the notebook (the kernel's working folder).
A value either variable does not understand is an error naming it (one line
and exit status 2 from a script, an EnvironmentVariableError in a notebook);
so is a flag in MINIVAE_ARGS with a bad value (flags a lesson does not have
are skipped, so one MINIVAE_ARGS can serve every lesson).

Output never fails for a character the terminal's encoding lacks (an
ASCII-only LC_ALL=C): `parse_args` makes stdout and stderr escape it.
"""
import argparse
import os
import shlex
import sys
from importlib import resources
from pathlib import Path

from .. import environment, kernels
from ..errors import ArgumentError, EnvironmentVariableError, WriteError
from ..files.atomic import make_dirs

QUICK_ENV, ARGS_ENV = "MINIVAE_QUICK", "MINIVAE_ARGS"


def in_notebook():
    """True inside a Jupyter kernel (IPython with a kernel attached)."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return shell is not None and getattr(shell, "kernel", None) is not None


def _default_out():
    """out/ beside the running lesson script (a clone's lessons/out/); minivae-out/ in the
    working folder for a lesson of the installed package, which is never written into;
    in a notebook, out/ in the working folder."""
    if in_notebook():
        return Path.cwd() / "out"
    script = Path(sys.argv[0]) if sys.argv and sys.argv[0].endswith(".py") else None
    if script is None:
        return Path("lessons") / "out"
    script = script.resolve()
    if Path(str(resources.files("minivae"))).resolve() in script.parents:
        return Path.cwd() / "minivae-out"       # python -m minivae.lessons.03_reparam, from a wheel
    return script.parent / "out"


class _FlagsFromEnvironment(argparse.ArgumentParser):
    """A parser of $MINIVAE_ARGS: an error names the variable instead of exiting."""

    def error(self, message):
        raise EnvironmentVariableError(f"environment variable {ARGS_ENV}="
                                       f"{os.environ.get(ARGS_ENV, '')!r}: {message}")


def _flags_from_environment():
    value = os.environ.get(ARGS_ENV, "")
    try:
        return shlex.split(value)
    except ValueError as e:                 # e.g. "No closing quotation"
        raise environment.invalid(ARGS_ENV, value, f"flags as on a command line ({e})") from None


def parse_args(description, add_arguments=None, argv=None):
    """--quick, --seed, --out (default: _default_out), --backend, plus the lesson's own flags.

    argv defaults to the command line, or to $MINIVAE_ARGS in a notebook;
    $MINIVAE_QUICK=1 turns on --quick either way.  Uses parse_known_args, so
    flags another program adds do no harm.  Sets the backend and prints the
    line that names it.
    """
    environment.escape_unencodable_output()
    from_environment = argv is None and in_notebook()
    parser = (_FlagsFromEnvironment if from_environment else argparse.ArgumentParser)(
        description=((description or "").strip().splitlines() or [""])[0])
    parser.add_argument("--quick", action="store_true", help="a few seconds' version (what the tests run)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--out", type=Path, default=_default_out(),
                        help="folder for the figures (default: out/ beside the lesson script; "
                             "minivae-out/ here for a lesson of an installed minivae)")
    parser.add_argument("--backend", choices=kernels.BACKENDS, help=kernels.FLAG_HELP)
    if add_arguments:
        add_arguments(parser)
    try:
        if argv is None:
            argv = _flags_from_environment() if from_environment else sys.argv[1:]
        quick = environment.switch(QUICK_ENV)
        environment.import_matplotlib()         # it checks MPLBACKEND
        args, _ = parser.parse_known_args(argv)
        if args.backend:
            kernels.set_backend(args.backend)
    except (EnvironmentVariableError, ArgumentError) as e:
        _stop(e)
    if quick:
        args.quick = True
    try:
        make_dirs(args.out)
    except WriteError as e:
        _stop(ArgumentError(f"--out: {e}"))
    print(kernels.describe())
    return args


def _stop(error):
    """A user's error: raised in a notebook (the cell shows its message, where an exit
    shows only IPython's "To exit: use 'exit'" warning), else one line on stderr and
    exit status 2, no traceback."""
    if in_notebook():
        raise error from None
    print(error, file=sys.stderr)
    sys.exit(2)


def has_display():
    """True when figures can be shown: in a notebook, or with a GUI backend and a display."""
    if in_notebook():
        return True
    if os.environ.get("MPLBACKEND", "").lower() == "agg":
        return False
    return sys.platform in ("darwin", "win32") or bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def setup_matplotlib():
    """Import pyplot with a non-GUI backend when there is no display; return it."""
    matplotlib = environment.import_matplotlib()
    if in_notebook():
        if matplotlib.get_backend().lower() == "agg":     # e.g. MPLBACKEND=Agg inherited
            sys.modules["IPython"].get_ipython().run_line_magic("matplotlib", "inline")
    elif not has_display():
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def save(fig, args, name):
    """Save fig as args.out/name.png, print its path, show it: inline in a notebook,
    in a window when a display exists (returns nothing, so a notebook shows no Out[]).
    A file of that name that is not a PNG is never written over (files/overwrite.py)."""
    from ..errors import ArgumentError
    from ..files.overwrite import check_target
    from ..files.plots import save_png
    plt = setup_matplotlib()
    path = Path(args.out) / f"{name}.png"
    try:
        check_target(path, "png", "--out", force=None)
    except ArgumentError as e:
        _stop(e)
    path = save_png(fig, path, dpi=110, bbox_inches="tight")
    print(f"saved {path}")
    if in_notebook():
        from IPython.display import display
        display(fig)
        plt.close(fig)
    elif has_display():
        plt.show(block=False)
        plt.pause(0.1)
    else:
        plt.close(fig)


def mnist_or_exit(*splits, dtype=None):
    """[x, labels] for each split ("train", "test"), flattened into one list.

    When MNIST cannot be found or is damaged, the loader's message (which
    says what to do) goes to stderr and the lesson exits with status 2,
    instead of a traceback; in a notebook the DataError is raised (`_stop`).
    """
    import numpy as np
    from ..data import load_mnist
    from ..errors import DataError
    try:
        return [a for split in splits for a in load_mnist(split, dtype=dtype or np.float32)]
    except DataError as e:
        _stop(e)
