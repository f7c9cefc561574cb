"""`python -m minivae gradcheck`: every hand-derived backward against central differences.

Each check (minivae.gradcheck.run_all) builds small float64 inputs from a fixed
seed, a random upstream gradient dy (never all ones, which would hide
transposition errors), and compares backward's result to central
differences of ∑ y ⊙ dy.  Prints one row per component (max relative error,
threshold, pass/FAIL) and exits 1 if any fails.
"""
from ..gradcheck import run_all


def run(args):
    """Print the table of run_all(); exit status 1 when any check fails."""
    rows = run_all()
    width = max(len(r[0]) for r in rows)
    print(f"{'component':<{width}}  {'max rel. error':>14}  {'threshold':>9}  result")
    failed = 0
    for name, err, threshold in rows:
        ok = err < threshold
        failed += not ok
        print(f"{name:<{width}}  {err:>14.2e}  {threshold:>9.0e}  {'pass' if ok else 'FAIL'}")
    print(f"{len(rows) - failed} passed, {failed} failed")
    return 1 if failed else 0
