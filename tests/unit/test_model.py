"""The VAE's public contract and its whole-model gradient (Eqs. 5, 7, 10)."""
import warnings

import numpy as np
import pytest

from minivae import VAE, kernels
from minivae.errors import NonFiniteError
from minivae.losses import kl_normal
from fd import assert_model_gradients

MODEL_THRESHOLD = 1e-6      # whole model, float64, h = 1e-5


def small(likelihood="bernoulli", **kw):
    return VAE(x_dim=7, hidden=(6, 5), z_dim=2, likelihood=likelihood, sigma=0.5,
               init="glorot", dtype=np.float64, seed=3, **kw)


@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
@pytest.mark.parametrize("N", [1, 3])
def test_whole_model_gradient(likelihood, N):
    model = small(likelihood)
    rng = np.random.default_rng(0)
    for p in model.params.values():
        p += 0.1 * rng.standard_normal(p.shape)
    x, eps = rng.random((N, 7)), rng.standard_normal((N, 2))
    assert_model_gradients(model, x, eps, threshold=MODEL_THRESHOLD)


def test_returned_grads_are_copies_unless_asked_for_the_live_views():
    model = small()
    rng = np.random.default_rng(5)
    x, eps = rng.random((3, 7)), rng.standard_normal((3, 2))
    _, kept = model.loss_and_grads(x, eps)
    first = {k: g.copy() for k, g in kept.items()}
    _, live = model.loss_and_grads(x[::-1].copy(), eps, copy=False)   # another batch
    assert all(np.shares_memory(g, model.flat_grads) for g in live.values())
    assert not any(np.shares_memory(g, model.flat_grads) for g in kept.values())
    for k in first:                              # the kept copies survived the second call
        np.testing.assert_array_equal(kept[k], first[k])
    assert any(not np.array_equal(live[k], first[k]) for k in first)


def test_contract_keys_shapes_and_live_params():
    model = VAE(x_dim=784, hidden=(1000, 500, 250), z_dim=30, dtype=np.float64, seed=0)
    shapes = {k: v.shape for k, v in model.params.items()}
    assert shapes["encoder.0.W"] == (784, 1000) and shapes["encoder.2.W"] == (500, 250)
    assert shapes["mu.W"] == (250, 30) and shapes["log_var.b"] == (30,)
    assert shapes["decoder.0.W"] == (30, 250) and shapes["decoder.3.W"] == (1000, 784)
    assert set(shapes) == ({f"encoder.{i}.{p}" for i in range(3) for p in "Wb"}
                           | {f"{h}.{p}" for h in ("mu", "log_var") for p in "Wb"}
                           | {f"decoder.{j}.{p}" for j in range(4) for p in "Wb"})
    x = np.random.default_rng(1).random((2, 784))
    before = model.decode(np.zeros((1, 30)))
    model.params["decoder.3.b"] += 1.0          # the dict is live
    after = model.decode(np.zeros((1, 30)))
    assert not np.allclose(before, after)
    loss, grads = model.loss_and_grads(x, np.zeros((2, 30)))
    assert {k: g.shape for k, g in grads.items()} == shapes and np.isfinite(loss)


def test_loss_is_mean_negative_elbo_in_nats():
    # Recompute −ELBO by hand from encode/decode: rec from the Bernoulli pmf, KL from Eq. 7.
    model = small()
    rng = np.random.default_rng(2)
    x, eps = rng.random((4, 7)), rng.standard_normal((4, 2))
    mu, log_var = model.encode(x)
    z = mu + np.exp(0.5 * log_var) * eps
    p = model.decode(z)
    rec = -(x * np.log(p) + (1 - x) * np.log(1 - p)).sum(1)
    kl = 0.5 * (np.exp(log_var) + mu ** 2 - 1 - log_var).sum(1)
    assert model.loss_and_grads(x, eps)[0] == pytest.approx((rec + kl).mean(), rel=1e-12)


def _kl_eq6(mu0, var0, mu1, var1):
    """Eq. 6 with full covariance matrices: trace, quadratic form and log-determinants."""
    S0, S1 = np.diag(var0), np.diag(var1)
    S1_inv, d = np.linalg.inv(S1), mu1 - mu0
    return 0.5 * (np.trace(S1_inv @ S0) + d @ S1_inv @ d - len(mu0)
                  + np.log(np.linalg.det(S1) / np.linalg.det(S0)))


def test_elbo_terms_against_eq6_and_a_monte_carlo_elbo():
    """kl is Eq. 6 with the prior's parameters (computed here with matrices); elbo is a
    Monte Carlo estimate of Eq. 5's right side, E_Q[log P(X|z) + log P(z) − log Q(z|X)],
    within 5 standard errors of the model's own n_samples estimate."""
    model = small()
    rng = np.random.default_rng(3)
    x = rng.random((5, 7))
    n = 4000
    terms = model.elbo(x, np.random.default_rng(4), n_samples=n)
    mu, log_var = model.encode(x)
    kl6 = [_kl_eq6(m, np.exp(lv), np.zeros(2), np.ones(2)) for m, lv in zip(mu, log_var)]
    np.testing.assert_allclose(terms.kl, kl6, rtol=1e-10)
    S = 40000
    eps = rng.standard_normal((S, 5, 2))
    z = mu + np.exp(0.5 * log_var) * eps                                    # (S, 5, 2)
    p = model.decode(z.reshape(-1, 2)).reshape(S, 5, 7)
    log_px_z = (x * np.log(p) + (1 - x) * np.log(1 - p)).sum(-1)           # Bernoulli pmf
    log_pz = -0.5 * (np.log(2 * np.pi) + z ** 2).sum(-1)
    log_qz = -0.5 * (np.log(2 * np.pi) + log_var + eps ** 2).sum(-1)
    w = log_px_z + log_pz - log_qz                                          # (S, 5)
    se = np.sqrt(w.var(axis=0) / S + log_px_z.var(axis=0) / n)
    assert np.all(np.abs(terms.elbo - w.mean(axis=0)) < 5 * se), (terms.elbo, w.mean(0), se)
    assert np.all(terms.recon_nll > 0)           # −log-probabilities of a Bernoulli are positive


def test_sample_and_reconstruct_shapes_in_unit_interval():
    model = small()
    s = model.sample(4, np.random.default_rng(0))
    r = model.reconstruct(np.random.default_rng(1).random((3, 7)), np.random.default_rng(2))
    assert s.shape == (4, 7) and r.shape == (3, 7)
    assert ((s > 0) & (s < 1)).all() and ((r > 0) & (r < 1)).all()


def test_same_seed_same_model():
    a, b = small(), small()
    for k in a.params:
        np.testing.assert_array_equal(a.params[k], b.params[k])


@pytest.mark.parametrize("x, eps, match", [
    (np.zeros((2, 6)), np.zeros((2, 2)), "x must have 7 columns"),
    (np.zeros((2, 7)), np.zeros((3, 2)), "eps must have 2 rows"),
    (np.full((2, 7), np.nan), np.zeros((2, 2)), "x contains NaN"),
    (np.full((2, 7), np.inf), np.zeros((2, 2)), "x contains NaN or inf"),
    (np.zeros((2, 7), np.float32), np.zeros((2, 2)), "x has dtype float32, expected float64"),
    (np.full((2, 7), 1.5), np.zeros((2, 2)), r"x must lie in \[0, 1\]"),
    (np.zeros(7), np.zeros((1, 2)), "x must be 2-D"),
    ([[0.0] * 7], np.zeros((1, 2)), "x must be a numpy array"),
])
def test_bad_inputs_name_the_argument(x, eps, match):
    with pytest.raises(ValueError, match=match):
        small().loss_and_grads(x, eps)


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match="likelihood"):
        VAE(x_dim=4, hidden=(3,), z_dim=2, likelihood="poisson")
    with pytest.raises(ValueError, match="sigma"):
        VAE(x_dim=4, hidden=(3,), z_dim=2, likelihood="gaussian", sigma=-1.0)
    with pytest.raises(ValueError, match="z_dim"):
        VAE(x_dim=4, hidden=(3,), z_dim=0)


def test_gaussian_likelihood_accepts_values_outside_unit_interval():
    model = small("gaussian")
    loss, _ = model.loss_and_grads(np.full((2, 7), 3.0), np.zeros((2, 2)))
    assert np.isfinite(loss)


def _deepest_minivae_frame(error):
    """(module, function) of the deepest minivae frame in an exception's traceback."""
    import traceback
    frames = [f for f, _ in traceback.walk_tb(error.__traceback__)
              if f.f_globals.get("__name__", "").startswith("minivae.")]
    return frames[-1].f_globals["__name__"], frames[-1].f_code.co_name


@pytest.mark.parametrize("backend", kernels.available_backends())
def test_the_callers_numpy_error_settings_hold_inside_the_maths(backend):
    """np.seterr / np.errstate chosen by the caller are in force inside minivae: with
    over="raise", an overflow raises FloatingPointError from inside the formula that
    overflows (its NumPy lines, or on the numba backend its twin); with NumPy's default
    settings it warns, and the call then refuses its input with NonFiniteError."""
    twin = "minivae.kernels." if backend == "numba" else "minivae."
    mu, log_var = np.zeros((2, 3)), np.full((2, 3), 1000.0)         # exp(1000) overflows
    model = small()
    for p in model.params.values():
        p[...] = 1e200                                              # so do the products
    x, eps = np.full((2, 7), 0.5), np.zeros((2, 2))
    with kernels.using(backend):
        with np.errstate(over="raise"), pytest.raises(FloatingPointError) as raised:
            kl_normal(mu, log_var)
        assert _deepest_minivae_frame(raised.value) == (twin + "losses", "kl_normal_and_grads")
        before = np.seterr(all="raise")
        try:
            with pytest.raises(FloatingPointError) as raised:
                model.loss_and_grads(x, eps)
        finally:
            np.seterr(**before)
        assert _deepest_minivae_frame(raised.value) == (twin + "layers", "dense_forward")
        for call in (lambda: kl_normal(mu, log_var), lambda: model.loss_and_grads(x, eps)):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                with pytest.raises(NonFiniteError):
                    call()
            assert caught and all(issubclass(w.category, RuntimeWarning) for w in caught)
