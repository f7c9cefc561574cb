"""Building the site: the whole quick build once (the session's `quick_site`), and small
builds of lessons written here for rebuilds, failures and interactive pages."""
import re
import textwrap
from pathlib import Path

import pytest

from minivae.classroom.materials import lesson_scripts
from minivae.errors import ArgumentError
from minivae.site.build import MARKER, build, check_out
from minivae.site.lessons import LessonFailed
from minivae.site.source import MATHS_MODULES

from site_tools import one_backend
from test_lessons import LESSON


def test_the_quick_build_prints_each_lessons_time_and_holds_every_page(quick_site):
    out, printed = quick_site
    stems = [p.stem for p in lesson_scripts()]
    for i, stem in enumerate(stems, start=1):
        assert re.search(rf"^\[{i}/{len(stems)}\] {stem}: executed in \d+\.\d s$", printed, re.M), stem
    assert re.search(rf"^site built in \d+\.\d s \({len(stems)} of {len(stems)} lessons executed",
                     printed, re.M)
    assert "sphinx:" not in printed                         # no Sphinx warning
    assert (out / MARKER).is_file() and (out / "index.html").is_file() and (out / "equations.html").is_file()
    pages = {p.stem for p in (out / "lessons").glob("*.html")}
    assert pages - set(stems) == {"07b_explorer"}           # lesson 07b's page, published beside it
    assert set(stems) <= pages
    assert sorted(p.stem for p in (out / "maths").glob("*.html")) == sorted(MATHS_MODULES)
    assert [p.name for p in out.parent.iterdir()] == ["site"]    # no temporary folder left


def test_each_lesson_page_is_titled_with_its_paper_section(quick_site):
    out, _ = quick_site
    for script in lesson_scripts():
        heading = next(line[4:] for line in script.read_text(encoding="utf-8").splitlines()
                       if line.startswith("# # "))
        page = (out / "lessons" / f"{script.stem}.html").read_text(encoding="utf-8")
        h1 = re.search(r"<h1>(.*?)<a class=\"headerlink\"", page, re.S).group(1)
        assert h1.strip() == heading.replace("&", "&amp;"), script.stem
        assert "§" in h1 or "Appendix" in h1
        assert "Run:  python lessons/" not in page           # the script's docstring is hidden


def test_nothing_in_the_site_points_off_the_site(quick_site):
    out, _ = quick_site
    loads = re.compile(r'<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)="(https?:)?//', re.I)
    offenders = [str(p.relative_to(out)) for p in out.rglob("*.html") if loads.search(p.read_text())]
    assert not offenders, offenders
    css = [str(p.relative_to(out)) for p in out.rglob("*.css") if re.search(r"url\(['\"]?https?:",
                                                                             p.read_text())]
    assert not css, css


def test_out_must_be_new_empty_or_a_site(tmp_path):
    check_out(tmp_path / "new")
    (tmp_path / "empty").mkdir()
    check_out(tmp_path / "empty")
    (tmp_path / "file").write_text("x")
    with pytest.raises(ArgumentError, match="is a file, not a folder"):
        check_out(tmp_path / "file")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "notes.txt").write_text("mine")
    with pytest.raises(ArgumentError, match=r"--out .*docs is not empty and holds no minivae site"):
        check_out(tmp_path / "docs")
    (tmp_path / "docs" / MARKER).write_text("{}")
    check_out(tmp_path / "docs")
    with pytest.raises(ArgumentError, match=r"--out .*file/site: cannot make a folder beside it"):
        build(tmp_path / "file" / "site", [])


def small_lessons(folder):
    folder.mkdir()
    first = folder / "01_first.py"
    first.write_text("# %% [markdown]\n# # 01 — First (§1.1, Eq. 1)\n\n# %%\nprint('one')\n")
    second = folder / "99_demo.py"
    second.write_text("# %% [markdown]\n# # 99 — Demo (§2.2)\n\n" + LESSON)
    return [first, second]


def build_quietly(out, scripts):
    said = []
    build(out, scripts, quick=True, timeout=120, say=lambda *a, **k: said.append("".join(a)))
    return "".join(said)


def test_a_rebuild_reexecutes_only_the_edited_lesson(tmp_path, site_extra):
    one_backend()
    scripts = small_lessons(tmp_path / "lessons")
    out = tmp_path / "site"
    said = build_quietly(out, scripts)
    assert said.count("executed in") == 2
    page = (out / "lessons" / "99_demo.html").read_text()
    assert '<a class="interactive" href="99_explorer.html">' in page
    assert (out / "lessons" / "99_explorer.html").is_file() and (out / "lessons" / "99_weights.js").is_file()
    assert not (out / "lessons" / "unrelated.txt").exists()
    scripts[0].write_text(scripts[0].read_text().replace("'one'", "'one, edited'"))
    said = build_quietly(out, scripts)
    assert re.search(r"01_first: executed in", said) and "99_demo: unchanged, not re-executed" in said
    assert "one, edited" in (out / "lessons" / "01_first.html").read_text()
    assert (out / "lessons" / "99_explorer.html").is_file()


def test_a_failing_lesson_leaves_the_previous_site_whole(tmp_path, site_extra):
    one_backend()
    scripts = small_lessons(tmp_path / "lessons")
    out = tmp_path / "site"
    build_quietly(out, scripts[:1])
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    scripts[0].write_text("# %%\nraise RuntimeError('planted')\n")
    with pytest.raises(LessonFailed, match="lesson 01_first failed: .*RuntimeError: planted"):
        build_quietly(out, scripts[:1])
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lessons", "site"]
    with pytest.raises(LessonFailed):
        build_quietly(tmp_path / "new", scripts[:1])
    assert not (tmp_path / "new").exists()


def test_widget_outputs_leave_their_static_stand_ins_and_no_widget_state(site_extra):
    """ipympl's figure keeps its PNG, tqdm's notebook bar (a widget with only a text
    stand-in) goes, and the notebook's saved widget state goes: a static page has no
    kernel, and the widgets' JavaScript would come from a CDN."""
    import nbformat
    from minivae.site.build import WIDGET, drop_widgets
    nb = nbformat.v4.new_notebook()
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    view = {"model_id": "a", "version_major": 2, "version_minor": 0}
    figure = nbformat.v4.new_output("display_data", data={
        WIDGET: view, "image/png": "iVBOR", "text/plain": "Canvas(...)"})
    bar = nbformat.v4.new_output("display_data", data={WIDGET: view, "text/plain": "0%|"})
    printed = nbformat.v4.new_output("stream", name="stdout", text="saved out/x.png\n")
    nb.cells.append(nbformat.v4.new_code_cell("x", outputs=[figure, bar, printed]))
    drop_widgets(nb)
    outputs = nb.cells[0].outputs
    assert [o.output_type for o in outputs] == ["display_data", "stream"]
    assert set(outputs[0].data) == {"image/png", "text/plain"}
    assert "widgets" not in nb.metadata
