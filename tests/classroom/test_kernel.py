"""classroom.kernel: a lesson script as a notebook, and the one line that names a failed cell.

(The notebooks command's tests run whole lessons in a kernel through it;
tests/site/test_lessons.py runs small ones.)
"""
import pytest

from minivae.classroom import kernel

pytest.importorskip("jupytext", reason="the notebook extra is missing: pip install -e \".[notebook]\"")


def script(tmp_path):
    path = tmp_path / "99_demo.py"
    path.write_text("# %% [markdown]\n# # Demo\n\n# %%\nx = 1\n")
    return path


def test_to_notebook_adds_the_tagged_quick_cell_only_when_asked(tmp_path):
    plain = kernel.to_notebook(script(tmp_path), quick=False)
    assert [c.cell_type for c in plain.cells] == ["markdown", "code"]
    assert plain.metadata["kernelspec"]["name"] == "python3"
    quick = kernel.to_notebook(script(tmp_path), quick=True)
    assert quick.cells[0].source == kernel.QUICK_CELL
    assert quick.cells[0].metadata["tags"] == ["minivae-quick"]


def test_failed_cell_names_the_cell_its_error_and_the_last_line_it_printed():
    import nbformat
    nb = nbformat.v4.new_notebook()
    ok = nbformat.v4.new_code_cell("x = 1")
    bad = nbformat.v4.new_code_cell("\n  load(path)\n")
    bad.outputs = [nbformat.v4.new_output("stream", name="stderr", text="first\nno MNIST in /data\n"),
                   nbformat.v4.new_output("error", ename="DataError", evalue="missing", traceback=[])]
    nb.cells = [ok, bad]
    assert kernel.failed_cell(nb) == ("cell 2 (load(path)) raised DataError: missing; "
                                      "it printed: no MNIST in /data")
    nb.cells = [ok]
    assert kernel.failed_cell(nb) == "a cell failed"


def test_write_saves_a_notebook_that_reads_back(tmp_path):
    import nbformat
    nb = kernel.to_notebook(script(tmp_path), quick=True)
    kernel.write(nb, tmp_path / "out.ipynb")
    back = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    assert [c.source for c in back.cells] == [c.source for c in nb.cells]
