"""Solution regions in the lessons: nbgrader's markers, and the student's copy of a cell.

A lesson marks the lines a student should derive with nbgrader's markers,
inside a function of a code cell:

    def reparam_backward(dz, mu, log_var, eps):
        \"\"\"dz = ∂L/∂z (N, K) -> (∂L/∂mu, ∂L/∂log_var).\"\"\"
        ### BEGIN SOLUTION
        std = np.exp(0.5 * log_var)
        return dz, 0.5 * dz * std * eps
        ### END SOLUTION

The markers are comments, so the lesson runs as it always did.  The
student's copy (`python -m minivae notebooks --student`) has each region
replaced by nbgrader's stub, at the region's indentation:

        # YOUR CODE HERE
        raise NotImplementedError()

and keeps everything else, so the lesson's own checks, in the cells that
follow, run on the student's function.  A cell that holds regions needs
nothing from the cells before it (it imports what it uses): `check` runs it on
its own, in its child process (fill_in.py).  Each region lies in one function
defined at the cell's top level, and a function holds at most one region.
"""
import ast
import re
from typing import NamedTuple

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
STUB = ("# YOUR CODE HERE", "raise NotImplementedError()")


class Region(NamedTuple):
    function: str       # the function whose body holds it
    begin: int          # its marker lines, 1-based, in the cell
    end: int


def marked(source):
    """Whether a cell's source holds a solution marker."""
    return any(line.strip() in (BEGIN, END) for line in source.splitlines())


def regions_in(source, where="a cell"):
    """The Regions of a cell's source, in order.  A marker out of place (unpaired, nested,
    outside a function, two in one function) is a ValueError naming `where`."""
    lines = source.splitlines()
    pairs, begin = [], None
    for n, line in enumerate(lines, start=1):
        text = line.strip()
        if text == BEGIN:
            if begin is not None:
                raise ValueError(f"{where}, line {n}: {BEGIN} inside another region")
            begin = n
        elif text == END:
            if begin is None:
                raise ValueError(f"{where}, line {n}: {END} without {BEGIN}")
            pairs.append((begin, n))
            begin = None
    if begin is not None:
        raise ValueError(f"{where}, line {begin}: {BEGIN} without {END}")
    body = ast.parse(source).body
    starts = [min([n.lineno] + [d.lineno for d in getattr(n, "decorator_list", [])]) for n in body]
    spans = [(node, node.lineno + 1, nxt - 1)           # from its def to the next statement
             for node, nxt in zip(body, starts[1:] + [len(lines) + 1])
             if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]
    found = []
    for first, last in pairs:
        inside = [f for f, start, stop in spans if start <= first and last <= stop
                  and lines[first - 1][:1].isspace() and lines[last - 1][:1].isspace()]
        if not inside:
            raise ValueError(f"{where}, line {first}: a region outside the body of a function "
                             "defined at the cell's top level")
        found.append(Region(inside[0].name, first, last))
    names = [r.function for r in found]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ValueError(f"{where}: {', '.join(twice)} holds more than one region")
    return found


def without_solutions(source, where="a cell"):
    """The cell as the student gets it: each region, markers included, replaced by STUB."""
    lines = source.splitlines()
    for region in reversed(regions_in(source, where)):
        indent = re.match(r"\s*", lines[region.begin - 1]).group(0)
        lines[region.begin - 1:region.end] = [indent + line for line in STUB]
    return "\n".join(lines) + ("\n" if source.endswith("\n") else "")


def script_cells(text):
    """The code cells of a `# %%` lesson script, as (first line number, source): what
    jupytext makes code cells of, read without jupytext (the grader does not need it)."""
    cells, start, kind, lines = [], 1, "code", []
    for n, line in enumerate(text.splitlines() + ["# %%"], start=1):
        if line.startswith("# %%"):
            if kind == "code" and "".join(lines).strip():
                cells.append((start, "\n".join(lines) + "\n"))
            kind = "markdown" if "[markdown]" in line else "code"
            start, lines = n + 1, []
        else:
            lines.append(line)
    return cells


def lesson_regions(script):
    """[Region] of a lesson script, in order, each with its line numbers in the script."""
    found = []
    for start, source in script_cells(script.read_text(encoding="utf-8")):
        if marked(source):
            found += [r._replace(begin=r.begin + start - 1, end=r.end + start - 1)
                      for r in regions_in(source, f"{script.name}, line {start}")]
    return found


HOW = ("**A fill-in notebook.**  The lines this lesson derives are left for you to write, "
       "{n} place{s} marked `# YOUR CODE HERE`: replace each `raise NotImplementedError()` "
       "with your code.  The cells after each one check it, as the lesson does.  Save the "
       "notebook, then grade it: `python -m minivae check {name}`.")


def fill_in_notebook(nb, name):
    """nb, a lesson as kernel.to_notebook makes it, as the student's copy `name`: each region
    blanked, a first cell saying where and how it is checked, and metadata saying it is one."""
    import nbformat
    blanked = 0
    for n, cell in enumerate(nb.cells, start=1):
        if cell.cell_type == "code" and marked(cell.source):
            blanked += len(regions_in(cell.source, f"{name}, cell {n}"))
            cell.source = without_solutions(cell.source, f"{name}, cell {n}")
    nb.cells.insert(0, nbformat.v4.new_markdown_cell(
        HOW.format(n=blanked, s="s" * (blanked != 1), name=name),
        metadata={"tags": ["minivae-fill-in"]}))
    nb.metadata["minivae"]["student"] = True
    return nb
