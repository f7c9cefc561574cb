"""`python -m minivae check N|FILE|DIR`: grade exercises and fill-in lessons (minivae.classroom).

`check 5` grades the stub ex05_reparam.py where minivae keeps it; `check FILE`
grades a student's .py file or notebook (.ipynb), an exercise or a lesson
notebook of `notebooks --student`; `check DIR` grades every such file in one
student's folder and ends with a summary table, or, when DIR holds a folder
per student, each student's, and ends with one row per student
(classroom/gradebook.py; --csv writes it for an LMS).  Each file runs in a
child process, each part under a time limit (--timeout).  Prints each part's
relative error against central differences and against minivae's own
implementation, with a hint for a common mistake; --json PATH also writes the
results in Gradescope's results.json format, and --rubric FILE adds a
teacher's weights and hidden parts (classroom/rubric.py).  Exit 0 when every
part passes, 1 when one fails, errs, times out or is unfinished, 2 on a usage
error.
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
                   help="an exercise number (1-8), your copy of its stub (.py or .ipynb) or a "
                        "fill-in lesson notebook, a folder of them, or a folder of students' folders")
    p.add_argument("--exercise", type=int, action="append", metavar="N",
                   help="which exercise FILE answers, when its name or EXERCISE line does not "
                        "say; with DIR, an exercise the folder must hold (repeat for several; "
                        "a missing one scores 0)")
    p.add_argument("--lesson", action="append", metavar="NN",
                   help="which lesson a notebook FILE is; with DIR, a fill-in lesson the folder "
                        "must hold (repeat for several; a missing one scores 0)")
    p.add_argument("--timeout", type=_positive("seconds"), default=TIMEOUT, metavar="S",
                   help=f"seconds each part, and the import of each file, may run "
                        f"(default {TIMEOUT:g})")
    p.add_argument("--memory", type=_positive("GB"), default=MEMORY / 2 ** 30, metavar="GB",
                   help=f"memory (address space) the student's code may use, in GB "
                        f"(default {MEMORY / 2 ** 30:g}), where the system can limit it")
    p.add_argument("--rubric", type=Path, metavar="FILE",
                   help="a teacher's Python file of part weights and hidden parts, kept out "
                        "of the students' folders (see minivae/classroom/rubric.py)")
    p.add_argument("--json", type=Path, metavar="PATH",
                   help="also write the results in Gradescope's results.json format")
    p.add_argument("--csv", type=Path, metavar="PATH",
                   help="with DIR, also write the gradebook: one row per student, one column "
                        "per part, as an LMS imports it")
    p.add_argument("--force", action="store_true",
                   help="replace --json's or --csv's file even when check did not write it "
                        "(never a file being graded or a source file)")


def run(args):
    from ..classroom.gradescope import write
    _check_out(args.json, "results", "--json", args.target, args.force)
    _check_out(args.csv, "gradebook", "--csv", args.target, args.force)
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


def _check_out(path, kind, flag, target, force):
    """A file check writes (--json, --csv) is in a folder that exists and takes files, and
    check may write it (files/overwrite.py: never the file it grades): checked before any
    grading, so a bad path neither wastes the grading nor hides another error."""
    if path is None:
        return
    from ..files.overwrite import check_target
    from ..validate import writable_dir
    check_target(path, kind, flag, inputs=[target], force=force)
    if not path.parent.is_dir():
        raise ArgumentError(f"{flag} {path}: there is no folder {path.parent}")
    writable_dir(f"{flag}'s folder", path.parent)


def grade(args):
    """The Reports of `check N`, `check FILE` or `check DIR` (of every student, for a class),
    each printed as it is graded."""
    from ..classroom.exercises import RANGE, exercise_number, stub_path
    from ..classroom.report import print_report
    numbers = [exercise_number(n) for n in args.exercise or []]
    lessons = [_lesson(n) for n in args.lesson or []]
    target, memory = Path(args.target), int(args.memory * 2 ** 30)
    rubric = _rubric(args.rubric, target)
    if target.is_dir():
        return _grade_dir(args, target, numbers + lessons, memory, rubric)
    if args.csv:
        raise ArgumentError(f"--csv writes the gradebook of a folder, and {target} is no folder")
    if len(numbers) + len(lessons) > 1:
        raise ArgumentError("give --exercise or --lesson once for a file (several only with a "
                            "folder)")
    stub = bool(re.fullmatch(r"\d+", args.target)) and not target.exists()
    if not stub and not target.is_file():
        raise ArgumentError(f"{target}: no such file or folder (give a file, a folder or "
                            f"an exercise number {RANGE})")
    from ..classroom.submission import grade_file
    number = exercise_number(int(args.target)) if stub else (numbers + lessons or [None])[0]
    report = grade_file(stub_path(number) if stub else target, number, args.timeout, memory,
                        rubric)
    print_report(report, stub=stub)
    return [report]


def _grade_dir(args, target, required, memory, rubric):
    from ..classroom.gradebook import grade_class, handed_in, print_totals, student_folders, write_csv
    from ..classroom.report import order, print_summary
    from ..classroom.submission import grade_folder

    def grade_one(folder, required=required):
        reports = grade_folder(folder, required, args.timeout, memory=memory, rubric=rubric)
        print_summary(folder, reports)
        return reports
    students = student_folders(target)
    if students is None:
        reports = grade_one(target)
        if args.csv:
            write_csv(args.csv, {target.resolve().name: reports})
        return reports
    if args.json:
        raise ArgumentError(f"--json writes one student's results.json, and {target} holds "
                            f"{len(students)} students' folders; for the class, use --csv")
    everyone = sorted(set(required) | handed_in(target, students), key=order)
    grades = grade_class(target, students, lambda f: grade_one(f, everyone))
    print_totals(target, grades)
    if args.csv:
        write_csv(args.csv, grades)
    return [r for reports in grades.values() for r in reports]


def _lesson(text):
    from ..classroom.fill_in import FILL_IN
    from ..classroom.materials import as_lesson_number
    number = as_lesson_number(text)
    if number not in FILL_IN:
        raise ArgumentError(f"--lesson {text}: the fill-in lessons are {', '.join(FILL_IN)}")
    return number


def _rubric(path, target):
    """The teacher's rubric (classroom/rubric.py), or none; one inside the folder being graded
    is refused: a student could have written it."""
    from ..classroom.exercises import EXERCISES
    from ..classroom.fill_in import FILL_IN
    from ..classroom.rubric import Rubric, load
    if path is None:
        return Rubric()
    if not path.is_file():
        raise ArgumentError(f"--rubric {path}: no such file")
    if target.is_dir() and target.resolve() in path.resolve().parents:
        raise ArgumentError(f"--rubric {path} lies inside {target}, the folder being graded: "
                            "a student could have written it; keep it elsewhere")
    return load(path, EXERCISES, FILL_IN)
