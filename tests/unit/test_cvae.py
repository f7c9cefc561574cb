"""The CVAE (§3, Eqs. 12–13, Fig. 6), beside its regressor baseline, and the §4.2 data split.

The regressor alone: test_regressor.py; the tower both build on: test_tower.py."""
import numpy as np
import pytest

from minivae import CVAE, Regressor
from minivae.cvae import merge_columns, split_middle_column
from minivae.batches import binarize_dynamic, iterate_minibatches
from minivae.optim import Adam
from fd import assert_model_gradients, jitter, rel_err

MODEL_THRESHOLD = 1e-6      # whole model, float64, h = 1e-5
SMALL = dict(x_dim=4, y_dim=6, hidden=(5, 4, 3), init="glorot", dtype=np.float64)


@pytest.mark.parametrize("N", [1, 3])
@pytest.mark.parametrize("hidden, join", [((5, 4, 3), 1), ((5, 4, 3), 0), ((5, 4, 3), 2),
                                          ((3,), 0)])
def test_cvae_whole_model_gradient(N, hidden, join):
    rng = np.random.default_rng(0)
    model = jitter(CVAE(**{**SMALL, "hidden": hidden}, z_dim=2, join=join, seed=1), rng)
    x, y, eps = rng.random((N, 4)), rng.random((N, 6)), rng.standard_normal((N, 2))
    assert_model_gradients(model, x, y, eps, threshold=MODEL_THRESHOLD)


def test_both_junctions_feed_the_conditioning_tower():
    # Zeroing either junction's weights must change cond's gradient: it sums two paths.
    rng = np.random.default_rng(4)
    x, y, eps = rng.random((3, 4)), rng.random((3, 6)), rng.standard_normal((3, 2))
    base = jitter(CVAE(**SMALL, z_dim=2, seed=5), rng)
    g0 = base.loss_and_grads(x, y, eps)[1]["cond.0.W"].copy()
    for cut in ("encoder.2.W", "decoder.1.W"):   # after the encoder's / the decoder's junction
        model = CVAE(**SMALL, z_dim=2, seed=5)
        model.flat_params[:] = base.flat_params
        model.params[cut][:] = 0
        g = model.loss_and_grads(x, y, eps)[1]["cond.0.W"]
        assert rel_err(g, g0) > 1e-3, cut


def test_loss_is_mean_negative_conditional_elbo():
    # Recompute −(Eq. 13) from encode/decode: Bernoulli log pmf and KL of Eq. 7.
    rng = np.random.default_rng(6)
    model = jitter(CVAE(**SMALL, z_dim=2, seed=7), rng)
    x, y, eps = rng.random((4, 4)), rng.random((4, 6)), rng.standard_normal((4, 2))
    mu, log_var = model.encode(x, y)
    p = model.decode(x, mu + np.exp(0.5 * log_var) * eps)
    rec = -(y * np.log(p) + (1 - y) * np.log(1 - p)).sum(1)
    kl = 0.5 * (np.exp(log_var) + mu ** 2 - 1 - log_var).sum(1)
    assert model.loss_and_grads(x, y, eps)[0] == pytest.approx((rec + kl).mean(), rel=1e-12)
    # conditional_elbo averages −log P(Y|z, X) over 3 draws of eps from its rng (Eq. 13)
    terms = model.conditional_elbo(x, y, np.random.default_rng(8), n_samples=3)
    draws = np.random.default_rng(8).standard_normal((3, 4, 2))
    recs = []
    for e in draws:
        p = model.decode(x, mu + np.exp(0.5 * log_var) * e)
        recs.append(-(y * np.log(p) + (1 - y) * np.log(1 - p)).sum(1))
    np.testing.assert_allclose(terms.kl, kl, rtol=1e-12)
    np.testing.assert_allclose(terms.recon_nll, np.mean(recs, axis=0), rtol=1e-12)
    np.testing.assert_allclose(terms.elbo, -np.mean(recs, axis=0) - kl, rtol=1e-12)


def test_sample_decodes_prior_draws_and_regressor_nll_matches_predict():
    rng = np.random.default_rng(9)
    model = jitter(CVAE(**SMALL, z_dim=2, seed=10), rng)
    x = rng.random((5, 4))
    z = np.random.default_rng(11).standard_normal((5, 2))
    assert np.array_equal(model.sample(x, np.random.default_rng(11)), model.decode(x, z))
    reg = jitter(Regressor(**SMALL, seed=12), rng)
    y = rng.random((5, 6))
    p = reg.predict(x)
    nll = -(y * np.log(p) + (1 - y) * np.log(1 - p)).sum(1)
    assert np.allclose(reg.nll(x, y), nll, rtol=1e-12)
    assert reg.loss_and_grads(x, y)[0] == pytest.approx(nll.mean(), rel=1e-12)


def test_paper_shapes_and_live_params():
    model, reg = CVAE(seed=0), Regressor(seed=0)
    shapes = {k: v.shape for k, v in model.params.items()}
    assert shapes["cond.0.W"] == (28, 1000) and shapes["cond.1.W"] == (1000, 500)
    assert shapes["cond.3.W"] == (250, 250) and shapes["encoder.0.W"] == (756, 1000)
    assert shapes["mu.W"] == (250, 30) and shapes["log_var.W"] == (250, 30)
    assert shapes["decoder.0.W"] == (30, 250) and shapes["decoder.3.W"] == (1000, 756)
    reg_shapes = {k: v.shape for k, v in reg.params.items()}
    assert reg_shapes == {k: s for k, s in shapes.items() if k.startswith("cond")
                          or (k.startswith("decoder") and not k.startswith("decoder.0"))}
    assert model.flat_params.dtype == np.float32 and model.flat_params.size == sum(
        np.prod(s) for s in shapes.values())
    # sparse init: ~15 nonzeros per output column in a sparse layer, dense heads
    assert np.count_nonzero(model.params["encoder.0.W"]) < 0.05 * 756 * 1000
    assert np.count_nonzero(model.params["mu.W"]) == 250 * 30
    x = np.zeros((2, 28), dtype=np.float32)
    before = reg.predict(x)
    reg.params["decoder.3.b"] += 1.0                # the dict is live
    assert not np.allclose(before, reg.predict(x))


X, Y, EPS = np.zeros((2, 4)), np.zeros((2, 6)), np.zeros((2, 2))     # valid float64 inputs


@pytest.mark.parametrize("call, message", [
    (lambda m: m.loss_and_grads(X, Y, EPS.astype(np.float32)), "eps has dtype float32"),
    (lambda m: m.loss_and_grads(np.zeros((2, 5)), Y, EPS), "x must have 4 columns"),
    (lambda m: m.loss_and_grads(X, np.zeros((3, 6)), EPS), "y must have 2 rows"),
    (lambda m: m.loss_and_grads(X, np.full((2, 6), 1.5), EPS), r"y must lie in \[0, 1\]"),
    (lambda m: m.loss_and_grads(np.full((2, 4), np.nan), Y, EPS), "x contains NaN"),
    (lambda m: m.loss_and_grads(X, Y, EPS[:1]), "eps must have 2 rows"),
    (lambda m: m.sample(np.zeros(4), np.random.default_rng(0)), "x must be 2-D"),
    (lambda m: m.decode(X, np.zeros((2, 3))), "z must have 2 columns"),
    (lambda m: m.encode(X, list(Y)), "y must be a numpy array"),
    (lambda m: m.conditional_elbo(X, Y, np.random.default_rng(0), 0), "n_samples"),
])
def test_cvae_rejects_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call(CVAE(**SMALL, z_dim=2))


@pytest.mark.parametrize("kwargs, message", [
    (dict(join=3), "join"), (dict(join=True), "join"), (dict(hidden=()), "hidden"),
    (dict(hidden=(5, 0)), "hidden"), (dict(z_dim=0), "z_dim"), (dict(init="xavier"), "init"),
    (dict(dtype=np.float16), "dtype"), (dict(y_dim=-1), "y_dim"),
])
def test_cvae_rejects_bad_config(kwargs, message):
    with pytest.raises(ValueError, match=message):
        CVAE(**{**SMALL, "z_dim": 2, **kwargs})


def test_split_and_merge_columns():
    images = np.random.default_rng(13).random((3, 784)).astype(np.float32)
    x_col, y_rest = split_middle_column(images)
    grid = images.reshape(3, 28, 28)
    assert x_col.shape == (3, 28) and y_rest.shape == (3, 756)
    assert np.array_equal(x_col, grid[:, :, 13])                    # column 13 of 0..27
    assert np.array_equal(y_rest.reshape(3, 28, 27)[:, :, :13], grid[:, :, :13])
    assert np.array_equal(y_rest.reshape(3, 28, 27)[:, :, 13:], grid[:, :, 14:])
    assert np.array_equal(merge_columns(x_col, y_rest), images)
    with pytest.raises(ValueError, match="images must have 784 columns"):
        split_middle_column(images[:, :700])
    with pytest.raises(ValueError, match="y_rest has dtype"):
        merge_columns(x_col, y_rest.astype(np.float64))


def test_training_beats_the_pixel_marginals_on_mnist(mnist_small):
    # 200 Adam steps on 2000 digits (reduced widths, He init for speed).  A model
    # that ignores its input can at best learn each pixel's marginal; beating that
    # on held-out digits needs gradient through X (regressor) or z (CVAE).
    x_train, _, x_test, _ = mnist_small
    rng = np.random.default_rng(14)
    x_col, y_test = split_middle_column(x_test[:200])
    x_test = binarize_dynamic(x_col, rng)
    p = np.clip(split_middle_column(x_train)[1].mean(0), 1e-4, 1 - 1e-4)
    marginal = -(y_test * np.log(p) + (1 - y_test) * np.log1p(-p)).sum(1).mean()   # ≈ 184 nats
    kw = dict(hidden=(200, 100, 50), init="he", dtype=np.float32, seed=0)
    cvae, reg = CVAE(z_dim=10, **kw), Regressor(**kw)
    opts = [Adam(m.flat_params, m.flat_grads, lr=1e-3, weight_decay=5e-4) for m in (cvae, reg)]
    for epoch in range(10):
        for idx in iterate_minibatches(len(x_train), 100, rng):
            x_col, y = split_middle_column(x_train[idx])
            x = binarize_dynamic(x_col, rng)
            cvae.loss_and_grads(x, y, rng.standard_normal((len(idx), 10), dtype=np.float32))
            reg.loss_and_grads(x, y)
            for opt in opts:
                opt.step()
    cvae_bound = -cvae.conditional_elbo(x_test, y_test, np.random.default_rng(15)).elbo.mean()
    reg_nll = reg.nll(x_test, y_test).mean()
    # measured: CVAE −ELBO ≈ 154, regressor NLL ≈ 164 nats
    assert cvae_bound < marginal - 10 and reg_nll < marginal - 10, (marginal, cvae_bound, reg_nll)


def test_cvae_and_regressor_refuse_an_empty_batch_and_an_overflowing_logit():
    """As the VAE does: an empty batch is a ValueError (not a NaN loss), and a decoder
    logit that overflowed is a NonFiniteError (not a probability of exactly 1)."""
    from minivae.errors import NonFiniteError
    cvae, reg = CVAE(**SMALL, z_dim=2, seed=1), Regressor(**SMALL, seed=2)
    x0, y0 = np.zeros((0, 4)), np.zeros((0, 6))
    with pytest.raises(ValueError, match="x has 0 rows"):
        cvae.loss_and_grads(x0, y0, np.zeros((0, 2)))
    with pytest.raises(ValueError, match="x has 0 rows"):
        reg.loss_and_grads(x0, y0)
    x = np.full((1, 4), 0.5)
    for model in (cvae, reg):
        for p in model.params.values():
            p[...] = 1e100                      # every logit overflows float64
    with np.errstate(over="ignore"):            # NumPy's warning is the caller's to choose
        with pytest.raises(NonFiniteError):
            cvae.decode(x, np.ones((1, 2)))
        with pytest.raises(NonFiniteError):
            reg.predict(x)
