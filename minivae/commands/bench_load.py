"""`bench`'s rows under load: training steps while other programs hold the cores.

Each thread setting runs in a worker process of its own, started with the
environment that fixes it: the default (the thread policy of
minivae/kernels/threads.py, which measures when a run starts) and the fixed
settings a user can choose with variables (SETTINGS).  A measurement starts
a run as `train` does, the policy choosing its threads (nothing to measure
for a fixed setting), then times `steps` training steps of the preset.  Its
two parts are kept apart: the start-up (the policy's timing, once per run)
and an epoch's worth of steps at the measured rate (60,000 images).
Measurements alternate between the settings, in rotating order, and between
an idle machine and one loaded by busy processes that the bench starts
itself (one per core, two on a machine with fewer), so that a drift of the
machine weighs on all alike.

A third condition starts the busy processes once the run chose its threads,
on the idle machine, and before its steps (ARRIVING_STEPS times as many):
the load that arrives during a run, which the policy's watch
(minivae/kernels/watch.py) answers by timing the settings again.

Reported per setting: an epoch's seconds idle, under load and with the load
arriving (medians over rounds), idle against under load, and the start-up's
seconds; then the default's epoch against the best fixed setting's under
load and with the load arriving, and against the setting that was minivae's
default before the policy ("napping": all cores, workers that nap, the update
on 2 threads), idle.  Ratios between settings are medians of
the ratios within each round.  The start-up is paid once per run, whatever
its length; its share of one idle epoch is reported beside the ratios.
"""
import contextlib
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
# idle; busy processes started before the run; started after the run chose its threads
CONDITIONS = ("idle", "load", "arriving")
ARRIVING_STEPS = 3          # a run the load arrives in takes this many times the steps
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


def _ask(proc, steps, arriving=None):
    """Run `steps` steps on worker proc; arriving: called with no argument once the run
    chose its threads and before its steps (the load that arrives during a run)."""
    proc.stdin.write(f"{steps}{' arriving' if arriving else ''}\n")
    proc.stdin.flush()
    if arriving:
        _answer(proc)                   # {"settled": ...}
        arriving()
        proc.stdin.write("go\n")
        proc.stdin.flush()
    return _answer(proc)


def _answer(proc):
    line = proc.stdout.readline()
    if not line:
        raise RuntimeError("a bench worker under load stopped: see its error above")
    return json.loads(line)


def bench_load(x_path, preset, steps, rounds, cores, pause=0.3):
    """{settings: {name: {idle_s, load_s, arriving_s, load/idle, startup_s, chosen, ...}},
    ratios: {...}} (module docstring)."""
    workers = {name: _worker(name, cores, x_path, preset) for name in SETTINGS}
    names = list(workers)
    epochs = {name: {c: [] for c in CONDITIONS} for name in names}
    startup = {name: {c: [] for c in CONDITIONS} for name in names}
    chosen = {name: {c: [] for c in CONDITIONS} for name in names}
    epoch_steps = EPOCH // TrainConfig.from_preset(preset).batch_size
    load = []

    def arrive():
        load.extend(busy(max(2, cores)))
        time.sleep(pause)

    def leave():
        stop(load)
        load.clear()

    try:
        for name in names:                          # started, compiled, paged in
            _ask(workers[name], 1)
        for r in range(rounds):
            for condition in CONDITIONS:
                if condition == "load":             # once, for all the settings' runs
                    arrive()
                for name in names[r % len(names):] + names[:r % len(names)]:
                    time.sleep(pause)
                    arriving = condition == "arriving"      # anew for each run
                    n = steps * ARRIVING_STEPS if arriving else steps
                    answer = _ask(workers[name], n, arrive if arriving else None)
                    epochs[name][condition].append(answer["steps_s"] * epoch_steps / n)
                    startup[name][condition].append(answer["settle_s"])
                    chosen[name][condition].append(answer["setting"])
                    if arriving:
                        leave()
                leave()
    finally:
        leave()
        for proc in workers.values():
            proc.stdin.close()
            proc.wait(timeout=60)
    e = {name: {c: np.array(t) for c, t in ts.items()} for name, ts in epochs.items()}
    out = {}
    for name in names:
        out[name] = {"idle_s": float(np.median(e[name]["idle"])),
                     "load_s": float(np.median(e[name]["load"])),
                     "arriving_s": float(np.median(e[name]["arriving"])),
                     "load/idle": float(np.median(e[name]["load"] / e[name]["idle"])),
                     "startup_s": {c: float(np.median(v)) for c, v in startup[name].items()},
                     "chosen": {c: sorted(set(v)) for c, v in chosen[name].items()},
                     **{f"{c}_each_s": epochs[name][c] for c in CONDITIONS},
                     "startup_each_s": startup[name]}
    fixed = [n for n in names if n != "default"]
    best = {c: min(fixed, key=lambda n: out[n][f"{c}_s"]) for c in ("load", "arriving")}
    paired = lambda a, b, c: float(np.median(e[a][c] / e[b][c]))
    return {"preset": preset, "steps": steps, "arriving_steps": steps * ARRIVING_STEPS,
            "epoch_steps": epoch_steps, "rounds": rounds, "busy_processes": max(2, cores),
            "settings": out, "best_fixed_under_load": best["load"],
            "best_fixed_load_arriving": best["arriving"],
            "ratios": {"default/best fixed, under load": paired("default", best["load"], "load"),
                       "default/best fixed, load arriving":
                           paired("default", best["arriving"], "arriving"),
                       "default/before, idle": paired("default", BEFORE, "idle"),
                       "default start-up/epoch, idle": out["default"]["startup_s"]["idle"]
                       / out["default"]["idle_s"]}}


def report(r):
    print(f"\n{r['preset']} under load: seconds of an epoch ({r['epoch_steps']} steps, at the rate "
          f"of {r['steps']} timed after a run's start) with {r['busy_processes']} busy processes "
          f"beside it or none, or started once the run chose its threads ({r['arriving_steps']} "
          f"steps timed), and of the run's start-up (the thread policy's timing, once per run); "
          f"medians of {r['rounds']} round(s)")
    rows = [[name, s["idle_s"], s["load_s"], s["arriving_s"], s["load/idle"],
             s["startup_s"]["idle"], s["startup_s"]["load"],
             " / ".join(", ".join(s["chosen"][c]) for c in CONDITIONS)]
            for name, s in r["settings"].items()]
    width = max(len(row[0]) for row in rows)
    print(f"  {'setting':{width}s}  idle s  load s  arriving s  load/idle  start-up s idle / "
          "load  BLAS threads at the end, idle / under load / load arriving")
    for name, idle, loaded, arriving, ratio, up_idle, up_load, chose in rows:
        print(f"  {name:{width}s}  {idle:6.1f}  {loaded:6.1f}  {arriving:10.1f}  {ratio:9.2f}  "
              f"{up_idle:10.2f} / {up_load:4.2f}  {chose}")
    for k, v in r["ratios"].items():
        print(f"  {k:34s} {v:.3f}")


def serve(lines=sys.stdin, out=sys.stdout):
    """The worker: a JSON line {x_path, preset} first; then each line "N" starts a run (the
    thread policy chooses) and takes N steps, which the policy watches as `train`'s
    (kernels/watch.py); answers {settle_s, steps_s, setting}, the setting in force at the
    end.  "N arriving": the same, but once the threads are chosen it answers
    {"settled": setting} and waits for a line "go" before its steps."""
    from ..kernels import threads, warmup
    from ..kernels.watch import Watch
    from ..train import scratch_steps
    cfg = json.loads(next(lines))
    config = TrainConfig.from_preset(cfg["preset"])
    x = np.load(cfg["x_path"])
    warmup(np.float32)
    run_steps = scratch_steps(config, x)
    for line in lines:
        n, *arriving = line.split()
        t0 = time.perf_counter()
        policy = threads.settle(run_steps)
        settle_s = time.perf_counter() - t0
        watch = Watch(policy) if policy.seconds else None
        if arriving:
            print(json.dumps({"settled": threads.label(policy.setting)}), file=out, flush=True)
            next(lines)                                 # "go": the load is there
        t1 = time.perf_counter()
        with watch or contextlib.nullcontext():
            for _ in range(int(n)):
                run_steps(1)
                if watch:
                    watch.tick()
        setting = watch.setting if watch else policy.setting
        print(json.dumps({"settle_s": settle_s, "steps_s": time.perf_counter() - t1,
                          "setting": threads.label(setting)}), file=out, flush=True)


if __name__ == "__main__":
    if sys.argv[1:] != ["--serve"]:
        sys.exit("usage: python -m minivae.commands.bench_load --serve (bench starts it)")
    serve()
