"""`python -m minivae gradcheck`: every hand-derived backward against central differences.

Each check (minivae.gradcheck.run_all) builds small float64 inputs from a fixed
seed, a random upstream gradient dy (never all ones, which would hide
transposition errors), and compares backward's result to central
differences of ∑ y ⊙ dy.  By default every check runs twice, on the NumPy
lines a reader reads and on their Numba twins (the numba backend), each in its
column; --backend checks one.  Prints one row per component (max relative
error and pass/FAIL per backend, threshold), what a failing check raised, and
exits 1 if any fails.
"""
from .. import kernels
from ..gradcheck import run_all


def add_arguments(p):
    p.add_argument("--backend", choices=kernels.BACKENDS,
                   help="check this backend only (default: every backend that runs here, "
                        "numpy and numba, side by side)")


def run(args):
    """Print the table of run_all() per backend; exit status 1 when any check fails."""
    backends = [args.backend] if args.backend else list(kernels.available_backends())
    if args.backend:
        kernels.set_backend(args.backend)
        print(kernels.describe())
    else:
        print("checking the NumPy lines you read (numpy) and their Numba twins (numba); "
              "--backend numpy or --backend numba checks one")
    columns = {}
    for backend in backends:
        with kernels.using(backend):
            columns[backend] = run_all()
    names = [check.name for check in columns[backends[0]]]
    width = max(len(n) for n in names)
    print(f"{'component':<{width}}" + "".join(f"  {b + ' (max rel. error)':>24}" for b in backends)
          + f"  {'threshold':>9}")
    for i, name in enumerate(names):
        cells = "".join(f"  {_cell(columns[b][i]):>24}" for b in backends)
        print(f"{name:<{width}}{cells}  {columns[backends[0]][i].threshold:>9.0e}")
    for b in backends:
        for check in columns[b]:
            if check.raised:
                print(f"FAIL on {b}: {check.name} raised {check.raised}")
    failed = {b: sum(not check.passed for check in columns[b]) for b in backends}
    print("; ".join(f"{b}: {len(names) - failed[b]} passed, {failed[b]} failed" for b in backends))
    return 1 if any(failed.values()) else 0


def _cell(check):
    error = "raised" if check.raised else f"{check.error:.2e}"
    return f"{error} {'pass' if check.passed else 'FAIL'}"
