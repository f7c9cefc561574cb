"""Hostile and careless files cannot turn into a pass or a hang: each student file runs in a
child process, each part under a time limit, and the grader in this process decides.

Every file below is a correct solution of exercise 1 (so every part it does not
break passes) with something hostile or careless added, as students write it.
"""
import os
import re
import time
from pathlib import Path

import pytest

from student_code import check, failing_line, result_rows, solved, write

TIMEOUT = 2

# (what, code appended to a correct exercise 1, {part: expected text}; part 0: the whole file)
HOSTILE = [
    ("os._exit(0) at import", "import os\nos._exit(0)",
     {0: "importing it: the process ended with exit status 0 (os._exit()?)"}),
    ("sys.exit() at import", "import sys\nsys.exit(0)", {0: "importing it called exit()"}),
    ("input() at import", "name = input('your name? ')",
     {0: "importing it raised EOFError"}),
    ("a syntax error", "def dense_backward_W(x, dy)\n    return 1", {0: "syntax error"}),
    ("a missing module", "import numpi", {0: "importing it raised ModuleNotFoundError"}),
    ("null bytes", "\x00\x01", {0: "syntax error: source code string cannot contain null bytes"}),
    ("os._exit(0) in a part", "import os\ndef dense_backward_b(dy):\n    os._exit(0)",
     {2: "error — the process ended with exit status 0 (os._exit()?)"}),
    ("a segfault in a part", "import ctypes\ndef dense_backward_x(dy, W):\n"
                             "    return ctypes.string_at(0)",
     {3: "error — the process was killed by SIGSEGV"}),
    ("sys.exit() in a part", "import sys\ndef dense_backward_W(x, dy):\n    sys.exit(0)",
     {1: "error — dense_backward_W() raised SystemExit: 0"}),
    ("the child killed", "import os, signal\ndef dense_backward_W(x, dy):\n"
                         "    os.kill(os.getpid(), signal.SIGKILL)",
     {1: "error — the process was killed by SIGKILL"}),
    ("KeyboardInterrupt in a part", "def dense_backward_W(x, dy):\n    raise KeyboardInterrupt",
     {1: "error — dense_backward_W() raised KeyboardInterrupt"}),
    ("endless recursion", "def dense_backward_W(x, dy):\n    return dense_backward_W(x, dy)",
     {1: "error — dense_backward_W() raised RecursionError"}),
    ("an IndexError", "def dense_backward_b(dy):\n    return dy[7]",
     {2: "error — dense_backward_b() raised IndexError"}),
    ("no such function", "del dense_backward_x", {3: "error — the file defines no function "
                                                     "dense_backward_x()"}),
    ("an object not an array", "class Thing:\n    pass\ndef dense_backward_W(x, dy):\n"
                               "    return Thing()",
     {1: "FAIL — returned a minivae_student.Thing, expected a NumPy array of shape (4, 3)"}),
    ("printing forever", "def dense_backward_W(x, dy):\n    while True:\n        print('x' * 1000)",
     {1: "error — dense_backward_W() raised OSError"}),
    ("a forged answer that would run code", '''
import os, pickle
class Evil:
    def __reduce__(self):
        return (exec, ("open('PWNED', 'w').close()",))
frame = pickle.dumps(Evil())
for fd in range(3, 12):
    try:
        os.write(fd, len(frame).to_bytes(8, "big") + frame)
    except OSError:
        pass''', {0: "refused to build builtins.exec"}),
]


@pytest.mark.parametrize("what, code_text, expected", HOSTILE, ids=[h[0] for h in HOSTILE])
def test_a_hostile_file_never_passes(tmp_path, capsys, monkeypatch, what, code_text, expected):
    monkeypatch.chdir(tmp_path)                 # where a forged answer would write PWNED
    path = write(tmp_path, 1, solved(1) + code_text)
    code, out, err = check(capsys, path, "--timeout", TIMEOUT)
    assert code == 1, out
    assert "Traceback" not in out + err and err == "", out + err
    assert not (tmp_path / "PWNED").exists()
    if 0 in expected:
        assert re.search(r"^could not grade it: .*" + re.escape(expected[0]), out, re.M), out
        assert "passed 0 of 3 parts" in out
        return
    for part, text in expected.items():
        assert failing_line(out, part).startswith(f"part {part}: {text}"), out
    assert [p for p, row in result_rows(out).items() if row[-1] == "pass"] == \
        [p for p in (1, 2, 3) if p not in expected], out


@pytest.mark.parametrize("where", ["a part", "the import"])
def test_an_endless_loop_ends_within_the_time_limit(tmp_path, capsys, where):
    loop = "    while True:\n        pass" if where == "a part" else "while True:\n    pass"
    code_text = "def dense_backward_b(dy):\n" + loop if where == "a part" else loop
    t0 = time.monotonic()
    code, out, _ = check(capsys, write(tmp_path, 1, solved(1) + "\n" + code_text),
                         "--timeout", TIMEOUT)
    seconds = time.monotonic() - t0
    assert code == 1 and seconds < TIMEOUT + 8, (seconds, out)
    if where == "a part":       # the other parts still graded, by a new child
        assert failing_line(out, 2) == f"part 2: no answer in {TIMEOUT} s (an endless loop?)", out
        assert result_rows(out)[1][-1] == result_rows(out)[3][-1] == "pass", out
    else:
        assert f"could not grade it: importing it: no answer in {TIMEOUT} s (an endless loop?)" \
            in out, out


def test_printed_output_is_kept_apart_and_cut(tmp_path, capsys):
    code_text = '''
import os
for i in range(1000):
    print("debug", i)
os.write(1, b"written to file descriptor 1\\n")
_W = dense_backward_W
def dense_backward_W(x, dy):
    print("my dW has shape", x.shape)
    return _W(x, dy)'''
    code, out, err = check(capsys, write(tmp_path, 1, solved(1) + code_text))
    assert code == 0, out                       # printing is no mistake
    lines = out.splitlines()
    assert lines[-6] == "your code printed 1002 lines; the first 5 lines:", out
    assert lines[-5:] == [f"  | debug {i}" for i in range(5)]
    assert all(row[-1] == "pass" for row in result_rows(out).values()) and len(result_rows(out)) == 3


def test_what_a_student_started_is_stopped(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code_text = '''
import subprocess, threading, time
child = subprocess.Popen(["sleep", "600"])
open("sleeper.pid", "w").write(str(child.pid))
threading.Thread(target=lambda: time.sleep(600)).start()       # not a daemon'''
    code, out, _ = check(capsys, write(tmp_path, 1, solved(1) + code_text))
    assert code == 0, out                       # the grade does not wait for them
    pid = int(Path("sleeper.pid").read_text())
    Path("sleeper.pid").unlink()
    for _ in range(50):
        state = Path(f"/proc/{pid}/status")
        if not state.exists() or "State:\tZ" in state.read_text():
            break
        time.sleep(0.1)
    else:
        os.kill(pid, 9)
        pytest.fail("the student's subprocess outlived the grading")
