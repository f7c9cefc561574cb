"""What every lesson script shares: its command line and how it shows figures.

Each lesson (lessons/NN_topic.py) calls `args = lesson.parse_args(__doc__)`,
does its work, and hands each figure to `lesson.save(fig, args, "name")`,
which writes args.out/name.png and shows the figure only when a display exists.
"""
import argparse
import os
import sys
from pathlib import Path


def _default_out():
    """lessons/out/ beside the running lesson script (cwd's lessons/out in a notebook)."""
    script = Path(sys.argv[0]) if sys.argv and sys.argv[0].endswith(".py") else None
    return script.resolve().parent / "out" if script else Path("lessons") / "out"


def parse_args(description, add_arguments=None, argv=None):
    """--quick, --seed, --out (default lessons/out/), plus the lesson's own flags.

    Uses parse_known_args so a notebook kernel's extra arguments do no harm.
    """
    parser = argparse.ArgumentParser(description=(description or "").strip().splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few seconds' version (what the tests run)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--out", type=Path, default=_default_out(),
                        help="folder for the figures (default lessons/out/)")
    if add_arguments:
        add_arguments(parser)
    args, _ = parser.parse_known_args(sys.argv[1:] if argv is None else argv)
    args.out.mkdir(parents=True, exist_ok=True)
    return args


def has_display():
    """True when figures can be shown on screen (a GUI backend and a display)."""
    if "ipykernel" in sys.modules:
        return True
    if os.environ.get("MPLBACKEND", "").lower() == "agg":
        return False
    return sys.platform in ("darwin", "win32") or bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def setup_matplotlib():
    """Import pyplot with a non-GUI backend when there is no display; return it."""
    import matplotlib
    if not has_display():
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def save(fig, args, name):
    """Save fig as args.out/name.png, print its path, show it if a display exists."""
    plt = setup_matplotlib()
    path = Path(args.out) / f"{name}.png"
    fig.savefig(path, dpi=110, bbox_inches="tight")
    print(f"saved {path}")
    if has_display():
        plt.show(block=False)
        plt.pause(0.1)
    else:
        plt.close(fig)
    return path


def load_mnist(*splits, dtype=None):
    """[x, labels] for each split ("train", "test"), flattened into one list.

    When MNIST cannot be found or is damaged, the loader's message (which
    says what to do) goes to stderr and the lesson exits with status 2,
    instead of a traceback.
    """
    import numpy as np
    from .data import DataError, load_mnist as load
    try:
        return [a for split in splits for a in load(split, dtype=dtype or np.float32)]
    except DataError as e:
        print(e, file=sys.stderr)
        sys.exit(2)
