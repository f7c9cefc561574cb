"""`python -m minivae exercise [N] [--out DIR] [--force]`: copy an exercise stub to work on.

Without N, lists the eight exercises.  The copy keeps the stub's file name, so
`python -m minivae check DIR/exNN_….py` knows which exercise it is, and the
original stays clean.
"""
import shutil
import sys
from pathlib import Path


def add_arguments(p):
    p.add_argument("number", type=int, nargs="?", metavar="N", help="the exercise (1-8); omit to list them")
    p.add_argument("--out", type=Path, default=Path("."), help="folder for the copy (default: here)")
    p.add_argument("--force", action="store_true", help="overwrite an existing copy")


def run(args):
    from ..classroom.submission import EXERCISES, stub_path
    if args.number is None:
        for n, (name, title, _) in EXERCISES.items():
            print(f"{n}  {name:<28} {title}")
        print("copy one with: python -m minivae exercise N --out DIR")
        return 0
    stub = stub_path(args.number)
    target = args.out / stub.name
    if target.exists() and not args.force:
        print(f"minivae exercise: error: {target} exists (your work?); "
              f"pass --force to overwrite it", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(stub, target)
    print(f"copied {stub.name} to {target}")
    print(f"edit it, then check it with: python -m minivae check {target}")
    return 0
