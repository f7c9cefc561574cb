"""Gradient checking by central differences: the method, and the check of every backward.

`run_all()` checks every layer, loss and model of minivae on the active
backend (minivae.kernels); `python -m minivae gradcheck` prints the table of
both, the NumPy lines a reader reads and their Numba twins.  The tests,
lesson 03 and the exercise grader use the same method and thresholds.

For a scalar function f of an array a, the numerical derivative of entry i is

    n_i = ( f(a + h e_i) − f(a − h e_i) ) / (2h)          (error O(h²))

and the analytic gradient g passes when the relative error

    rel_error(g, n) = max_i |g_i − n_i| / max( max_i |g_i| + max_i |n_i|, TINY )

is below a threshold.  Normalizing by the array's scale rather than entry by
entry keeps gradients that are zero (a dead ReLU, a bias no example reaches)
from dividing rounding noise by zero, yet any entry wrong by more than the
threshold times the gradient's scale fails.  In float64 with h = 1e-5 a
correct gradient gives ~1e-9 or less.  The thresholds:

    LAYER_THRESHOLD = 1e-7   one layer or loss
    MODEL_THRESHOLD = 1e-6   a whole model, whose layers' errors add up
"""
import traceback
from typing import NamedTuple

import numpy as np

from .cvae import CVAE
from .errors import ArgumentError
from .layers import Dense, ReLU, Sigmoid
from .losses import bernoulli_nll, gaussian_nll, kl_normal
from .model import VAE
from .regressor import Regressor
from .reparam import Reparameterize

TINY = 1e-300
LAYER_THRESHOLD = 1e-7
MODEL_THRESHOLD = 1e-6


def rel_error(analytic, numeric):
    """Scale-normalized max relative error between two arrays (formula above)."""
    a, n = np.asarray(analytic, dtype=np.float64), np.asarray(numeric, dtype=np.float64)
    if a.shape != n.shape:
        raise ArgumentError(f"shapes differ: analytic {a.shape} vs numeric {n.shape}")
    if a.size == 0:
        return 0.0
    scale = np.abs(a).max() + np.abs(n).max()
    return float(np.abs(a - n).max() / max(scale, TINY))


def numerical_grad(f, a, h=1e-5):
    """∂f/∂a by central differences; f() reads `a`, which is perturbed in place.

    f takes no arguments and returns a scalar; `a` is restored afterwards.
    """
    grad = np.zeros(a.shape, dtype=np.float64)
    flat, gflat = a.reshape(-1), grad.reshape(-1)
    if not np.shares_memory(flat, a):
        raise ArgumentError("the array must be contiguous so it can be perturbed in place")
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + h
        f_plus = f()
        flat[i] = old - h
        f_minus = f()
        flat[i] = old
        gflat[i] = (f_plus - f_minus) / (2 * h)
    return grad


def max_rel_error(f, arrays, analytic, h=1e-5):
    """Max rel_error over several arrays: analytic[k] against ∂f/∂arrays[k] numerically."""
    return max(rel_error(g, numerical_grad(f, a, h)) for a, g in zip(arrays, analytic))


# --- every backward of minivae, on small float64 inputs from a fixed seed ------------
def _away_from_kink(rng, shape):
    """Values with |x| ≥ 0.1, so a ±1e-5 step never crosses ReLU's kink."""
    x = rng.uniform(0.1, 1.0, shape)
    return x * rng.choice([-1.0, 1.0], shape)


def check_dense(rng):
    layer = Dense(5, 4, init="glorot", rng=rng, dtype=np.float64)
    layer.params["b"][:] = rng.standard_normal(4)
    x, dy = rng.standard_normal((3, 5)), rng.standard_normal((3, 4))
    f = lambda: float((layer.forward(x)[0] * dy).sum())
    dx = layer.backward(dy, layer.forward(x)[1])
    return max_rel_error(f, [x, layer.params["W"], layer.params["b"]],
                         [dx, layer.grads["W"], layer.grads["b"]])


def check_activation(layer, rng):
    x, dy = _away_from_kink(rng, (3, 6)), rng.standard_normal((3, 6))
    f = lambda: float((layer.forward(x)[0] * dy).sum())
    return max_rel_error(f, [x], [layer.backward(dy, layer.forward(x)[1])])


def check_reparam(rng):
    mu, log_var = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    eps, dz = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    layer = Reparameterize()
    f = lambda: float((layer.forward(mu, log_var, eps)[0] * dz).sum())
    dmu, dlv = layer.backward(dz, layer.forward(mu, log_var, eps)[1])
    return max_rel_error(f, [mu, log_var], [dmu, dlv])


def check_kl(rng):
    mu, log_var, w = rng.standard_normal((4, 3)), rng.standard_normal((4, 3)), rng.standard_normal(4)
    f = lambda: float((kl_normal(mu, log_var)[0] * w).sum())
    _, dmu, dlv = kl_normal(mu, log_var)
    return max_rel_error(f, [mu, log_var], [dmu * w[:, None], dlv * w[:, None]])


def check_bernoulli(rng):
    logits, x, w = 3 * rng.standard_normal((4, 5)), rng.random((4, 5)), rng.standard_normal(4)
    f = lambda: float((bernoulli_nll(logits, x)[0] * w).sum())
    return max_rel_error(f, [logits], [bernoulli_nll(logits, x)[1] * w[:, None]])


def check_gaussian(rng):
    mean, x, w = rng.standard_normal((4, 5)), rng.random((4, 5)), rng.standard_normal(4)
    f = lambda: float((gaussian_nll(mean, x, 0.3)[0] * w).sum())
    return max_rel_error(f, [mean], [gaussian_nll(mean, x, 0.3)[1] * w[:, None]])


def check_vae(rng, likelihood):
    model = VAE(x_dim=7, hidden=(6, 5), z_dim=2, likelihood=likelihood, sigma=0.5,
                init="glorot", dtype=np.float64, seed=int(rng.integers(1 << 31)))
    return _check_model(model, rng, rng.random((3, 7)), rng.standard_normal((3, 2)))


def _check_model(model, rng, *data):
    """Every parameter of a model against central differences of its loss."""
    for p in model.params.values():         # nonzero biases exercise db fully
        p += 0.1 * rng.standard_normal(p.shape)
    _, grads = model.loss_and_grads(*data)                 # copies (the default)
    return max_rel_error(lambda: model.loss_and_grads(*data)[0], list(model.params.values()),
                 list(grads.values()))


def check_cvae(rng):
    model = CVAE(x_dim=4, y_dim=6, hidden=(5, 4, 3), z_dim=2, join=1, init="glorot",
                 dtype=np.float64, seed=int(rng.integers(1 << 31)))
    return _check_model(model, rng, rng.random((3, 4)), rng.random((3, 6)), rng.standard_normal((3, 2)))


def check_regressor(rng):
    model = Regressor(x_dim=4, y_dim=6, hidden=(5, 4, 3), init="glorot", dtype=np.float64,
                      seed=int(rng.integers(1 << 31)))
    return _check_model(model, rng, rng.random((3, 4)), rng.random((3, 6)))


class Check(NamedTuple):
    """One row of run_all: what was checked, and how it went."""
    name: str               # the function(s) checked, module.name (a model: all its parameters)
    error: float            # max relative error against central differences; inf if it raised
    threshold: float
    raised: str = ""        # the exception the check raised: its one-line summary and where

    @property
    def passed(self):
        return self.error < self.threshold


CHECKS = [     # name, check(rng), threshold: run in this order, from one random stream
    ("layers.dense_forward, dense_backward", check_dense, LAYER_THRESHOLD),
    ("layers.relu_forward, relu_backward", lambda rng: check_activation(ReLU(), rng),
     LAYER_THRESHOLD),
    ("layers.sigmoid, Sigmoid.backward", lambda rng: check_activation(Sigmoid(), rng),
     LAYER_THRESHOLD),
    ("reparam.reparam_forward, reparam_backward (Eq. 10)", check_reparam, LAYER_THRESHOLD),
    ("losses.kl_normal_and_grads (Eq. 7)", check_kl, LAYER_THRESHOLD),
    ("losses.bernoulli_nll_and_grad", check_bernoulli, LAYER_THRESHOLD),
    ("losses.gaussian_nll_and_grad (sigma=0.3)", check_gaussian, LAYER_THRESHOLD),
    ("VAE bernoulli, all params", lambda rng: check_vae(rng, "bernoulli"), MODEL_THRESHOLD),
    ("VAE gaussian, all params", lambda rng: check_vae(rng, "gaussian"), MODEL_THRESHOLD),
    ("CVAE (Eq. 13), all params", check_cvae, MODEL_THRESHOLD),
    ("Regressor, all params", check_regressor, MODEL_THRESHOLD),
]


def run_all(seed=0):
    """Every check of CHECKS on the active backend: a list of Check.

    A check that raises fails (error inf), and its row says what it raised and
    where, so that one broken function does not hide the others' results.
    """
    rng = np.random.default_rng(seed)
    rows = []
    for name, check, threshold in CHECKS:
        try:
            rows.append(Check(name, check(rng), threshold))
        except Exception as e:          # noqa: BLE001  a bug in what is checked: a FAIL
            rows.append(Check(name, np.inf, threshold, raised=_where(e)))
    return rows


def _where(error):
    """"ExceptionType: message (file:line)", at the line the deepest frame inside minivae ran
    (the deepest frame of all when none is)."""
    frames = list(traceback.walk_tb(error.__traceback__))
    ours = [(f, n) for f, n in frames if f.f_globals.get("__name__", "").startswith("minivae.")]
    frame, line = (ours or frames)[-1]
    path = frame.f_code.co_filename
    if ours:                # minivae/layers.py, wherever the package is
        module = frame.f_globals["__name__"].replace(".", "/")
        path = f"{module}/__init__.py" if path.endswith("__init__.py") else f"{module}.py"
    summary = " ".join(traceback.format_exception_only(type(error), error)[-1].split())
    return f"{summary} ({path}:{line})"
