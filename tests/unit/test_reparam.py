"""The reparameterization layer (Eq. 10): gradients and the distribution of z."""
import numpy as np
import pytest

from minivae.reparam import Reparameterize
from fd import num_grad, rel_err

THRESHOLD = 1e-7


def test_backward_matches_central_differences():
    rng = np.random.default_rng(0)
    mu, log_var, eps, dz = (rng.standard_normal((4, 3)) for _ in range(4))
    layer = Reparameterize()
    f = lambda: float((layer.forward(mu, log_var, eps)[0] * dz).sum())
    dmu, dlv = layer.backward(dz, layer.forward(mu, log_var, eps)[1])
    assert rel_err(dmu, num_grad(f, mu)) < THRESHOLD
    assert rel_err(dlv, num_grad(f, log_var)) < THRESHOLD


def test_samples_have_mean_mu_and_variance_exp_log_var():
    mu = np.array([[1.5, -2.0, 0.0]])
    log_var = np.array([[np.log(0.25), np.log(4.0), 0.0]])
    n = 200_000
    rng = np.random.default_rng(1)
    z, _ = Reparameterize().forward(np.repeat(mu, n, 0), np.repeat(log_var, n, 0), rng=rng)
    var = np.exp(log_var[0])
    # mean: standard error sqrt(var/n); variance: standard error var·sqrt(2/n)
    assert np.all(np.abs(z.mean(0) - mu[0]) < 5 * np.sqrt(var / n))
    assert np.all(np.abs(z.var(0) - var) < 5 * var * np.sqrt(2 / n))


def test_log_var_is_log_variance_not_log_std():
    # numpy-ml's bug: treating log_var as log σ.  z − mu must scale as exp(½ log_var).
    z, _ = Reparameterize().forward(np.zeros((1, 1)), np.full((1, 1), np.log(9.0)), np.ones((1, 1)))
    assert z[0, 0] == pytest.approx(3.0, rel=1e-15)


def test_bad_inputs():
    layer = Reparameterize()
    mu = np.zeros((2, 3))
    with pytest.raises(ValueError, match="log_var"):
        layer.forward(mu, np.zeros((2, 4)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="eps"):
        layer.forward(mu, mu, np.zeros((2, 3), dtype=np.float32))
    with pytest.raises(ValueError, match="NaN"):
        layer.forward(np.full((2, 3), np.nan), mu, mu)
    with pytest.raises(ValueError, match="rng"):
        layer.forward(mu, mu)
