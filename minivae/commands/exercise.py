"""`python -m minivae exercise [N ...] [--out DIR] [--notebook] [--force]`: copy exercise stubs.

Without N, lists the eight exercises; with several (`exercise 1 2 3`), hands
out each.  A copy keeps its stub's file name, so `python -m minivae check
DIR/exNN_….py` knows which exercise it is, and the original stays clean.
--notebook writes DIR/exNN_….ipynb instead: the task as markdown, the stub as
code, and a last cell that checks the notebook (minivae.classroom.handout;
needs the notebook extra).  A copy that exists already is your work: every
target is checked before anything is written, and none is replaced without
--force.
"""
import importlib.util
import shlex
import sys
from pathlib import Path

from ..files.atomic import atomic_write, atomic_write_text, make_dirs


def add_arguments(p):
    p.add_argument("numbers", type=int, nargs="*", metavar="N",
                   help="the exercises (1-8), one or several; omit to list them")
    p.add_argument("--out", type=Path, default=Path("."), help="folder for the copies (default: here)")
    p.add_argument("--notebook", action="store_true",
                   help="hand them out as Jupyter notebooks (.ipynb) that check themselves")
    p.add_argument("--force", action="store_true", help="overwrite existing copies")


def run(args):
    from ..classroom.exercises import EXERCISES, stub_path
    if not args.numbers:
        for n, (name, title, _) in EXERCISES.items():
            print(f"{n}  {name:<28} {title}")
        print("copy them with: python -m minivae exercise N [N ...] --out DIR [--notebook]")
        return 0
    stubs = [stub_path(n) for n in dict.fromkeys(args.numbers)]     # each once, in order
    if args.notebook and importlib.util.find_spec("nbformat") is None:
        from ..classroom.reading import INSTALL
        print(f"minivae exercise: --notebook needs nbformat: {INSTALL}", file=sys.stderr)
        return 2
    targets = [args.out / (stub.stem + ".ipynb" if args.notebook else stub.name) for stub in stubs]
    there = [str(t) for t in targets if t.exists()]
    if there and not args.force:
        print(f"minivae exercise: error: {', '.join(there)} exist{'s' * (len(there) == 1)} "
              f"(your work?); pass --force to overwrite {'it' if len(there) == 1 else 'them'}",
              file=sys.stderr)
        return 2
    make_dirs(args.out)
    for stub, target in zip(stubs, targets):
        if args.notebook:
            import nbformat
            from ..classroom.handout import stub_notebook
            atomic_write_text(target, nbformat.writes(stub_notebook(stub, target.name)))
            print(f"wrote {stub.name} as the notebook {target}")
        else:
            atomic_write(target, lambda f, stub=stub: f.write(stub.read_bytes()))
            print(f"copied {stub.name} to {target}")
    target = shlex.quote(str(targets[0] if len(targets) == 1 else args.out))
    if len(targets) > 1:
        print(("open each, save it and run its last cell to check it; or check them all: "
               if args.notebook else "edit them, then check them all with: ")
              + f"python -m minivae check {target}")
    else:
        print(("open it, work in it, save it and run its last cell to check it; or: "
               if args.notebook else "edit it, then check it with: ")
              + f"python -m minivae check {target}")
    return 0
