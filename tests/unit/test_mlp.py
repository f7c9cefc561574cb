"""The stack of Dense layers of Fig. 4's encoder and decoder, and the flat parameter storage
every model is built on (minivae/mlp.py: MLP, bind_flat)."""
import numpy as np

from minivae.layers import Dense
from minivae.mlp import MLP, bind_flat
from fd import num_grad, rel_err

LAYER_THRESHOLD = 1e-7      # a few layers, float64, h = 1e-5


def mlp(relu_last, seed=0):
    m = MLP((4, 5, 3), relu_last, "glorot", np.random.default_rng(seed), np.float64)
    rng = np.random.default_rng(seed + 1)
    for layer in m.layers:                  # nonzero biases exercise db fully
        layer.params["b"][...] = rng.standard_normal(layer.params["b"].shape)
    return m


def test_forward_puts_a_relu_after_each_hidden_layer_and_after_the_last_if_asked():
    x = np.random.default_rng(2).standard_normal((6, 4))
    for relu_last in (False, True):
        m = mlp(relu_last)
        (W0, b0), (W1, b1) = ((l.params["W"], l.params["b"]) for l in m.layers)
        y = np.maximum(x @ W0 + b0, 0) @ W1 + b1
        assert (y < 0).any()
        np.testing.assert_allclose(m.forward(x)[0], np.maximum(y, 0) if relu_last else y,
                                   rtol=1e-13)


def test_backward_matches_central_differences():
    m = mlp(True, seed=3)
    rng = np.random.default_rng(4)
    x, dy = rng.standard_normal((3, 4)), rng.standard_normal((3, 3))
    f = lambda: np.sum(m.forward(x)[0] * dy)
    dx = m.backward(dy, m.forward(x)[1])
    assert rel_err(dx, num_grad(f, x)) < LAYER_THRESHOLD
    for layer in m.layers:
        for name in ("W", "b"):
            assert rel_err(layer.grads[name].copy(), num_grad(f, layer.params[name])) < LAYER_THRESHOLD
    assert m.backward(dy, m.forward(x)[1], need_dx=False) is None


def test_bind_flat_makes_every_parameter_and_gradient_a_view_of_one_vector():
    rng = np.random.default_rng(5)
    layers = {"enc": Dense(3, 2, rng=rng, dtype=np.float32), "dec": Dense(2, 4, rng=rng, dtype=np.float32)}
    before = {f"{p}.{k}": v.copy() for p, l in layers.items() for k, v in l.params.items()}
    params, grads, flat_params, flat_grads = bind_flat(layers, np.float32)
    # in order, each key's values where they were, nothing else in the vector
    assert list(params) == list(grads) == ["enc.W", "enc.b", "dec.W", "dec.b"]
    np.testing.assert_array_equal(flat_params, np.concatenate([v.ravel() for v in before.values()]))
    assert flat_params.dtype == flat_grads.dtype == np.float32 and flat_params.size == 6 + 2 + 8 + 4
    assert not flat_grads.any()
    for key, p in params.items():
        prefix, name = key.split(".")
        assert p.base is flat_params and grads[key].base is flat_grads
        assert layers[prefix].params[name] is p and layers[prefix].grads[name] is grads[key]
    # live both ways: a write to a layer's W is in the vector, a write to the vector is in W
    layers["dec"].params["W"][0, 0] = 7.0
    assert flat_params[8] == 7.0
    flat_params[-1] = -3.0
    assert params["dec.b"][-1] == -3.0
    flat_grads[:] = 1.0
    assert all((g == 1.0).all() for g in grads.values())
