"""Lesson 04 (§2.1–2.2, Eqs. 2–9; §2.4.1) runs with --quick, and its printed numbers agree
with values derived here on another road: the lesson prints its model (W, b, X, σ and
Part 2's Q), and this file integrates P(X|z) P(z) on a dense grid over z to get log P(X),
the posterior's moments and every KL, never using the closed forms the lesson uses.
Expectations over the data come from the model's own distribution, in closed form.
"""
import ast
import math
import re

import numpy as np
import pytest
from scipy import optimize

from lesson_tools import REPO, exercise_items, grab, run_lesson  # noqa: F401

NUM = r"([-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?)"        # one printed number
LIST = r"(\[[^=;|\n]*\])"                             # one printed Python list
SHRINK = 0.8                                        # the lesson's encoder: mu(X) = 0.8 × posterior mean


def array(pattern, text):
    m = re.search(pattern, text)
    assert m, f"no line matching {pattern!r} in:\n{text}"
    return np.array(ast.literal_eval(m.group(1)), dtype=np.float64)


@pytest.fixture(scope="module")
def run04(tmp_path_factory):
    out = tmp_path_factory.mktemp("l04")
    return run_lesson("04_kl_and_elbo.py", out), out


class Grid:
    """Quantities of the model z ~ N(0, I), X|z ~ N(W z + b, σ² I) by summing over dense 2-D
    grids of z (∫ f dz ≈ h² ∑ f; for smooth, fast-decaying f on a fine grid this is accurate
    far beyond the tolerances below).  log P(X) and the posterior's moments come from a
    square grid around the origin; expectations under a Gaussian Q from a grid in Q's
    whitened coordinates, ±10 standard deviations wide."""

    def __init__(self, W, b, x, sigma, half_width=10.0, h=0.01):
        self.W, self.b, self.x, self.sigma = W, b, x, sigma
        g = np.arange(-half_width, half_width + h / 2, h)
        z = np.stack([a.ravel() for a in np.meshgrid(g, g, indexing="ij")], axis=1)     # (G, 2)
        joint = self.log_lik(z) + self.log_prior(z)
        top = joint.max()
        self.log_px = top + math.log(np.exp(joint - top).sum() * h * h)     # Eq. 1
        p = np.exp(joint - self.log_px) * h * h                             # posterior mass per cell
        self.mean = p @ z
        dz = z - self.mean
        self.cov = (dz * p[:, None]).T @ dz
        self.rho = self.cov[0, 1] / math.sqrt(self.cov[0, 0] * self.cov[1, 1])

    def log_lik(self, z):                                    # log P(X|z), z (G, 2)
        r = self.x - z @ self.W.T - self.b
        return (-0.5 * len(self.x) * math.log(2 * math.pi * self.sigma ** 2)
                - (r * r).sum(1) / (2 * self.sigma ** 2))

    @staticmethod
    def log_prior(z):                                        # log N(z | 0, I)
        return -math.log(2 * math.pi) - 0.5 * (z ** 2).sum(1)

    def log_post(self, z):                                   # Bayes' rule, with the grid's log P(X)
        return self.log_lik(z) + self.log_prior(z) - self.log_px

    @staticmethod
    def expect(m, S, f, half_width=10.0, h=0.02):
        """E_{z ~ N(m, S)}[f(z, log Q(z))], z = m + L u on a grid of u (L Lᵀ = S)."""
        g = np.arange(-half_width, half_width + h / 2, h)
        u = np.stack([a.ravel() for a in np.meshgrid(g, g, indexing="ij")], axis=1)
        L = np.linalg.cholesky(S)
        z = m + u @ L.T
        log_q = -math.log(2 * math.pi) - np.log(np.diag(L)).sum() - 0.5 * (u ** 2).sum(1)
        w = np.exp(-0.5 * (u ** 2).sum(1)) / (2 * math.pi) * h * h           # N(u | 0, I) du
        return w @ f(z, log_q)


def best_diag_gap(precision):
    """½ (∑ᵢ ln Pᵢᵢ − ln det P), the gap of the best diagonal Q, for a precision matrix P."""
    return 0.5 * (np.log(np.diag(precision)).sum() - np.linalg.slogdet(precision)[1])


@pytest.fixture(scope="module")
def model(run04):
    text = run04[0]
    K, D, sigma = grab(rf"linear-Gaussian model, K = (\d+), D = (\d+), sigma = {NUM}", text)
    W, b, x = (array(rf"\n\s+{name} = {LIST}\n", text) for name in ("W", "b", "X"))
    assert W.shape == (int(D), int(K)) == (len(x), 2)
    return W, b, x, sigma, Grid(W, b, x, sigma)


def test_figures(run04):
    for name in ("04_kl_mc", "04_eq5_gap", "04_same_px"):
        path = run04[1] / f"{name}.png"
        assert path.is_file() and path.stat().st_size > 10_000


def test_part1_model_log_px_and_posterior(run04, model):
    text = run04[0]
    *_, grid = model
    log_px, rho = grab(rf"log P\(X\) = {NUM} nats; posterior mean .*posterior correlation rho = {NUM}", text)
    assert abs(log_px - grid.log_px) < 1e-8
    assert abs(rho - grid.rho) < 1e-8 and abs(rho) > 0.3        # a correlated posterior, as intended


def test_part2_eqs_2_to_4(run04, model):
    """Each step of the derivation against grid integrals: Eq. 2's D[Q||P(z|X)] (closed form and
    Monte Carlo), Eq. 3's closed-form expectations, both sides of Eq. 4."""
    text = run04[0]
    *_, grid = model
    m_q = array(rf"with mq = {LIST}, Sq", text)
    S_q = array(rf"Sq = {LIST}\n", text)
    d_post = grid.expect(m_q, S_q, lambda z, log_q: log_q - grid.log_post(z))    # Eq. 2, by definition
    closed, mc, se, n = grab(rf"Eq\. 2: .*closed form {NUM} nats \| MC {NUM} ± {NUM} nats \(n = (\d+)\)", text)
    assert abs(closed - d_post) < 1e-4                                      # 5 printed decimals
    assert 0 < se < 0.05 * d_post and abs(mc - d_post) < 4.5 * se
    bayes, = grab(rf"Bayes' rule at each of \d+ samples: .* = {NUM} nats", text)
    assert bayes < 1e-10
    eq3, by_eq6 = grab(rf"Eq\. 3: E_Q\[.*\] \+ log P\(X\) = {NUM} \| D\[Q\|\|P\(z\|X\)\] by Eq\. 6 = {NUM}", text)
    assert abs(eq3 - d_post) < 1e-8 and abs(by_eq6 - d_post) < 1e-8
    left, right = grab(rf"Eq\. 4: left .* = {NUM} \| right .* = {NUM} \|", text)
    recon = grid.expect(m_q, S_q, lambda z, log_q: grid.log_lik(z))        # E_Q[log P(X|z)]
    d_prior = grid.expect(m_q, S_q, lambda z, log_q: log_q - grid.log_prior(z))   # D[Q||P(z)]
    assert abs(left - (grid.log_px - d_post)) < 1e-8
    assert abs(right - (recon - d_prior)) < 1e-8


def expected_over_the_model(W, b, sigma):
    """E_X[log P(X)] and E_X[D[Q(z|X)||P(z|X)]] for X drawn from the model itself, with the
    lesson's encoder (mean SHRINK·m(X), the best diagonal variances), in closed form."""
    D, k = W.shape
    C = W @ W.T + sigma ** 2 * np.eye(D)
    e_log_px = -0.5 * (D * math.log(2 * math.pi) + np.linalg.slogdet(C)[1] + D)
    P = np.eye(k) + W.T @ W / sigma ** 2                                   # posterior precision
    S = np.linalg.inv(P)
    A = S @ W.T / sigma ** 2                                               # m(X) = A (X − b)
    cov_m = A @ C @ A.T                                                    # Cov of m(X) over X
    e_gap = best_diag_gap(P) + 0.5 * (1 - SHRINK) ** 2 * np.trace(P @ cov_m)
    return e_log_px, e_gap


def test_eqs_5_8_9_over_the_data(run04, model):
    """Eq. 5 per datapoint; Eq. 8's dataset average and the mean of Eq. 9 minibatch estimates,
    both against the model's own expectation (derived here in closed form)."""
    text = run04[0]
    W, b, _, sigma, _ = model
    n, diff, gmin, gmax = grab(rf"Eq\. 5 for each of (\d+) datapoints .*max \|left - right\| = {NUM} nats; "
                               rf"D\[Q\(z\|X\)\|\|P\(z\|X\)\] from {NUM} to {NUM} nats", text)
    assert diff < 1e-10
    e_log_px, e_gap = expected_over_the_model(W, b, sigma)
    assert 0 < gmin <= e_gap <= gmax
    g0 = best_diag_gap(np.eye(2) + W.T @ W / sigma ** 2)
    assert gmin >= g0 - 6e-5                                 # no Q(z|X) beats the best diagonal Q (4 decimals)
    left, right, se, mean_lpx = grab(rf"Eq\. 8 over \d+ datapoints: mean left {NUM} \| mean right {NUM} "
                                     rf"± {NUM} \(SE over datapoints\); mean log P\(X\) {NUM}", text)
    assert abs(left - right) < 1e-9
    assert abs(right - (e_log_px - e_gap)) < 4.5 * se
    se_lpx = math.sqrt(W.shape[0] / 2 / n)                   # log P(X) = const − χ²_D/2: variance D/2
    assert abs(mean_lpx - e_log_px) < 4.5 * se_lpx
    mb, mb_se = grab(rf"mean of \d+ batch averages {NUM} ± {NUM} \(SE\)", text)
    assert 0 < mb_se < 0.2 and abs(mb - (e_log_px - e_gap)) < 4.5 * mb_se


def test_part3_closed_forms_agree_with_monte_carlo(run04):
    """Eqs. 6–7 and the expected log-likelihood E_Q[log P(X|z)] against Monte Carlo: within 4.5 SE."""
    rows = grab(rf"closed form {NUM} nats \| MC {NUM} ± {NUM} nats \(n = (\d+)\)", run04[0], n=5)
    for closed, mc, se, n in rows:
        assert 0 < se < 0.02 * max(1.0, abs(closed)) * math.sqrt(200_000 / n)
        assert abs(closed - mc) < 4.5 * se, (closed, mc, se)
    diff, = grab(r"kl_full on diagonal covariances vs kl_gaussians: \|difference\| = " + NUM, run04[0])
    assert diff < 1e-12


def test_part5_tightness_and_the_best_diagonal_q(run04, model):
    """Shifting Q's mean by t posterior sds costs t²/2 nats; scaling its std by s costs
    ½K(s² − 1 − ln s²); the best diagonal Q, found here by numerical minimization of the KL
    to the grid's posterior, has the printed variances and gap."""
    text = run04[0]
    *_, grid = model
    elbo, log_px = grab(rf"Q = P\(z\|X\): ELBO = {NUM}, log P\(X\) = {NUM}", text)
    assert abs(elbo - grid.log_px) < 1e-8 and abs(log_px - grid.log_px) < 1e-8
    for t, g, d in grab(rf"shift t = {NUM}: gap = {NUM} nats, D\[Q\|\|P\(z\|X\)\] = {NUM}", text, n=3):
        assert abs(g - t * t / 2) < 1e-10 and abs(d - t * t / 2) < 1e-10
    for s, g, d in grab(rf"scale s = {NUM}: gap = {NUM} nats, D\[Q\|\|P\(z\|X\)\] = {NUM}", text, n=2):
        expect = 0.5 * 2 * (s * s - 1 - math.log(s * s))
        assert abs(g - expect) < 1e-10 and abs(d - expect) < 1e-10

    P = np.linalg.inv(grid.cov)

    def kl_diag(log_v):                                      # D[N(mean, diag v) || N(mean, cov)]
        v = np.exp(log_v)
        return 0.5 * (np.diag(P) @ v - 2 + np.linalg.slogdet(grid.cov)[1] - log_v.sum())

    best = optimize.minimize(kl_diag, np.zeros(2), method="Nelder-Mead",
                             options=dict(xatol=1e-10, fatol=1e-14, maxiter=4000))
    var = array(rf"variances 1/\(S\^-1\)_ii = {LIST};", text)
    gap, general, k2 = grab(rf"best diagonal Q: .*; gap = {NUM} nats; .* = {NUM}; .* = {NUM}\n", text)
    assert np.allclose(var, np.exp(best.x), rtol=1e-5)
    assert abs(gap - best.fun) < 1e-8
    assert abs(general - best.fun) < 1e-8
    assert abs(k2 + 0.5 * math.log(1 - grid.rho ** 2)) < 1e-8   # K = 2: −½ ln(1 − ρ²)


def test_part6_same_px_diagonal_posterior(run04, model):
    """§2.4.1: W·R has the same log P(X) (grid integral with the printed R), a posterior with
    no correlation, a zero gap; gradient ascent on θ ends where R(θ) diagonalizes WᵀW
    (found here from the SVD of W)."""
    text = run04[0]
    W, b, x, sigma, grid = model
    R = array(rf"R = {LIST}; max", text)
    assert np.allclose(R.T @ R, np.eye(2), atol=1e-12)
    grid_R = Grid(W @ R, b, x, sigma)
    lp_w, lp_wr, mean_w, mean_wr = grab(rf"log P\(X\): with W {NUM} \| with W·R {NUM} \| mean over the dataset "
                                        rf"with W {NUM} \| with W·R {NUM}", text)
    assert abs(grid_R.log_px - grid.log_px) < 1e-8
    assert abs(lp_w - grid.log_px) < 1e-8 and abs(lp_wr - grid_R.log_px) < 1e-8
    assert abs(mean_w - mean_wr) < 1e-10
    rho_w, rho_wr = grab(rf"posterior correlation: with W {NUM} \| with W·R {NUM}", text)
    assert abs(rho_w - grid.rho) < 1e-5 and abs(grid_R.rho) < 1e-8 and abs(rho_wr) < 1e-10
    gap_w, gap_wr, gap_x = grab(rf"best diagonal Q: gap with W {NUM} nats \| with W·R {NUM} nats "
                                rf"\(checked on X: {NUM}\)", text)
    assert abs(gap_w - best_diag_gap(np.linalg.inv(grid.cov))) < 1e-7
    assert best_diag_gap(np.linalg.inv(grid_R.cov)) < 1e-7
    assert abs(gap_wr) < 1e-12 and abs(gap_x) < 1e-10

    g0, g1, theta, drift = grab(rf"gap {NUM} -> {NUM} nats, theta = {NUM}; mean log P\(X\) changed by at most {NUM}",
                                text)
    assert abs(g0 - gap_w) < 1e-6 and g1 < 1e-9 and drift < 1e-10
    v = np.linalg.svd(W)[2][0]                               # a right singular vector: eigenvector of WᵀW
    theta_star = math.atan2(v[1], v[0])
    off = (theta - theta_star) % (math.pi / 2)               # R(θ) diagonalizes WᵀW at θ* + j·π/2
    assert min(off, math.pi / 2 - off) < 1e-4


def test_exercises_cell():
    bodies = exercise_items("04_kl_and_elbo.py")
    assert any("python -m minivae exercise" in b for b in bodies) or "minivae exercise" in \
        (REPO / "lessons" / "04_kl_and_elbo.py").read_text(encoding="utf-8").split("## Exercises")[-1]
