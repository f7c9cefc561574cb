"""`bench`'s rows under load: training steps while other programs hold the cores.

Each thread setting runs in a worker process of its own, started with the
environment that fixes it: the default (the thread policy of
minivae/kernels/threads.py, which measures when a run starts) and the fixed
settings a user can choose with variables (SETTINGS).  A measurement starts
a run as `train` does, the policy choosing its threads (nothing to measure
for a fixed setting), then times `steps` training steps of the preset; the
epoch it stands for is the policy's seconds plus an epoch's worth of steps
at the measured rate (60,000 images).  Measurements alternate between the
settings, in rotating order, and between an idle machine and one loaded by
busy processes that the bench starts itself (one per core, two on a machine
with fewer), so that a drift of the machine weighs on all alike.

Reported per setting: an epoch's seconds idle and under load (medians over
rounds) and their ratio (the median of the ratios within each round); then
the default's epoch against the best fixed setting's under load, and against
the setting that was minivae's default before the policy ("napping": all
cores, workers that nap, the update on 2 threads), idle.
"""
import json
import os
import subprocess
import sys
import time

import numpy as np

from ..config import TrainConfig

# setting -> environment for its worker; "{cores}": the cores a run may use
SETTINGS = {
    "default": {},
    "1 thread": {"OPENBLAS_NUM_THREADS": "1"},
    "napping": {"OPENBLAS_NUM_THREADS": "{cores}", "OPENBLAS_THREAD_TIMEOUT": "16"},
    "spinning": {"OPENBLAS_NUM_THREADS": "{cores}", "OPENBLAS_THREAD_TIMEOUT": "28"},
}
BEFORE = "napping"          # minivae's default before the thread policy
EPOCH = 60000               # MNIST training images
THREAD_VARS = ("OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "OMP_NUM_THREADS",
               "OPENBLAS_THREAD_TIMEOUT", "NUMBA_NUM_THREADS")


def busy(n):
    """n processes that spin on the CPU until stopped (stop(procs))."""
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]


def stop(procs):
    for p in procs:
        p.kill()
    for p in procs:
        p.wait()


def worker_env(name, cores, environ=os.environ):
    """The environment of setting `name`'s worker: this one without thread variables, then
    the setting's own."""
    env = {k: v for k, v in environ.items() if k not in THREAD_VARS}
    env.update({k: v.format(cores=cores) for k, v in SETTINGS[name].items()})
    return env


def _worker(name, cores, x_path, preset):
    env = worker_env(name, cores)
    proc = subprocess.Popen([sys.executable, "-m", "minivae.commands.bench_load", "--serve"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    proc.stdin.write(json.dumps({"x_path": x_path, "preset": preset}) + "\n")
    proc.stdin.flush()
    return proc


def _ask(proc, steps):
    proc.stdin.write(f"{steps}\n")
    proc.stdin.flush()
    line = proc.stdout.readline()
    if not line:
        raise RuntimeError("a bench worker under load stopped: see its error above")
    return json.loads(line)


def bench_load(x_path, preset, steps, rounds, cores, pause=0.3):
    """{settings: {name: {idle_s, load_s, load/idle, chosen}}, ratios: {...}} (module docstring)."""
    workers = {name: _worker(name, cores, x_path, preset) for name in SETTINGS}
    names = list(workers)
    runs = {name: {"idle": [], "load": []} for name in names}
    chosen = {name: {"idle": [], "load": []} for name in names}
    epoch_steps = EPOCH // TrainConfig.from_preset(preset).batch_size
    load = []
    try:
        for name in names:                          # started, compiled, paged in
            _ask(workers[name], 1)
        for r in range(rounds):
            for condition in ("idle", "load"):
                if condition == "load":
                    load = busy(max(2, cores))
                    time.sleep(pause)
                for name in names[r % len(names):] + names[:r % len(names)]:
                    time.sleep(pause)
                    answer = _ask(workers[name], steps)
                    runs[name][condition].append(answer["settle_s"] + answer["steps_s"]
                                                 * epoch_steps / steps)
                    chosen[name][condition].append(answer["setting"])
                stop(load)
                load = []
    finally:
        stop(load)
        for proc in workers.values():
            proc.stdin.close()
            proc.wait(timeout=60)
    out = {}
    for name, t in runs.items():
        idle, loaded = np.array(t["idle"]), np.array(t["load"])
        out[name] = {"idle_s": float(np.median(idle)), "load_s": float(np.median(loaded)),
                     "load/idle": float(np.median(loaded / idle)),
                     "chosen": {c: sorted(set(v)) for c, v in chosen[name].items()},
                     "idle_each_s": t["idle"], "load_each_s": t["load"]}
    fixed = [n for n in names if n != "default"]
    best = min(fixed, key=lambda n: out[n]["load_s"])
    d = out["default"]
    return {"preset": preset, "steps": steps, "epoch_steps": epoch_steps, "rounds": rounds,
            "busy_processes": max(2, cores),
            "settings": out, "best_fixed_under_load": best,
            "ratios": {"default/best fixed, under load": d["load_s"] / out[best]["load_s"],
                       "default/before, idle": d["idle_s"] / out[BEFORE]["idle_s"]}}


def report(r):
    print(f"\n{r['preset']} under load: seconds of an epoch ({r['epoch_steps']} steps, timed on "
          f"{r['steps']} after a run's start, its thread choice included), with "
          f"{r['busy_processes']} busy processes beside it or none; medians of {r['rounds']} "
          "round(s)")
    rows = [[name, s["idle_s"], s["load_s"], s["load/idle"],
             " / ".join(", ".join(s["chosen"][c]) for c in ("idle", "load"))]
            for name, s in r["settings"].items()]
    width = max(len(row[0]) for row in rows)
    print(f"  {'setting':{width}s}  idle s  load s  load/idle  BLAS threads idle / under load")
    for name, idle, loaded, ratio, chose in rows:
        print(f"  {name:{width}s}  {idle:6.1f}  {loaded:6.1f}  {ratio:9.2f}  {chose}")
    for k, v in r["ratios"].items():
        print(f"  {k:32s} {v:.3f}")


def serve(lines=sys.stdin, out=sys.stdout):
    """The worker: a JSON line {x_path, preset} first; then each line "N" starts a run
    (the thread policy chooses) and takes N steps; answers {settle_s, steps_s, setting}."""
    from ..kernels import threads, warmup
    from ..train import scratch_steps
    cfg = json.loads(next(lines))
    config = TrainConfig.from_preset(cfg["preset"])
    x = np.load(cfg["x_path"])
    warmup(np.float32)
    run_steps = scratch_steps(config, x)
    for line in lines:
        t0 = time.perf_counter()
        policy = threads.settle(run_steps)
        t1 = time.perf_counter()
        run_steps(int(line))
        print(json.dumps({"settle_s": t1 - t0, "steps_s": time.perf_counter() - t1,
                          "setting": threads.label(policy.setting)}), file=out, flush=True)


if __name__ == "__main__":
    if sys.argv[1:] != ["--serve"]:
        sys.exit("usage: python -m minivae.commands.bench_load --serve (bench starts it)")
    serve()
