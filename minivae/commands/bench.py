"""`python -m minivae bench`: how fast minivae trains, next to PyTorch and the BLAS floor.

One run measures (medians over repeats; ratios taken within each repeat):
  kernels   each kernel under numba and numpy at the doersch model's shapes;
  training  seconds per step of the doersch and pytorch-example presets in
            float32 on MNIST batches (or random data in [0, 1]), also given as
            s/epoch and images/s, for these contenders:
            fresh weights — the numpy and numba backends (and, where the
            numba update runs on two threads, numba_1thread: the same on
            one, minivae/kernels/update_threads.py); PyTorch CPU with
            fused Adam, same threads, batches and initialization, in a worker
            process (when torch is importable and tools/torch_reference.py
            exists); the GEMM floor — the step's matrix products alone through
            np.matmul, a time no implementation built on this BLAS can beat;
            and floor+adam — those products plus one bare Adam update over as
            many float32 parameters, the floor for any implementation that
            keeps Adam's two moments in float32 (the update streams 28 bytes
            per parameter through memory and is bound by that); and
            floor+adam_in_place — the same, but the products read the weights
            the update writes and write the gradients it reads, as training
            must: on two threads, part of them passes between the cores every
            step, which floor+adam's separate arrays never do;
            a trained state — after --warmup-epochs epochs of training, each
            contender having trained itself: minivae's default backend with
            and without its flush of tiny values (minivae.optim), PyTorch as
            users run it and PyTorch after torch.set_flush_denormal(True).
            Fresh weights hide what subnormal numbers cost: training creates
            them (README, "Speed").  The JSON also counts, after the warm-up,
            the parameters and Adam moments that are subnormal or below the
            flush threshold, numbers that do not depend on the machine;
  under load  a doersch run's start and first steps, idle, with busy processes
            beside it, and with them arriving once the run chose its threads,
            for the default thread policy and for fixed thread settings
            (bench_load.py);
  start-up  the first-ever compile of the kernels (an empty Numba cache) and
            a cached cold start, each in a fresh interpreter.
Each preset's minivae contenders run with the threads the policy chooses for
it when its turn starts, and, as in `train`, a watch follows the default's
steps (fresh and trained) and may change them (minivae/kernels/threads.py,
watch.py); every contender, the floor included, runs under the setting in
force, and the JSON keeps each change.  All contenders of a
preset, fresh and trained, alternate inside every repeat (the order
rotates), with a pause between them so one library's idle threads are
asleep before the next runs: background load then hits all of them alike.
--json saves every number.
"""
import contextlib
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

import numpy as np

from .. import kernels
from ..config import PRESETS, TrainConfig
from ..errors import ArgumentError
from ..files.atomic import atomic_write_text, make_dirs
from ..files.overwrite import check_target
from ..kernels import threads as thread_policy
from ..kernels.flush import threshold as flush_threshold
from ..kernels.watch import Watch
from ..mlp import weight_mask
from ..model import VAE
from ..optim import Adam
from ..train import scratch_steps
from ..validate import writable_dir
from .bench_load import bench_load, report as report_load

EPOCH = 60000           # MNIST training images
# PyTorch's contender: a script of the repository, not of the package (run bench from a clone)
TORCH_FILE = Path("tools") / "torch_reference.py"
# (preset or "startup", measured ratio or time, comparison, bound, what it measures)
TARGETS = [
    ("doersch", "trained/torch_ftz", "≤", 0.95,
     "trained-state step vs PyTorch at its best (subnormals flushed)"),
    ("doersch", "trained/fresh", "≤", 1.2, "no slowdown from what training does to the weights"),
    ("doersch", "default/floor", "≤", 1.15, "step vs its matrix products alone"),
    ("doersch", "numba/numpy", "≤", 1.0, "numba backend vs the NumPy reference"),
    ("pytorch-example", "trained/torch", "≤", 0.85, "trained-state step vs PyTorch as users run it"),
    ("pytorch-example", "default/floor+adam", "≤", 1.15,
     "step vs its matrix products plus one Adam pass"),
    ("pytorch-example", "trained/fresh", "≤", 1.2, "no slowdown from what training does to the weights"),
    ("pytorch-example", "numba/numpy", "≤", 1.0, "numba backend vs the NumPy reference"),
    ("load", "default/best fixed, under load", "≤", 1.15,
     "the thread policy vs the best fixed setting, busy processes beside it"),
    ("load", "default/before, idle", "≤", 1.03,
     "the thread policy vs the default before it (napping workers), idle"),
    ("startup", "cached_start_s", "<", 1.5, "seconds from NumPy imported to a first step, "
     "kernels cached"),
]
# ratio name -> (numerator, denominator): contenders' seconds per step, paired by repeat
PAIRS = {"default/floor": ("default", "gemm_floor"), "default/floor+adam": ("default", "floor+adam"),
         "floor+adam/floor": ("floor+adam", "gemm_floor"),
         "default/floor+adam_in_place": ("default", "floor+adam_in_place"),
         "in place/apart": ("floor+adam_in_place", "floor+adam"), "numba/numpy": ("numba", "numpy"),
         "default/torch": ("default", "torch"), "update 2/1 threads": ("numba", "numba_1thread"),
         "trained/fresh": ("trained", "default"), "noflush/flush": ("trained_noflush", "trained"),
         "trained/floor": ("trained", "gemm_floor"), "trained/torch": ("trained", "torch_trained"),
         "trained/torch_ftz": ("trained", "torch_ftz_trained"),
         "torch trained/fresh": ("torch_trained", "torch"),
         "torch_ftz/torch trained": ("torch_ftz_trained", "torch_trained")}


def add_arguments(p):
    p.add_argument("--quick", action="store_true", help="a few steps, no start-up timing (tests)")
    p.add_argument("--json", default="bench.json", metavar="PATH", help="where to save results")
    p.add_argument("--force", action="store_true",
                   help="replace --json's file even when it is not a JSON file of bench")
    p.add_argument("--steps", type=int, help="training steps per timed run (default 30)")
    p.add_argument("--repeats", type=int, help="interleaved repeats (default 21)")
    p.add_argument("--presets", nargs="+", default=list(PRESETS), choices=list(PRESETS))
    p.add_argument("--warmup-epochs", type=int, metavar="N",
                   help="epochs each trained-state contender trains before it is timed "
                        "(default 3, --quick 1 epoch of its 2,000 images; 0: fresh weights only)")
    p.add_argument("--torch", choices=["auto", "off"], default="auto",
                   help="compare with PyTorch when importable (auto) or never (off)")
    p.add_argument("--data", metavar="DIR", help="MNIST directory (default: load_mnist's search)")
    p.add_argument("--load-steps", type=int, metavar="N",
                   help="steps per run start in the under-load rows (default 100, --quick 5; "
                        "0: no under-load rows)")


def interleaved(runners, steps, repeats, pause):
    """{name: [seconds per step, one per repeat]}; the order rotates every repeat."""
    names = list(runners)
    for run in runners.values():        # compile, allocate, page in
        run(2)
    times = {name: [] for name in names}
    for r in range(repeats):
        for name in names[r % len(names):] + names[:r % len(names)]:
            time.sleep(pause)
            t = time.perf_counter()
            runners[name](steps)
            times[name].append((time.perf_counter() - t) / steps)
    return times


# --- kernels ---------------------------------------------------------------------
def kernel_cases(rng, n_params):
    """(kernel, shape, args, kwargs) at the doersch model's shapes: batch 100, float32."""
    f = lambda *s: rng.standard_normal(s).astype(np.float32)
    x, W, b, dy = rng.random((100, 500), dtype=np.float32), f(500, 1000), f(1000), f(100, 1000)
    logits, target = f(100, 784), rng.random((100, 784), dtype=np.float32)
    mu, lv = f(100, 30), f(100, 30)
    p, g, m, v = f(n_params), f(n_params), f(n_params), np.abs(f(n_params))
    flush = flush_threshold(np.float32)         # the optimizer steps as training runs them
    decayed = np.ones(n_params, bool)
    return [
        ("layers.dense_forward", "100×500 @ 500×1000, +b, ReLU", (x, W, b), {"relu": True}),
        ("layers.dense_backward", "same; ReLU mask, dW, db, dx", (x, W, dy, W.copy(), b.copy()),
         {"relu_y": np.maximum(x @ W + b, 0)}),
        ("layers.relu_forward", "100×1000", (dy,), {}),
        ("layers.sigmoid", "100×784", (logits,), {}),
        ("losses.bernoulli_nll_and_grad", "100×784", (logits, target), {}),
        ("reparam.reparam_forward", "100×30", (mu, lv, f(100, 30)), {}),
        ("reparam.reparam_backward", "100×30", (mu, np.exp(lv), f(100, 30)), {}),
        ("losses.kl_normal_and_grads", "100×30", (mu, lv), {}),
        ("optim.adam_step", f"{n_params:,} params",
         (p, g, m, v, 1e-3, 0.9, 0.999, 1e-8, 5, 5e-4, decayed, flush), {}),
        ("optim.sgd_step", f"{n_params:,} params",
         (p.copy(), g, m.copy(), 1e-3, 0.9, 5e-4, decayed, flush), {}),
        ("matmul", "100×784 @ 784×1000; numba: loops", (logits, f(784, 1000)), {}),
    ]


def _implementations(key):
    """{backend: function} for a twin's key ("losses.kl_normal_and_grads": the maths
    function, which computes its NumPy lines on the numpy backend, and the Numba twin
    where numba imports), or "matmul" (BLAS against the loops of minivae/kernels/matmul.py).
    Call the numpy one with the numpy backend on."""
    if key == "matmul":
        fns = {"numpy": np.matmul}
        if "numba" in kernels.available_backends():
            from ..kernels.matmul import matmul
            fns["numba"] = matmul
        return fns
    module, name = key.split(".")
    fns = {"numpy": getattr(importlib.import_module(f"minivae.{module}"), name)}
    if "numba" in kernels.available_backends():
        fns["numba"] = getattr(importlib.import_module(f"minivae.kernels.{module}"), name)
    return fns


def bench_kernels(n_params, repeats, budget):
    rows = []
    for key, shape, args, kw in kernel_cases(np.random.default_rng(0), n_params):
        fns = _implementations(key)
        t = time.perf_counter()
        with kernels.using("numpy"):
            fns["numpy"](*args, **kw)
        calls = max(1, int(budget / (time.perf_counter() - t)))    # ~budget seconds per sample
        def runner(n, fn, backend):
            with kernels.using(backend):    # the numpy one's NumPy lines
                for _ in range(n * calls):  # results dropped at once, as a training loop does
                    fn(*args, **kw)
        runners = {b: (lambda n, fn=fn, b=b: runner(n, fn, b)) for b, fn in fns.items()}
        times = interleaved(runners, 1, repeats, 0)
        us = {b: 1e6 * np.median(ts) / calls for b, ts in times.items()}
        rows.append(dict(kernel=key.split(".")[-1], shape=shape, numpy_us=us["numpy"], numba_us=us.get("numba"),
                         numba_over_numpy=us["numba"] / us["numpy"] if "numba" in us else None))
    return rows


# --- training ----------------------------------------------------------------------
def gemm_floor_runner(model, batch, in_place=False):
    """Steps of the model's matrix products alone, (run, flop per step): per layer
    y = x W, dW = xᵀ dy and, except for the layer reading the data, dx = dy Wᵀ.
    in_place: read the model's own W and write its own dW (views of model.flat_params
    and model.flat_grads, mlp.bind_flat) rather than copies of them."""
    layers = (model.encoder.layers + model.mu_head.layers + model.log_var_head.layers
              + model.decoder.layers)
    rng, f = np.random.default_rng(1), model.dtype
    work = [(i > 0, rng.random((batch, l.in_dim), dtype=f),
             l.params["W"] if in_place else l.params["W"].copy(),
             rng.random((batch, l.out_dim), dtype=f), np.empty((batch, l.out_dim), f),
             l.grads["W"] if in_place else np.empty((l.in_dim, l.out_dim), f),
             np.empty((batch, l.in_dim), f))
            for i, l in enumerate(layers)]

    def run(n):
        for _ in range(n):
            for need_dx, x, W, dy, y, dW, dx in work:
                np.matmul(x, W, out=y)
                np.matmul(x.T, dy, out=dW)
                if need_dx:
                    np.matmul(dy, W.T, out=dx)
    flop = sum(2 * batch * l.in_dim * l.out_dim * (3 if i else 2) for i, l in enumerate(layers))
    return run, flop


def adam_floor_runner(gemm_run, backend, cfg, p, g):
    """The floor plus one Adam update (the preset's hyperparameters, the flush on, as
    training runs it) of the float32 parameters p from the gradients g per step:
    what a step costs with nothing but the matrix products and the optimizer's
    pass through memory (parameters, gradients and both moments: 7 × 4 bytes each)."""
    update = _implementations("optim.adam_step")[backend]
    rng = np.random.default_rng(2)      # not zeros: untouched zero pages would read for free
    m = rng.standard_normal(p.size, dtype=np.float32)
    v = np.abs(rng.standard_normal(p.size, dtype=np.float32))
    decayed = np.ones(p.size, bool)

    def run(n):
        with kernels.using(backend):
            for t in range(1, n + 1):
                gemm_run(1)
                update(p, g, m, v, cfg["lr"], cfg["beta1"], cfg["beta2"], 1e-8, t,
                       cfg["weight_decay"], decayed, flush_threshold(np.float32))
    return run


def _batches(X, batch, seed=0):
    """Endless (x, rng) minibatches, reshuffled every pass, as a training loop draws them."""
    rng = np.random.default_rng(seed)
    while True:
        perm = rng.permutation(len(X))
        for i in range(0, len(X) - batch + 1, batch):
            yield X[perm[i:i + batch]], rng


def minivae_runner(cfg, X, backend, flush=True, update_threads=None, watch=None):
    """(run, optimizer): run(n) takes n training steps of a fresh model of preset cfg
    (update_threads: the numba update's threads during them; None: the default), told
    to `watch` (kernels/watch.py) as `train` tells its watch, when one is given."""
    kernels.set_backend(backend)
    model = VAE(x_dim=X.shape[1], hidden=cfg["hidden"], z_dim=cfg["z_dim"], init=cfg["init"],
                likelihood=cfg["likelihood"], dtype=np.float32)
    opt = Adam(model.flat_params, model.flat_grads, lr=cfg["lr"], beta1=cfg["beta1"],
               beta2=cfg["beta2"], weight_decay=cfg["weight_decay"],
               decayed=weight_mask(model.params), flush_subnormal=flush)
    stream, shape = _batches(X, cfg["batch_size"]), (cfg["batch_size"], cfg["z_dim"])

    def run(n):
        kernels.set_backend(backend)
        before = None if update_threads is None else kernels.set_update_threads(update_threads)
        try:
            with watch or contextlib.nullcontext():
                for _ in range(n):
                    x, rng = next(stream)
                    model.loss_and_grads(x, rng.standard_normal(shape, dtype=np.float32),
                                         copy=False)
                    opt.step()
                    if watch:
                        watch.tick()
        finally:
            if before is not None:
                kernels.set_update_threads(before)
    return run, opt


def tiny_counts(opt):
    """{params, m, v: {subnormal, below_threshold}}: nonzero entries below the smallest
    normal float32, and below the optimizers' flush threshold (minivae.optim)."""
    tiny, thr = np.finfo(np.float32).tiny, flush_threshold(np.float32)
    out = {}
    for name, a in (("params", opt.params), ("m", opt.m), ("v", opt.v)):
        mag = np.abs(a[a != 0])
        out[name] = {"subnormal": int((mag < tiny).sum()), "below_threshold": int((mag < thr).sum())}
    return out


def torch_runner(cfg, x_path, threads, workers, flush_denormal=False):
    """Steps of the same model in PyTorch, run by tools/torch_reference.py in a process of
    its own (see there why); `workers` collects the processes to close afterwards.
    Returns (run, versions, count): count() asks the worker for tiny_counts of its state."""
    proc = subprocess.Popen([sys.executable, str(TORCH_FILE), "--serve"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    workers.append(proc)
    keys = ("hidden", "z_dim", "batch_size", "lr", "beta1", "beta2", "weight_decay", "init")

    def ask(line):
        proc.stdin.write(line + "\n")
        proc.stdin.flush()
        return proc.stdout.readline().strip()
    answer = ask(json.dumps({"x_path": x_path, "threads": threads, "flush_denormal": flush_denormal,
                             **{k: cfg[k] for k in keys}})).split(" ", 1)
    if answer[0] != "ready":
        raise RuntimeError(f"{TORCH_FILE.name} did not start: {answer}")

    def run(n):
        assert ask(str(n)) == "done"
    return run, json.loads(answer[1]), lambda: json.loads(ask("count"))


def _warm_up(name, run, steps, epochs):
    t = time.perf_counter()
    print(f"  warm-up: {name} trains {epochs} epoch(s) ({steps:,} steps)", end="", file=sys.stderr,
          flush=True)
    run(steps)
    print(f", {time.perf_counter() - t:.0f} s", file=sys.stderr, flush=True)


def bench_preset(name, X, steps, repeats, threads, x_path, warmup_epochs):
    """Interleaved training runs of one preset: minivae's backends, the floor, PyTorch
    (when x_path, the images saved for its worker process, is given), on fresh weights
    and, with warmup_epochs > 0, on the states that many epochs of training reach."""
    cfg, runners, versions, workers, counts = PRESETS[name], {}, None, [], {}
    print(f"{name}:", file=sys.stderr, flush=True)
    kernels.set_backend(kernels.DEFAULT if kernels.DEFAULT in kernels.available_backends()
                        else "numpy")
    policy = thread_policy.settle(scratch_steps(TrainConfig.from_preset(name), X))
    print(f"  {thread_policy.describe(policy)}", file=sys.stderr, flush=True)
    # as in train, the watch hears of the default's steps, fresh and trained (docstring)
    watch = Watch(policy) if policy.seconds else None
    d = kernels.get_backend()
    for b in kernels.available_backends():
        runners[b], opt = minivae_runner(cfg, X, b, watch=watch if b == d else None)
    if "numba" in runners and policy.setting.update == 2:
        runners["numba_1thread"], _ = minivae_runner(cfg, X, "numba", update_threads=1)
    n_params = opt.params.size
    layers_model = VAE(x_dim=X.shape[1], hidden=cfg["hidden"], z_dim=cfg["z_dim"], dtype=np.float32)
    runners["gemm_floor"], flop = gemm_floor_runner(layers_model, cfg["batch_size"])
    apart = np.random.default_rng(3).standard_normal((2, n_params), dtype=np.float32)
    runners["floor+adam"] = adam_floor_runner(runners["gemm_floor"], d, cfg, *apart)
    in_place, _ = gemm_floor_runner(layers_model, cfg["batch_size"], in_place=True)
    runners["floor+adam_in_place"] = adam_floor_runner(in_place, d, cfg, layers_model.flat_params,
                                                       layers_model.flat_grads)
    epoch_steps = len(X) // cfg["batch_size"]
    try:
        if x_path:
            runners["torch"], versions, _ = torch_runner(cfg, x_path, threads, workers)
        if warmup_epochs:
            for key, flush in (("trained", True), ("trained_noflush", False)):
                runners[key], opt = minivae_runner(cfg, X, d, flush=flush,
                                                   watch=watch if flush else None)
                _warm_up(f"minivae ({d}, flush {'on' if flush else 'off'})", runners[key],
                         warmup_epochs * epoch_steps, warmup_epochs)
                counts[key] = tiny_counts(opt)
            if x_path:
                for key, ftz in (("torch_trained", False), ("torch_ftz_trained", True)):
                    runners[key], _, count = torch_runner(cfg, x_path, threads, workers, ftz)
                    _warm_up(f"PyTorch (flush_denormal {ftz})", runners[key],
                             warmup_epochs * epoch_steps, warmup_epochs)
                    counts[key] = count()
        times = interleaved(runners, steps, repeats, pause=0.3)
    finally:
        for proc in workers:
            proc.stdin.close()
            proc.wait(timeout=60)
    times["default"] = times[d]
    changes = watch.said() if watch else []
    for line in changes:
        print(f"  {line}", file=sys.stderr, flush=True)
    N, med = cfg["batch_size"], {b: float(np.median(ts)) for b, ts in times.items()}

    def paired(a, b, q=50):     # a percentile over repeats of the ratio within each repeat
        if a not in times or b not in times:
            return None
        return float(np.percentile(np.array(times[a]) / np.array(times[b]), q))
    ratios = {k: paired(a, b) for k, (a, b) in PAIRS.items()}
    ratios["floor_fraction_achieved"] = 1 / ratios["default/floor"]
    return {"batch_size": N, "params": int(n_params), "gemm_flop_per_step": flop,
            "threads": {"blas": thread_policy.label(policy.setting),
                        "update": policy.setting.update, "why": policy.why,
                        "changes": changes, "blas_at_end": thread_policy.label(
                            watch.setting if watch else policy.setting)},
            "gemm_gflops": flop / med["gemm_floor"] / 1e9, "torch": versions,
            "default_backend": d, "warmup_epochs": warmup_epochs, "warmup_steps":
            warmup_epochs * epoch_steps, "tiny_counts_after_warmup": counts,
            "backends": {b: dict(ms_per_step=1e3 * t, s_per_epoch=t * EPOCH / N,
                                 images_per_s=N / t,
                                 ms_per_step_each_repeat=[1e3 * x for x in times[b]])
                         for b, t in med.items() if b != "default"},
            "ratios": ratios,
            "ratio_quartiles": {k: [paired(a, b, 25), paired(a, b, 75)]
                                for k, (a, b) in PAIRS.items() if ratios[k] is not None}}


# --- start-up ------------------------------------------------------------------------
COLD_START = """
import time
import numpy as np
t = time.perf_counter()
import minivae
from minivae.optim import Adam
model = minivae.VAE(dtype=np.float32)
opt = Adam(model.flat_params, model.flat_grads)
rng = np.random.default_rng(0)
model.loss_and_grads(rng.random((100, 784), dtype=np.float32),
                     rng.standard_normal((100, 30), dtype=np.float32))
opt.step()
print(time.perf_counter() - t, minivae.kernels.get_backend())
"""


def _cold_start(backend, cache_dir):
    """Seconds from numpy imported to minivae's first training step done, in a new interpreter."""
    env = {**os.environ, "MINIVAE_BACKEND": backend, "NUMBA_CACHE_DIR": cache_dir}
    out = subprocess.run([sys.executable, "-c", COLD_START], env=env, capture_output=True,
                         text=True, check=True, timeout=900).stdout.split()
    assert out[1] == backend, out
    return float(out[0])


def bench_startup(repeats=3):
    res = {"numpy_backend_s": float(np.median([_cold_start("numpy", "") for _ in range(repeats)]))}
    if "numba" in kernels.available_backends():
        with tempfile.TemporaryDirectory() as cache:          # a Numba cache nobody filled yet
            res["first_compile_s"] = _cold_start("numba", cache)
            res["cached_start_s"] = float(np.median([_cold_start("numba", cache)
                                                     for _ in range(repeats)]))
    return res


# --- the command ------------------------------------------------------------------------
def load_data(data_dir, quick):
    try:
        from ..data import load_mnist
        X = load_mnist("train", data_dir=data_dir, download=False)[0]
        return (X[:2000] if quick else X), "MNIST train"
    except (ImportError, OSError, RuntimeError, ValueError) as e:   # DataError is a RuntimeError
        X = np.random.default_rng(0).random((2000 if quick else 20000, 784), dtype=np.float32)
        return X, f"random data in [0, 1] (no MNIST: {type(e).__name__}; see --data)"


def _version(pkg):
    try:
        return metadata.version(pkg)
    except metadata.PackageNotFoundError:
        return None


def run(args):
    steps = args.steps if args.steps is not None else (3 if args.quick else 30)
    repeats = args.repeats if args.repeats is not None else (2 if args.quick else 21)
    warmup = args.warmup_epochs if args.warmup_epochs is not None else (1 if args.quick else 3)
    if steps < 1 or repeats < 1:
        raise ArgumentError("--steps and --repeats must be positive")
    if warmup < 0:
        raise ArgumentError("--warmup-epochs must be 0 or more")
    load_steps = args.load_steps if args.load_steps is not None else (5 if args.quick else 100)
    if load_steps < 0:
        raise ArgumentError("--load-steps must be 0 or more")
    out = Path(args.json)
    check_target(out, "bench", "--json", force=args.force)     # before minutes of timing
    writable_dir("--json's directory", out.parent)
    use_torch = args.torch == "auto" and importlib.util.find_spec("torch") is not None
    if use_torch and not TORCH_FILE.is_file():
        print(f"bench: the PyTorch contender is skipped: {TORCH_FILE} is not in this folder "
              "(it ships with the repository; run bench from a clone's root)", file=sys.stderr)
        use_torch = False
    backend_before = kernels.get_backend()
    X, data = load_data(args.data, args.quick)
    threads = int(os.environ.get("OPENBLAS_NUM_THREADS") or os.cpu_count())
    for b in kernels.available_backends():
        kernels.set_backend(b)
        kernels.warmup(np.float32)
    r = {"quick": args.quick, "when": time.strftime("%Y-%m-%d %H:%M:%S"), "data": data,
         "steps": steps, "repeats": repeats, "warmup_epochs": warmup, "dtype": "float32",
         "default_backend": kernels.DEFAULT,
         "versions": {p: _version(p) for p in ("numpy", "numba", "torch")},
         "threads": {**kernels.thread_info(), "torch": threads if use_torch else None},
         "cpu": _cpu_model(), "load_before": os.getloadavg()[0]}
    doersch = PRESETS["doersch"]
    n_params = VAE(hidden=doersch["hidden"], z_dim=doersch["z_dim"]).flat_params.size
    r["kernels"] = bench_kernels(n_params, 3 if args.quick else 9, 0.002 if args.quick else 0.02)
    with tempfile.TemporaryDirectory() as tmp:
        x_path = str(Path(tmp) / "x.npy")
        np.save(x_path, X)
        r["presets"] = {name: bench_preset(name, X, steps, repeats, threads,
                                           x_path if use_torch else None, warmup)
                        for name in args.presets}
        print("doersch under load:", file=sys.stderr, flush=True)
        r["load"] = (bench_load(x_path, "doersch", load_steps, 1 if args.quick else 5,
                                r["threads"]["usable_cores"]) if load_steps else None)
    r["startup"] = None if args.quick else bench_startup()
    r["load_after"] = os.getloadavg()[0]
    kernels.set_backend(backend_before)
    r["targets"] = check_targets(r)
    report(r)
    make_dirs(out.parent)
    atomic_write_text(out, json.dumps(r, indent=1) + "\n")
    print(f"\nsaved {out}")
    return 0


def check_targets(r):
    """TARGETS this run measured: [{what, measures, value, op, target, met}]."""
    rows = []
    for section, key, op, target, measures in TARGETS:
        found = (r["startup"] if section == "startup"
                 else (r["load"] or {}).get("ratios") if section == "load"
                 else r["presets"].get(section, {}).get("ratios"))
        value = (found or {}).get(key)
        if value is not None:
            rows.append({"what": f"{section} {key}", "measures": measures, "value": value,
                         "op": op, "target": target,
                         "met": value < target if op == "<" else value <= target})
    return rows


def _cpu_model():
    """The CPU's model name, family and model numbers from /proc/cpuinfo (Linux), else None."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return None
    info = dict(line.split(":", 1) for line in lines if ":" in line)
    info = {k.strip(): v.strip() for k, v in info.items()}
    return " ".join(f"{k} {info[k]}" if k != "model name" else info[k]
                    for k in ("model name", "cpu family", "model") if k in info) or None


def _table(headers, rows):
    fmt = lambda c: ("—" if c is None else f"{c:,.3g}" if isinstance(c, float) and abs(c) < 100
                     else f"{c:,.0f}" if isinstance(c, float) else str(c))
    cells = [headers] + [[fmt(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    return "\n".join("  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                               for i, (c, w) in enumerate(zip(row, widths))) for row in cells)


def report(r):
    print(f"minivae bench: {r['data']}, float32, default backend {r['default_backend']}; "
          f"CPU {r['cpu']}; load {r['load_before']:.2f} -> {r['load_after']:.2f}; "
          f"threads {r['threads']}")
    print(f"medians of {r['repeats']} interleaved repeats of {r['steps']} steps\n")
    print(_table(["kernel", "shape", "numpy µs", "numba µs", "numba/numpy"],
                 [[k["kernel"], k["shape"], k["numpy_us"], k["numba_us"], k["numba_over_numpy"]]
                  for k in r["kernels"]]))
    for name, p in r["presets"].items():
        print(f"\n{name}: batch {p['batch_size']}, {p['params']:,} params, "
              f"{p['gemm_flop_per_step'] / 1e9:.2f} GFLOP/step in matmuls, "
              f"at {p['gemm_gflops']:.0f} GFLOP/s in the floor run; trained = after "
              f"{p['warmup_epochs']} epoch(s) ({p['warmup_steps']:,} steps)")
        t = p["threads"]
        print(f"threads, as the policy chose them: {t['blas']}, the update on {t['update']} "
              f"({t['why']})")
        for line in t["changes"]:
            print(f"  then the watch: {line}")
        print(_table(["contender", "ms/step", "s/epoch", "images/s"],
                     [[b, v["ms_per_step"], v["s_per_epoch"], v["images_per_s"]]
                      for b, v in p["backends"].items()]))
        print("paired ratios, median (quartiles) over repeats:")
        for k, (lo, hi) in p["ratio_quartiles"].items():
            print(f"  {k:24s} {p['ratios'][k]:.3f}  ({lo:.3f}–{hi:.3f})")
        if p["tiny_counts_after_warmup"]:
            print("after the warm-up, nonzero entries subnormal / below 2^-63:")
            for who, c in p["tiny_counts_after_warmup"].items():
                print(f"  {who:18s} " + ", ".join(f"{a} {n['subnormal']:,} / "
                                                  f"{n['below_threshold']:,}"
                                                  for a, n in c.items()))
    if r["load"]:
        report_load(r["load"])
    if r["startup"]:
        print("\nstart-up (s from numpy imported to first step done): " +
              ", ".join(f"{k} {v:.2f}" for k, v in r["startup"].items()))
    if r["targets"]:
        print("\n" + _table(["target", "measured", "goal", "met", "measures"],
                            [[t["what"], t["value"], f"{t['op']} {t['target']}",
                              "yes" if t["met"] else "NO", t["measures"]]
                             for t in r["targets"]]))
