"""`python -m minivae site [--out DIR] [--quick] [--timeout S]`: build the course site.

Every lesson executed in the paper's order, the maths modules side by side
with their formulas, and the equation index (minivae/site/).  Each lesson's
execution time is printed; a lesson unchanged since the last build into the
same folder is not executed again.  --out must be new, empty, or a site this
command built.  A failing lesson is named with its error and no site is
written.  Needs the site extra: pip install "minivae[site]".
"""
import importlib.util
import sys
import time
from pathlib import Path

EXTRA = ("sphinx", "myst_nb", "furo", "latex2mathml", "jupytext", "nbclient", "ipykernel")
INSTALL = 'pip install "minivae[site]" (from a clone: pip install -e ".[site]")'


def add_arguments(p):
    p.add_argument("--out", type=Path, default=Path("site"), help="folder for the site (default site/)")
    p.add_argument("--quick", action="store_true", help="run the lessons' --quick form (seconds each)")
    p.add_argument("--timeout", type=int, default=None, metavar="S",
                   help="seconds one cell may run (default: no limit)")


def run(args):
    missing = [m for m in EXTRA if importlib.util.find_spec(m) is None]
    if missing:
        print(f"minivae site: needs {', '.join(missing)}: {INSTALL}", file=sys.stderr)
        return 2
    from ..site.build import build, check_out
    from ..site.lessons import LessonFailed
    from ..classroom.materials import lesson_scripts
    check_out(args.out)
    t0 = time.perf_counter()
    try:
        ran, warnings = build(args.out, lesson_scripts(), quick=args.quick, timeout=args.timeout)
    except LessonFailed as failed:
        print(flush=True)                   # ends the progress line
        print(f"minivae site: {failed}; no site written", file=sys.stderr)
        return 1
    for line in warnings:
        print(f"minivae site: sphinx: {line}", file=sys.stderr)
    executed = [r for r in ran if r.seconds is not None]
    print(f"site built in {time.perf_counter() - t0:.1f} s ({len(executed)} of {len(ran)} lessons "
          f"executed, {sum(r.seconds for r in executed):.1f} s): open {args.out / 'index.html'}")
    return 0
