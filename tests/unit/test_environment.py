"""Every environment variable minivae reads, given values it must refuse (minivae/environment.py).

A value minivae does not understand is an error naming the variable and what
it accepts, never a silent default.  The variables read while `import
minivae` runs stop `python -m minivae` with one line and exit status 2 (and
make a plain import raise); the others raise where they are read.  Values
that must be accepted are checked too, so a reader that refused everything
would fail here.
"""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import minivae
from minivae import environment
from minivae.classroom import lesson
from minivae.data import find_mnist
from minivae.errors import EnvironmentVariableError

PACKAGE = Path(minivae.__file__).parent


def _start(code_or_args, **env):
    full = {**os.environ, "MPLBACKEND": "Agg", **env}
    argv = ["-c", code_or_args] if isinstance(code_or_args, str) else list(code_or_args)
    return subprocess.Popen([sys.executable, *argv], env=full, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


# --- read while `import minivae` runs: the command line's one line -----------------------
AT_IMPORT = [
    ("MINIVAE_BACKEND", "fortran", "numpy or numba"),
    ("NUMBA_DISABLE_JIT", "yes", "a whole number"),
    ("NUMBA_DISABLE_JIT", "", "a whole number"),               # numba: a warning with a traceback
    ("NUMBA_NUM_THREADS", "0", ">= 1"),                          # numba: a traceback
    ("NUMBA_CACHE_DIR", "FILE", "is a file"),                     # numba: silently elsewhere
]


def test_a_bad_value_read_at_import_stops_the_command_line_in_one_line(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("x")
    procs = [(name, value, words,
              _start(["-m", "minivae", "gradcheck"],
                     **{name: str(afile) if value == "FILE" else value}))
             for name, value, words in AT_IMPORT]
    for name, value, words, proc in procs:
        out, err = proc.communicate(timeout=120)
        lines = err.strip().splitlines()
        assert proc.returncode == 2 and out == "", (name, value, proc.returncode, err)
        assert len(lines) == 1 and "Traceback" not in err and "Warning" not in err, (name, err)
        assert lines[0].startswith(f"minivae: error: environment variable {name}="), lines[0]
        assert words in lines[0], (name, lines[0])


def test_a_library_import_raises_one_clear_exception():
    proc = _start("import minivae", NUMBA_DISABLE_JIT="on")
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 1
    assert err.count("Traceback") == 1 and "During handling" not in err
    assert err.strip().splitlines()[-1].startswith(
        "minivae.errors.EnvironmentVariableError: environment variable NUMBA_DISABLE_JIT='on'")


# --- read when a run starts: the thread variables (kernels/threads.py) -----------------
WHEN_A_RUN_STARTS = [
    ("OPENBLAS_THREAD_TIMEOUT", "16abc", "a whole number"),     # atoi would read 16
    ("OPENBLAS_THREAD_TIMEOUT", "-5", "a whole number"),        # OpenBLAS: its default, not a nap
    ("OPENBLAS_NUM_THREADS", "two", "a whole number"),
    ("OMP_NUM_THREADS", "1.5", "a whole number"),
]


def test_a_bad_thread_variable_stops_train_in_one_line(tmp_path, mnist_dir):
    procs = [(name, value, words,
              _start(["-m", "minivae", "train", "--preset", "pytorch-example", "--epochs", "1",
                      "--subset", "200", "--test-subset", "100", "--no-images", "--quiet",
                      "--data", str(mnist_dir), "--out", str(tmp_path / f"run{i}")],
                     **{name: value}))
             for i, (name, value, words) in enumerate(WHEN_A_RUN_STARTS)]
    for name, value, words, proc in procs:
        out, err = proc.communicate(timeout=120)
        lines = err.strip().splitlines()
        assert proc.returncode == 2, (name, value, proc.returncode, err)
        assert len(lines) == 1 and "Traceback" not in err, (name, err)
        assert f"environment variable {name}={value!r}" in lines[0] and words in lines[0], lines


# --- read where they are used ----------------------------------------------------------
@pytest.mark.parametrize("value, words", [(" ", "the path of the folder"), ("FILE", "is a file")])
def test_minivae_data(monkeypatch, tmp_path, value, words):
    (tmp_path / "afile").write_text("x")
    monkeypatch.setenv("MINIVAE_DATA", str(tmp_path / "afile") if value == "FILE" else value)
    with pytest.raises(EnvironmentVariableError, match=f"MINIVAE_DATA=.*{words}"):
        find_mnist(download=False)


@pytest.mark.parametrize("value", ["foo", "ftp//x", "http://a http://b"])
def test_minivae_mnist_mirror(monkeypatch, tmp_path, value):
    monkeypatch.setenv("MINIVAE_MNIST_MIRROR", value)
    with pytest.raises(EnvironmentVariableError, match="MINIVAE_MNIST_MIRROR=.*http://, https://"):
        find_mnist(tmp_path / "empty")
    assert not (tmp_path / "empty").exists()            # refused before making anything


@pytest.mark.parametrize("value, quick", [("1", True), ("yes", True), ("ON", True), ("0", False),
                                          ("false", False), ("off", False), ("", False)])
def test_minivae_quick_accepts(monkeypatch, tmp_path, value, quick):
    monkeypatch.setenv("MINIVAE_QUICK", value)
    assert lesson.parse_args("doc", argv=["--out", str(tmp_path)]).quick is quick


@pytest.mark.parametrize("value", ["2", "maybe", "quick"])
def test_minivae_quick_refuses(monkeypatch, tmp_path, capsys, value):
    """In a script: one line on stderr, exit status 2 (not "false" read as on)."""
    monkeypatch.setenv("MINIVAE_QUICK", value)
    with pytest.raises(SystemExit) as stop:
        lesson.parse_args("doc", argv=["--out", str(tmp_path)])
    assert stop.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"environment variable MINIVAE_QUICK={value!r}")
    assert "1 or 0" in err[0]


@pytest.mark.parametrize("value, words", [("--seed x", "argument --seed: invalid int value"),
                                          ("--seed 'x", "No closing quotation")])
def test_minivae_args_in_a_notebook(monkeypatch, value, words):
    """In a notebook the error is raised, so the cell shows it (not IPython's exit warning)."""
    monkeypatch.setattr(lesson, "in_notebook", lambda: True)
    monkeypatch.setenv("MINIVAE_ARGS", value)
    with pytest.raises(EnvironmentVariableError, match=f"MINIVAE_ARGS=.*{words}"):
        lesson.parse_args("doc")


def test_minivae_args_flags_a_lesson_lacks_are_skipped(monkeypatch, tmp_path):
    monkeypatch.setattr(lesson, "in_notebook", lambda: True)
    monkeypatch.setenv("MINIVAE_ARGS", f"--epochs 3 --seed 7 --out {tmp_path}")
    assert lesson.parse_args("doc").seed == 7


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("notebook", [False, True])
def test_a_lesson_takes_backend_and_names_it_in_its_first_line(monkeypatch, tmp_path, capsys,
                                                                backend, notebook):
    """--backend, on the command line or in $MINIVAE_ARGS, does what MINIVAE_BACKEND does,
    and parse_args' line is the lesson's first: the backend, and how to read the NumPy lines."""
    from minivae import kernels
    if backend not in kernels.available_backends():
        pytest.skip("numba is not importable")
    monkeypatch.setattr(lesson, "in_notebook", lambda: notebook)
    monkeypatch.setenv("MINIVAE_ARGS", f"--backend {backend} --out {tmp_path}")
    before = kernels.get_backend()
    kernels.set_backend("numba" if backend == "numpy" and "numba" in kernels.available_backends()
                        else "numpy")
    try:
        lesson.parse_args("doc", argv=None if notebook else ["--backend", backend, "--out",
                                                             str(tmp_path)])
        assert kernels.get_backend() == backend
    finally:
        kernels.set_backend(before)
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith(f"backend {backend}: ") and "NumPy lines" in first, first


def test_mplbackend():
    proc = _start("from minivae.environment import import_matplotlib; import_matplotlib()",
                  MPLBACKEND="nonsense")
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 1
    assert ("EnvironmentVariableError: environment variable MPLBACKEND='nonsense' is not "
            "understood; it accepts a matplotlib backend") in err


# --- the list is complete --------------------------------------------------------------
PRESENCE_ONLY = {"DISPLAY", "WAYLAND_DISPLAY"}      # set or not: any value is understood
READS = [r"environ(?:\.get)?[\[(]\s*\"([A-Z][A-Z0-9_]+)\"",
         r"environment\.\w+\(\s*\"([A-Z][A-Z0-9_]+)\"",
         r"\b\w*ENV\w* = \"([A-Z][A-Z0-9_]+)\"",
         r"\bQUICK_ENV, ARGS_ENV = \"([A-Z_]+)\", \"([A-Z_]+)\""]


def test_every_variable_minivae_reads_is_in_the_table():
    """environment.py's docstring lists every variable a module of the package reads
    (except bench, which only sets them for the processes it starts)."""
    table = set(re.findall(r"^    ([A-Z][A-Z0-9_]+) +\S", environment.__doc__, re.M))
    read = set()
    for path in PACKAGE.rglob("*.py"):
        if path.name == "bench.py":
            continue
        text = path.read_text(encoding="utf-8")
        for pattern in READS:
            for match in re.findall(pattern, text):
                read.update([match] if isinstance(match, str) else match)
    assert {"MINIVAE_BACKEND", "MINIVAE_QUICK", "NUMBA_DISABLE_JIT"} <= read     # the scan works
    assert read - PRESENCE_ONLY <= table, sorted(read - PRESENCE_ONLY - table)


def test_unencodable_output_is_escaped(tmp_path):
    """Under an ASCII-only locale a lesson's Unicode prints escaped instead of crashing."""
    script = tmp_path / "lesson.py"                 # a file: -c text would be decoded as ASCII
    script.write_text("from minivae.classroom import lesson; import sys\n"
                      f"lesson.parse_args('d', argv=['--out', {str(tmp_path)!r}])\n"
                      "print('KL = ½ Σ (μ² + σ² − 1 − log σ²) ± 0')\n"
                      "print('ε ~ N(0, I)', file=sys.stderr)\n", encoding="utf-8")
    proc = _start([script], LC_ALL="C", PYTHONUTF8="0", PYTHONIOENCODING="")
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    backend_line, out = out.split("\n", 1)         # parse_args names the backend first
    assert backend_line.startswith("backend ")
    assert out == "KL = \\xbd \\u03a3 (\\u03bc\\xb2 + \\u03c3\\xb2 \\u2212 1 \\u2212 log \\u03c3\\xb2) \\xb1 0\n"
    assert err == "\\u03b5 ~ N(0, I)\n"
