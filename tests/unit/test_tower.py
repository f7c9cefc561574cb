"""The tower of Dense layers with a junction and a tap, shared by the CVAE and its regressor
(minivae/tower.py, §3 and §4.2): its forward pass recomputed by hand, its backward against
central differences, and without junction or tap the same passes as the VAE's MLP."""
import numpy as np

from minivae.mlp import MLP
from minivae.tower import Tower
from fd import num_grad, rel_err

LAYER_THRESHOLD = 1e-7      # a few layers, float64, h = 1e-5
SIZES = (4, 5, 3, 2)        # three Dense layers: 4 → 5 → 3 → 2


def relu(a):
    return np.maximum(a, 0.0)


def tower(seed, **kw):
    t = Tower(SIZES, ["glorot"] * 3, False, np.random.default_rng(seed), np.float64, **kw)
    rng = np.random.default_rng(seed + 1)
    for layer in t.layers:                  # nonzero biases exercise db fully
        layer.params["b"][...] = 0.3 * rng.standard_normal(layer.params["b"].shape)
    return t


def test_forward_adds_the_junction_before_its_relu_and_hands_out_the_tap():
    """join=1, tap=0: y = relu(relu(x W0 + b0) W1 + b1 + extra) W2 + b2, and the tapped
    value is layer 0's pre-activation x W0 + b0."""
    t = tower(0, join=1, tap=0)
    rng = np.random.default_rng(2)
    x, extra = rng.standard_normal((6, 4)), rng.standard_normal((6, 3))
    (W0, b0), (W1, b1), (W2, b2) = ((l.params["W"], l.params["b"]) for l in t.layers)
    y, tapped, _ = t.forward(x, extra)
    np.testing.assert_allclose(tapped, x @ W0 + b0, rtol=1e-13)
    np.testing.assert_allclose(y, relu(relu(x @ W0 + b0) @ W1 + b1 + extra) @ W2 + b2, rtol=1e-13)


def test_relu_last_puts_a_relu_after_the_last_layer():
    t = tower(3)
    t_relu = Tower(SIZES, ["glorot"] * 3, True, np.random.default_rng(3), np.float64)
    for a, b in zip(t.layers, t_relu.layers):
        b.params["W"][...], b.params["b"][...] = a.params["W"], a.params["b"]
    x = np.random.default_rng(4).standard_normal((6, 4))
    y = t.forward(x)[0]
    assert (y < 0).any()
    np.testing.assert_array_equal(t_relu.forward(x)[0], relu(y))


def test_backward_matches_central_differences_at_the_junction_and_the_tap():
    """f = ∑ y·dy + ∑ tapped·dtap: backward(dy, cache, dtap) gives ∂f/∂x, ∂f/∂extra and every
    ∂f/∂W, ∂f/∂b; the tap's gradient joins the flow at its layer."""
    for join, tap in ((1, 0), (0, 1), (2, 2)):
        t = tower(5, join=join, tap=tap)
        rng = np.random.default_rng(6)
        x = rng.standard_normal((3, 4))
        extra = rng.standard_normal((3, SIZES[join + 1]))
        dy, dtap = rng.standard_normal((3, 2)), rng.standard_normal((3, SIZES[tap + 1]))

        def f():
            y, tapped, _ = t.forward(x, extra)
            return np.sum(y * dy) + np.sum(tapped * dtap)
        dx, dextra = t.backward(dy, t.forward(x, extra)[2], dtap=dtap)
        assert rel_err(dx, num_grad(f, x)) < LAYER_THRESHOLD, (join, tap)
        assert rel_err(dextra, num_grad(f, extra)) < LAYER_THRESHOLD, (join, tap)
        for k, layer in enumerate(t.layers):
            for name in ("W", "b"):
                analytic = layer.grads[name].copy()
                assert rel_err(analytic, num_grad(f, layer.params[name])) < LAYER_THRESHOLD, \
                    (join, tap, k, name)


def test_without_junction_or_tap_a_tower_is_the_mlp_of_the_same_layers():
    """One ReLU, the same in both (fused into the layer's pass): equal outputs and gradients."""
    t = tower(7)
    m = MLP(SIZES, False, "glorot", np.random.default_rng(0), np.float64)
    for a, b in zip(t.layers, m.layers):
        b.params["W"][...], b.params["b"][...] = a.params["W"], a.params["b"]
    rng = np.random.default_rng(8)
    x, dy = rng.standard_normal((5, 4)), rng.standard_normal((5, 2))
    y_t, _, c_t = t.forward(x)
    y_m, c_m = m.forward(x)
    np.testing.assert_array_equal(y_t, y_m)
    np.testing.assert_array_equal(t.backward(dy, c_t)[0], m.backward(dy, c_m))
    for a, b in zip(t.layers, m.layers):
        np.testing.assert_array_equal(a.grads["W"], b.grads["W"])
        np.testing.assert_array_equal(a.grads["b"], b.grads["b"])
