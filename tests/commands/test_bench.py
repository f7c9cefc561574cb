"""`python -m minivae bench --quick` runs and writes the JSON it promises.

No timing is asserted (the machine's load decides those); only that every
number is there, finite and positive, that the ratios are the ratios of the
numbers beside them, and what does not depend on the machine: the flushed
trained state holds no value below the flush threshold.
"""
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from minivae import kernels

REPO = Path(__file__).resolve().parents[2]
KERNELS = {"dense_forward", "dense_backward", "relu_forward", "sigmoid", "bernoulli_nll_and_grad",
           "reparam_forward", "reparam_backward", "kl_normal_and_grads", "adam_step",
           "sgd_step", "matmul"}


def positive(v):
    return isinstance(v, (int, float)) and math.isfinite(v) and v > 0


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench") / "b.json"
    proc = subprocess.run([sys.executable, "-m", "minivae", "bench", "--quick", "--torch", "off",
                           "--json", str(out)], capture_output=True, text=True, cwd=REPO,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "saved" in proc.stdout and "doersch" in proc.stdout
    return json.loads(out.read_text())


def test_top_level_keys(result):
    assert {"quick", "when", "data", "steps", "repeats", "warmup_epochs", "dtype",
            "default_backend", "versions", "threads", "cpu", "kernels", "presets", "load",
            "startup", "targets", "load_before", "load_after"} <= set(result)
    assert result["quick"] is True and result["dtype"] == "float32"
    assert result["warmup_epochs"] == 1                 # --quick: one epoch of 2,000 images
    assert result["default_backend"] == kernels.DEFAULT
    assert result["startup"] is None                    # not measured in --quick


def test_kernel_rows(result):
    rows = {r["kernel"]: r for r in result["kernels"]}
    assert set(rows) == KERNELS
    for r in rows.values():
        assert positive(r["numpy_us"]) and r["shape"]
        if "numba" in kernels.available_backends():
            assert positive(r["numba_us"])
            assert r["numba_over_numpy"] == pytest.approx(r["numba_us"] / r["numpy_us"])


def test_presets(result):
    assert set(result["presets"]) == {"doersch", "pytorch-example"}
    expected_backends = (set(kernels.available_backends())
                         | {"gemm_floor", "floor+adam", "floor+adam_in_place", "trained",
                            "trained_noflush"})
    for name, p in result["presets"].items():
        ab = {"numba_1thread"} if p["threads"]["update"] == 2 else set()   # the update's A/B
        assert set(p["backends"]) == expected_backends | ab      # torch was turned off
        for b in p["backends"].values():
            assert positive(b["ms_per_step"])
            s_per_step = b["ms_per_step"] / 1e3
            assert b["s_per_epoch"] == pytest.approx(s_per_step * 60000 / p["batch_size"])
            assert b["images_per_s"] == pytest.approx(p["batch_size"] / (b["ms_per_step"] / 1e3))
        assert positive(p["gemm_gflops"]) and positive(p["params"])
        t = p["threads"]
        assert set(t) == {"blas", "update", "why", "changes", "blas_at_end"}
        assert t["update"] in (1, 2)
        # the watch's changes, each said as train says it; the last is the setting at the end
        assert all(line.startswith("threads: BLAS ") for line in t["changes"])
        assert t["blas_at_end"] == (t["changes"][-1].split(" -> ")[1].split(",")[0]
                                    if t["changes"] else t["blas"])
        r = p["ratios"]
        assert positive(r["default/floor"])
        assert r["floor_fraction_achieved"] == pytest.approx(1 / r["default/floor"])
        assert positive(r["default/floor+adam"]) and positive(r["floor+adam/floor"])
        # quartiles recomputed here from the raw per-repeat times
        each = {b: np.array(v["ms_per_step_each_repeat"]) for b, v in p["backends"].items()}
        d = p["default_backend"]
        for key, (a, b) in {"floor+adam/floor": ("floor+adam", "gemm_floor"),
                            "in place/apart": ("floor+adam_in_place", "floor+adam"),
                            "default/floor+adam_in_place": (d, "floor+adam_in_place"),
                            "numba/numpy": ("numba", "numpy"), "trained/fresh": ("trained", d),
                            "noflush/flush": ("trained_noflush", "trained"),
                            "update 2/1 threads": ("numba", "numba_1thread")}.items():
            if a in each and b in each:
                q = np.percentile(each[a] / each[b], [25, 50, 75])
                assert p["ratio_quartiles"][key] == pytest.approx(q[[0, 2]], rel=1e-9)
                assert r[key] == pytest.approx(q[1], rel=1e-9)
            else:
                assert r[key] is None
        for k in ("default/torch", "trained/torch", "trained/torch_ftz"):
            assert r[k] is None


def test_the_in_place_floor_works_on_the_models_own_arrays():
    """floor+adam_in_place's products write the model's own gradients and its update
    moves the model's own weights; the plain floor's touch neither."""
    from minivae.commands.bench import adam_floor_runner, gemm_floor_runner
    from minivae.config import PRESETS
    from minivae.model import VAE
    cfg = PRESETS["pytorch-example"]
    for in_place in (False, True):
        model = VAE(x_dim=784, hidden=cfg["hidden"], z_dim=cfg["z_dim"], dtype=np.float32)
        before = model.flat_params.copy()
        gemm, _ = gemm_floor_runner(model, 16, in_place=in_place)
        apart = np.ones((2, model.flat_params.size), np.float32)
        p, g = (model.flat_params, model.flat_grads) if in_place else apart
        adam_floor_runner(gemm, "numpy", cfg, p, g)(2)
        W = model.grads["encoder.0.W"]
        assert (np.abs(W).sum() > 0) == in_place
        moved = model.flat_params != before
        if in_place:        # an Adam step can round to nothing for a few entries
            assert moved[model.flat_grads != 0].mean() > 0.99
        else:
            assert not moved.any()


def test_the_default_tells_its_steps_to_the_watch():
    """As train does (kernels/watch.py): each run of a contender's steps is a stretch, and
    the watch hears of every step in it."""
    from minivae.commands.bench import minivae_runner
    from minivae.config import PRESETS
    from train_tools import EventsWatch
    events = []
    X = np.random.default_rng(0).random((300, 784), dtype=np.float32)
    run, _ = minivae_runner(PRESETS["pytorch-example"], X, "numpy", watch=EventsWatch(events))
    run(3)
    run(2)
    assert events == ["begin"] + ["tick"] * 3 + ["end", "begin"] + ["tick"] * 2 + ["end"]


def test_trained_state(result):
    """Each preset's trained contenders trained one epoch of the 2,000 --quick images;
    the flushed one holds no subnormal and no weight or first moment below 2^-63, and the
    counts add up."""
    for name, p in result["presets"].items():
        assert p["warmup_epochs"] == 1 and p["warmup_steps"] == 2000 // p["batch_size"]
        counts = p["tiny_counts_after_warmup"]
        assert set(counts) == {"trained", "trained_noflush"}
        for who, c in counts.items():
            assert set(c) == {"params", "m", "v"}
            for n in c.values():
                assert 0 <= n["subnormal"] <= n["below_threshold"] <= p["params"]
        # flushed: params and m hold nothing below 2^-63; v (squared gradients) is
        # flushed below 4 × the smallest normal instead, so nothing is subnormal
        flushed = counts["trained"]
        assert flushed["params"]["below_threshold"] == flushed["m"]["below_threshold"] == 0
        assert all(n["subnormal"] == 0 for n in flushed.values())
    # 26 matrix products of the doersch step: 9 forward, 9 dW, 8 dx (none for the data)
    d = result["presets"]["doersch"]
    sizes = [(784, 1000), (1000, 500), (500, 250), (250, 30), (250, 30),
             (30, 250), (250, 500), (500, 1000), (1000, 784)]
    flop = sum(2 * 100 * a * b * (2 if i == 0 else 3) for i, (a, b) in enumerate(sizes))
    assert d["gemm_flop_per_step"] == flop and d["batch_size"] == 100


def test_load_rows(result):
    """Four settings, each an epoch's seconds idle, under load and with the load arriving,
    and its start-up's, taken from its rounds; the ratios between settings are the medians
    of the ratios within a round (one round here: the ratios of the single measurements)."""
    load = result["load"]
    assert load["preset"] == "doersch" and load["epoch_steps"] == 600 and load["rounds"] == 1
    assert load["arriving_steps"] == 3 * load["steps"]
    assert set(load["settings"]) == {"default", "1 thread", "napping", "spinning"}
    for s in load["settings"].values():
        for c in ("idle", "load", "arriving"):
            assert len(s[f"{c}_each_s"]) == 1 and s[f"{c}_s"] == s[f"{c}_each_s"][0] > 0
        assert s["load/idle"] == pytest.approx(s["load_s"] / s["idle_s"])
        assert s["startup_s"] == {c: v[0] for c, v in s["startup_each_s"].items()}
    best = {}
    for c in ("load", "arriving"):
        fixed = {k: v[f"{c}_s"] for k, v in load["settings"].items() if k != "default"}
        best[c] = min(fixed, key=fixed.get)
    assert load["best_fixed_under_load"] == best["load"]
    assert load["best_fixed_load_arriving"] == best["arriving"]
    d, s = load["settings"]["default"], load["settings"]
    assert load["ratios"] == pytest.approx({
        "default/best fixed, under load": d["load_s"] / s[best["load"]]["load_s"],
        "default/best fixed, load arriving": d["arriving_s"] / s[best["arriving"]]["arriving_s"],
        "default/before, idle": d["idle_s"] / s["napping"]["idle_s"],
        "default start-up/epoch, idle": d["startup_s"]["idle"] / d["idle_s"]})
    if result["threads"]["usable_cores"] >= 2:     # one core: the default has nothing to time
        # a fixed setting has nothing to time: its start-up is below the default's
        assert load["settings"]["1 thread"]["startup_s"]["idle"] < d["startup_s"]["idle"]
    assert load["settings"]["1 thread"]["chosen"] == {c: ["1 thread"]
                                                      for c in ("idle", "load", "arriving")}


def test_a_ratio_between_settings_pairs_the_measurements_of_a_round(monkeypatch):
    """With two rounds, default/before is the median of the two rounds' ratios, not the
    ratio of the medians: a round where the whole machine ran slow weighs on both.  The
    start-up is kept out of the epoch."""
    from minivae.commands import bench_load
    # per setting and round: (start-up s, seconds of the 6 timed steps), idle and load alike
    answers = {"default": [(0.5, 1.0), (0.5, 3.0)], "napping": [(0.0, 1.0), (0.0, 2.0)],
               "1 thread": [(0.0, 2.0), (0.0, 2.0)], "spinning": [(0.0, 2.0), (0.0, 2.0)]}

    class Worker:
        def __init__(self, name, *args):
            self.name, self.asked, self.stdin = name, 0, self

        def close(self):
            pass

        def wait(self, timeout=None):
            return 0

    def ask(worker, steps, arriving=None):
        if steps == 1:                                  # the untimed first run
            return {"settle_s": 0.0, "steps_s": 1.0, "setting": worker.name}
        settle, seconds = answers[worker.name][worker.asked // 3]   # idle, load, arriving
        if arriving:                                    # 3 × the steps, the same rate
            arriving()
            seconds *= 3
        worker.asked += 1
        return {"settle_s": settle, "steps_s": seconds, "setting": worker.name}

    monkeypatch.setattr(bench_load, "_worker", Worker)
    monkeypatch.setattr(bench_load, "_ask", ask)
    monkeypatch.setattr(bench_load, "busy", lambda n: [])
    monkeypatch.setattr(bench_load.time, "sleep", lambda s: None)
    r = bench_load.bench_load("x.npy", "doersch", steps=6, rounds=2, cores=2)
    assert r["ratios"]["default/before, idle"] == pytest.approx((1.0 / 1.0 + 3.0 / 2.0) / 2)
    assert r["settings"]["default"]["idle_s"] == pytest.approx(2.0 * 600 / 6)
    # the load arriving: 18 steps at the same rate give the same epoch, and the best fixed
    # setting is napping's (medians 1.5 against 2.0)
    assert r["settings"]["default"]["arriving_s"] == pytest.approx(2.0 * 600 / 6)
    assert r["best_fixed_load_arriving"] == "napping"
    assert r["ratios"]["default/best fixed, load arriving"] == pytest.approx(1.25)
    assert r["settings"]["default"]["startup_s"] == {"idle": 0.5, "load": 0.5, "arriving": 0.5}
    assert r["ratios"]["default start-up/epoch, idle"] == pytest.approx(0.5 / 200)


def test_targets_are_judged_from_the_ratios(result):
    assert result["targets"]
    for t in result["targets"]:
        section, ratio = t["what"].split(" ", 1)
        found = result["load"] if section == "load" else result["presets"][section]
        assert t["value"] == found["ratios"][ratio]
        assert t["op"] in ("<", "≤") and t["measures"]
        v, goal = t["value"], t["target"]
        assert t["met"] == (v < goal if t["op"] == "<" else v <= goal)


@pytest.mark.parametrize("flags, message", [
    (["--steps", "0"], "--steps and --repeats must be positive"),
    (["--warmup-epochs", "-1"], "--warmup-epochs must be 0 or more"),
    (["--load-steps", "-1"], "--load-steps must be 0 or more"),
    (["--json", "{tmp}"], "--json {tmp} is a folder; give the path of a file"),
    (["--json", "{tmp}/f/x.json"], "--json's directory {tmp}/f is a file, not a directory")])
def test_bad_arguments_are_one_line_errors(tmp_path, flags, message):
    """Refused at once (well under the seconds a timed run takes), nothing written."""
    (tmp_path / "f").write_text("a file where a directory is asked for")
    flags = [f.format(tmp=tmp_path) for f in flags]
    json_flag = [] if "--json" in flags else ["--json", str(tmp_path / "x.json")]
    proc = subprocess.run([sys.executable, "-m", "minivae", "bench", *flags, "--quick",
                           *json_flag], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"minivae bench: error: {message.format(tmp=tmp_path)}"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f"]
