"""What the grader hands exercises 6–8: a model's layers, never a model that computes the answer.

Exercise 6 asks for VAE.loss_and_grads, exercise 7 for the importance
weights of minivae.evaluate, exercise 8 for the CVAE's junctions.  A minivae
VAE or CVAE handed to the student's function would carry those answers as
its own methods.  The grader hands over a GivenVAE or GivenCVAE instead:

    encoder, mu_head, log_var_head, reparam, decoder (and a CVAE's cond)
                      minivae's own layer objects (MLP, Tower, Dense,
                      Reparameterize), each with forward and backward: the
                      pieces exercises 1–5 derived
    params, grads     dicts keyed as the model's ("encoder.0.W", "mu.b", ...),
                      shared with those layers: a layer's backward fills grads
    x_dim, z_dim (y_dim for a CVAE); log_likelihood(x, z) for exercise 7:
                      log P(X|z) of the Bernoulli decoder

The grader builds them around its own model and pickles them; the child
process (child.py) unpickles copies, so the grader's model is never
touched.  This module imports the layer classes, so loading it in the child
loads exactly the pieces, and nothing of model.py, cvae.py or evaluate.py.
"""
from ..layers import Dense, ReLU  # noqa: F401  the classes of the layers handed over
from ..losses import bernoulli_nll
from ..mlp import MLP  # noqa: F401
from ..reparam import Reparameterize  # noqa: F401
from ..tower import Tower  # noqa: F401

# what a minivae model has and a given one lacks
MODEL_ONLY = ("loss_and_grads", "encode", "decode", "elbo", "conditional_elbo", "sample",
              "reconstruct", "config", "flat_params", "flat_grads")
PIECES = ("encoder", "mu_head", "log_var_head", "reparam", "decoder", "params", "grads",
          "x_dim", "z_dim")


class _Given:
    def __init__(self, model, names):
        for name in names:
            setattr(self, name, getattr(model, name))

    def __getattr__(self, name):
        if name in MODEL_ONLY:
            raise AttributeError(f"the model handed to this exercise has no {name}: "
                                 "write it yourself from its layers")
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")


class GivenVAE(_Given):
    """A minivae.VAE's layers, params and grads (exercises 6 and 7)."""

    def __init__(self, model):
        super().__init__(model, PIECES)

    def log_likelihood(self, x, z):
        """log P(X|z) per example (N,), for x (N, D) and z (N, K): the Bernoulli decoder's."""
        return -bernoulli_nll(self.decoder.forward(z)[0], x)[0]


class GivenCVAE(_Given):
    """A minivae.CVAE's towers, heads, params and grads (exercise 8)."""

    def __init__(self, model):
        super().__init__(model, PIECES + ("cond", "y_dim", "join"))
