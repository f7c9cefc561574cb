"""Fuzzing every command with generated flag values (issue 13).

train, sample, evaluate, gradcheck and bench run in-process through
`minivae.commands.cli.main(argv)` on tiny settings, with one to three flags replaced
by generated values: numbers that are negative, zero, huge, NaN, inf or not
numbers at all, and paths that are missing, a file where a directory is
expected, a directory where a file is expected, unwritable, very long, or not
UTF-8.  Every run must end with exit status 0 or 2; an error is exactly one
line on stderr and no traceback; nothing may warn.  A handful of the same
cases run as real subprocesses at the end, and a run directory's last.npz
must survive every way a later `train` into it can fail.

Work is bounded: flags that set how much work is done (--epochs, --k, --n)
get huge values only where those are refused; `bench` always gets one value
it must refuse before it starts timing (its shortest run takes a minute).
"""
import os
import re
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from fuzz_strategies import FUZZ
from minivae import model as model_module
from minivae.files.checkpoint import load_checkpoint
from minivae.commands.cli import main

CLI = settings(FUZZ, max_examples=100)

NUMBERS = ["-1", "0", "nan", "inf", "-inf", "1e309", "abc", "", "1.5", "0x10", " 2", "1_0",
           "99999999999999999999", "-0", "1e-300"]
HUGE = ["100000000", "10" * 10]           # refused: memory, or more than there is
PATH_KINDS = ["fresh", "missing", "under-file", "file", "dir", "proc", "long", "non-utf8",
              "empty", "dev-null"]


@pytest.fixture(scope="module")
def place(tmp_path_factory):
    """A function kind -> path (str) for the PATH_KINDS, in a scratch directory."""
    root = tmp_path_factory.mktemp("cli")
    (root / "afile").write_text("not a directory")
    (root / "adir").mkdir()
    counter = iter(range(10**6))
    fixed = {
        "missing": root / "no" / "such" / "dir" / "x",
        "under-file": root / "afile" / "x",
        "file": root / "afile",
        "dir": root / "adir",
        "proc": Path("/proc/minivae-fuzz/x"),
        "long": root / ("a" * 300),
        "empty": Path(""),
        "dev-null": Path("/dev/null"),
    }

    def make(kind, suffix=""):
        if kind == "fresh":
            return str(root / f"fresh{next(counter)}{suffix}")
        if kind == "non-utf8":
            return os.fsdecode(os.fsencode(str(root)) + b"/\xff\xfe-" + str(next(counter)).encode()
                               + suffix.encode())
        return str(fixed[kind]) + (suffix if kind in ("missing", "under-file", "long", "proc")
                                   else "")
    make.root = root
    return make


@pytest.fixture(scope="module")
def ckpt(place, mnist_dir):
    """A real checkpoint of a tiny VAE (784-8-2) after one epoch on 60 digits."""
    out = place("fresh")
    code = main(["train", "--data", str(mnist_dir), "--hidden", "8", "--z-dim", "2", "--subset", "60",
                 "--test-subset", "30", "--epochs", "1", "--batch-size", "30", "--no-images",
                 "--quiet", "--out", out])
    assert code == 0
    return Path(out) / "last.npz"


@pytest.fixture
def cli_env(monkeypatch, place):
    """Runs in the scratch directory (a path "" means the cwd), no MNIST download."""
    monkeypatch.chdir(place.root)
    monkeypatch.setenv("MINIVAE_MNIST_MIRROR", "http://127.0.0.1:9/")
    monkeypatch.setenv("MPLBACKEND", "Agg")


def run_cli(argv, capsys):
    """main(argv) in-process, warnings as errors -> (exit status, stdout, stderr)."""
    capsys.readouterr()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            code = main(argv)
        except SystemExit as e:          # argparse: --help, or a flag it cannot parse
            code = e.code
    out, err = capsys.readouterr()
    return code, out, err


def message_lines(err):
    """stderr's lines without progress bars (tqdm redraws with carriage returns)."""
    lines = (line.split("\r")[-1].strip() for line in err.split("\n"))
    return [line for line in lines if line]


def assert_clean(argv, code, err):
    lines = message_lines(err)
    assert code in (0, 2), (argv, code, err)
    assert "Traceback" not in err, (argv, err)
    if code == 2:
        assert len(lines) == 1 and lines[0].startswith("minivae"), (argv, err)
        assert re.match(r"minivae( \w+)?: error: \S", lines[0]), (argv, lines[0])
    else:
        assert lines == [], (argv, err)


@st.composite
def overrides(draw, flags):
    """1–3 (flag, value) pairs; flags maps a flag to the strategy of its values."""
    chosen = draw(st.lists(st.sampled_from(sorted(flags)), min_size=1, max_size=3, unique=True))
    return [(f, draw(flags[f])) for f in chosen]


def _argv(base, pairs, place):
    argv = list(base)
    for flag, value in pairs:
        if isinstance(value, tuple):        # ("path", kind[, suffix])
            value = place(*value[1:])
        argv += [flag] if value is None else [flag, value]   # argparse: the last one counts
    return argv


numbers = st.sampled_from(NUMBERS)
paths = st.sampled_from(PATH_KINDS).map(lambda k: ("path", k))
png_paths = st.sampled_from(PATH_KINDS).map(lambda k: ("path", k, ".png"))
texts = st.sampled_from(["", "x", "none", "float16", "gaussian", "bernoulli", "sgd", "adam",
                         "dynamic", "threshold", "sparse", "\xff", "-1"])


# --- train ------------------------------------------------------------------------
def train_base(mnist_dir, place):
    return ["train", "--data", str(mnist_dir), "--hidden", "8", "--z-dim", "2", "--subset", "60",
            "--test-subset", "30", "--epochs", "1", "--batch-size", "30", "--no-images",
            "--quiet", "--out", place("fresh")]


TRAIN_FLAGS = {
    "--epochs": st.sampled_from(["-1", "0", "nan", "inf", "abc", "", "2", "1e3"]),
    "--batch-size": st.sampled_from(NUMBERS + HUGE),
    "--lr": st.sampled_from(NUMBERS + ["50", "1e30"]),
    "--z-dim": st.sampled_from(NUMBERS + HUGE),
    "--hidden": st.sampled_from(["0", "-1", "abc", "", ",", "8,8", "8,,8", "1e3", "100000000",
                                 "8,100000000", "nan"]),
    "--sigma": numbers, "--beta1": numbers, "--beta2": numbers, "--momentum": numbers,
    "--weight-decay": numbers, "--seed": st.sampled_from(NUMBERS + HUGE),
    "--subset": st.sampled_from(NUMBERS + HUGE), "--test-subset": st.sampled_from(NUMBERS + HUGE),
    "--eval-every": st.sampled_from(NUMBERS + HUGE),
    "--likelihood": texts, "--binarize": texts, "--init": texts, "--optimizer": texts,
    "--dtype": texts, "--preset": st.sampled_from(["doersch", "pytorch-example", "x", ""]),
    "--data": paths, "--out": paths, "--resume": st.sampled_from(
        [("path", k) for k in PATH_KINDS] + [("ckpt",)]),
    "--no-images": st.just(None), "--bogus": st.just("1"),
}


@CLI
@given(pairs=overrides(TRAIN_FLAGS))
def test_train_flags(pairs, capsys, cli_env, place, mnist_dir, ckpt):
    pairs = [(f, str(ckpt) if v == ("ckpt",) else v) for f, v in pairs]
    if any(f == "--no-images" for f, _ in pairs):     # images on: one more writer to test
        base = [a for a in train_base(mnist_dir, place) if a != "--no-images"]
        pairs = [p for p in pairs if p[0] != "--no-images"]
    else:
        base = train_base(mnist_dir, place)
    argv = _argv(base, pairs, place)
    code, out, err = run_cli(argv, capsys)
    assert_clean(argv, code, err)
    event(f"exit {code}")


# --- sample and evaluate --------------------------------------------------------------
CHECKPOINTS = st.sampled_from([("path", k) for k in PATH_KINDS] + [("ckpt",), ("junk",)])


def _checkpoint_value(v, ckpt, place):
    if v == ("ckpt",):
        return str(ckpt)
    if v == ("junk",):
        p = Path(place("fresh"))
        p.write_bytes(b"PK\x03\x04" + bytes(range(256)) * 4)
        return str(p)
    return v


@CLI
@given(pairs=overrides({"--checkpoint": CHECKPOINTS, "--out": png_paths,
                        "--n": st.sampled_from(["-1", "0", "1", "3", "abc", "nan", "", "10" * 6]),
                        "--seed": st.sampled_from(NUMBERS + HUGE), "--bogus": st.just("1")}))
def test_sample_flags(pairs, capsys, cli_env, place, ckpt):
    pairs = [(f, _checkpoint_value(v, ckpt, place)) for f, v in pairs]
    argv = _argv(["sample", "--checkpoint", str(ckpt), "--n", "4", "--out", place("fresh", ".png")],
                 pairs, place)
    code, out, err = run_cli(argv, capsys)
    assert_clean(argv, code, err)
    event(f"exit {code}")


@CLI
@given(pairs=overrides({"--checkpoint": CHECKPOINTS, "--data": paths,
                        "--k": st.sampled_from(["-1", "0", "1", "3", "abc", "nan", "", "1e3"]),
                        "--binarize": texts, "--subset": st.sampled_from(NUMBERS + HUGE),
                        "--seed": st.sampled_from(NUMBERS + HUGE),
                        "--batch-size": st.sampled_from(NUMBERS + HUGE), "--bogus": st.just("1")}))
def test_evaluate_flags(pairs, capsys, cli_env, place, ckpt, mnist_dir):
    pairs = [(f, _checkpoint_value(v, ckpt, place)) for f, v in pairs]
    argv = _argv(["evaluate", "--checkpoint", str(ckpt), "--data", str(mnist_dir), "--k", "2",
                  "--subset", "20"], pairs, place)
    code, out, err = run_cli(argv, capsys)
    assert_clean(argv, code, err)
    event(f"exit {code}")


# --- gradcheck and bench --------------------------------------------------------------
def test_gradcheck_runs_and_refuses_stray_arguments(capsys):
    code, out, err = run_cli(["gradcheck"], capsys)
    assert code == 0 and "0 failed" in out and err == ""
    for extra in (["--bogus"], ["1"], ["--quick", "nan"], ["\udcff"]):
        argv = ["gradcheck", *extra]
        code, out, err = run_cli(argv, capsys)
        assert_clean(argv, code, err)
        assert code == 2


BENCH_REFUSED = {          # each of these must stop bench before it starts timing
    "--steps": st.sampled_from(["-1", "0", "nan", "inf", "abc", "", "1.5"]),
    "--repeats": st.sampled_from(["-1", "0", "nan", "abc", ""]),
    "--warmup-epochs": st.sampled_from(["-1", "nan", "abc", ""]),
    "--presets": st.sampled_from(["x", "", "doersch,x"]),
    "--torch": st.sampled_from(["on", "", "x"]),
    "--bogus": st.just("1"),
}
BENCH_ANY = {"--json": paths, "--data": paths, "--quick": st.just(None),
             "--steps": st.sampled_from(["1", "10" * 10]), "--repeats": st.sampled_from(["1", "3"])}


@CLI
@given(refused=overrides(BENCH_REFUSED), other=overrides(BENCH_ANY))
def test_bench_flags(refused, other, capsys, cli_env, place):
    argv = _argv(["bench"], other + refused, place)      # the refused values come last: they count
    code, out, err = run_cli(argv, capsys)
    assert_clean(argv, code, err)
    assert code == 2, argv


# --- nothing is lost ----------------------------------------------------------------------
@pytest.fixture
def run_dir(tmp_path, mnist_dir, capsys, cli_env):
    """A run directory after one epoch, and the bytes of its last.npz."""
    d = tmp_path / "run"
    base = ["train", "--data", str(mnist_dir), "--hidden", "8", "--z-dim", "2", "--subset", "60",
            "--test-subset", "30", "--epochs", "1", "--batch-size", "30", "--no-images", "--quiet",
            "--out", str(d)]
    assert run_cli(base, capsys)[0] == 0
    return d, (d / "last.npz").read_bytes()


def _diverge_on_call(monkeypatch, n, error):
    real, calls = model_module.VAE.loss_and_grads, [0]

    def patched(self, x, eps, copy=True):
        calls[0] += 1
        if calls[0] >= n:
            raise error
        return real(self, x, eps, copy)
    monkeypatch.setattr(model_module.VAE, "loss_and_grads", patched)


@pytest.mark.parametrize("how", ["bad flag", "other settings", "missing data", "fresh run",
                                 "diverges", "interrupted", "terminated", "disk full", "no room",
                                 "in use", "another run's checkpoint"])
def test_a_failed_train_keeps_the_last_checkpoint(how, run_dir, capsys, monkeypatch, mnist_dir,
                                                  ckpt):
    from minivae.errors import NonFiniteError, Terminated
    from minivae.files import run_folder
    from minivae.files.run_lock import RunLock
    d, before = run_dir
    own = d / "last.npz"
    resume = ["train", "--resume", str(own), "--epochs", "3", "--quiet", "--data", str(mnist_dir)]
    argv = {"bad flag": resume + ["--epochs", "nan"],
            "other settings": resume + ["--lr", "0.5"],
            "missing data": resume + ["--data", str(d / "nothing")],
            "fresh run": ["train", "--data", str(mnist_dir), "--subset", "60", "--out", str(d)],
            "another run's checkpoint": ["train", "--resume", str(ckpt), "--epochs", "3",
                                         "--quiet", "--data", str(mnist_dir), "--out", str(d)],
            }.get(how, resume)
    if how == "diverges":       # in epoch 2, after some good steps
        _diverge_on_call(monkeypatch, 2, NonFiniteError("−ELBO is nan"))
    if how in ("interrupted", "terminated"):
        _diverge_on_call(monkeypatch, 2, KeyboardInterrupt() if how == "interrupted" else Terminated())
    if how == "disk full":
        def full(*a, **k):
            raise OSError(28, "No space left on device")
        monkeypatch.setattr(np, "savez", full)
    if how == "no room":
        monkeypatch.setattr(run_folder.shutil, "disk_usage", lambda path: SimpleNamespace(free=0))
    lock = RunLock(d) if how == "in use" else None
    if lock:
        lock.acquire()
    try:
        code, out, err = run_cli(argv, capsys)
    finally:
        if lock:
            lock.release()
    assert code == {"interrupted": 130, "terminated": 143}.get(how, 2), (how, code, err)
    assert "Traceback" not in err
    assert own.read_bytes() == before, how
    assert load_checkpoint(own)[2]["epoch"] == 1
    assert sorted(p.name for p in d.iterdir() if p.name.startswith(".")) == []   # no temporary left


# --- a handful as real subprocesses ------------------------------------------------------
def _env(**extra):
    env = {**os.environ, "MPLBACKEND": "Agg", "OPENBLAS_NUM_THREADS": "1", "LC_ALL": "C.UTF-8",
           "PYTHONIOENCODING": "", "MINIVAE_MNIST_MIRROR": "http://127.0.0.1:9/", **extra}
    return env


def test_subprocess_cases(tmp_path, mnist_dir, ckpt):
    (tmp_path / "afile").write_text("x")
    tiny = ["--data", str(mnist_dir), "--hidden", "8", "--z-dim", "2", "--subset", "60",
            "--test-subset", "30", "--epochs", "1", "--batch-size", "30", "--no-images", "--quiet"]
    bad_name = os.fsencode(str(tmp_path)) + b"/\xff\xfe.png"
    cases = {
        "diverges": (["train", *tiny, "--lr", "50", "--out", tmp_path / "r1"],
                     "training diverged (try a smaller --lr)"),
        "out under a file": (["train", *tiny, "--out", tmp_path / "afile" / "x"], "afile is a file"),
        "huge z": (["train", *tiny, "--z-dim", "100000000", "--out", tmp_path / "r2"],
                   "GiB of memory"),
        "non-UTF-8 name": (["sample", "--checkpoint", ckpt, "--n", "2", "--out", bad_name], None),
    }
    procs = {name: subprocess.Popen([sys.executable, "-m", "minivae", *map(os.fsencode, args)],
                                    env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for name, (args, _) in cases.items()}
    for name, proc in procs.items():
        out, err = proc.communicate(timeout=120)
        err = err.decode("utf-8", "backslashreplace")
        words = cases[name][1]
        if words is None:
            assert proc.returncode == 0 and err == "", (name, err)
            assert Path(os.fsdecode(bad_name)).stat().st_size > 0
            continue
        lines = message_lines(err)
        assert proc.returncode == 2, (name, proc.returncode, err)
        assert len(lines) == 1 and "Traceback" not in err and "Warning" not in err, (name, err)
        assert words in lines[0], (name, lines[0])


def test_evaluate_with_huge_k_says_how_much_shows_progress_and_stops_on_ctrl_c(ckpt, mnist_dir,
                                                                              tmp_path):
    err_file = tmp_path / "stderr"           # a file: read while the bar draws, and no pipe to fill
    with open(err_file, "wb") as err_sink:
        proc = subprocess.Popen([sys.executable, "-m", "minivae", "evaluate", "--checkpoint",
                                 str(ckpt), "--data", str(mnist_dir), "--k", "100000000",
                                 "--subset", "3"],
                                env=_env(), stdout=subprocess.PIPE, stderr=err_sink)
    first = ""                 # bytes mode: text mode would turn tqdm's \r into line breaks
    deadline = time.monotonic() + 60
    while "decoder passes" not in first and time.monotonic() < deadline:
        first += proc.stdout.readline().decode()
    assert "3 images × k=100,000,000 = 300,000,000 decoder passes" in first, first
    while b"/300M" not in err_file.read_bytes() and time.monotonic() < deadline:
        time.sleep(0.1)                      # until the progress bar has drawn
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=60)
    err = err_file.read_bytes().decode()
    assert proc.returncode == 130, err
    assert "sample" in err and "/300M" in err           # tqdm's bar counted towards N·k
    assert message_lines(err) == ["minivae evaluate: interrupted"], err
