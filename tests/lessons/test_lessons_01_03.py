"""Lessons 01 and 03 run with --quick, save their figures, and print numbers
that lie where the mathematics says they must.

Each lesson runs once per module in a subprocess (as a user would run it);
the tests parse its printed lines.  Every bound below is computed here from
the mathematics (Rayleigh moments, Gauss–Hermite quadrature, closed-form KLs),
never taken from the lesson's own "theory" columns.
"""
import math
import re
from pathlib import Path

import numpy as np
import pytest
from numpy.polynomial.hermite_e import hermegauss
from scipy import integrate, stats

from lesson_tools import REPO, exercise_items, grab, run_lesson  # noqa: F401

NUM = r"([-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?)"        # one printed number


def assert_figures(out, names):
    for name in names:
        path = Path(out) / f"{name}.png"
        assert path.is_file() and path.stat().st_size > 10_000, f"missing or empty figure {path}"


# Rayleigh(1) = ‖z‖ for z ~ N(0, I₂):  E R^k = 2^(k/2) Γ(1 + k/2)
def rayleigh_moment(k):
    return 2 ** (k / 2) * math.gamma(1 + k / 2)


# ---------------------------------------------------------------- lesson 01
@pytest.fixture(scope="module")
def lesson01(tmp_path_factory):
    out = tmp_path_factory.mktemp("l01")
    return run_lesson("01_latent_variables.py", out), out


def test_01_figures(lesson01):
    assert_figures(lesson01[1], ["01_fig1", "01_fig2_ring", "01_inverse_cdf"])


def test_01_ring_radius_matches_rayleigh(lesson01):
    """‖g(z)‖ = 1 + R/10: mean 1 + √(π/2)/10, sd √(2 − π/2)/10, within 4 standard errors."""
    text = lesson01[0]
    (n,), (n1d,) = grab(r"samples n = (\d+)", text, n=2)
    mean, = grab(r"mean \|\|g\(z\)\|\| = " + NUM, text)
    std, = grab(r"std  \|\|g\(z\)\|\| = " + NUM, text)
    m1, m2 = rayleigh_moment(1), rayleigh_moment(2)
    var_r = m2 - m1 ** 2                                        # 2 − π/2
    mu4_r = rayleigh_moment(4) - 4 * m1 * rayleigh_moment(3) + 6 * m1 ** 2 * m2 - 3 * m1 ** 4
    sd = math.sqrt(var_r) / 10
    assert abs(mean - (1 + m1 / 10)) < 4 * sd / math.sqrt(n)
    # sample variance: Var(s²) ≈ (μ4 − σ⁴)/n, and SE(s) ≈ SE(s²)/(2σ)
    se_std = math.sqrt((mu4_r / 1e4 - sd ** 4) / n) / (2 * sd)
    assert abs(std - sd) < 4 * se_std


def test_01_ends_with_exercises():
    exercise_items("01_latent_variables.py")


def test_01_inverse_cdf_hits_the_mixture(lesson01):
    """f(z) = F⁻¹(G(z)) samples the target: KS distance below the 99.9% Kolmogorov
    quantile, and the sample mean within 4 standard errors of the mixture mean."""
    text = lesson01[0]
    w0, m0, s0, w1, m1, s1 = grab(rf"onto {NUM} N\({NUM}, {NUM}\^2\) \+ {NUM} N\({NUM}, {NUM}\^2\)", text)
    (_,), (n,) = grab(r"samples n = (\d+)", text, n=2)
    ks, = grab(r"KS distance sup\|F_n - F\| = " + NUM, text)
    assert ks < stats.kstwobign.ppf(0.999) / math.sqrt(n)
    mix_mean = w0 * m0 + w1 * m1
    mix_var = w0 * (s0 ** 2 + m0 ** 2) + w1 * (s1 ** 2 + m1 ** 2) - mix_mean ** 2
    sample_mean, = grab(r"sample mean = " + NUM, text)
    assert abs(sample_mean - mix_mean) < 4 * math.sqrt(mix_var / n)


# ---------------------------------------------------------------- lesson 03
@pytest.fixture(scope="module")
def lesson03(tmp_path_factory):
    out = tmp_path_factory.mktemp("l03")
    return run_lesson("03_reparam.py", out), out


def test_03_figures(lesson03):
    assert_figures(lesson03[1], ["03_fig4", "03_gradient_variance", "03_training", "03_vae_ring"])


def test_03_estimators_unbiased_with_exact_variance(lesson03):
    """For ℓ(z) = z², z = mu + std·ε: each single-sample estimator's mean is the true
    gradient (2mu, 2std) and its variance the exact one (Gauss–Hermite, exact for
    polynomials), within 5 standard errors; the mu-ratio is (mu⁴/std² + 14mu² + 15std²)/(4std²)."""
    text = lesson03[0]
    mu, std, n = grab(rf"with mu = {NUM}, std = {NUM}; n = (\d+)", text)
    nodes, w = hermegauss(60)
    w = w / math.sqrt(2 * math.pi)
    z = mu + std * nodes
    est = {("mu", "score"): z ** 2 * nodes / std, ("mu", "reparam"): 2 * z,
           ("std", "score"): z ** 2 * (nodes ** 2 - 1) / std, ("std", "reparam"): 2 * z * nodes}
    truth = {"mu": 2 * mu, "std": 2 * std}
    rows = re.findall(rf"d/d(mu|std)\s+(score|reparam)\s+{NUM}\s+{NUM}\s+{NUM}\s+{NUM}", text)
    assert len(rows) == 4, text
    for param, kind, _, mean, var, _ in rows:
        h = est[param, kind]
        m = w @ h
        exact_var = w @ (h - m) ** 2
        mu4 = w @ (h - m) ** 4
        assert abs(m - truth[param]) < 1e-9                     # the quadrature itself is exact
        assert abs(float(mean) - truth[param]) < 5 * math.sqrt(exact_var / n), (param, kind)
        assert abs(float(var) - exact_var) < 5 * math.sqrt((mu4 - exact_var ** 2) / n), (param, kind)
    ratio, = grab(r"variance ratio score/reparam for d/dmu: " + NUM, text)
    exact_ratio = (mu ** 4 / std ** 2 + 14 * mu ** 2 + 15 * std ** 2) / (4 * std ** 2)
    assert abs(ratio / exact_ratio - 1) < 0.1
    assert ratio > 5                                            # the point of Part 1


def test_03_discrete_q_has_no_pathwise_gradient(lesson03):
    """§2.2: z = 1[η < sig(θ)] is a step in θ.  Backprop through it gives exactly 0 at
    every draw; finite differences at fixed η are nonzero only for η within the step's
    window [sig(θ − δ), sig(θ + δ)), a Binomial(n, width) count (within 5 sd), and there
    carry the whole gradient; the score function ℓ(z)(z − p) is unbiased (within 5 SE of
    p(1 − p)(ℓ(1) − ℓ(0)), ℓ(z) = (z − 0.8)², recomputed here) with its exact variance."""
    text = lesson03[0]
    p, n = grab(rf"z ~ Bernoulli\(p = {NUM}\); loss l\(z\) = \(z - 0\.8\)\^2; n = (\d+) draws", text)
    loss = lambda z: (z - 0.8) ** 2
    truth = p * (1 - p) * (loss(1) - loss(0))
    assert grab(rf"true dE\[l\]/dtheta = .*? = {NUM}", text)[0] == pytest.approx(truth, abs=2e-3)
    mean_bp, nonzero_bp = grab(rf"backprop through z .*?: mean {NUM}, nonzero at (\d+) draws", text)
    assert mean_bp == 0 and nonzero_bp == 0
    step, count, fd_mean, fd_se = grab(rf"finite differences at fixed eta, step {NUM}: nonzero at (\d+) of \d+ "
                                       rf"draws; mean {NUM} ± {NUM}", text)
    theta = math.log(p / (1 - p))
    sig = lambda t: 1 / (1 + math.exp(-t))
    width = sig(theta + step) - sig(theta - step)
    assert abs(count - n * width) < 5 * math.sqrt(n * width * (1 - width))
    assert count < 1e-3 * n                                     # almost every draw says 0
    assert abs(fd_mean - truth) < 5 * fd_se
    sc_mean, sc_se, sc_var = grab(rf"score function l\(z\) \(z - p\): mean {NUM} ± {NUM}, variance {NUM}", text)
    values = {1: loss(1) * (1 - p), 0: loss(0) * (0 - p)}      # the two values the estimator takes
    exact_mean = p * values[1] + (1 - p) * values[0]
    exact_var = p * values[1] ** 2 + (1 - p) * values[0] ** 2 - exact_mean ** 2
    assert exact_mean == pytest.approx(truth, abs=1e-12)
    assert abs(sc_mean - truth) < 5 * math.sqrt(exact_var / n) and sc_se == pytest.approx(math.sqrt(exact_var / n), rel=0.05)
    assert sc_var == pytest.approx(exact_var, rel=0.05)


def test_03_ends_with_exercises():
    bodies = exercise_items("03_reparam.py")
    assert any("ex05_reparam.py" in b for b in bodies)             # points to the matching stubs
    assert any("ex06_vae_loss_and_grads.py" in b for b in bodies)


def test_03_reparam_layer_gradcheck(lesson03):
    errors = grab(r"dL/d(?:mu|log_var)\s+" + NUM + r"\s+" + NUM, lesson03[0], n=2)
    for max_abs, err in errors:
        assert max_abs > 0.1                                    # a real gradient, not zeros
        assert err < 1e-7                                       # float64, h = 1e-5: ~1e-10 expected


def test_03_only_the_trick_learns_a_code(lesson03):
    """Cut run: Q(z|X) collapses onto the prior (KL → 0), so its −ELBO cannot beat
    L0 = E‖X‖²/(2σ²) + ln(2πσ²) (best constant decoder; the ring has mean 0 and
    E‖X‖² = E(1 + R/10)²).  Trick run: a clearly positive KL, and a −ELBO between
    the data's entropy h(X) and the midpoint of [h(X), L0]."""
    text = lesson03[0]
    sigma, = grab(r"Gaussian likelihood sigma = " + NUM, text)
    n, = grab(r"held-out ring points n = (\d+)", text)
    trick = grab(rf"with the trick\s*: -ELBO =\s*{NUM} ± {NUM} nats.*KL = {NUM} nats", text)
    cut = grab(rf"gradient through z cut: -ELBO =\s*{NUM} ± {NUM} nats.*KL = {NUM} nats", text)
    m = [rayleigh_moment(k) for k in range(5)]
    e_r2 = 1 + 2 * m[1] / 10 + m[2] / 100                       # E‖X‖², ‖X‖ = 1 + R/10
    e_r4 = sum(math.comb(4, k) * m[k] / 10 ** k for k in range(5))
    L0 = e_r2 / (2 * sigma ** 2) + math.log(2 * math.pi * sigma ** 2)
    se_const = math.sqrt(e_r4 - e_r2 ** 2) / (2 * sigma ** 2) / math.sqrt(n)
    # h(X) = h(z) + E ln|det ∂g/∂z|,  det = (1/10)(1 + R/10)/R
    e_log_r = (math.log(2) - np.euler_gamma) / 2
    e_log_rho = integrate.quad(lambda r: math.log(1 + r / 10) * r * math.exp(-r * r / 2), 0, np.inf)[0]
    h_data = math.log(2 * math.pi * math.e) - math.log(10) + e_log_rho - e_log_r

    neg_cut, se_cut, kl_cut = cut
    assert kl_cut < 0.01                                        # Q(z|X) = prior: no information in z
    assert se_cut < 3 * se_const                                # an honest error bar
    assert neg_cut > L0 - 4 * se_cut                            # cannot beat the constant decoder
    neg_trick, se_trick, kl_trick = trick
    assert kl_trick > 1.0                                       # the code carries information
    assert neg_trick > h_data - 4 * se_trick                    # no model beats the data's entropy
    assert neg_trick < (h_data + L0) / 2                        # and it beats L0 by a wide margin
