"""Executing lessons for the site: run once per version, kept with the files they write.

Uses small lesson scripts written here, run in a real kernel (needs the
notebook extra, which the site extra includes).
"""
import shutil
import textwrap

import pytest

from minivae.site import lessons
from minivae.site.lessons import LessonFailed, cache_key, interactive_pages, run_lesson

LESSON = textwrap.dedent('''\
    # %%
    import os, pathlib
    out = pathlib.Path("out")
    out.mkdir(exist_ok=True)
    (out / "99_explorer.html").write_text('<script src="99_weights.js"></script>')
    (out / "99_weights.js").write_text("var w = [1, 2];")
    (out / "unrelated.txt").write_text("named by no page")
    print("quick" if os.environ.get("MINIVAE_QUICK") == "1" else "full")
    print(f"saved {(out / '99_weights.js').resolve()}")
''')


def test_the_key_changes_with_the_lesson_the_quick_flag_and_the_library(tmp_path):
    script = tmp_path / "99_demo.py"
    script.write_text(LESSON)
    key = cache_key(script, True, "lib1")
    assert key.startswith("99_demo-") and key == cache_key(script, True, "lib1")
    assert len({key, cache_key(script, False, "lib1"), cache_key(script, True, "lib2")}) == 3
    script.write_text(LESSON + "print(1)\n")
    assert cache_key(script, True, "lib1") != key


def test_the_library_fingerprint_follows_the_maths_not_the_site(tmp_path, monkeypatch):
    shutil.copytree(lessons.package_root() / "minivae", tmp_path / "minivae",
                    ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(lessons, "package_root", lambda: tmp_path)
    before = lessons.library_fingerprint()
    (tmp_path / "minivae" / "site" / "build.py").write_text("# edited\n")
    assert lessons.library_fingerprint() == before
    losses = tmp_path / "minivae" / "losses.py"
    losses.write_text(losses.read_text() + "\n# edited\n")
    assert lessons.library_fingerprint() != before


def test_interactive_pages_come_with_the_files_they_name(tmp_path):
    (tmp_path / "a.html").write_text('<img src="a.png"><script>fetch("a.json")</script>')
    for name in ("a.png", "a.json", "b.png"):
        (tmp_path / name).write_text("x")
    pages = interactive_pages(tmp_path)
    assert {p.name: [s.name for s in sib] for p, sib in pages.items()} == {"a.html": ["a.json", "a.png"]}
    assert interactive_pages(tmp_path / "missing") == {}


def test_a_lesson_runs_once_and_is_then_reused(tmp_path, site_extra):
    script = tmp_path / "99_demo.py"
    script.write_text(LESSON)
    first, second = tmp_path / "cache1", tmp_path / "cache2"
    first.mkdir()
    second.mkdir()
    ran = run_lesson(script, True, None, first, tmp_path / "run1", "lib", timeout=120)
    assert ran.seconds is not None and ran.seconds > 0
    assert sorted(p.name for p in (ran.folder / "out").iterdir()) == ["99_explorer.html", "99_weights.js"]
    notebook = (ran.folder / lessons.NOTEBOOK).read_text()
    assert "quick" in notebook
    assert "saved out/99_weights.js" in notebook               # not the temporary folder it ran in
    again = run_lesson(script, True, first, second, tmp_path / "run2", "lib", timeout=120)
    assert again.seconds is None and again.folder.parent == second
    assert (again.folder / "out" / "99_weights.js").read_text() == "var w = [1, 2];"
    assert not (tmp_path / "run2").exists()              # nothing ran


def test_a_failing_lesson_is_named_with_its_error(tmp_path, site_extra):
    script = tmp_path / "98_broken.py"
    script.write_text('# %%\nx = 1\n# %%\nraise ValueError("the planted error")\n')
    with pytest.raises(LessonFailed, match=r"lesson 98_broken failed: cell 2 \(raise ValueError"
                                           r".*\) raised ValueError: the planted error"):
        run_lesson(script, False, None, tmp_path / "cache", tmp_path / "run", "lib", timeout=120)
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").iterdir())
