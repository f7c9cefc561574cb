"""KL (Eqs. 6–7) and the two likelihoods: values, gradients, stability."""
import numpy as np
import pytest

from minivae.losses import bernoulli_nll, gaussian_nll, kl_gaussians, kl_normal, log_normal
from fd import num_grad, rel_err

THRESHOLD = 1e-7


def test_kl_normal_gradients():
    rng = np.random.default_rng(0)
    mu, log_var, w = rng.standard_normal((4, 3)), rng.standard_normal((4, 3)), rng.standard_normal(4)
    f = lambda: float((kl_normal(mu, log_var)[0] * w).sum())
    _, dmu, dlv = kl_normal(mu, log_var)
    assert rel_err(dmu * w[:, None], num_grad(f, mu)) < THRESHOLD
    assert rel_err(dlv * w[:, None], num_grad(f, log_var)) < THRESHOLD


def test_kl_normal_matches_monte_carlo_within_standard_error():
    mu, log_var = np.array([[0.7, -1.2]]), np.array([[np.log(0.3), np.log(2.5)]])
    rng = np.random.default_rng(1)
    z = mu + np.exp(0.5 * log_var) * rng.standard_normal((400_000, 2))
    # KL = E_q[log q(z) − log p(z)], p = N(0, I), written out independently here
    log_q = -0.5 * (np.log(2 * np.pi) + log_var + (z - mu) ** 2 / np.exp(log_var)).sum(1)
    log_p = -0.5 * (np.log(2 * np.pi) + z ** 2).sum(1)
    samples = log_q - log_p
    se = samples.std() / np.sqrt(samples.size)
    assert abs(kl_normal(mu, log_var)[0][0] - samples.mean()) < 4 * se


def test_kl_normal_zero_at_prior_and_equal_to_eq6():
    assert kl_normal(np.zeros((1, 5)), np.zeros((1, 5)))[0][0] == 0.0
    rng = np.random.default_rng(2)
    mu, lv = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    np.testing.assert_allclose(kl_gaussians(mu, lv, 0.0, 0.0), kl_normal(mu, lv)[0], rtol=1e-13)


def test_kl_gaussians_against_full_covariance_eq6():
    rng = np.random.default_rng(3)
    m0, m1, l0, l1 = (rng.standard_normal(3) for _ in range(4))
    S0, S1 = np.diag(np.exp(l0)), np.diag(np.exp(l1))
    S1inv = np.linalg.inv(S1)
    expected = 0.5 * (np.trace(S1inv @ S0) + (m1 - m0) @ S1inv @ (m1 - m0) - 3
                      + np.log(np.linalg.det(S1) / np.linalg.det(S0)))
    assert kl_gaussians(m0, l0, m1, l1) == pytest.approx(expected, rel=1e-12)


def test_bernoulli_nll_value_and_gradient():
    rng = np.random.default_rng(4)
    logits, x, w = 3 * rng.standard_normal((4, 5)), rng.random((4, 5)), rng.standard_normal(4)
    p = 1 / (1 + np.exp(-logits))
    expected = -(x * np.log(p) + (1 - x) * np.log(1 - p)).sum(1)
    np.testing.assert_allclose(bernoulli_nll(logits, x)[0], expected, rtol=1e-12)
    f = lambda: float((bernoulli_nll(logits, x)[0] * w).sum())
    assert rel_err(bernoulli_nll(logits, x)[1] * w[:, None], num_grad(f, logits)) < THRESHOLD


def test_bernoulli_nll_stable_at_extreme_logits():
    logits = np.array([[1e4, -1e4, 1e4, -1e4]])
    x = np.array([[1.0, 0.0, 0.0, 1.0]])
    nll, dl = bernoulli_nll(logits, x)
    # right answers: −log σ(1e4) ≈ 0, −log(1 − σ(1e4)) = 1e4 (to double precision)
    assert np.isfinite(nll).all() and np.isfinite(dl).all()
    assert nll[0] == pytest.approx(2e4, rel=1e-12)
    np.testing.assert_array_equal(dl, [[0.0, 0.0, 1.0, -1.0]])
    nll32, dl32 = bernoulli_nll(logits.astype(np.float32), x.astype(np.float32))
    assert nll32.dtype == np.float32 and np.isfinite(nll32).all() and np.isfinite(dl32).all()


def test_gaussian_nll_equals_log_density_and_gradient():
    rng = np.random.default_rng(5)
    mean, x, w, sigma = rng.standard_normal((4, 5)), rng.random((4, 5)), rng.standard_normal(4), 0.3
    expected = -log_normal(x, mean, np.full_like(x, 2 * np.log(sigma)))
    np.testing.assert_allclose(gaussian_nll(mean, x, sigma)[0], expected, rtol=1e-12)
    f = lambda: float((gaussian_nll(mean, x, sigma)[0] * w).sum())
    assert rel_err(gaussian_nll(mean, x, sigma)[1] * w[:, None], num_grad(f, mean)) < THRESHOLD
