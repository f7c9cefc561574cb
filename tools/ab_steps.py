"""Time training steps of two (or more) checkouts of minivae side by side: an A/B of a change.

    python tools/ab_steps.py ../main .             # main against this checkout
    python tools/ab_steps.py ../main . --rounds 9 --steps 300 --backends numba

Each measurement is a fresh process that imports minivae from one checkout
(PYTHONPATH), builds a preset's model and Adam optimizer in float32, takes
WARMUP steps (Numba compiles or loads its kernels then; where the checkout has
the thread policy, its threads are chosen first, as `train` does), and times `--steps`
calls of `model.loss_and_grads(x, eps, copy=False)` plus `optimizer.step()`
on minibatches of MNIST (MINIVAE_DATA) or, without it, of random pixels.
Rounds alternate the checkouts' order, so a machine that slows down or
speeds up during the run weighs on both alike.  The table gives each
checkout's median milliseconds per step, and the median (min-max over
rounds) of the per-round ratio to the first checkout.  Run it on a quiet
machine: the ratios mean little while other work shares the cores.
"""
import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

WARMUP = 20
CHILD = """
import minivae  # first: a checkout from before the thread policy set a BLAS setting on import
import sys, time
import numpy as np
from minivae import VAE
from minivae.config import PRESETS, TrainConfig, build_optimizer
preset, steps, warmup = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
p = PRESETS[preset]
rng = np.random.default_rng(0)
try:
    from minivae.data import load_mnist
    x_all = load_mnist("train", dtype=np.float32)[0][:10000]
except Exception:           # no MNIST here: random pixels time the same products
    x_all = rng.random((10000, 784), dtype=np.float32)
model = VAE(x_dim=784, hidden=p["hidden"], z_dim=p["z_dim"], likelihood=p["likelihood"],
            init=p["init"], dtype=np.float32, seed=0)
opt = build_optimizer(TrainConfig.from_preset(preset), model)   # as `train` builds it
try:                        # the threads `train` would choose (minivae/kernels/threads.py)
    from minivae.kernels import threads
    from minivae.train import scratch_steps
    print(threads.describe(threads.settle(scratch_steps(TrainConfig.from_preset(preset), x_all))),
          file=sys.stderr)
except ImportError:         # a checkout from before the thread policy
    pass
batch = p["batch_size"]
batches = [(x_all[i:i + batch], rng.standard_normal((batch, p["z_dim"]), dtype=np.float32))
           for i in range(0, len(x_all) - batch + 1, batch)]
for i in range(warmup + steps):
    if i == warmup:
        t0 = time.perf_counter()
    x, eps = batches[i % len(batches)]
    model.loss_and_grads(x, eps, copy=False)
    opt.step()
print((time.perf_counter() - t0) / steps)
"""


def seconds_per_step(checkout, preset, backend, steps):
    env = {**os.environ, "PYTHONPATH": str(Path(checkout).resolve()), "MINIVAE_BACKEND": backend}
    out = subprocess.run([sys.executable, "-c", CHILD, preset, str(steps), str(WARMUP)], env=env,
                         cwd=Path(checkout).resolve(), capture_output=True, text=True, check=True)
    return float(out.stdout.split()[-1])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkouts", nargs="+", help="repository roots; the first is the baseline")
    ap.add_argument("--presets", nargs="+", default=["doersch", "pytorch-example"])
    ap.add_argument("--backends", nargs="+", default=["numba", "numpy"], choices=["numba", "numpy"])
    ap.add_argument("--steps", type=int, default=200, help="timed steps per process (default 200)")
    ap.add_argument("--rounds", type=int, default=5, help="processes per checkout and case (default 5)")
    args = ap.parse_args(argv)
    if len(args.checkouts) < 2:
        ap.error("give at least two checkouts")
    print(f"{'preset':<16} {'backend':<8} {'checkout':<30} {'ms/step':>8}  ratio to the first (min-max)")
    for preset in args.presets:
        for backend in args.backends:
            times = {c: [] for c in args.checkouts}
            for r in range(args.rounds):
                order = args.checkouts if r % 2 == 0 else args.checkouts[::-1]
                for checkout in order:
                    times[checkout].append(seconds_per_step(checkout, preset, backend, args.steps))
            base = times[args.checkouts[0]]
            for checkout, ts in times.items():
                ratios = [t / b for t, b in zip(ts, base)]
                print(f"{preset:<16} {backend:<8} {checkout:<30} {1e3 * statistics.median(ts):8.2f}  "
                      f"{statistics.median(ratios):.3f} ({min(ratios):.3f}-{max(ratios):.3f})",
                      flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
