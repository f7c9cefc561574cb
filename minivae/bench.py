"""`python -m minivae bench`: how fast minivae trains, next to PyTorch and the BLAS floor.

One run measures (medians over repeats; ratios taken within each repeat):
  kernels   each kernel under numba and numpy at the doersch model's shapes;
  training  s/epoch and images/s, extrapolated from --steps real training
            steps (MNIST batches, or random data in [0, 1]) of the doersch
            and pytorch-example presets in float32: the numpy and numba
            backends; PyTorch CPU with fused Adam, same threads and batches,
            in a worker process (when torch is importable and
            tools/torch_reference.py exists);
            the GEMM floor — the step's matrix products alone through
            np.matmul, a time no implementation built on this BLAS can beat;
            and floor+adam — those products plus one bare Adam update over
            as many float32 parameters, the floor for any implementation
            that keeps Adam's two moments in float32 (the update streams
            28 bytes per parameter through memory and is bound by that);
  start-up  the first-ever compile of the kernels (an empty Numba cache) and
            a cached cold start, each in a fresh interpreter.
Contenders alternate inside every repeat (the order rotates), with a pause
between them so one library's idle threads are asleep before the next runs:
background load then hits all of them alike.  --json saves every number.
"""
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

from . import kernels
from .model import VAE
from .optim import Adam
from .config import PRESETS

EPOCH = 60000           # MNIST training images
TORCH_FILE = Path(__file__).resolve().parents[1] / "tools" / "torch_reference.py"
TARGETS = [("doersch", "default/torch", "≤", 0.85), ("doersch", "default/floor", "≤", 1.15),
           ("doersch", "numba/numpy", "≤", 1.0), ("pytorch-example", "default/torch", "<", 1.0),
           ("pytorch-example", "numba/numpy", "≤", 1.0), ("startup", "cached_start_s", "<", 1.5)]


def add_arguments(p):
    p.add_argument("--quick", action="store_true", help="a few steps, no start-up timing (tests)")
    p.add_argument("--json", default="bench.json", metavar="PATH", help="where to save results")
    p.add_argument("--steps", type=int, help="training steps per timed run (default 30)")
    p.add_argument("--repeats", type=int, help="interleaved repeats (default 21)")
    p.add_argument("--presets", nargs="+", default=list(PRESETS), choices=list(PRESETS))
    p.add_argument("--torch", choices=["auto", "off"], default="auto",
                   help="compare with PyTorch when importable (auto) or never (off)")
    p.add_argument("--data", metavar="DIR", help="MNIST directory (default: load_mnist's search)")


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
    return [
        ("dense_forward", "100×500 @ 500×1000, +b, ReLU", (x, W, b), {"relu": True}),
        ("dense_backward", "same; ReLU mask, dW, db, dx", (x, W, dy, W.copy(), b.copy()),
         {"relu_y": np.maximum(x @ W + b, 0)}),
        ("relu_forward", "100×1000", (dy,), {}),
        ("sigmoid", "100×784", (logits,), {}),
        ("sigmoid_xent", "100×784", (logits, target), {}),
        ("reparam_forward", "100×30", (mu, lv, f(100, 30)), {}),
        ("reparam_backward", "100×30", (mu, np.exp(lv), f(100, 30)), {}),
        ("kl_standard_normal", "100×30", (mu, lv), {}),
        ("adam_update", f"{n_params:,} params", (p, g, m, v, 1e-3, 0.9, 0.999, 1e-8, 5, 5e-4), {}),
        ("sgd_update", f"{n_params:,} params", (p.copy(), g, m.copy(), 1e-3, 0.9, 5e-4), {}),
        ("matmul", "100×784 @ 784×1000; numba: loops", (logits, f(784, 1000)), {}),
    ]


def bench_kernels(n_params, repeats, budget):
    rows = []
    for name, shape, args, kw in kernel_cases(np.random.default_rng(0), n_params):
        fns = {b: kernels.implementation(name, b) for b in kernels.available_backends()}
        t = time.perf_counter()
        fns["numpy"](*args, **kw)
        calls = max(1, int(budget / (time.perf_counter() - t)))    # ~budget seconds per sample
        def runner(n, fn):
            for _ in range(n * calls):      # results dropped at once, as a training loop does
                fn(*args, **kw)
        runners = {b: (lambda n, fn=fn: runner(n, fn)) for b, fn in fns.items()}
        times = interleaved(runners, 1, repeats, 0)
        us = {b: 1e6 * np.median(ts) / calls for b, ts in times.items()}
        rows.append(dict(kernel=name, shape=shape, numpy_us=us["numpy"], numba_us=us.get("numba"),
                         numba_over_numpy=us["numba"] / us["numpy"] if "numba" in us else None))
    return rows


# --- training ----------------------------------------------------------------------
def gemm_floor_runner(model, batch):
    """Steps of the model's matrix products alone, (run, flop per step): per layer
    y = x W, dW = xᵀ dy and, except for the layer reading the data, dx = dy Wᵀ."""
    layers = model.encoder.layers + [model.mu_head, model.log_var_head] + model.decoder.layers
    rng, f = np.random.default_rng(1), model.dtype
    work = [(i > 0, rng.random((batch, l.in_dim), dtype=f), l.params["W"].copy(),
             rng.random((batch, l.out_dim), dtype=f), np.empty((batch, l.out_dim), f),
             np.empty((l.in_dim, l.out_dim), f), np.empty((batch, l.in_dim), f))
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


def adam_floor_runner(gemm_run, n_params, backend, cfg):
    """The floor plus one Adam update (the preset's hyperparameters) over n_params
    float32 numbers per step: what a step costs with nothing but the matrix
    products and the optimizer's pass through memory (parameters, gradients and
    both moments: 7 × 4 bytes each)."""
    update = kernels.implementation("adam_update", backend)
    rng = np.random.default_rng(2)      # not zeros: untouched zero pages would read for free
    p, g, m = (rng.standard_normal(n_params, dtype=np.float32) for _ in range(3))
    v = np.abs(rng.standard_normal(n_params, dtype=np.float32))

    def run(n):
        for t in range(1, n + 1):
            gemm_run(1)
            update(p, g, m, v, cfg["lr"], cfg["beta1"], cfg["beta2"], 1e-8, t,
                   cfg["weight_decay"])
    return run


def _batches(X, batch, seed=0):
    """Endless (x, rng) minibatches, reshuffled every pass, as a training loop draws them."""
    rng = np.random.default_rng(seed)
    while True:
        perm = rng.permutation(len(X))
        for i in range(0, len(X) - batch + 1, batch):
            yield X[perm[i:i + batch]], rng


def minivae_runner(cfg, X, backend):
    kernels.set_backend(backend)
    model = VAE(x_dim=X.shape[1], hidden=cfg["hidden"], z_dim=cfg["z_dim"], init=cfg["init"],
                likelihood=cfg["likelihood"], dtype=np.float32)
    opt = Adam(model.flat_params, model.flat_grads, lr=cfg["lr"], beta1=cfg["beta1"],
               beta2=cfg["beta2"], weight_decay=cfg["weight_decay"])
    stream, shape = _batches(X, cfg["batch_size"]), (cfg["batch_size"], cfg["z_dim"])

    def run(n):
        kernels.set_backend(backend)
        for _ in range(n):
            x, rng = next(stream)
            model.loss_and_grads(x, rng.standard_normal(shape, dtype=np.float32))
            opt.step()
    return run, model


def torch_runner(cfg, x_path, threads, workers):
    """Steps of the same model in PyTorch, run by tools/torch_reference.py in a process of
    its own (see there why); `workers` collects the processes to close afterwards."""
    proc = subprocess.Popen([sys.executable, str(TORCH_FILE), "--serve"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    workers.append(proc)
    keys = ("hidden", "z_dim", "batch_size", "lr", "beta1", "beta2", "weight_decay")
    proc.stdin.write(json.dumps({"x_path": x_path, "threads": threads,
                                 **{k: cfg[k] for k in keys}}) + "\n")
    proc.stdin.flush()
    answer = proc.stdout.readline().split(" ", 1)
    if answer[0] != "ready":
        raise RuntimeError(f"{TORCH_FILE.name} did not start: {answer}")

    def run(n):
        proc.stdin.write(f"{n}\n")
        proc.stdin.flush()
        assert proc.stdout.readline().strip() == "done"
    return run, json.loads(answer[1])


def bench_preset(name, X, steps, repeats, threads, x_path):
    """Interleaved training runs of one preset: minivae's backends, the floor, PyTorch
    (when x_path, the images saved for its worker process, is given)."""
    cfg, runners, info, workers = PRESETS[name], {}, None, []
    for b in kernels.available_backends():
        runners[b], model = minivae_runner(cfg, X, b)
    runners["gemm_floor"], flop = gemm_floor_runner(model, cfg["batch_size"])
    d = kernels.DEFAULT if kernels.DEFAULT in runners else "numpy"
    runners["floor+adam"] = adam_floor_runner(runners["gemm_floor"], model.flat_params.size, d, cfg)
    try:
        if x_path:
            runners["torch"], info = torch_runner(cfg, x_path, threads, workers)
        times = interleaved(runners, steps, repeats, pause=0.3)
    finally:
        for proc in workers:
            proc.stdin.close()
            proc.wait(timeout=60)
    N, med = cfg["batch_size"], {b: float(np.median(ts)) for b, ts in times.items()}
    pairs = {"default/floor": (d, "gemm_floor"), "default/floor+adam": (d, "floor+adam"),
             "floor+adam/floor": ("floor+adam", "gemm_floor"), "numba/numpy": ("numba", "numpy"),
             "default/torch": (d, "torch")}

    def paired(a, b, q=50):     # a percentile over repeats of the ratio within each repeat
        if a not in times or b not in times:
            return None
        return float(np.percentile(np.array(times[a]) / np.array(times[b]), q))
    ratios = {k: paired(a, b) for k, (a, b) in pairs.items()}
    ratios["floor_fraction_achieved"] = 1 / ratios["default/floor"]
    return {"batch_size": N, "params": int(model.flat_params.size), "gemm_flop_per_step": flop,
            "gemm_gflops": flop / med["gemm_floor"] / 1e9, "torch": info,
            "backends": {b: dict(ms_per_step=1e3 * t, s_per_epoch=t * EPOCH / N,
                                 images_per_s=N / t,
                                 ms_per_step_each_repeat=[1e3 * x for x in times[b]])
                         for b, t in med.items()},
            "ratios": ratios,
            "ratio_quartiles": {k: [paired(a, b, 25), paired(a, b, 75)]
                                for k, (a, b) in pairs.items() if ratios[k] is not None}}


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
        from .data import load_mnist
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
    if steps < 1 or repeats < 1:
        raise ValueError("--steps and --repeats must be positive")
    use_torch = (args.torch == "auto" and TORCH_FILE.is_file()
                 and importlib.util.find_spec("torch") is not None)
    backend_before = kernels.get_backend()
    X, data = load_data(args.data, args.quick)
    threads = int(os.environ.get("OPENBLAS_NUM_THREADS") or os.cpu_count())
    for b in kernels.available_backends():
        kernels.set_backend(b)
        kernels.warmup(np.float32)
    r = {"quick": args.quick, "when": time.strftime("%Y-%m-%d %H:%M:%S"), "data": data,
         "steps": steps, "repeats": repeats, "dtype": "float32",
         "default_backend": kernels.DEFAULT,
         "versions": {p: _version(p) for p in ("numpy", "numba", "torch")},
         "threads": {**kernels.thread_info(), "torch": threads if use_torch else None},
         "load_before": os.getloadavg()[0]}
    doersch = PRESETS["doersch"]
    n_params = VAE(hidden=doersch["hidden"], z_dim=doersch["z_dim"]).flat_params.size
    r["kernels"] = bench_kernels(n_params, 3 if args.quick else 9, 0.002 if args.quick else 0.02)
    with tempfile.TemporaryDirectory() as tmp:
        x_path = str(Path(tmp) / "x.npy") if use_torch else None
        if x_path:
            np.save(x_path, X)
        r["presets"] = {name: bench_preset(name, X, steps, repeats, threads, x_path)
                        for name in args.presets}
    r["startup"] = None if args.quick else bench_startup()
    r["load_after"] = os.getloadavg()[0]
    kernels.set_backend(backend_before)
    r["targets"] = check_targets(r)
    report(r)
    Path(args.json).write_text(json.dumps(r, indent=1) + "\n")
    print(f"\nsaved {args.json}")
    return 0


def check_targets(r):
    """The goals of issue #4 that this run measured: [{what, value, op, target, met}]."""
    rows = []
    for section, key, op, target in TARGETS:
        found = (r["startup"] if section == "startup"
                 else r["presets"].get(section, {}).get("ratios"))
        value = (found or {}).get(key)
        if value is not None:
            rows.append({"what": f"{section} {key}", "value": value, "op": op, "target": target,
                         "met": value < target if op == "<" else value <= target})
    return rows


def _table(headers, rows):
    fmt = lambda c: ("—" if c is None else f"{c:,.3g}" if isinstance(c, float) and abs(c) < 100
                     else f"{c:,.0f}" if isinstance(c, float) else str(c))
    cells = [headers] + [[fmt(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    return "\n".join("  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                               for i, (c, w) in enumerate(zip(row, widths))) for row in cells)


def report(r):
    print(f"minivae bench: {r['data']}, float32, default backend {r['default_backend']}; "
          f"load {r['load_before']:.2f} -> {r['load_after']:.2f}; threads {r['threads']}")
    print(f"medians of {r['repeats']} interleaved repeats of {r['steps']} steps\n")
    print(_table(["kernel", "shape", "numpy µs", "numba µs", "numba/numpy"],
                 [[k["kernel"], k["shape"], k["numpy_us"], k["numba_us"], k["numba_over_numpy"]]
                  for k in r["kernels"]]))
    for name, p in r["presets"].items():
        print(f"\n{name}: batch {p['batch_size']}, {p['params']:,} params, "
              f"{p['gemm_flop_per_step'] / 1e9:.2f} GFLOP/step in matmuls, "
              f"at {p['gemm_gflops']:.0f} GFLOP/s in the floor run")
        print(_table(["backend", "ms/step", "s/epoch", "images/s"],
                     [[b, v["ms_per_step"], v["s_per_epoch"], v["images_per_s"]]
                      for b, v in p["backends"].items()]))
        print("paired ratios, median (quartiles) over repeats:")
        for k, (lo, hi) in p["ratio_quartiles"].items():
            print(f"  {k:20s} {p['ratios'][k]:.3f}  ({lo:.3f}–{hi:.3f})")
    if r["startup"]:
        print("\nstart-up (s from numpy imported to first step done): " +
              ", ".join(f"{k} {v:.2f}" for k, v in r["startup"].items()))
    if r["targets"]:
        print("\n" + _table(["target", "measured", "goal", "met"],
                            [[t["what"], t["value"], f"{t['op']} {t['target']}",
                              "yes" if t["met"] else "NO"] for t in r["targets"]]))
