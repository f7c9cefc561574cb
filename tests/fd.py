"""Central differences written out in the tests themselves, independent of
minivae.gradcheck, so a bug there cannot hide a bug in a backward."""
import numpy as np

H = 1e-5


def num_grad(f, a):
    """∂f/∂a for scalar f() reading the array a (perturbed in place, restored)."""
    g = np.zeros_like(a, dtype=np.float64)
    it = np.nditer(a, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        old = a[i]
        a[i] = old + H
        fp = f()
        a[i] = old - H
        fm = f()
        a[i] = old
        g[i] = (fp - fm) / (2 * H)
    return g


def rel_err(a, n):
    """max |a − n| / (max|a| + max|n|): the error relative to the gradient's scale."""
    return np.abs(a - n).max() / max(np.abs(a).max() + np.abs(n).max(), 1e-300)


def jitter(model, rng):
    """Add N(0, 0.1²) noise to every parameter (nonzero biases exercise db fully); return model."""
    for p in model.params.values():
        p += 0.1 * rng.standard_normal(p.shape)
    return model


def assert_model_gradients(model, *data, threshold):
    """Every parameter's gradient from model.loss_and_grads(*data) is within `threshold`
    (rel_err) of central differences of the loss, in float64 throughout."""
    assert all(a.dtype == np.float64 for a in (*model.params.values(), *data)), "float64 only"
    _, grads = model.loss_and_grads(*data)
    analytic = {k: g.copy() for k, g in grads.items()}
    f = lambda: model.loss_and_grads(*data)[0]
    for key, p in model.params.items():
        assert rel_err(analytic[key], num_grad(f, p)) < threshold, key
