"""`python -m minivae where "Eq. 7" | "Fig. 4" | kl_normal`: from the paper to the code.

Prints, for each equation-index entry the query names, the code that
computes it as file:line ranges (found in the source as it is now), the line
holding its key expression, and the lessons, tests and exercise that check
it; or why no library function computes it.  Reads the same table as the
course site (minivae/site/equations.py).
"""
from ..errors import ArgumentError


def add_arguments(p):
    p.add_argument("query", help='an equation or figure ("Eq. 7", "Fig. 4") or a function '
                                 '("kl_normal", "VAE.elbo")')


def run(args):
    from ..site.equations import ENTRIES, lookup
    found = lookup(args.query)
    if not found:
        functions = sorted({c.function for e in ENTRIES for c in e.code})
        raise ArgumentError(f"{args.query!r} is not in the equation index: give Eq. 1 to Eq. 21, "
                            f"Fig. 1 to Fig. 8, or one of {', '.join(functions)}")
    for i, entry in enumerate(found):
        if i:
            print()
        print(describe(entry))
    return 0


def describe(entry):
    """The entry as lines of text: the equation, its code as file:line, its checks."""
    from ..site.source import locate
    lines = [f"{entry.label} ({entry.section})  {entry.text}"]
    for c in entry.code:
        where = locate(c)
        lines.append(f"  code      {where.relative}:{where.first}-{where.last}  {c.function}")
        if where.key_line:
            text = where.path.read_text(encoding="utf-8").splitlines()[where.key_line - 1].strip()
            lines.append(f"            {where.relative}:{where.key_line}  {text}")
    if entry.no_code:
        lines.append(f"  no code   {entry.no_code}")
    lines += [f"  lesson    lessons/{name}.py" for name in entry.lessons]
    lines += [f"  test      {test}" for test in entry.tests]
    if entry.exercise:
        number = int(entry.exercise[2:4])
        lines.append(f"  exercise  {entry.exercise}.py  (python -m minivae exercise {number})")
    return "\n".join(lines)
