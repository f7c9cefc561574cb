"""`python -m minivae check N|FILE`: grade an exercise (minivae.classroom.submission).

`check 5` grades the stub ex05_reparam.py where minivae keeps it; `check FILE`
grades a copy (made with `python -m minivae exercise 5 --out DIR`).  Prints
each part's relative error against central differences and against
minivae's own implementation, with a hint for a common mistake.  Exit 0 when
every part passes, 1 when one fails or is unfinished, 2 on a usage error.
"""


def add_arguments(p):
    p.add_argument("target", metavar="N|FILE",
                   help="an exercise number (1-8), or the path of your copy of its stub")
    p.add_argument("--exercise", type=int, metavar="N",
                   help="which exercise FILE answers, when its name or EXERCISE line does not say")


def run(args):
    from ..classroom.submission import grade_file, resolve
    path, number = resolve(args.target, args.exercise)
    return grade_file(path, number)
