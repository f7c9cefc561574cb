"""classroom.regions: nbgrader's solution markers in a lesson's cell, and the student's copy."""
import ast
import builtins

import pytest

from minivae.classroom.regions import (BEGIN, END, STUB, Region, fill_in_notebook, lesson_regions,
                                       marked, regions_in, script_cells, without_solutions)

CELL = f'''import numpy as np


@np.vectorize
def square(x):
    """x²"""
    {BEGIN}
    return x * x
    {END}


def both(a, b):
    total = a + b
    if total > 0:
        {BEGIN}
        total = 2 * total
        {END}
    return total
'''


def test_regions_are_found_in_the_functions_that_hold_them():
    assert regions_in(CELL) == [Region("square", 7, 9), Region("both", 15, 17)]


def test_the_students_copy_has_each_region_replaced_by_nbgraders_stub_at_its_indentation():
    student = without_solutions(CELL)
    assert BEGIN not in student and END not in student and "x * x" not in student
    assert "2 * total" not in student and "total = a + b" in student      # only the region goes
    lines = student.splitlines()
    assert lines[6:8] == ["    " + STUB[0], "    " + STUB[1]]
    assert lines[13:15] == ["        " + STUB[0], "        " + STUB[1]]
    namespace = {}
    exec(compile(student, "student", "exec"), namespace)                # still Python
    with pytest.raises(NotImplementedError):
        namespace["both"](1, 2)


@pytest.mark.parametrize("source, says", [
    (f"def f():\n    {BEGIN}\n    return 1\n", f"line 2: {BEGIN} without {END}"),
    (f"def f():\n    return 1\n    {END}\n", f"line 3: {END} without {BEGIN}"),
    (f"def f():\n    {BEGIN}\n    {BEGIN}\n    return 1\n    {END}\n", "inside another region"),
    (f"{BEGIN}\nx = 1\n{END}\n", "outside the body of a function"),
    (f"def f():\n    return 1\n\n\n{BEGIN}\nx = 1\n{END}\n", "outside the body of a function"),
    (f"def f():\n    {BEGIN}\n    x = 1\n    {END}\n    {BEGIN}\n    return x\n    {END}\n",
     "f holds more than one region"),
])
def test_a_marker_out_of_place_is_named(source, says):
    with pytest.raises(ValueError, match=says.replace("(", r"\(")) as e:
        regions_in(source, "lesson 99, cell 2")
    assert str(e.value).startswith("lesson 99, cell 2")


def test_script_cells_are_the_code_cells_of_a_percent_script(tmp_path):
    text = '"""doc"""\n# %% [markdown]\n# # title\n\n# %%\nx = 1\n\n# %%\ny = 2\n'
    assert script_cells(text) == [(1, '"""doc"""\n'), (6, "x = 1\n\n"), (9, "y = 2\n")]
    script = tmp_path / "99_demo.py"
    script.write_text(text.replace("y = 2", "def y():\n    " + BEGIN + "\n    return 2\n    " + END))
    assert lesson_regions(script) == [Region("y", 10, 12)]
    assert script.read_text().splitlines()[9].strip() == BEGIN


def names(source):
    """(bound, used): the names a cell binds (imports, functions, arguments, assignments)
    and the names it reads."""
    tree = ast.parse(source)
    bound = {a.asname or a.name.split(".")[0] for n in ast.walk(tree)
             if isinstance(n, (ast.Import, ast.ImportFrom)) for a in n.names}
    bound |= {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    bound |= {a.arg for n in ast.walk(tree) if isinstance(n, ast.arguments)
              for a in n.args + n.kwonlyargs}
    bound |= {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    return bound, used - set(dir(builtins))


def test_every_region_of_the_lessons_sits_in_a_cell_that_runs_on_its_own():
    """What check loads in its child: a cell that imports what it uses and reads no name
    an earlier cell sets; the student's copy reads only what the teacher's binds (the
    names the region itself assigns, which the student writes)."""
    from minivae.classroom.materials import lesson_scripts
    checked = 0
    for script in lesson_scripts():
        for start, source in script_cells(script.read_text(encoding="utf-8")):
            if not marked(source):
                continue
            bound, used = names(source)
            assert used <= bound, f"{script.name}, line {start}: reads {sorted(used - bound)}"
            _, used_by_student = names(without_solutions(source))
            assert used_by_student <= bound, script.name
            checked += 1
    assert checked >= 4


def test_the_fill_in_notebook_blanks_each_region_and_says_how_it_is_checked(tmp_path):
    pytest.importorskip("jupytext", reason='the notebook extra is missing: pip install -e ".[notebook]"')
    from minivae.classroom.kernel import to_notebook
    script = tmp_path / "99_demo.py"
    script.write_text(f"# %% [markdown]\n# # Demo\n\n# %%\n{CELL}\n# %%\nprint(both(1, 2))\n")
    nb = fill_in_notebook(to_notebook(script, quick=False), "99_demo.ipynb")
    assert nb.metadata["minivae"] == {"lesson": "99_demo", "student": True}
    assert "2 places marked `# YOUR CODE HERE`" in nb.cells[0].source
    assert "python -m minivae check 99_demo.ipynb" in nb.cells[0].source
    sources = [c.source for c in nb.cells]
    assert sources[2] == without_solutions(CELL).strip("\n") and sources[3] == "print(both(1, 2))"
