"""Build the course site: Sphinx with MyST-NB, the Furo theme, MathML for the maths.

    out/index.html              the lessons in the paper's order, the maths, the index
    out/lessons/NN_topic.html   each lesson executed: prose, code, numbers, figures
    out/maths/losses.html       a maths module side by side (maths_pages.py)
    out/equations.html          the equation index (equations.py)

The build happens in a temporary folder beside `out` and is moved into place
only when it is whole, so a failed or interrupted build leaves no half site
(and a previous site untouched).  A built site holds the marker file
.minivae-site, and its executed lessons in .lesson-cache/, which the next
build reuses (lessons.py).  Every file a page loads is in the folder: no
script, style sheet or font comes from the network.
"""
import ast
import html
import io
import json
import shutil
import tempfile
from importlib import resources
from pathlib import Path

from ..errors import ArgumentError
from .equations import ENTRIES, slug
from .lessons import NOTEBOOK, interactive_pages, library_fingerprint, run_lesson
from .maths_pages import page_html, page_title
from .source import MATHS_MODULES, locate
from .typeset import latex_to_mathml

MARKER, CACHE = ".minivae-site", ".lesson-cache"
WIDGET = "application/vnd.jupyter.widget-view+json"
CONF = """\
project = "minivae"
html_title = "minivae: the paper beside the code"
extensions = ["myst_nb"]
html_theme = "furo"
html_static_path = [{static!r}]
html_css_files = ["minivae-site.css"]
nb_execution_mode = "off"
nb_merge_streams = True
nb_ipywidgets_js = {{}}
html_show_sourcelink = False
html_copy_source = False
html_last_updated_fmt = None
exclude_patterns = ["_build"]
"""


def check_out(out):
    """Refuse an `out` that is a file, or a non-empty folder that is not a previous site."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ArgumentError(f"--out {out} is a file, not a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).is_file():
        raise ArgumentError(f"--out {out} is not empty and holds no minivae site "
                            f"(no {MARKER}): give a new or empty folder, or a site to rebuild")


def build(out, scripts, quick=False, timeout=None, say=print):
    """Execute the lessons (or reuse them), build the site in a temporary folder, move it to `out`."""
    out = Path(out).absolute()
    check_out(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f".{out.name}.building-", dir=out.parent))
    except OSError as e:
        raise ArgumentError(f"--out {out}: cannot make a folder beside it ({e.strerror})") from None
    try:
        html_dir = work / "html"
        new_cache = html_dir / CACHE
        new_cache.mkdir(parents=True)
        old_cache = out / CACHE if (out / CACHE).is_dir() else None
        fingerprint = library_fingerprint()
        ran = []
        for i, script in enumerate(scripts, start=1):
            say(f"[{i}/{len(scripts)}] {script.stem}: ", end="", flush=True)
            r = run_lesson(script, quick, old_cache, new_cache, work / "run", fingerprint, timeout)
            say(f"executed in {r.seconds:.1f} s" if r.seconds is not None else "unchanged, not re-executed",
                flush=True)
            ran.append(r)
        src = work / "src"
        write_sources(src, ran)
        warnings = sphinx_build(src, html_dir, work / "doctrees")
        for r in ran:
            copy_interactive_pages(r, html_dir / "lessons")
        (html_dir / MARKER).write_text(json.dumps({"quick": quick}) + "\n", encoding="utf-8")
        replace(out, html_dir, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return ran, warnings


def replace(out, built, work):
    """Move the built folder to `out`; an old site there goes only once the new one is in place."""
    old = work / "old"
    if out.exists():
        out.rename(old)
    built.rename(out)


def write_sources(src, ran):
    """The Sphinx project: conf.py, the home page, the lessons, the maths pages, the index."""
    static = src / "_static_minivae"
    static.mkdir(parents=True)
    css = resources.files("minivae.site").joinpath("static/minivae-site.css").read_text(encoding="utf-8")
    (static / "minivae-site.css").write_text(css, encoding="utf-8")
    (src / "conf.py").write_text(CONF.format(static=static.name), encoding="utf-8")
    (src / "lessons").mkdir()
    for r in ran:
        (src / "lessons" / f"{r.stem}.ipynb").write_text(lesson_notebook(r), encoding="utf-8")
    (src / "maths").mkdir()
    for module in MATHS_MODULES:
        (src / "maths" / f"{module}.md").write_text(
            f"# {page_title(module)}\n\n```{{raw}} html\n{page_html(module)}\n```\n", encoding="utf-8")
    (src / "equations.md").write_text(index_page(), encoding="utf-8")
    (src / "index.md").write_text(home_page([r.stem for r in ran]), encoding="utf-8")


def lesson_notebook(r):
    """The executed lesson as the page shows it: the quick cell and the script's docstring
    (its title and command line; the page has its own title) hidden, links added at the end."""
    import nbformat
    nb = nbformat.read(r.folder / NOTEBOOK, as_version=4)
    drop_widgets(nb)
    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        if "minivae-quick" in tags or (cell.cell_type == "code" and _only_a_docstring(cell.source)):
            cell.metadata["tags"] = tags + ["remove-cell"]
    links = [f'<a href="../equations.html#{slug(e.label)}">{e.label}</a>'
             for e in ENTRIES if r.stem in e.lessons]
    extra = []
    if links:
        extra.append("In the equation index, this lesson checks " + ", ".join(links) + ".")
    for page in interactive_pages(r.folder / "out"):
        extra.append(f'Interactive page: <a class="interactive" href="{page.name}">{page.name}</a>.')
    if extra:
        nb.cells.append(nbformat.v4.new_markdown_cell("---\n\n" + "\n\n".join(extra)))
    return nbformat.writes(nb)


def drop_widgets(nb):
    """Jupyter widgets out of an executed notebook, in place: a static page has no kernel
    to drive them, and their JavaScript would come from a CDN.

    A widget's output keeps its static stand-ins (ipympl's figure as a PNG); one with only
    a text stand-in (tqdm's bar in a notebook) goes, as does the saved widget state.
    """
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        kept = []
        for output in cell.outputs:
            data = output.get("data", {})
            if WIDGET in data:
                del data[WIDGET]
                if set(data) <= {"text/plain"}:
                    continue
            kept.append(output)
        cell.outputs = kept


def _only_a_docstring(source):
    try:
        body = ast.parse(source).body
    except SyntaxError:
        return False
    return len(body) == 1 and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)


def copy_interactive_pages(r, lessons_html):
    """Each *.html the lesson wrote, with the files it names, next to the lesson's page."""
    for page, siblings in interactive_pages(r.folder / "out").items():
        for f in [page, *siblings]:
            shutil.copy2(f, lessons_html / f.name)


def home_page(stems):
    lines = ["# minivae: the paper beside the code", "",
             "Carl Doersch's *Tutorial on Variational Autoencoders* (arXiv:1606.05908), read with "
             "minivae: the lessons executed in the paper's order, the maths modules with each "
             "formula beside the NumPy lines that compute it, and an index from every numbered "
             "equation and figure to its code and to the checks that hold it.", "",
             "```{toctree}", ":caption: Lessons, in the paper's order", ":maxdepth: 1", ""]
    lines += [f"lessons/{s}" for s in stems]
    lines += ["```", "", "```{toctree}", ":caption: The maths, beside its code", ":maxdepth: 1", ""]
    lines += [f"maths/{m}" for m in MATHS_MODULES]
    lines += ["```", "", "```{toctree}", ":caption: From the paper to the code", ":maxdepth: 1", "",
              "equations", "```", ""]
    return "\n".join(lines)


def index_page():
    """The equation index: one block per equation and figure, as raw HTML."""
    parts = [f'<section class="entry" id="{slug(e.label)}">{entry_html(e)}</section>' for e in ENTRIES]
    return ("# Equation index\n\nEvery numbered equation (Eq. 1–21) and figure (Fig. 1–8) of the "
            "paper: the code that computes it, with its lines; the lessons that check it with "
            "numbers, the tests that hold it and the exercise that derives it.  "
            "`python -m minivae where \"Eq. 7\"` prints the same from the command line.\n\n"
            "```{raw} html\n<div class=\"eqindex\">\n" + "\n".join(parts) + "\n</div>\n```\n")


def entry_html(e):
    esc = html.escape
    head = f'<h2><a href="#{slug(e.label)}">{e.label}</a> <span class="where">{esc(e.section)}</span></h2>'
    body = latex_to_mathml(e.latex, display=True) if e.latex else f'<p class="figure">{esc(e.text)}</p>'
    rows = []
    for c in e.code:
        at = locate(c)
        page = f"maths/{c.module}.html"
        rows.append(f'<a class="fn" data-function="{esc(c.function)}" href="{page}#{esc(c.function)}">'
                    f'<code>{at.relative}:{at.first}–{at.last}</code> <code>{esc(c.function)}</code></a>'
                    + (f' · key line <a class="key" data-key="{esc(c.key)}" href="{page}#L{at.key_line}">'
                       f'<code>{at.relative}:{at.key_line}</code></a>' if at.key_line else ""))
    table = []
    if rows:
        table.append(("code", "<br>".join(rows)))
    if e.no_code:
        table.append(("no code", esc(e.no_code)))
    if e.lessons:
        table.append(("lessons", ", ".join(f'<a href="lessons/{s}.html">{s}</a>' for s in e.lessons)))
    if e.tests:
        table.append(("tests", "<br>".join(f"<code>{esc(t)}</code>" for t in e.tests)))
    if e.exercise:
        table.append(("exercise", f"<code>{e.exercise}.py</code> "
                                  f"(<code>python -m minivae exercise {int(e.exercise[2:4])}</code>)"))
    cells = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in table)
    return f'{head}<div class="maths">{body}</div><table class="holds">{cells}</table>'


def sphinx_build(src, html_dir, doctrees):
    """Run Sphinx in this process; returns its warnings (a list of lines)."""
    from sphinx.application import Sphinx
    status, warning = io.StringIO(), io.StringIO()
    app = Sphinx(str(src), str(src), str(html_dir), str(doctrees), "html",
                 status=status, warning=warning, freshenv=True, verbosity=0)
    app.build()
    return [line for line in warning.getvalue().splitlines() if line.strip()]
