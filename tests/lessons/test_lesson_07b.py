"""Lesson 07b (beyond the paper: Kingma & Welling 2014, Fig. 4) runs with --quick, writes its
figure and its page, and the numbers it prints are recomputed here from its checkpoint.

The pooled variance (law of total variance), the shares of μ(X) within radius
r, the empty cells of the inverse-CDF grid and the test −ELBO are worked out
again from the model the lesson saved, by this file's own code; the page's
weights file must hold that same model.
"""
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import norm

from lesson_tools import LESSONS, exercise_items, grab, run_lesson
from minivae.files.checkpoint import load_checkpoint

NUM = r"(-?\d+\.\d+)"


@pytest.fixture(scope="module")
def lesson(mnist_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("l07b")
    return run_lesson("07b_latent_2d.py", out, env={"MINIVAE_DATA": str(mnist_dir)}), out


def test_it_writes_the_manifold_and_the_page(lesson):
    text, out = lesson
    assert (out / "07b_manifold.png").stat().st_size > 20_000
    page = (out / "07b_explorer.html").read_text(encoding="utf-8")
    assert '<script src="07b_explorer_weights.js"' in page
    said = [line for line in text.splitlines() if "no interactive matplotlib backend" in line]
    assert len(said) == 1 and str(out / "07b_explorer.html") in said[0]


def test_the_printed_numbers_are_those_of_its_model(lesson, mnist_small):
    text, out = lesson
    model, _, meta = load_checkpoint(Path(grab(r"checkpoint: (\S+last\.npz)", text, str)[0]))
    assert (model.z_dim, model.hidden, meta["epoch"]) == (2, (500,), 3)
    x, y = mnist_small[2], mnist_small[3]                       # --quick: the first 500 test digits
    n, printed = grab(r"test −ELBO on (\d+) test digits after 3 epoch\(s\): " + NUM, text)
    assert n == len(x) == 500

    # −ELBO with one z per digit: within Monte Carlo error of 20 fresh draws per digit
    rng = np.random.default_rng(11)
    draws = np.stack([model.elbo(x, rng).elbo for _ in range(20)])
    se = np.sqrt(draws.var(axis=0, ddof=1).mean() / len(x) * (1 + 1 / 20))
    assert abs(printed + draws.mean()) < 5 * se + 0.01, (printed, -draws.mean(), se)

    mu, log_var = (a.astype(np.float64) for a in model.encode(x))
    pooled = [np.var(mu[:, j]) + np.mean(np.exp(log_var[:, j])) for j in (0, 1)]
    assert grab(r"Var\(μ_j\) \+ mean Σ_jj: " + NUM + ", " + NUM, text) == pytest.approx(pooled, abs=6e-4)
    r = np.hypot(mu[:, 0], mu[:, 1])
    shares = grab(r"within radius 1, 2, 3: " + ", ".join([NUM] * 3), text)
    assert shares == pytest.approx([(r < k).mean() for k in (1, 2, 3)], abs=6e-4)
    prior = grab(r"\(z ~ N\(0, I\): " + ", ".join([NUM] * 3), text)
    assert prior == pytest.approx([1 - math.exp(-k * k / 2) for k in (1, 2, 3)], abs=6e-4)

    # the cells of the 20 × 20 inverse-CDF grid: [Φ⁻¹(i/20), Φ⁻¹((i+1)/20)) per axis
    edges = norm.ppf(np.arange(1, 20) / 20)
    cells = {(int(np.searchsorted(edges, a)), int(np.searchsorted(edges, b))) for a, b in mu}
    lo, hi, empty = grab(r"z from " + NUM + " to " + NUM + r" per axis .*?; (\d+) of its 400 cells", text)
    assert (lo, hi) == pytest.approx((norm.ppf(0.025), norm.ppf(0.975)), abs=6e-4)
    assert empty == 400 - len(cells)

    # the page's weights file holds this model's decoder and these encodings
    line = (out / "07b_explorer_weights.js").read_text(encoding="utf-8").splitlines()[1]
    w = json.loads(re.fullmatch(r"window\.MINIVAE_EXPLORER = (\{.*\});", line).group(1))
    assert w["layers"] == [[2, 500], [500, 784]] and w["points"] == 500
    assert f"test −ELBO {printed:.1f} nats" in w["about"]


def test_exercise_numbers():
    """The exercises quote Φ⁻¹(1/60) for a 30-cell grid and the prior's share 1 − e⁻² within 2 σ."""
    bodies = exercise_items("07b_latent_2d.py")
    assert len(bodies) == 4
    text = (LESSONS / "07b_latent_2d.py").read_text(encoding="utf-8")
    edge = float(re.search(r"Φ⁻¹\(1/60\) = −(\d\.\d+)", text).group(1))
    assert -edge == pytest.approx(norm.ppf(1 / 60), abs=5e-4)
    share = float(re.search(r"1 − e⁻² = (\d\.\d+)", text).group(1))
    assert share == pytest.approx(1 - math.exp(-2), abs=5e-4)
