"""Optimizers against updates worked out by hand (float64, tiny arrays).

Expected values are either literal numbers computed on paper (SGD, Adam's
first step) or the textbook formulas written out per scalar with `math`,
independent of minivae.kernels' vectorized code.
"""
import math

import numpy as np
import pytest

from minivae.config import TrainConfig, build_model, build_optimizer
from minivae.model import VAE
from minivae.optim import SGD, Adam


def _run(opt_cls, p0, grads_per_step, **hyper):
    params = np.array(p0, dtype=np.float64)
    grads = np.zeros_like(params)
    opt = opt_cls(params, grads, **hyper)
    trace = []
    for g in grads_per_step:
        grads[...] = g
        opt.step()
        trace.append(params.copy())
    return trace, opt


# coordinate 0 sees g = 0.5, 0.5, 0.5; coordinate 1 sees g = 0.3, -0.2, 0.1
GRADS = [[0.5, 0.3], [0.5, -0.2], [0.5, 0.1]]


def test_sgd_momentum_weight_decay_by_hand():
    # lr 0.1, momentum 0.9, wd 0.1:  g̃ = g + 0.1 p;  v ← 0.9 v + g̃;  p ← p − 0.1 v
    # coord 0, p = 1:  g̃ 0.6      v 0.6      p 0.94
    #                  g̃ 0.594    v 1.134    p 0.8266
    #                  g̃ 0.58266  v 1.60326  p 0.666274
    # coord 1, p = −2: g̃ 0.1      v 0.1      p −2.01
    #                  g̃ −0.401   v −0.311   p −1.9789
    #                  g̃ −0.09789 v −0.37779 p −1.941121
    trace, opt = _run(SGD, [1.0, -2.0], GRADS, lr=0.1, momentum=0.9, weight_decay=0.1)
    expected = [[0.94, -2.01], [0.8266, -1.9789], [0.666274, -1.941121]]
    np.testing.assert_allclose(trace, expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(opt.velocity, [1.60326, -0.37779], rtol=0, atol=1e-12)
    assert opt.t == 3


def test_sgd_without_momentum_or_decay_is_plain_gradient_descent():
    trace, _ = _run(SGD, [1.0, -2.0], GRADS, lr=0.5, momentum=0.0, weight_decay=0.0)
    # p ← p − 0.5 g each step: coord 0: 0.75, 0.5, 0.25; coord 1: −2.15, −2.05, −2.1
    np.testing.assert_allclose(trace, [[0.75, -2.15], [0.5, -2.05], [0.25, -2.1]], atol=1e-12)


def test_adam_first_step_moves_each_weight_by_lr():
    # At t = 1 the bias-corrected m̂ = g̃ and v̂ = g̃², so the step is lr·sign(g̃)
    # exactly when ε = 0: g̃ = g + 0.1 p = (0.6, 0.1) -> p = (1 − 0.01, −2 − 0.01).
    trace, _ = _run(Adam, [1.0, -2.0], GRADS[:1], lr=0.01, adam_eps=0.0, weight_decay=0.1)
    np.testing.assert_allclose(trace[0], [0.99, -2.01], rtol=0, atol=1e-15)


@pytest.mark.parametrize("adam_eps", [1e-8, 1e-3])
@pytest.mark.parametrize("beta1", [0.9, 0.0])
def test_adam_three_steps_by_hand(adam_eps, beta1):
    lr, beta2, wd = 0.01, 0.999, 0.1
    trace, opt = _run(Adam, [1.0, -2.0], GRADS, lr=lr, beta1=beta1, beta2=beta2,
                      adam_eps=adam_eps, weight_decay=wd)
    for i, p0 in enumerate([1.0, -2.0]):      # Kingma & Ba, Alg. 1, one scalar at a time
        p, m, v = p0, 0.0, 0.0
        for t, g in enumerate((row[i] for row in GRADS), start=1):
            g = g + wd * p                                  # L2 decay in the gradient
            m = beta1 * m + (1 - beta1) * g
            v = beta2 * v + (1 - beta2) * g * g
            m_hat, v_hat = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
            # ε sits on √v before the bias correction is folded in (Caffe), i.e.
            # on √v̂ scaled by 1/√(1 − β2ᵗ)
            p = p - lr * m_hat / (math.sqrt(v_hat) + adam_eps / math.sqrt(1 - beta2 ** t))
            assert trace[t - 1][i] == pytest.approx(p, rel=0, abs=1e-13)
        assert opt.m[i] == pytest.approx(m, abs=1e-15)
        assert opt.v[i] == pytest.approx(v, abs=1e-15)


@pytest.mark.parametrize("cls", [SGD, Adam])
def test_state_dict_round_trip_continues_identically(cls):
    kw = dict(lr=0.05, weight_decay=0.01)
    trace, opt = _run(cls, [1.0, -2.0], GRADS[:2], **kw)
    params = trace[-1].copy()
    grads = np.zeros_like(params)
    fresh = cls(params, grads, **kw)
    fresh.load_state_dict({k: np.copy(v) for k, v in opt.state_dict().items()})
    grads[...] = GRADS[2]
    opt.grads[...] = GRADS[2]
    opt.step()
    fresh.step()
    assert np.array_equal(params, opt.params)


def test_updates_reach_the_model_through_flat_views():
    model = VAE(x_dim=6, hidden=(4,), z_dim=2, dtype=np.float64, seed=0)
    before = model.params["decoder.0.W"].copy()
    opt = SGD(model.flat_params, model.flat_grads, lr=0.1, momentum=0.0)
    model.grads["decoder.0.W"][...] = 1.0
    opt.step()
    np.testing.assert_allclose(model.params["decoder.0.W"], before - 0.1, atol=1e-15)


@pytest.mark.parametrize("kwargs", [dict(lr=-1.0), dict(lr=np.nan), dict(beta1=1.0),
                                    dict(beta2=-0.1), dict(weight_decay=-1e-4)])
def test_adam_rejects_bad_hyperparameters(kwargs):
    p = np.zeros(3)
    with pytest.raises(ValueError):
        Adam(p, np.zeros(3), **kwargs)


def test_optimizers_reject_mismatched_or_strided_arrays():
    with pytest.raises(ValueError, match="must match"):
        SGD(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="contiguous"):
        Adam(np.zeros(6)[::2], np.zeros(3))
    with pytest.raises(ValueError, match="momentum"):
        SGD(np.zeros(3), np.zeros(3), momentum=1.0)


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_the_doersch_preset_decays_the_weights_and_not_the_biases(optimizer):
    """One step of `train`'s optimizer for the doersch preset (wd 5e-4), against Adam's
    first step and SGD's worked out per scalar: g̃ = g + wd·θ on every W entry, g̃ = g
    on every b entry, as the reference solver's `decay_mult: 0` on biases has it."""
    config = TrainConfig.from_preset("doersch", hidden=(5,), z_dim=2, dtype="float64",
                                     optimizer=optimizer)
    model = build_model(config, x_dim=4)
    rng = np.random.default_rng(0)
    for p in model.params.values():             # biases far from 0, so decay would show
        p[...] = rng.uniform(1.0, 3.0, p.shape) * rng.choice([-1, 1], p.shape)
    model.flat_grads[...] = rng.standard_normal(model.flat_grads.size) * 1e-3
    before, g = model.flat_params.copy(), model.flat_grads.copy()
    opt = build_optimizer(config, model)
    opt.step()
    wd, lr, offset = config.weight_decay, config.lr, 0
    for name, p in model.params.items():
        n = p.size
        theta, grad = before[offset:offset + n], g[offset:offset + n]
        g_tilde = grad + wd * theta if name.endswith(".W") else grad
        if optimizer == "adam":     # t = 1: m = (1−β1) g̃, v = (1−β2) g̃²
            m, v = (1 - config.beta1) * g_tilde, (1 - config.beta2) * g_tilde ** 2
            step = lr * math.sqrt(1 - config.beta2) / (1 - config.beta1)
            want = theta - step * m / (np.sqrt(v) + opt.adam_eps)
        else:                       # velocity 0 before: v = g̃
            want = theta - lr * g_tilde
        np.testing.assert_allclose(p.ravel(), want, rtol=1e-13, atol=0, err_msg=name)
        offset += n
    assert offset == model.flat_params.size
    decayed = opt.decayed
    assert decayed.sum() == sum(p.size for k, p in model.params.items() if k.endswith(".W"))
    assert not decayed.all() and decayed.any()


def test_a_decay_mask_is_checked():
    p = np.zeros(3)
    Adam(p, np.zeros(3), decayed=np.array([True, False, True]))
    for bad in (np.ones(4, bool), np.ones(3), [True, True, True]):
        with pytest.raises(ValueError, match="decayed must be a bool array of shape"):
            SGD(p, np.zeros(3), decayed=bad)
