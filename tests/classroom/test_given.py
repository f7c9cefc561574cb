"""What exercises 6-8 are handed: the model's layers, sharing params and grads as the model's
do, and no method that computes the answer (minivae.classroom.given)."""
import pickle

import numpy as np
import pytest

from minivae.classroom.given import GivenCVAE, GivenVAE
from minivae.classroom.model_exercises import tiny_cvae, tiny_vae


def test_a_given_vae_is_the_model_s_layers_without_its_answers():
    model = tiny_vae(np.random.default_rng(0))
    given = pickle.loads(pickle.dumps(GivenVAE(model)))     # as the child gets it: a copy
    assert set(given.params) == set(model.params) == set(given.grads)
    for k in model.params:
        np.testing.assert_array_equal(given.params[k], model.params[k])
        assert not np.shares_memory(given.params[k], model.params[k])
    assert given.encoder.layers[0].params["W"] is given.params["encoder.0.W"]
    assert given.decoder.layers[-1].grads["b"] is given.grads[f"decoder.{len(model.hidden)}.b"]
    for name in ("loss_and_grads", "encode", "decode", "elbo", "sample", "flat_params"):
        with pytest.raises(AttributeError, match=f"has no {name}: write it yourself"):
            getattr(given, name)
    with pytest.raises(AttributeError, match="'GivenVAE' object has no attribute 'nothing'"):
        given.nothing


def test_a_given_layer_s_backward_fills_the_given_grads():
    model = tiny_vae(np.random.default_rng(1))
    given = pickle.loads(pickle.dumps(GivenVAE(model)))
    x = np.random.default_rng(2).random((3, model.x_dim))
    h, cache = given.encoder.forward(x)
    given.encoder.backward(np.ones_like(h), cache, need_dx=False)
    model.encoder.backward(np.ones_like(h), model.encoder.forward(x)[1], need_dx=False)
    np.testing.assert_array_equal(given.grads["encoder.0.W"], model.grads["encoder.0.W"])


def test_log_likelihood_is_the_vae_s():
    rng = np.random.default_rng(3)
    model = tiny_vae(rng)
    x, z = rng.random((4, model.x_dim)), rng.standard_normal((4, model.z_dim))
    np.testing.assert_allclose(GivenVAE(model).log_likelihood(x, z), model.log_likelihood(x, z),
                               rtol=1e-14)


def test_a_given_cvae_has_its_towers():
    model = tiny_cvae(np.random.default_rng(4))
    given = pickle.loads(pickle.dumps(GivenCVAE(model)))
    assert (given.join, given.cond.tap, given.encoder.join, given.decoder.join) == \
        (model.join, model.join, model.join, 0)
    assert set(given.params) == set(model.params)
    with pytest.raises(AttributeError, match="has no loss_and_grads"):
        given.loss_and_grads
