"""`python -m minivae gradcheck`: every hand-derived backward against central differences.

Each check builds small float64 inputs from a fixed seed, a random upstream
gradient dy (never all ones, which would hide transposition errors), and
compares backward's result to central differences of Σ y ⊙ dy with
minivae.gradcheck.check.  The command prints one row per component (max
relative error, threshold, pass/FAIL) and exits 1 if any fails.
"""
import numpy as np

from ..cvae import CVAE
from ..gradcheck import check
from ..layers import Dense, ReLU, Sigmoid
from ..losses import bernoulli_nll, gaussian_nll, kl_normal
from ..model import VAE
from ..regressor import Regressor
from ..reparam import Reparameterize

LAYER_THRESHOLD = 1e-7      # one layer or loss: float64 + h = 1e-5 gives ~1e-9
MODEL_THRESHOLD = 1e-6      # the whole VAE: errors of many layers add up


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
    return check(f, [x, layer.params["W"], layer.params["b"]], [dx, layer.grads["W"], layer.grads["b"]])


def check_activation(layer, rng):
    x, dy = _away_from_kink(rng, (3, 6)), rng.standard_normal((3, 6))
    f = lambda: float((layer.forward(x)[0] * dy).sum())
    return check(f, [x], [layer.backward(dy, layer.forward(x)[1])])


def check_reparam(rng):
    mu, log_var = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    eps, dz = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    layer = Reparameterize()
    f = lambda: float((layer.forward(mu, log_var, eps)[0] * dz).sum())
    dmu, dlv = layer.backward(dz, layer.forward(mu, log_var, eps)[1])
    return check(f, [mu, log_var], [dmu, dlv])


def check_kl(rng):
    mu, log_var, w = rng.standard_normal((4, 3)), rng.standard_normal((4, 3)), rng.standard_normal(4)
    f = lambda: float((kl_normal(mu, log_var)[0] * w).sum())
    _, dmu, dlv = kl_normal(mu, log_var)
    return check(f, [mu, log_var], [dmu * w[:, None], dlv * w[:, None]])


def check_bernoulli(rng):
    logits, x, w = 3 * rng.standard_normal((4, 5)), rng.random((4, 5)), rng.standard_normal(4)
    f = lambda: float((bernoulli_nll(logits, x)[0] * w).sum())
    return check(f, [logits], [bernoulli_nll(logits, x)[1] * w[:, None]])


def check_gaussian(rng):
    mean, x, w = rng.standard_normal((4, 5)), rng.random((4, 5)), rng.standard_normal(4)
    f = lambda: float((gaussian_nll(mean, x, 0.3)[0] * w).sum())
    return check(f, [mean], [gaussian_nll(mean, x, 0.3)[1] * w[:, None]])


def check_vae(rng, likelihood):
    model = VAE(x_dim=7, hidden=(6, 5), z_dim=2, likelihood=likelihood, sigma=0.5,
                init="glorot", dtype=np.float64, seed=int(rng.integers(1 << 31)))
    for p in model.params.values():         # nonzero biases exercise db fully
        p += 0.1 * rng.standard_normal(p.shape)
    x, eps = rng.random((3, 7)), rng.standard_normal((3, 2))
    f = lambda: model.loss_and_grads(x, eps)[0]
    _, grads = model.loss_and_grads(x, eps)                 # copies (the default)
    return check(f, list(model.params.values()), list(grads.values()))


def _check_model(model, rng, *data):
    """Every parameter of a model against central differences of its loss."""
    for p in model.params.values():         # nonzero biases exercise db fully
        p += 0.1 * rng.standard_normal(p.shape)
    _, grads = model.loss_and_grads(*data)                 # copies (the default)
    return check(lambda: model.loss_and_grads(*data)[0], list(model.params.values()),
                 list(grads.values()))


def check_cvae(rng):
    model = CVAE(x_dim=4, y_dim=6, hidden=(5, 4, 3), z_dim=2, join=1, init="glorot",
                 dtype=np.float64, seed=int(rng.integers(1 << 31)))
    return _check_model(model, rng, rng.random((3, 4)), rng.random((3, 6)), rng.standard_normal((3, 2)))


def check_regressor(rng):
    model = Regressor(x_dim=4, y_dim=6, hidden=(5, 4, 3), init="glorot", dtype=np.float64,
                      seed=int(rng.integers(1 << 31)))
    return _check_model(model, rng, rng.random((3, 4)), rng.random((3, 6)))


def run_all(seed=0):
    rng = np.random.default_rng(seed)
    return [
        ("layers.Dense", check_dense(rng), LAYER_THRESHOLD),
        ("layers.ReLU", check_activation(ReLU(), rng), LAYER_THRESHOLD),
        ("layers.Sigmoid", check_activation(Sigmoid(), rng), LAYER_THRESHOLD),
        ("reparam.Reparameterize (Eq. 10)", check_reparam(rng), LAYER_THRESHOLD),
        ("losses.kl_normal (Eq. 7)", check_kl(rng), LAYER_THRESHOLD),
        ("losses.bernoulli_nll", check_bernoulli(rng), LAYER_THRESHOLD),
        ("losses.gaussian_nll (sigma=0.3)", check_gaussian(rng), LAYER_THRESHOLD),
        ("VAE bernoulli, all params", check_vae(rng, "bernoulli"), MODEL_THRESHOLD),
        ("VAE gaussian, all params", check_vae(rng, "gaussian"), MODEL_THRESHOLD),
        ("CVAE (Eq. 13), all params", check_cvae(rng), MODEL_THRESHOLD),
        ("Regressor, all params", check_regressor(rng), MODEL_THRESHOLD),
    ]


def run(args):
    """Print the table of run_all(); exit status 1 when any check fails."""
    rows = run_all()
    width = max(len(r[0]) for r in rows)
    print(f"{'component':<{width}}  {'max rel. error':>14}  {'threshold':>9}  result")
    failed = 0
    for name, err, threshold in rows:
        ok = err < threshold
        failed += not ok
        print(f"{name:<{width}}  {err:>14.2e}  {threshold:>9.0e}  {'pass' if ok else 'FAIL'}")
    print(f"{len(rows) - failed} passed, {failed} failed")
    return 1 if failed else 0
