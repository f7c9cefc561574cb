"""`python -m minivae check N|FILE|DIR`: grade exercises (minivae.classroom.submission).

`check 5` grades the stub ex05_reparam.py where minivae keeps it; `check FILE`
grades a student's .py file or notebook (.ipynb); `check DIR` grades every
exercise file in a folder and ends with a summary table.  Each file runs in a
child process, each part under a time limit (--timeout).  Prints each part's
relative error against central differences and against minivae's own
implementation, with a hint for a common mistake; --json PATH also writes the
results in Gradescope's results.json format.  Exit 0 when every part passes,
1 when one fails, errs, times out or is unfinished, 2 on a usage error.
"""
import argparse
import re
import time
from pathlib import Path

from ..errors import USER_ERRORS, ArgumentError



def _positive(unit):
    def parse(text):
        try:
            value = float(text)
        except ValueError:
            value = -1.0
        if not 0 < value < float("inf"):
            raise argparse.ArgumentTypeError(f"must be a positive number of {unit}, got {text!r}")
        return value
    return parse


def add_arguments(p):
    from ..classroom.guard import MEMORY
    from ..classroom.sandbox import TIMEOUT
    p.add_argument("target", metavar="N|FILE|DIR",
                   help="an exercise number (1-8), your copy of its stub (.py or .ipynb), "
                        "or a folder of them")
    p.add_argument("--exercise", type=int, action="append", metavar="N",
                   help="which exercise FILE answers, when its name or EXERCISE line does not "
                        "say; with DIR, an exercise the folder must hold (repeat for several; "
                        "a missing one scores 0)")
    p.add_argument("--timeout", type=_positive("seconds"), default=TIMEOUT, metavar="S",
                   help=f"seconds each part, and the import of each file, may run "
                        f"(default {TIMEOUT:g})")
    p.add_argument("--memory", type=_positive("GB"), default=MEMORY / 2 ** 30, metavar="GB",
                   help=f"memory (address space) the student's code may use, in GB "
                        f"(default {MEMORY / 2 ** 30:g}), where the system can limit it")
    p.add_argument("--json", type=Path, metavar="PATH",
                   help="also write the results in Gradescope's results.json format")
    p.add_argument("--force", action="store_true",
                   help="replace --json's file even when it is not a results.json of check "
                        "(never a file being graded or a source file)")


def run(args):
    from ..classroom.gradescope import write
    if args.json:
        _check_json(args.json, args.target, args.force)
    t0 = time.perf_counter()
    try:
        reports = grade(args)
    except (*USER_ERRORS, MemoryError) as e:    # one line, exit 2 (cli.py)
        if args.json:                       # an autograder still gets its results.json
            write(args.json, [], time.perf_counter() - t0, problem=" ".join(str(e).split()))
        raise
    if args.json:
        write(args.json, reports, time.perf_counter() - t0)
    counted = [r for r in reports if r.counted]       # an exercise counts once
    return 0 if counted and all(r.passed for r in counted) else 1


def _check_json(path, target, force):
    """--json PATH names a file in a folder that exists and takes files, and that check may
    write (files/overwrite.py: never the file it grades): checked before any grading, so
    a bad path neither wastes the grading nor hides another error."""
    from ..files.overwrite import check_target
    from ..validate import writable_dir
    check_target(path, "results", "--json", inputs=[target], force=force)
    if not path.parent.is_dir():
        raise ArgumentError(f"--json {path}: there is no folder {path.parent}")
    writable_dir("--json's folder", path.parent)


def grade(args):
    """The Reports of `check N`, `check FILE` or `check DIR`, each printed as it is graded."""
    from ..classroom.submission import (RANGE, exercise_number, grade_file, grade_folder,
                                        print_report, print_summary, stub_path)
    numbers = [exercise_number(n) for n in args.exercise or []]
    target, memory = Path(args.target), int(args.memory * 2 ** 30)
    if target.is_dir():
        reports = grade_folder(target, numbers, args.timeout, memory=memory)
        print_summary(target, reports)
        return reports
    if len(numbers) > 1:
        raise ArgumentError("give --exercise once for a file (several only with a folder)")
    stub = bool(re.fullmatch(r"\d+", args.target)) and not target.exists()
    if not stub and not target.is_file():
        raise ArgumentError(f"{target}: no such file or folder (give a file, a folder or "
                            f"an exercise number {RANGE})")
    number = exercise_number(int(args.target)) if stub else (numbers[0] if numbers else None)
    report = grade_file(stub_path(number) if stub else target, number, args.timeout, memory)
    print_report(report, stub=stub)
    return [report]
