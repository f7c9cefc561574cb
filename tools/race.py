"""Whole training processes, minivae against PyTorch, taken in turns on this CPU.

    python tools/race.py [--preset doersch] [--epochs 2] [--pairs 3] [--flush-denormal]

Each pair runs, as separate processes and one after the other,

    python -m minivae train --preset P --epochs E --seed S --no-images --quiet --out TMP
    python tools/torch_reference.py --train P --epochs E --seed S [--flush-denormal]

and times each process's wall clock from outside: start-up, imports, loading
MNIST, training, evaluation and (minivae) checkpoints, as a user waits for
them.  The side that goes first alternates from pair to pair, so a drift in
the machine's speed or load hits both sides alike.

ratio = minivae's wall time / PyTorch's: below 1, minivae was faster.  The
median over pairs is the number to quote; min–max says how much the machine
moved.  The two processes do not do the same work outside training: each
epoch minivae evaluates 10,000 training images beside the 10,000 test images
and saves a checkpoint, PyTorch evaluates the test images only.  The
per-epoch training times (minivae's history.json "seconds", the reference's
"seconds" lines) compare the training steps alone.

Without --flush-denormal PyTorch computes with subnormal floats, as it does by
default; the README's Speed section explains why that matters on some CPUs.
--data DIR is passed to minivae as --data and to PyTorch as $MINIVAE_DATA.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TORCH_REFERENCE = ROOT / "tools" / "torch_reference.py"


def cpu_model():
    """'model name (family F, model M), N logical CPUs' from /proc/cpuinfo, or what platform knows."""
    fields = {}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            fields.setdefault(key.strip(), value.strip())    # the first CPU's entry
    except OSError:
        pass
    name = fields.get("model name") or platform.processor() or platform.machine()
    if "cpu family" in fields:
        name += f" (family {fields['cpu family']}, model {fields.get('model', '?')})"
    return f"{name}, {os.cpu_count()} logical CPUs"


def load_average():
    """The 1-, 5- and 15-minute load averages, or None where the OS has none."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def timed(cmd, env=None):
    """Run cmd from the repository root; return (wall seconds, stdout). Exit 1 if it fails."""
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"race.py: `{' '.join(map(str, cmd))}` failed (exit {proc.returncode}):\n"
                 + proc.stderr[-2000:])
    return wall, proc.stdout


def run_minivae(a):
    """One `python -m minivae train` process: its wall time and per-epoch seconds."""
    with tempfile.TemporaryDirectory(prefix="race-") as out:
        cmd = [sys.executable, "-m", "minivae", "train", "--preset", a.preset, "--epochs",
               str(a.epochs), "--seed", str(a.seed), "--no-images", "--quiet", "--out", out]
        wall, _ = timed(cmd + (["--data", a.data] if a.data else []))
        history = json.loads((Path(out) / "history.json").read_text())
    return {"wall": wall, "seconds": [row["seconds"] for row in history],
            "eval_seconds": [row["eval_seconds"] for row in history]}


def run_pytorch(a):
    """One `torch_reference.py --train` process: its wall time and per-epoch seconds."""
    env = dict(os.environ, **({"MINIVAE_DATA": a.data} if a.data else {}))
    cmd = [sys.executable, str(TORCH_REFERENCE), "--train", a.preset, "--epochs", str(a.epochs),
           "--seed", str(a.seed)] + (["--flush-denormal"] if a.flush_denormal else [])
    wall, stdout = timed(cmd, env)
    lines = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
    return {"wall": wall, "seconds": [r["seconds"] for r in lines],
            "eval_seconds": [r["eval_seconds"] for r in lines]}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", choices=("doersch", "pytorch-example"), default="doersch")
    ap.add_argument("--epochs", type=int, default=2, help="epochs per process (default 2)")
    ap.add_argument("--pairs", type=int, default=3, help="minivae/PyTorch pairs (default 3)")
    ap.add_argument("--flush-denormal", action="store_true",
                    help="PyTorch flushes subnormals to zero (torch.set_flush_denormal)")
    ap.add_argument("--seed", type=int, default=0, help="both sides' seed, every pair (default 0)")
    ap.add_argument("--data", metavar="DIR", help="MNIST directory (default: $MINIVAE_DATA, ...)")
    ap.add_argument("--json", metavar="PATH", help="also save every number here")
    a = ap.parse_args(argv)
    if a.pairs < 1 or a.epochs < 1:
        ap.error("--pairs and --epochs must be at least 1")

    if not TORCH_REFERENCE.is_file():
        print(f"race.py: {TORCH_REFERENCE} is missing; run from a minivae checkout", file=sys.stderr)
        return 2
    if subprocess.run([sys.executable, "-c", "import torch"], capture_output=True).returncode:
        print(f"race.py: PyTorch is not importable by {sys.executable}; install it, e.g. "
              "`python -m pip install torch --index-url https://download.pytorch.org/whl/cpu`",
              file=sys.stderr)
        return 2

    cpu, load_before = cpu_model(), load_average()
    flush = "with" if a.flush_denormal else "without"
    print(f"CPU: {cpu}\nload average before: {load_before}")
    print(f"{a.pairs} pairs of whole `train` processes: preset {a.preset}, {a.epochs} epochs, "
          f"seed {a.seed}, PyTorch {flush} --flush-denormal", flush=True)
    runners = {"minivae": run_minivae, "PyTorch": run_pytorch}
    pairs = []
    for i in range(a.pairs):
        order = ["minivae", "PyTorch"] if i % 2 == 0 else ["PyTorch", "minivae"]
        pair = {"first": order[0], **{side: runners[side](a) for side in order}}
        pair["ratio"] = pair["minivae"]["wall"] / pair["PyTorch"]["wall"]
        pairs.append(pair)
        print(f"pair {i + 1} ({order[0]} first): minivae {pair['minivae']['wall']:.1f} s, "
              f"PyTorch {pair['PyTorch']['wall']:.1f} s, ratio {pair['ratio']:.2f}")
        for side in ("minivae", "PyTorch"):
            print(f"    {side:8} training s per epoch: "
                  + " ".join(f"{s:.1f}" for s in pair[side]["seconds"]))
        sys.stdout.flush()

    ratios = [p["ratio"] for p in pairs]
    median = statistics.median(ratios)
    load_after = load_average()
    print(f"median ratio minivae/PyTorch {median:.2f} (min {min(ratios):.2f}, "
          f"max {max(ratios):.2f}) over {a.pairs} pairs; below 1: minivae faster")
    print(f"load average after: {load_after}")
    if a.json:
        result = {"cpu": cpu, "load_before": load_before, "load_after": load_after,
                  "options": vars(a), "pairs": pairs, "median_ratio": median}
        Path(a.json).write_text(json.dumps(result, indent=1) + "\n")
        print(f"saved {a.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
