"""`python -m minivae exercise [N] [--out DIR] [--notebook] [--force]`: copy an exercise stub.

Without N, lists the eight exercises.  The copy keeps the stub's file name, so
`python -m minivae check DIR/exNN_….py` knows which exercise it is, and the
original stays clean.  --notebook writes DIR/exNN_….ipynb instead: the task as
markdown, the stub as code, and a last cell that checks the notebook
(minivae.classroom.handout; needs the notebook extra).
"""
import importlib.util
import shlex
import sys
from pathlib import Path

from ..files.atomic import atomic_write, atomic_write_text, make_dirs


def add_arguments(p):
    p.add_argument("number", type=int, nargs="?", metavar="N", help="the exercise (1-8); omit to list them")
    p.add_argument("--out", type=Path, default=Path("."), help="folder for the copy (default: here)")
    p.add_argument("--notebook", action="store_true",
                   help="hand it out as a Jupyter notebook (.ipynb) that checks itself")
    p.add_argument("--force", action="store_true", help="overwrite an existing copy")


def run(args):
    from ..classroom.submission import EXERCISES, stub_path
    if args.number is None:
        for n, (name, title, _) in EXERCISES.items():
            print(f"{n}  {name:<28} {title}")
        print("copy one with: python -m minivae exercise N --out DIR [--notebook]")
        return 0
    stub = stub_path(args.number)
    if args.notebook and importlib.util.find_spec("nbformat") is None:
        from ..classroom.reading import INSTALL
        print(f"minivae exercise: --notebook needs nbformat: {INSTALL}", file=sys.stderr)
        return 2
    target = args.out / (stub.stem + ".ipynb" if args.notebook else stub.name)
    if target.exists() and not args.force:
        print(f"minivae exercise: error: {target} exists (your work?); "
              f"pass --force to overwrite it", file=sys.stderr)
        return 2
    make_dirs(args.out)
    if args.notebook:
        import nbformat
        from ..classroom.handout import stub_notebook
        atomic_write_text(target, nbformat.writes(stub_notebook(stub, target.name)))
        print(f"wrote {stub.name} as the notebook {target}")
        print("open it, work in it, save it and run its last cell to check it; or: "
              f"python -m minivae check {shlex.quote(str(target))}")
        return 0
    atomic_write(target, lambda f: f.write(stub.read_bytes()))
    print(f"copied {stub.name} to {target}")
    print(f"edit it, then check it with: python -m minivae check {shlex.quote(str(target))}")
    return 0
