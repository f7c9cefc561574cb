"""Lesson 08 (CVAE vs regressor, §4.2, Fig. 8) runs with --quick; its printed
numbers are checked against quantities recomputed here from MNIST itself.

What the mathematics fixes, whatever the training did: sigmoid cross-entropy
against a grey target y is at least its binary entropy H(y), so neither the
regressor's log P(Y|X) nor the CVAE's bound (Eq. 13; its KL is ≥ 0) can
exceed −∑_d H(y_d), which this test computes from the test digits directly.
"""
import ast
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from lesson_tools import REPO, grab  # noqa: F401
NUM = r"([-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?)"
N_TEST, N_SHOW = 500, 12             # --quick evaluates the first 500 test digits, shows 12


@pytest.fixture(scope="module")
def run(mnist_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("l08")
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONIOENCODING="utf-8", MINIVAE_DATA=str(mnist_dir))
    proc = subprocess.run([sys.executable, str(REPO / "lessons" / "08_cvae_mnist.py"), "--quick",
                           "--out", str(out)], cwd=REPO, env=env, capture_output=True, text=True,
                          encoding="utf-8", timeout=300)
    assert proc.returncode == 0, f"lesson 08 failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout, out


@pytest.fixture(scope="module")
def test_digits(mnist_dir):
    """(column 13, the other 27 columns) of the first N_TEST test digits, split here by hand."""
    from minivae.data import load_mnist
    grid = load_mnist("test", data_dir=mnist_dir, download=False)[0][:N_TEST].reshape(-1, 28, 28)
    return grid[:, :, 13], np.concatenate([grid[:, :, :13], grid[:, :, 14:]], axis=2).reshape(N_TEST, 756)


def entropy_ceiling(y):
    """−mean over digits of ∑_d H(y_d), H(y) = −y log y − (1−y) log(1−y), H(0) = H(1) = 0."""
    y = y.astype(np.float64)
    inner = (y > 0) & (y < 1)
    yi = np.where(inner, y, 0.5)
    return -np.where(inner, -(yi * np.log(yi) + (1 - yi) * np.log(1 - yi)), 0.0).sum(1).mean()


def test_figure_and_panels(run, test_digits):
    stdout, out = run
    assert (out / "08_fig8.png").is_file() and (out / "08_fig8.png").stat().st_size > 10_000
    panels = np.load(out / "08_fig8_panels.npz")
    col, y = test_digits
    assert np.array_equal(panels["ground_truth"], y[:N_SHOW])
    x_bin = panels["x_bin"]
    assert x_bin.shape == (N_SHOW, 28) and set(np.unique(x_bin)) <= {0.0, 1.0}
    # a Bernoulli(p) draw is 0 where p = 0 and 1 where p = 1
    assert np.all(x_bin[col[:N_SHOW] == 0] == 0) and np.all(x_bin[col[:N_SHOW] == 1] == 1)
    for name in ["regressor"] + [f"CVAE_z_{s}" for s in range(1, 5)]:
        p = panels[name]
        assert p.shape == (N_SHOW, 756) and np.all((p > 0) & (p < 1)), name


def test_ground_truth_grey_share_and_entropy_ceiling(run, test_digits):
    stdout, _ = run
    _, y = test_digits
    share = 100 * ((y >= 0.2) & (y <= 0.8)).mean()
    assert grab(rf"ground truth Y:\s+{NUM} %", stdout)[0] == pytest.approx(share, abs=0.006)
    ceiling = entropy_ceiling(y)
    assert grab(rf"ceiling for any model.*?:\s+{NUM}", stdout)[0] == pytest.approx(ceiling, abs=0.006)


def test_likelihoods_obey_the_bounds(run, test_digits):
    stdout, _ = run
    ceiling = entropy_ceiling(test_digits[1])
    elbo, recon, kl = grab(rf"conditional ELBO.*?:\s+{NUM} = {NUM} E\[log P\(Y\|z,X\)\] − {NUM} KL", stdout)
    reg_ll = grab(rf"regressor log P\(Y\|X\) \(exact\):\s+{NUM}", stdout)[0]
    assert kl >= 0 and elbo == pytest.approx(recon - kl, abs=0.011)
    assert recon <= ceiling and elbo <= ceiling and reg_ll <= ceiling
    # the untrained models start at 756·log 2 ≈ 524 nats; 30 steps must have moved them
    assert elbo > -756 * np.log(2) + 100 and reg_ll > -756 * np.log(2) + 100
    diff = grab(rf"bound is {NUM} nats per digit above", stdout)[0]
    assert diff == pytest.approx(elbo - reg_ll, abs=0.011)
    shares = [grab(rf"{label}:\s+{NUM} %", stdout)[0] for label in (r"regressor sig\(r\(X\)\)",
                                                                       r"one z ~ N\(0, I\)")]
    assert all(0 <= s <= 100 for s in shares)
    assert "30 iterations per model instead of 60,000" in stdout


def printed_list(name, text):
    m = re.search(rf"^\s+{name} = (\[[^=\n]*\])$", text, re.M)
    assert m, f"no printed {name} in:\n{text}"
    return np.array(ast.literal_eval(m.group(1)), dtype=np.float64)


def test_eq13_both_sides_agree_on_an_exact_cvae(run):
    """Eq. 13 on the lesson's linear-Gaussian CVAE, z ~ N(0, I), P(Y|z, X) = N(Wz + VX + b, σ²I),
    Q(z|Y, X) = N(AY + BX, diag e^log_var).  For the printed first pair, every integral is
    recomputed here on a grid of z (trapezoid, 2-D, ±10 posterior sds; no closed form):
    log P(Y|X) = log ∫ P(Y|z, X) N(z) dz, D[Q ‖ P(z|Y, X)], E_Q[log P(Y|z, X)] and
    D[Q ‖ N(0, I)].  The printed left and right sides must match these to 1e-6 nats (the
    grid's error is far smaller), and the lesson's largest |left − right| over its 1,000
    pairs must be rounding error (< 1e-9 nats)."""
    stdout, _ = run
    K, Dx, Dy, sigma = grab(rf"CVAE \(K = (\d+), Dx = (\d+), Dy = (\d+), sigma = {NUM}\), both sides exact", stdout)
    K, Dx, Dy = int(K), int(Dx), int(Dy)
    W, V, b, A, B, log_var, X, Y = (printed_list(n, stdout) for n in ("W", "V", "b", "A", "B", "log_var", "X", "Y"))
    assert W.shape == (Dy, K) and V.shape == (Dy, Dx) and A.shape == (K, Dy) and X.shape == (Dx,)
    left, log_py = grab(rf"left  log P\(Y\|X\) - D\[Q\(z\|Y,X\) \|\| P\(z\|Y,X\)\] = {NUM} "
                        rf"\(log P\(Y\|X\) = {NUM}\)", stdout)
    right, = grab(rf"right E_Q\[log P\(Y\|z,X\)\] - D\[Q\(z\|Y,X\) \|\| P\(z\|X\)\] = {NUM}", stdout)
    max_diff, = grab(rf"max \|left - right\| = {NUM} nats", stdout)
    assert max_diff < 1e-9

    mu, sd = A @ Y + B @ X, np.exp(0.5 * log_var)               # Q(z|Y, X)
    axes = [np.linspace(m - 10 * s, m + 10 * s, 1601) for m, s in zip(mu, sd)]
    dz = [a[1] - a[0] for a in axes]
    z = np.stack(np.meshgrid(*axes, indexing="ij"), -1)          # (n, n, K); Q's mass is all here
    r = Y - (z @ W.T + V @ X + b)
    log_lik = -0.5 * Dy * np.log(2 * np.pi * sigma ** 2) - (r * r).sum(-1) / (2 * sigma ** 2)
    log_prior = -0.5 * (z * z).sum(-1) - 0.5 * K * np.log(2 * np.pi)
    log_q = (-0.5 * ((z - mu) / sd) ** 2 - np.log(sd) - 0.5 * np.log(2 * np.pi)).sum(-1)
    q = np.exp(log_q)
    integral = lambda f: np.trapezoid(np.trapezoid(f, dx=dz[1], axis=1), dx=dz[0])
    assert integral(q) == pytest.approx(1.0, abs=1e-9)
    # log P(Y|X) over the prior needs a grid around the posterior instead: there N(z) is not small
    post_axes = [np.linspace(-8, 8, 3201)] * K
    zp = np.stack(np.meshgrid(*post_axes, indexing="ij"), -1)
    rp = Y - (zp @ W.T + V @ X + b)
    joint = np.exp(-0.5 * Dy * np.log(2 * np.pi * sigma ** 2) - (rp * rp).sum(-1) / (2 * sigma ** 2)
                   - 0.5 * (zp * zp).sum(-1) - 0.5 * K * np.log(2 * np.pi))
    h = post_axes[0][1] - post_axes[0][0]
    log_py_grid = np.log(np.trapezoid(np.trapezoid(joint, dx=h, axis=1), dx=h))
    gap = integral(q * (log_q - (log_lik + log_prior - log_py_grid)))
    e_log_lik = integral(q * log_lik)
    kl_prior = integral(q * (log_q - log_prior))
    assert log_py == pytest.approx(log_py_grid, abs=1e-6)
    assert left == pytest.approx(log_py_grid - gap, abs=1e-6)
    assert right == pytest.approx(e_log_lik - kl_prior, abs=1e-6)
    assert gap > 0.01                                             # the encoder is not the posterior: a real gap


def test_figures_6_and_8(run):
    _, out = run
    for name in ("08_fig6", "08_fig8"):
        assert (out / f"{name}.png").stat().st_size > 10_000


def test_exercise_1_counts_columns(mnist_dir):
    """Exercise 1's expected counts, recounted here from MNIST: grey middle columns are
    nearly all distinct, one binarization (rng seed 0, as the exercise says) merges many."""
    from minivae.batches import binarize_dynamic
    from minivae.data import load_mnist
    text = (REPO / "lessons" / "08_cvae_mnist.py").read_text(encoding="utf-8")
    m = re.search(r"\*Expected:\* ([\d,]+) distinct grey columns.*?after binarizing, ([\d,]+) distinct"
                  r".*?commonest \((\w+) pixels on\) is shared by ([\d,]+) digits", text, re.S)
    assert m, "exercise 1's expected observation not found"
    grey_n, bin_n, top = (int(m.group(i).replace(",", "")) for i in (1, 2, 4))
    words = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5}
    x = load_mnist("train", data_dir=mnist_dir, download=False)[0]
    col = x.reshape(-1, 28, 28)[:, :, 13]                        # column 13, cut by hand
    assert len(np.unique(col, axis=0)) == grey_n
    b = binarize_dynamic(col, np.random.default_rng(0))
    patterns, counts = np.unique(b, axis=0, return_counts=True)
    assert len(patterns) == bin_n and counts.max() == top
    assert patterns[counts.argmax()].sum() == words[m.group(3)]
