"""The lessons executed for the site, each run once per version of its source.

A lesson runs as a notebook in a fresh Jupyter kernel (classroom.kernel, as
for the notebooks command), working in a folder of its own, so its figures
and any page it writes land in that folder's out/.  What the site needs (the
executed notebook, whose outputs hold the figures, and each *.html page the
lesson wrote with the files it names) is kept in a cache folder under a key
made of the lesson's text, the quick flag and the source of minivae's library
modules: a rebuild re-executes only the lessons whose key changed (an edited
lesson; every lesson when the library changed).  This is what jupyter-cache
does for MyST-NB, plus the pages a lesson writes.
"""
import hashlib
import shutil
import time
from pathlib import Path
from typing import NamedTuple, Optional

from .source import package_root

NOTEBOOK = "notebook.ipynb"


class Ran(NamedTuple):
    stem: str               # "03_reparam"
    folder: Path            # the cache entry: notebook.ipynb and out/
    seconds: Optional[float]  # how long it ran; None when it came from the cache


class LessonFailed(Exception):
    """A lesson raised while executing; the message names it and its error."""


def library_fingerprint():
    """A hash of minivae's own source, without the site builder and the commands."""
    digest = hashlib.sha256()
    package = package_root() / "minivae"
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(package).parts
        if parts[0] in ("site", "commands", "lessons"):
            continue
        digest.update("/".join(parts).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def cache_key(script, quick, fingerprint):
    digest = hashlib.sha256(Path(script).read_bytes())
    digest.update(b"quick" if quick else b"full")
    digest.update(fingerprint.encode())
    return f"{Path(script).stem}-{digest.hexdigest()[:16]}"


def run_lesson(script, quick, old_cache, new_cache, workdir, fingerprint, timeout=None):
    """The lesson's executed notebook and out/ in new_cache, from old_cache when it is there.

    Raises LessonFailed naming the lesson and its error; Ctrl-C stops the
    kernel and raises KeyboardInterrupt (classroom.kernel.execute).
    """
    from ..classroom.kernel import execute, to_notebook, write
    key = cache_key(script, quick, fingerprint)
    entry = new_cache / key
    if old_cache is not None and (old_cache / key / NOTEBOOK).is_file():
        shutil.copytree(old_cache / key, entry)
        return Ran(script.stem, entry, None)
    nb = to_notebook(script, quick)
    run_in = workdir / script.stem
    run_in.mkdir(parents=True)
    t0 = time.perf_counter()
    problem = execute(nb, run_in, timeout)
    if problem:
        raise LessonFailed(f"lesson {script.stem} failed: {problem}")
    seconds = time.perf_counter() - t0
    for cell in nb.cells:               # "saved /tmp/.../run/03_reparam/out/x.png" -> "saved out/x.png"
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                for folder in {run_in, run_in.resolve()}:
                    output["text"] = output["text"].replace(f"{folder}/", "")
    (entry / "out").mkdir(parents=True)
    for page, siblings in interactive_pages(run_in / "out").items():    # not its figures, runs...
        for f in (page, *siblings):
            shutil.copy2(f, entry / "out" / f.name)
    write(nb, entry / NOTEBOOK)             # last: an entry with a notebook is whole
    return Ran(script.stem, entry, seconds)


def interactive_pages(out_folder):
    """{page: [sibling files it names]} for each *.html a lesson wrote into its out folder."""
    out_folder = Path(out_folder)
    if not out_folder.is_dir():
        return {}
    files = [p for p in sorted(out_folder.iterdir()) if p.is_file()]
    pages = {}
    for page in (p for p in files if p.suffix == ".html"):
        text = page.read_text(encoding="utf-8", errors="replace")
        pages[page] = [p for p in files if p != page and p.name in text]
    return pages
