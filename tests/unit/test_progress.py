"""A progress bar interrupted while it is being built leaves no traceback behind."""

import gc
import sys

import pytest
from tqdm import tqdm

from minivae.progress import ProgressBar


def interrupted_while_built(cls, monkeypatch):
    """Build a `cls` bar with a KeyboardInterrupt raised inside its __init__; the unraisables."""
    unraisable = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)

    def interrupt(*args):       # where Ctrl-C landed in the CI run: before `pos` is set
        raise KeyboardInterrupt

    monkeypatch.setattr(tqdm, "_get_free_pos", interrupt)
    with pytest.raises(KeyboardInterrupt):
        cls(total=3, file=sys.stderr)
    gc.collect()
    return unraisable


def test_tqdm_itself_prints_a_traceback_when_interrupted_in_init(monkeypatch):
    """The failure ProgressBar exists for (if tqdm fixes it, ProgressBar can go)."""
    unraisable = interrupted_while_built(tqdm, monkeypatch)
    assert [type(u.exc_value) for u in unraisable] == [AttributeError]


def test_progress_bar_interrupted_in_init_is_silent(monkeypatch):
    assert interrupted_while_built(ProgressBar, monkeypatch) == []


def test_progress_bar_still_closes_and_counts(capsys):
    with ProgressBar(total=4, file=sys.stderr, mininterval=0) as bar:
        bar.update(4)
    assert bar.n == 4
    assert "4/4" in capsys.readouterr().err
