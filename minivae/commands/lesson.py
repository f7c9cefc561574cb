"""`python -m minivae lesson NN [--quick] [--out DIR] [the lesson's flags]`: run a lesson.

Runs the lesson script minivae carries (classroom/materials.py: package data
in a wheel, lessons/ in a clone) as `python lessons/NN_topic.py` runs it, so
a course installed from a wheel has every lesson too.  Its figures and files
go to --out, by default minivae-out/ in the working folder: never into the
installation.  Every other flag is the lesson's own (--quick, --seed, and
what `lesson NN --help` lists), given after NN.
"""
import argparse
import runpy
import sys
from pathlib import Path

DEFAULT_OUT = Path("minivae-out")


def add_arguments(p):
    p.add_argument("number", metavar="NN", help="the lesson: 01 … 09, or 07b")
    p.add_argument("flags", nargs=argparse.REMAINDER, metavar="...",
                   help=f"the lesson's flags: --quick, --seed S, --out DIR (default "
                        f"{DEFAULT_OUT}/), and its own (lesson NN --help lists them)")


def run(args):
    from ..classroom.materials import chosen_lessons
    script, = chosen_lessons([args.number])
    out = argparse.ArgumentParser(add_help=False)
    out.add_argument("--out", type=Path, default=DEFAULT_OUT)
    known, flags = out.parse_known_args(args.flags)
    argv = sys.argv
    sys.argv = [str(script), *flags, "--out", str(known.out)]
    try:
        runpy.run_path(str(script), run_name="__main__")
    finally:
        sys.argv = argv
    return 0
