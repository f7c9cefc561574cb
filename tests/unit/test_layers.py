"""Dense, ReLU, Sigmoid: backward against central differences (float64)."""
import numpy as np
import pytest

from minivae.layers import INITS, Dense, ReLU, Sigmoid, init_weights
from fd import num_grad, rel_err

THRESHOLD = 1e-7    # per layer, float64, h = 1e-5


@pytest.mark.parametrize("shape", [(3, 5, 4), (1, 1, 1), (2, 7, 1)])
def test_dense_backward(shape):
    N, D, H = shape
    rng = np.random.default_rng(1)
    layer = Dense(D, H, init="glorot", rng=rng, dtype=np.float64)
    layer.params["b"][:] = rng.standard_normal(H)
    x, dy = rng.standard_normal((N, D)), rng.standard_normal((N, H))
    f = lambda: float((layer.forward(x)[0] * dy).sum())
    dx = layer.backward(dy, layer.forward(x)[1])
    assert rel_err(dx, num_grad(f, x)) < THRESHOLD
    assert rel_err(layer.grads["W"], num_grad(f, layer.params["W"])) < THRESHOLD
    assert rel_err(layer.grads["b"], num_grad(f, layer.params["b"])) < THRESHOLD


def test_dense_forward_is_affine():
    rng = np.random.default_rng(2)
    layer = Dense(3, 2, init="pytorch", rng=rng, dtype=np.float64)
    x = rng.standard_normal((4, 3))
    W, b = layer.params["W"], layer.params["b"]
    expected = np.array([[sum(x[n, d] * W[d, h] for d in range(3)) + b[h] for h in range(2)]
                         for n in range(4)])
    np.testing.assert_allclose(layer.forward(x)[0], expected, rtol=1e-13)


def test_dense_no_dx_for_data():
    rng = np.random.default_rng(3)
    layer = Dense(3, 2, rng=rng, dtype=np.float64)
    x = rng.standard_normal((4, 3))
    assert layer.backward(np.ones((4, 2)), layer.forward(x)[1], need_dx=False) is None


@pytest.mark.parametrize("act", [ReLU(), Sigmoid()])
def test_activation_backward(act):
    rng = np.random.default_rng(4)
    x = rng.uniform(0.1, 2.0, (3, 6)) * rng.choice([-1.0, 1.0], (3, 6))   # away from ReLU's kink
    dy = rng.standard_normal((3, 6))
    f = lambda: float((act.forward(x)[0] * dy).sum())
    assert rel_err(act.backward(dy, act.forward(x)[1]), num_grad(f, x)) < THRESHOLD


def test_sigmoid_extreme_inputs_finite():
    y, _ = Sigmoid().forward(np.array([[-1e4, 0.0, 1e4]]))
    np.testing.assert_array_equal(y, [[0.0, 0.5, 1.0]])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("init", INITS)
def test_init_dtype_and_scale(init, dtype):
    rng = np.random.default_rng(5)
    W, b = init_weights(init, 400, 300, rng, dtype)
    assert W.dtype == dtype and b.dtype == dtype and W.shape == (400, 300) and b.shape == (300,)
    expected_std = {"gaussian": 0.1, "he": np.sqrt(2 / 400), "glorot": np.sqrt(2 / 700),
                    "pytorch": 1 / np.sqrt(3 * 400), "sparse": 0.1 * np.sqrt(15 / 300)}[init]
    # 120,000 draws: a dense init's sample std has relative sd ≈ 1/√(2n) = 0.2%, so 2%
    # is 10 sd; the sparse one keeps only ~6,000 weights (relative sd ≈ 1.1%), so 6%.
    assert abs(W.std() / expected_std - 1) < (0.06 if init == "sparse" else 0.02)


def test_sparse_init_keeps_fifteen_per_output_on_average():
    rng = np.random.default_rng(6)
    W, _ = init_weights("sparse", 1000, 500, rng, np.float64)
    kept = (W != 0).mean()
    assert abs(kept - 15 / 500) < 0.002            # binomial sd ≈ 2.4e-4


def test_bad_init_and_sizes():
    with pytest.raises(ValueError, match="init"):
        Dense(3, 2, init="xavier-ish")
    with pytest.raises(ValueError, match="out_dim"):
        Dense(3, 0)
    with pytest.raises(ValueError, match="dtype"):
        Dense(3, 2, dtype=np.int32)
