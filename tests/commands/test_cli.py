"""The train / sample / evaluate commands, run as a user runs them (subprocesses).

User errors must end with exit status 2 and exactly one line on stderr, no
traceback.  The independent error cases start together to keep this file fast.
"""
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from minivae.files.checkpoint import read_meta
from minivae.commands.cli import BUG, main
from minivae.errors import ArgumentError


def _env(**extra):
    env = {**os.environ, "MPLBACKEND": "Agg", "OPENBLAS_NUM_THREADS": "1", **extra}
    env.pop("MINIVAE_DATA", None)
    return env


def _start(args, env):
    return subprocess.Popen([sys.executable, "-m", "minivae", *map(str, args)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(proc, timeout=120):
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def _run(args, env=None, timeout=120):
    return _finish(_start(args, env or _env()), timeout)


def test_user_errors_exit_2_with_one_line_and_no_traceback(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    junk = tmp_path / "junk.npz"
    junk.write_bytes(np.random.default_rng(0).bytes(3000))
    np.savez(tmp_path / "foreign.npz", a=np.zeros(2))
    # no MNIST anywhere and a mirror that refuses at once: downloading must fail fast
    env = _env(MINIVAE_MNIST_MIRROR="http://127.0.0.1:9/")
    cases = {
        "epochs 0": (["train", "--epochs", "0"], "epochs must be a positive integer"),
        "negative lr": (["train", "--preset", "doersch", "--lr", "-1"], "lr must lie in (0, inf)"),
        "missing data": (["train", "--data", empty, "--out", tmp_path / "r"], "MNIST is not available"),
        "junk checkpoint": (["evaluate", "--checkpoint", junk], "not a checkpoint: the file does not start"),
        "foreign checkpoint": (["sample", "--checkpoint", tmp_path / "foreign.npz"], "lacks 'format'"),
        "missing checkpoint": (["train", "--resume", tmp_path / "none.npz"], "no such checkpoint"),
    }
    procs = {name: _start(args, env) for name, (args, _) in cases.items()}
    for name, proc in procs.items():
        code, out, err = _finish(proc)
        lines = err.strip().splitlines()
        assert code == 2, (name, code, err)
        assert len(lines) == 1 and "Traceback" not in err, (name, err)
        assert cases[name][1] in lines[0], (name, lines[0])
        assert re.match(r"minivae (train|sample|evaluate): error: ", lines[0]), lines[0]


@pytest.mark.parametrize("argv, words", [
    (["train", "--binarize", "often"], "binarize must be one of"),
    (["train", "--hidden", "400,x"], "--hidden must be comma-separated"),
    (["train", "--hidden", "400,,20"], "--hidden must be comma-separated"),
    (["train", "--hidden", "400,"], "--hidden must be comma-separated"),
    (["train", "--preset", "doersch", "--resume", "x.npz"], "do not go together"),
    (["evaluate", "--checkpoint", "x.npz", "--k", "-5"], "--k must be an integer >= 0"),
    (["evaluate", "--checkpoint", "x.npz", "--binarize", "yes"], "--binarize must be one of"),
    (["sample", "--checkpoint", "x.npz", "--n", "0"], "--n must be a positive integer"),
])
def test_more_flag_errors_in_process(argv, words, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and words in err[0], err


def test_ctrl_c_while_a_command_loads_exits_130_with_one_line(monkeypatch, capsys):
    """Ctrl-C before the command runs (its modules still importing) is no traceback."""
    def interrupted(name):
        raise KeyboardInterrupt
    monkeypatch.setattr("minivae.commands.cli.importlib.import_module", interrupted)
    assert main(["train", "--epochs", "1"]) == 130
    assert capsys.readouterr().err.splitlines() == ["minivae: interrupted"]


def test_train_evaluate_sample_resume(tmp_path, mnist_dir):
    run = tmp_path / "run"
    common = ["--data", mnist_dir, "--hidden", "16", "--z-dim", "3", "--batch-size", "50",
              "--subset", "200", "--test-subset", "100", "--seed", "2"]
    code, out, err = _run(["train", "--preset", "pytorch-example", "--epochs", "1", *common,
                           "--out", run])
    assert code == 0, err
    assert "departures" in out and "epoch 1/1" in out
    assert re.search(r"^backend (numpy|numba): .*NumPy lines", out, re.M), out    # it names it
    assert {"last.npz", "history.csv", "history.json", "loss_curve.png", "recon_epoch001.png",
            "samples_epoch001.png"} <= {p.name for p in run.iterdir()}
    ckpt = run / "last.npz"
    ev = _start(["evaluate", "--checkpoint", ckpt, "--k", "5", "--subset", "20", "--data", mnist_dir],
                _env())
    sa = _start(["sample", "--checkpoint", ckpt, "--out", tmp_path / "s.png", "--n", "12"], _env())
    bad = _start(["train", "--resume", ckpt, "--lr", "0.5"], _env())
    code, out, err = _finish(ev)
    assert code == 0, err
    elbo = float(re.search(r"test -ELBO\s+([\d.]+) nats", out).group(1))
    log_px = float(re.search(r"IS log P\(X\), k=5\s+(-[\d.]+) nats", out).group(1))
    assert -log_px < elbo + 0.5           # k = 5 already tightens the bound, up to noise
    assert _finish(sa)[0] == 0 and (tmp_path / "s.png").stat().st_size > 0
    code, _, err = _finish(bad)
    assert code == 2 and "lr=0.5 (checkpoint: 0.001)" in err
    code, out, err = _run(["train", "--resume", ckpt, "--epochs", "2", "--data", mnist_dir, "--quiet"])
    assert code == 0, err
    assert read_meta(ckpt)["epoch"] == 2


@pytest.mark.parametrize("error, code", [
    (TypeError("planted in run"), 1),
    (ValueError("operands could not be broadcast together"), 1),    # NumPy's, not minivae's
    (OSError(5, "Input/output error"), 1),
    (ArgumentError("--k must be an integer >= 0, got -5"), 2),
    (MemoryError("Unable to allocate 8.00 EiB"), 2),
])
def test_only_minivae_s_own_errors_are_one_line_a_bug_keeps_its_traceback(monkeypatch, capsys,
                                                                          error, code):
    """errors.USER_ERRORS (and a MemoryError) print as one line and exit 2; any other
    exception is a bug, in minivae or in code a reader edited: its whole traceback, then
    one line saying so, and exit status 1."""
    from minivae.commands import gradcheck

    def planted(args):
        raise error
    monkeypatch.setattr(gradcheck, "run", planted)
    assert main(["gradcheck"]) == code
    err = capsys.readouterr().err.strip().splitlines()
    if code == 2:
        assert len(err) == 1 and err[0].startswith("minivae gradcheck: error: "), err
        assert str(error) in err[0]
    else:
        assert err[0] == "Traceback (most recent call last):"
        assert err[-2] == f"{type(error).__name__}: {error}" and "in planted" in "\n".join(err)
        assert err[-1] == f"minivae gradcheck: {BUG}"


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_train_takes_backend_and_says_which_runs(backend, mnist_dir, tmp_path, capsys):
    """--backend does what MINIVAE_BACKEND does; the header names the backend, and on
    numba says that the twins were compiled (or loaded) before the first step."""
    from minivae import kernels
    if backend not in kernels.available_backends():
        pytest.skip("numba is not importable")
    before = kernels.get_backend()
    try:
        assert main(["train", "--backend", backend, "--data", str(mnist_dir), "--hidden", "8",
                     "--z-dim", "2", "--subset", "60", "--test-subset", "30", "--epochs", "1",
                     "--batch-size", "30", "--no-images", "--out", str(tmp_path / "run")]) == 0
        assert kernels.get_backend() == backend
    finally:
        kernels.set_backend(before)
    out = capsys.readouterr().out.splitlines()
    assert out[2].startswith(f"backend {backend}: ") and "NumPy lines" in out[2], out
    warmed = [line for line in out if line.startswith("the Numba twins for float32: compiled")]
    assert len(warmed) == (backend == "numba"), out


def test_a_clone_folder_in_the_current_folder_is_named_not_a_bug(tmp_path):
    """From the folder holding a clone named minivae, `python -m minivae` meets the
    clone as a namespace package (an editable install's finder comes after the
    current folder); the command must say so in one line, exit 2, not fail later
    with an ImportError called a bug."""
    clone = tmp_path / "minivae"
    (clone / "data").mkdir(parents=True)        # a clone's data/ folder: minivae.data
    probe = subprocess.run([sys.executable, "-c", "import minivae; print(minivae.__file__)"],
                           cwd=tmp_path, env=_env(), capture_output=True, text=True)
    if probe.stdout.strip() != "None":
        pytest.skip(f"this install's package is found before the current folder ({probe.stdout.strip()})")
    proc = subprocess.run([sys.executable, "-m", "minivae", "train", "--epochs", "1"], cwd=tmp_path,
                          env=_env(), capture_output=True, text=True, timeout=120)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, proc.stderr
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert f"the folder {clone} hides the installed minivae package" in lines[0], lines[0]


def test_the_installed_package_is_not_taken_for_a_shadowing_folder():
    import types
    import minivae
    from minivae.__main__ import shadowing_folder
    assert shadowing_folder(minivae) is None
    namespace = types.ModuleType("minivae")
    namespace.__path__ = ["/somewhere/minivae"]
    assert shadowing_folder(namespace) == "/somewhere/minivae"


@pytest.mark.parametrize("text, sizes", [("1000,500,250", (1000, 500, 250)), ("400, 20", (400, 20)),
                                         ("", ()), (" ", ())])
def test_hidden_sizes_are_read_as_written(text, sizes):
    from minivae.commands.train import _hidden
    assert _hidden(text) == sizes
