"""The regressor baseline of §3 and §4.2: its forward pass along the documented chain, its
gradient, and its checks.  Beside the CVAE: test_cvae.py."""
import numpy as np
import pytest

from minivae import Regressor
from fd import assert_model_gradients, jitter

MODEL_THRESHOLD = 1e-6      # whole model, float64, h = 1e-5
SMALL = dict(x_dim=4, y_dim=6, hidden=(5, 4, 3), init="glorot", dtype=np.float64)


def relu(a):
    return np.maximum(a, 0.0)


def test_predict_and_nll_follow_the_documented_chain_from_the_parameters():
    """regressor.py's chain, X → H0 → H1 → H2 → H2 → ReLU → H1 → H0 → Y with a ReLU after
    every layer but the last, recomputed from the parameters alone: the conditioning
    tower's layers cond.0–3, each followed by a ReLU (the last one is the ReLU the CVAE
    applies after its decoder's junction), then decoder.1–3.  The sigmoid of the logits
    must be predict's output, and the stable cross-entropy of Y under them nll's."""
    rng = np.random.default_rng(21)
    reg = jitter(Regressor(**SMALL, seed=22), rng)
    P, L = reg.params, len(SMALL["hidden"])
    x, y = rng.random((5, 4)), rng.random((5, 6))
    h = x
    for i in range(L + 1):                                  # X → H0 → H1 → H2 → H2
        pre = h @ P[f"cond.{i}.W"] + P[f"cond.{i}.b"]
        h = relu(pre)
    assert (pre < 0).any() and (pre > 0).any()              # that last ReLU clips something
    for j in range(1, L + 1):                               # H2 → H1 → H0 → Y
        h = h @ P[f"decoder.{j}.W"] + P[f"decoder.{j}.b"]
        if j < L:
            h = relu(h)
    logits = h                                              # (5, 6) r(X)
    np.testing.assert_allclose(reg.predict(x), 1 / (1 + np.exp(-logits)), rtol=1e-12)
    nll = (np.maximum(logits, 0) - logits * y + np.log1p(np.exp(-np.abs(logits)))).sum(axis=1)
    np.testing.assert_allclose(reg.nll(x, y), nll, rtol=1e-12)
    assert reg.loss_and_grads(x, y)[0] == pytest.approx(nll.mean(), rel=1e-12)


@pytest.mark.parametrize("N", [1, 3])
def test_regressor_whole_model_gradient(N):
    rng = np.random.default_rng(2)
    model = jitter(Regressor(**SMALL, seed=3), rng)
    x, y = rng.random((N, 4)), rng.random((N, 6))
    assert_model_gradients(model, x, y, threshold=MODEL_THRESHOLD)


def test_regressor_rejects_bad_input():
    reg = Regressor(**SMALL)
    with pytest.raises(ValueError, match="x has dtype float32"):
        reg.predict(np.zeros((2, 4), np.float32))
    with pytest.raises(ValueError, match=r"y must lie in \[0, 1\]"):
        reg.loss_and_grads(np.zeros((2, 4)), -np.ones((2, 6)))
    with pytest.raises(ValueError, match="y must have 2 rows"):
        reg.nll(np.zeros((2, 4)), np.zeros((1, 6)))
    with pytest.raises(ValueError, match="x_dim"):
        Regressor(**{**SMALL, "x_dim": 0})
