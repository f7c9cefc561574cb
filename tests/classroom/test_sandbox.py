"""Hostile and careless files cannot turn into a pass or a hang: each student file runs in a
child process, each part under a time limit, and the grader in this process decides.

Every file below is a correct solution of exercise 1 (so every part it does not
break passes) with something hostile or careless added, as students write it.
"""
import json
import re
import time

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


def test_a_thread_the_student_started_does_not_hold_up_the_grade(tmp_path, capsys):
    code_text = """
import threading, time
threading.Thread(target=lambda: time.sleep(600)).start()       # not a daemon"""
    t0 = time.monotonic()
    code, out, _ = check(capsys, write(tmp_path, 1, solved(1) + code_text))
    assert code == 0 and time.monotonic() - t0 < 60, out         # the child is killed, not awaited


# each: how a student's code would start a process that outlives the grading
ESCAPES = {
    "a new session": 'subprocess.Popen(["sleep", "600"], start_new_session=True)',
    "a fork": "os.fork()",
    "a shell": 'os.system("sleep 600 &")',
    "an exec": 'os.execv("/bin/sleep", ["sleep", "600"])',
    "libc's fork": "ctypes.CDLL(None).fork()",
    "libc's syscall": "ctypes.CDLL(None).syscall(57)",
}


@pytest.mark.parametrize("how", ESCAPES)
def test_no_process_is_started_to_outlive_the_grader(tmp_path, capsys, how):
    code_text = f"""
import ctypes, os, subprocess
def dense_backward_b(dy):
    {ESCAPES[how]}
    return dy.sum(axis=0)"""
    code, out, _ = check(capsys, write(tmp_path, 1, solved(1) + code_text), "--timeout", 5)
    assert failing_line(out, 2).startswith(
        "part 2: error — dense_backward_b() raised PermissionError: starting another process "
        "is not allowed in a graded file"), out
    assert result_rows(out)[1][-1] == result_rows(out)[3][-1] == "pass", out


def test_the_grader_cannot_be_killed_and_its_results_json_is_its_own(tmp_path, capsys):
    """A forged results.json, then the grader killed: the kill is refused, and the grader
    writes results.json last, atomically, over the forgery."""
    results = tmp_path / "results.json"
    code_text = f"""
import json, os
json.dump({{"score": 100.0, "tests": []}}, open({str(results)!r}, "w"))
os.kill(os.getppid(), 9)"""
    code, out, _ = check(capsys, write(tmp_path, 1, solved(1) + code_text), "--json", results)
    assert "importing it raised PermissionError: signalling another process is not allowed" \
        in out, out
    data = json.loads(results.read_text())
    assert data["score"] == 0 and len(data["tests"]) == 3


def test_the_child_runs_in_its_own_session_under_limits(tmp_path, capsys):
    code_text = """
import os, resource
print("session", os.getsid(0) == os.getpid())
for name in ("RLIMIT_AS", "RLIMIT_NPROC", "RLIMIT_FSIZE"):
    print(name, resource.getrlimit(getattr(resource, name)))
try:
    resource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY,) * 2)
except PermissionError as e:
    print(e)"""
    for memory, limit in ((None, 2 * 2 ** 30), ("0.5", 2 ** 29)):
        flags = ["--memory", memory] if memory else []
        code, out, _ = check(capsys, write(tmp_path, 1, solved(1) + code_text), *flags)
        assert code == 0, out
        printed = [line[4:] for line in out.splitlines() if line.startswith("  | ")]
        assert printed == ["session True", f"RLIMIT_AS ({limit}, {limit})", "RLIMIT_NPROC (0, 0)",
                           f"RLIMIT_FSIZE ({2 ** 26}, {2 ** 26})",
                           "changing the resource limits is not allowed in a graded file"], out
