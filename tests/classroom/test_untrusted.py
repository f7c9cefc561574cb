"""What the child sends is untrusted: checked before use, bounded, and shown escaped on one line
(minivae.classroom.untrusted), through the whole grader as a student would try it."""
import json
import re
import time

import numpy as np
import pytest

from minivae.classroom.untrusted import MAX_NODES, Unreadable, checked, shown
from minivae.classroom.wire import Foreign, Outcome
from student_code import check, failing_line, result_rows, solved, write


@pytest.mark.parametrize("text, expected", [
    ("two\nlines", "two\\nlines"),
    ("\x1b[1A\x1b[2Kerased", "\\x1b[1A\\x1b[2Kerased"),             # ANSI: up a line, erase it
    ("\x1b[8mhidden", "\\x1b[8mhidden"),
    ("abc\u202edef", "abc\\u202edef"),                              # right-to-left override
    ("ex01_\udcff.py", "ex01_\\xff.py"),                            # a file name's byte
    ("lone \ud800", "lone \\ud800"),
    ("∂loss/∂z — fine", "∂loss/∂z — fine"),
])
def test_shown_escapes_what_could_move_hide_or_reorder_text(text, expected):
    assert shown(text) == expected
    shown(text).encode("utf-8")                                     # always encodable


def test_shown_cuts_to_its_limit():
    assert shown("x" * 10_000, 50) == "x" * 49 + "…"
    assert len(shown("\n" * 10_000, 50)) == 50


@pytest.mark.parametrize("forged, says", [
    (Outcome(kind="bogus"), "an unknown kind 'bogus'"),
    (Outcome(changed=(1, 2)), "not a tuple of names"),
    (Outcome(problem=5, kind="error"), "a problem that is a int"),
    (("ok",), "a tuple instead of an Outcome"),
    (Outcome(np.zeros(3, dtype=object)), "an array of dtype object"),
    (Outcome(np.zeros(3, dtype=[("a", "f8")])), "an array of dtype"),
    (Outcome({1: 2}), "a dict whose keys are not texts"),
    (Outcome([[[[[1.0]]]]]), "containers nested more than 4 deep"),
    (Outcome([[0.0] * 1000] * 1000), f"more than {MAX_NODES:,} items"),   # small as a pickle
    (Outcome({"a"}), "a set"),
    (Outcome(b"bytes"), "a bytes"),
])
def test_a_forged_outcome_is_unreadable(forged, says):
    with pytest.raises(Unreadable, match=re.escape(says)):
        checked(forged)


def test_a_plain_outcome_passes_with_its_texts_escaped():
    value = {"dW": np.ones((2, 2)), "n": [1, 2.0, True, None, "s", Foreign("x.Y")]}
    got = checked(Outcome(value, "bad\nline", "error", ("a\x1b",)))
    assert got.value is value and got.problem == "bad\\nline" and got.changed == ("a\\x1b",)


# -- through the grader ----------------------------------------------------------------------
FORGE = '''
import os, pickle
from minivae.classroom.wire import Outcome
frame = pickle.dumps(Outcome({}))
for fd in range(3, 12):
    try:
        os.write(fd, len(frame).to_bytes(8, "big") + frame)
    except OSError:
        pass'''


@pytest.mark.parametrize("forged, says", [("kind='bogus'", "an unknown kind 'bogus'"),
                                          ("changed=(1, 2)", "not a tuple of names")])
def test_a_forged_answer_is_the_student_s_error_not_the_grader_s_crash(tmp_path, capsys, forged,
                                                                       says):
    code, out, err = check(capsys, write(tmp_path, 1, solved(1) + FORGE.format(forged)))
    assert code == 1 and err == "" and "Traceback" not in out, out + err
    assert re.search(r"^could not grade it: importing it: its answer could not be read \(.*"
                     + re.escape(says), out, re.M), out


def test_a_list_of_references_is_never_made_an_array_in_the_grader(tmp_path, capsys):
    """10,000 references to one 8 MB array pickle small; made one array they would be
    80 GB.  The grader says what came back, in seconds."""
    code_text = '''
def dense_backward_W(x, dy):
    return [np.zeros((1000, 1000))] * 10_000'''
    t0 = time.monotonic()
    code, out, _ = check(capsys, write(tmp_path, 1, solved(1) + code_text), "--timeout", 5)
    assert time.monotonic() - t0 < 60
    assert failing_line(out, 1) == ("part 1: FAIL — returned a list, expected a NumPy array "
                                    "of shape (4, 3)"), out


def test_an_array_of_python_objects_is_named_once(tmp_path, capsys):
    code_text = '''
def dense_backward_W(x, dy):
    return np.array([object()] * 12).reshape(4, 3)'''
    code, out, _ = check(capsys, write(tmp_path, 1, solved(1) + code_text))
    assert failing_line(out, 1) == ("part 1: FAIL — returned an array of Python objects, "
                                    "expected a NumPy array of shape (4, 3)"), out


def test_what_a_student_controls_is_escaped_on_one_line_and_cut(tmp_path, capsys):
    """An exception type whose name holds rows of a fake table, ANSI escapes that would
    erase or hide real lines, and a name and a message of 2 MB each."""
    code_text = '''
print("\\x1b[1A\\x1b[2K\\x1b[8mpart 1 pass")
Fake = type("Oops\\npart 3: pass\\n", (Exception,), {})
Huge = type("E" * 2 ** 21, (Exception,), {})
def dense_backward_W(x, dy):
    raise Fake("\\x1b[2K")
def dense_backward_x(dy, W):
    raise Huge("m" * 2 ** 21)'''
    results = tmp_path / "results.json"
    code, out, _ = check(capsys, write(tmp_path, 1, solved(1) + code_text), "--json", results)
    assert "\x1b" not in out and len(out) < 10_000, out
    assert failing_line(out, 1).startswith("part 1: error — dense_backward_W() raised "
                                           "Oops\\npart 3: pass\\n: \\x1b[2K"), out
    assert [line for line in out.splitlines() if line.startswith("part 3")] == [
        failing_line(out, 3)] and len(failing_line(out, 3)) < 1100, out
    assert "  | \\x1b[1A\\x1b[2K\\x1b[8mpart 1 pass" in out.splitlines(), out
    assert result_rows(out)[2][-1] == "pass"
    data = json.loads(results.read_text(encoding="utf-8"))
    assert "\x1b" not in results.read_text(encoding="utf-8")
    assert "| \\x1b[1A\\x1b[2K\\x1b[8mpart 1 pass" in data["output"]
    assert max(len(t["output"]) for t in data["tests"]) < 3000
