"""Every lesson's wall time, --quick and default, as a Markdown table for the README.

    python tools/lesson_times.py [--only 01 07 07b ...] [--quick-only] [--json PATH] [--printed DIR]

Runs each lessons/0*.py as its own process, once with --quick and once as
written (the default), figures to a temporary --out and MPLBACKEND=Agg, and
times each from outside: start-up and imports included, as a class waits for
them.  The default runs train models and take far longer than the quick
ones; --quick-only skips them.

Run it on an idle machine: other work on the same cores stretches every
time, often several-fold.  The CPU and the load average before and after are
printed with the table, and a 1-minute load above 0.5 at the start draws a
warning.  A lesson that fails shows "failed (exit N)" in its cell (its stderr
goes to stderr), and the script then exits 1.  --printed DIR keeps what each
run printed (DIR/<lesson>.txt, DIR/<lesson>.quick.txt): the numbers a lesson's
prose quotes are checked against its default run's.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from minivae.classroom.materials import as_lesson_number, lesson_number
from race import cpu_model, load_average      # tools/race.py, beside this file

ROOT = Path(__file__).resolve().parent.parent
LESSONS = ROOT / "lessons"
IDLE_LOAD = 0.5


def run_lesson(script, quick, printed=None):
    """Run one lesson; return {"seconds", "exit"} (seconds of wall clock); keep its stdout
    and stderr in the folder `printed` if given."""
    env = dict(os.environ, MPLBACKEND="Agg")
    env.pop("MINIVAE_QUICK", None)                 # it would turn a default run into --quick
    with tempfile.TemporaryDirectory(prefix="lesson-times-") as out:
        cmd = [sys.executable, str(script), "--out", out] + (["--quick"] if quick else [])
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
        seconds = time.perf_counter() - t0
    if printed:
        Path(printed, f"{script.stem}{'.quick' if quick else ''}.txt").write_text(
            proc.stdout + proc.stderr, encoding="utf-8")
    if proc.returncode != 0:
        print(f"{script.name}{' --quick' if quick else ''} failed (exit {proc.returncode}):\n"
              + proc.stderr[-2000:], file=sys.stderr)
    return {"seconds": round(seconds, 1), "exit": proc.returncode}


def cell(run):
    if run is None:
        return "not run"
    return f"{run['seconds']:.1f} s" if run["exit"] == 0 else f"failed (exit {run['exit']})"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="+", metavar="NN", help="just these lessons, e.g. --only 01 07b")
    ap.add_argument("--quick-only", action="store_true", help="skip the default (long) runs")
    ap.add_argument("--json", metavar="PATH", help="also save every number here")
    ap.add_argument("--printed", metavar="DIR", help="keep what each run printed in DIR")
    a = ap.parse_args(argv)

    scripts = sorted(LESSONS.glob("0*.py"))
    if a.only:
        wanted = {as_lesson_number(n) for n in a.only}
        unknown = wanted - {lesson_number(s) for s in scripts}
        if unknown:
            ap.error(f"no lesson {', '.join(sorted(unknown))} in {LESSONS}")
        scripts = [s for s in scripts if lesson_number(s) in wanted]

    cpu, load_before = cpu_model(), load_average()
    if load_before and load_before[0] > IDLE_LOAD:
        print(f"lesson_times.py: load average {load_before[0]} > {IDLE_LOAD}: not an idle "
              "machine; these times will be longer than an idle machine's", file=sys.stderr)
    if a.printed:
        Path(a.printed).mkdir(parents=True, exist_ok=True)
    results = {}
    for script in scripts:
        print(f"running {script.name} ...", file=sys.stderr, flush=True)
        results[script.stem] = {"quick": run_lesson(script, True, a.printed),
                                "default": None if a.quick_only else run_lesson(script, False,
                                                                                 a.printed)}
    load_after = load_average()

    print("| lesson | --quick | default |\n| --- | --- | --- |")
    for name, runs in results.items():
        print(f"| {name} | {cell(runs['quick'])} | {cell(runs['default'])} |")
    print(f"\nCPU: {cpu}\nload average before: {load_before}, after: {load_after}")
    if a.json:
        Path(a.json).write_text(json.dumps({"cpu": cpu, "load_before": load_before,
                                            "load_after": load_after, "lessons": results},
                                           indent=1) + "\n")
        print(f"saved {a.json}")
    failed = any(run and run["exit"] for runs in results.values() for run in runs.values())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
