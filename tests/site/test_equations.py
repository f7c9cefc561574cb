"""The equation index: every numbered equation and figure, and a test that fails when it goes stale.

The staleness check (`source.problems`) is tried on scratch copies of the
package with a function renamed and with a key expression edited: it must
name what broke.
"""
import shutil
from pathlib import Path

import pytest

from minivae.site import equations, source
from minivae.site.equations import ENTRIES, lookup, parse_label, slug

REPO = Path(__file__).resolve().parents[2]


def test_twenty_one_equations_and_eight_figures_each_with_code_or_a_reason():
    labels = [e.label for e in ENTRIES]
    assert labels == [f"Eq. {n}" for n in range(1, 22)] + [f"Fig. {n}" for n in range(1, 9)]
    for e in ENTRIES:
        assert e.code or e.no_code, e.label
        assert e.text and e.section, e.label
        assert bool(e.latex) == e.label.startswith("Eq."), e.label     # every equation typeset
        assert e.lessons or e.no_code.startswith("prose only in the paper"), e.label


def test_eq_11_is_prose_only_and_says_why():
    (e,) = lookup("Eq. 11")
    assert not e.code and not e.lessons
    assert e.no_code.startswith("prose only in the paper: the sparse autoencoder")


def test_nothing_in_the_index_is_stale():
    assert source.problems(ENTRIES, repo=REPO) == []


def scratch_package(tmp_path):
    """A copy of the minivae package to break, as source.problems(root=...) reads it."""
    shutil.copytree(source.package_root() / "minivae", tmp_path / "minivae",
                    ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


def test_a_renamed_function_is_reported(tmp_path):
    root = scratch_package(tmp_path)
    losses = root / "minivae" / "losses.py"
    losses.write_text(losses.read_text().replace("def kl_normal(", "def kl_diagonal("))
    found = source.problems(ENTRIES, root=root)
    assert "Eq. 7: minivae/losses.py has no function kl_normal" in found
    assert all("kl_normal" in p or "Eq. 7" not in p for p in found)
    assert source.problems(ENTRIES, root=scratch_package(tmp_path / "clean")) == []


def test_an_edited_formula_is_reported(tmp_path):
    root = scratch_package(tmp_path)
    reparam = root / "minivae" / "reparam.py"
    text = reparam.read_text()
    assert "mu + std * eps" in text
    reparam.write_text(text.replace("mu + std * eps", "mu + log_var * eps"))
    found = source.problems(ENTRIES, root=root)
    assert any(p.startswith("Eq. 10: reparam_forward in minivae/reparam.py no longer holds")
               for p in found), found


def test_a_missing_test_lesson_or_exercise_is_reported(monkeypatch):
    broken = ENTRIES[6]._replace(tests=("tests/unit/test_losses.py::test_no_such_test",),
                                 lessons=("04_no_such_lesson",), exercise="ex99_none")
    found = source.problems([broken], repo=REPO)
    assert found == ["Eq. 7: no lesson 04_no_such_lesson", "Eq. 7: no exercise ex99_none",
                     "Eq. 7: no test tests/unit/test_losses.py::test_no_such_test"]
    assert source.problems([broken._replace(code=(), no_code="")], repo=None)[0] == \
        "Eq. 7: no code and no reason why"


@pytest.mark.parametrize("text, label", [
    ("Eq. 7", "Eq. 7"), ("eq7", "Eq. 7"), ("Equation 12", "Eq. 12"), (" fig. 4 ", "Fig. 4"),
    ("Figure 8", "Fig. 8"), ("kl_normal", None), ("Eq. x", None)])
def test_parse_label(text, label):
    assert parse_label(text) == label


def test_lookup_by_function_finds_every_entry_that_names_it():
    assert [e.label for e in lookup("kl_normal")] == ["Eq. 7"]
    assert [e.label for e in lookup("losses.kl_normal")] == ["Eq. 7"]
    assert [e.label for e in lookup("VAE.sample")] == ["Eq. 1", "Fig. 1", "Fig. 5", "Fig. 7"]
    assert [e.label for e in lookup("sample")] == ["Eq. 1", "Fig. 1", "Fig. 5", "Fig. 6", "Fig. 7", "Fig. 8"]
    assert lookup("Eq. 22") == () and lookup("no_such_function") == ()


def test_slug():
    assert [slug("Eq. 7"), slug("Fig. 4")] == ["eq-7", "fig-4"]
    assert len({slug(e.label) for e in equations.ENTRIES}) == len(equations.ENTRIES)
