"""An exercise stub as a notebook: `python -m minivae exercise N --notebook --out DIR`.

Four cells: the stub's docstring (the task) as markdown, the stub's code,
a line on how to check, and a last cell, tagged reading.CHECK_TAG, that runs
the check on the notebook as saved.  Grading the notebook leaves that last
cell out (reading.py), so it never grades itself twice.  Needs nbformat
(the notebook extra).
"""
import ast
import re

from .reading import CHECK_TAG

CHECK_CELL = '''\
# Grades this notebook as saved on disk: save it first (Ctrl-S).  Each part runs in
# a separate process with a time limit, as `python -m minivae check {name}` runs it.
from minivae.classroom.submission import check
report = check("{name}")'''
HOW = ("**Check your work:** save the notebook, then run the last cell "
       "(or, in a terminal, `python -m minivae check {name}`).")


def stub_notebook(stub, name):
    """The notebook of the stub at path `stub`, to be saved as `name` (its file name)."""
    import nbformat
    text = stub.read_text(encoding="utf-8")
    doc_node = ast.parse(text).body[0]
    doc = ast.get_docstring(ast.Module(body=[doc_node], type_ignores=[]), clean=True)
    code = "\n".join(text.splitlines()[doc_node.end_lineno:]).strip() + "\n"
    v4 = nbformat.v4
    nb = v4.new_notebook(cells=[
        v4.new_markdown_cell(task_markdown(doc)),
        v4.new_code_cell(code),
        v4.new_markdown_cell(HOW.format(name=name)),
        v4.new_code_cell(CHECK_CELL.format(name=name), metadata={"tags": [CHECK_TAG]}),
    ])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    return nb


def task_markdown(doc):
    """The docstring as markdown: its first line a title, indented blocks kept as code,
    _ escaped in prose, and the command-line "Check your work" lines left out."""
    lines = doc.splitlines()
    cut = next((i for i, line in enumerate(lines) if line.startswith(("Copy it first", "Check your"))),
               len(lines))
    body = [line if line.startswith("    ") or not line.strip() else _escape(line)
            for line in lines[1:cut]]
    return f"# {_escape(lines[0])}\n" + "\n".join(body).rstrip() + "\n"


def _escape(line):
    """Escape markdown's _ (log_var would start an emphasis) outside `code` spans."""
    parts = re.split(r"(`[^`]*`)", line)
    return "".join(p if p.startswith("`") else p.replace("_", "\\_") for p in parts)
