"""The optimizers' flush of tiny values to zero (minivae/kernels/flush.py says why).

Unit: each optimizer's step, in both backends and both dtypes, zeroes exactly
the stored values below the threshold (for Adam's v, which holds squares, its
square times 4) and leaves every other value bit for bit as the same update
without the flush computes it; for the numba Adam that includes the terms it
leaves out of v (flush.adam_skip_limits), which the states below reach.  A
step's NumPy lines (minivae.optim.adam_step, sgd_step) are the update's, then
flush_tiny's; its twin does both in one pass.

Machine-independent: training a small model on images with always-zero
pixels under weight decay drives the weights on those pixels, and Adam's
moments of them, below the threshold and then into subnormal numbers; with
the flush (the default) none is left there, and nothing else changes.
"""
import numpy as np
import pytest

from types import SimpleNamespace

from minivae import VAE, kernels, optim
from minivae.kernels.flush import adam_skip_limits, threshold as flush_threshold, v_threshold
from minivae.optim import SGD, Adam


def numpy_lines(step):
    """step on the numpy backend: its NumPy lines, whatever backend the suite runs on."""
    def run(*args):
        with kernels.using("numpy"):
            step(*args)
    return run


NUMPY = SimpleNamespace(__name__="numpy", adam_step=numpy_lines(optim.adam_step),
                        sgd_step=numpy_lines(optim.sgd_step))
try:
    from minivae.kernels import optim as numba_optim
    MODULES = [NUMPY, numba_optim]
except ImportError:             # numba not importable: the numpy reference alone
    MODULES = [NUMPY]

# IEEE 754: the smallest normal number is 2^-126 in float32 and 2^-1022 in float64,
# so √ of it is 2^-63 and 2^-511.
THRESHOLD = {np.float32: 2.0 ** -63, np.float64: 2.0 ** -511}
SMALLEST_NORMAL = {np.float32: 2.0 ** -126, np.float64: 2.0 ** -1022}
V_THRESHOLD = {np.float32: 2.0 ** -124, np.float64: 2.0 ** -1020}   # (2·THRESHOLD)²
MANTISSA_BITS = {np.float32: 23, np.float64: 52}


def test_threshold_is_the_root_of_the_smallest_normal():
    for dtype, thr in THRESHOLD.items():
        assert flush_threshold(dtype) == thr
        assert Adam(np.zeros(2, dtype), np.zeros(2, dtype)).flush_below == thr
        assert SGD(np.zeros(2, dtype), np.zeros(2, dtype)).flush_below == thr
        off = Adam(np.zeros(2, dtype), np.zeros(2, dtype), flush_subnormal=False)
        assert off.flush_below == 0.0


def spread(rng, n, dtype, center, positive=False):
    """n values whose magnitudes spread from far below to far above `center`,
    some ordinary, some exactly 0, some subnormal, of both signs unless positive."""
    lo, hi = (-5, 20) if center < 1e-30 else (-12, 12)   # v: from subnormals past v_large
    mag = center * 10.0 ** rng.uniform(lo, hi, n)
    mag[::7] = rng.uniform(0.01, 2, len(mag[::7]))                  # ordinary sizes
    mag[::11] = 0.0
    mag[1::13] = SMALLEST_NORMAL[dtype] * rng.uniform(0.01, 0.9, len(mag[1::13]))  # subnormal
    sign = 1.0 if positive else rng.choice([-1.0, 1.0], n)
    return (sign * mag).astype(dtype)


ON = np.ones(4000, bool)            # weight decay on every entry of state()'s vectors


def state(dtype, n=4000, seed=0):
    """Adam's p, g, m, v: a third of the entries with g = 0, as on an always-zero pixel."""
    rng = np.random.default_rng(seed)
    thr = THRESHOLD[dtype]
    p, m = spread(rng, n, dtype, thr), spread(rng, n, dtype, thr)
    v = spread(rng, n, dtype, V_THRESHOLD[dtype], positive=True)
    g = rng.standard_normal(n).astype(dtype) * 10.0 ** rng.integers(-6, 1, n)
    g[::3] = 0
    return p, g.astype(dtype), m, v


def check_flushed(flushed, plain, thr):
    """flushed == plain with every |value| < thr set to 0; the rest bit for bit."""
    small = np.abs(plain) < thr
    assert np.all(flushed[small] == 0)
    assert np.array_equal(flushed[~small].view(np.uint8), plain[~small].view(np.uint8))
    return small


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__.split(".")[-1])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("weight_decay", [0.0, 5e-4])
@pytest.mark.parametrize("adam_eps", [1e-8, 0.0])
def test_adam_update_zeroes_exactly_the_values_below_the_threshold(module, dtype, weight_decay,
                                                                   adam_eps):
    thr = THRESHOLD[dtype]
    for t in (1, 50):
        plain = [a.copy() for a in state(dtype, seed=t)]
        flushed = [a.copy() for a in plain]
        with np.errstate(divide="ignore", invalid="ignore"):     # ε̂ = 0 and v = 0: 0/0
            module.adam_step(*plain, 1e-3, 0.9, 0.999, adam_eps, t, weight_decay, ON, 0.0)
            module.adam_step(*flushed, 1e-3, 0.9, 0.999, adam_eps, t, weight_decay, ON, thr)
        assert np.array_equal(flushed[1], plain[1])                  # g is read only
        for name, i, below in (("p", 0, thr), ("m", 2, thr), ("v", 3, V_THRESHOLD[dtype])):
            small = check_flushed(flushed[i], plain[i], below)
            # the inputs put values on both sides, so a wrong threshold would fail
            assert small.sum() > 100 and (~small).sum() > 100, name
            assert (plain[i][small] != 0).sum() > 100, name


def test_adam_leaves_out_only_squares_that_would_be_subnormal():
    """adam_skip_limits: the numba Adam leaves (1−β2) g̃² out of v below
    |g̃| = √(2·tiny/(1−β2)) where v is 0 or ≥ tiny·2^(b+4), and only with the flush
    on and ε̂ large enough; v's own threshold is (2·√tiny)²."""
    for dtype in (np.float32, np.float64):
        thr, tiny, b = THRESHOLD[dtype], SMALLEST_NORMAL[dtype], MANTISSA_BITS[dtype]
        g_small, v_large = adam_skip_limits(dtype, 0.999, 1e-8, thr)
        assert v_threshold(thr) == V_THRESHOLD[dtype] and v_large == tiny * 2.0 ** (b + 4)
        assert g_small == pytest.approx((2 * tiny / 1e-3) ** 0.5, rel=1e-12)
        assert adam_skip_limits(dtype, 0.999, 1e-8, 0.0) == (0.0, 0.0)
        assert adam_skip_limits(dtype, 0.999, 0.0, thr) == (0.0, 0.0)
        # the unit test above reaches the case: terms that would be subnormal, left out
        p, g, _, v = state(dtype, seed=1)
        g_t = g + dtype(5e-4) * p
        term = dtype(1e-3) * g_t * g_t
        reached = (np.abs(g_t) < g_small) & ((v == 0) | (v >= v_large)) & (term != 0) & (term < tiny)
        assert reached.sum() > 20


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__.split(".")[-1])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("weight_decay", [0.0, 5e-4])
def test_sgd_update_zeroes_exactly_the_values_below_the_threshold(module, dtype, weight_decay):
    thr = THRESHOLD[dtype]
    p, g, velocity, _ = state(dtype, seed=3)
    plain = [p.copy(), g.copy(), velocity.copy()]
    flushed = [a.copy() for a in plain]
    module.sgd_step(*plain, 0.01, 0.9, weight_decay, ON, 0.0)
    module.sgd_step(*flushed, 0.01, 0.9, weight_decay, ON, thr)
    for name, i in (("p", 0), ("velocity", 2)):
        small = check_flushed(flushed[i], plain[i], thr)
        assert small.sum() > 100 and (~small).sum() > 100, name


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__.split(".")[-1])
def test_flush_keeps_nan_and_inf(module):
    p = np.array([np.nan, np.inf, -np.inf, 1e-30], np.float32)
    g, m, v = np.zeros(4, np.float32), np.zeros(4, np.float32), np.ones(4, np.float32)
    module.adam_step(p, g, m, v, 1e-3, 0.9, 0.999, 1e-8, 1, 0.0, np.ones(4, bool), 2.0 ** -63)
    assert np.isnan(p[0]) and p[1] == np.inf and p[2] == -np.inf and p[3] == 0


def train_on_dead_pixels(dtype, steps, flush):
    """A 24-16-2 VAE trained with Adam (β1 = 0, as the paper's reference solver ran)
    and weight decay on images whose even pixels are always 0; returns
    (losses, params, m, v)."""
    rng = np.random.default_rng(0)
    x = rng.random((64, 24)).astype(dtype)
    x[:, ::2] = 0                               # like MNIST's border: never lit
    model = VAE(x_dim=24, hidden=(16,), z_dim=2, init="pytorch", dtype=dtype, seed=1)
    opt = Adam(model.flat_params, model.flat_grads, lr=1e-2, beta1=0.0, weight_decay=1e-2,
               flush_subnormal=flush)
    losses = []
    for _ in range(steps):
        loss, _ = model.loss_and_grads(x[rng.integers(0, 64, 16)],
                                       rng.standard_normal((16, 2)).astype(dtype))
        losses.append(loss)
        opt.step()
    return np.array(losses), model.flat_params.copy(), opt.m.copy(), opt.v.copy()


@pytest.fixture(params=kernels.available_backends())
def backend(request):
    before = kernels.get_backend()
    kernels.set_backend(request.param)
    yield request.param
    kernels.set_backend(before)


# the weights on the dead pixels shrink ~10-fold every 3 steps: float32
# reaches its subnormals within ~250 steps, float64 within ~900
@pytest.mark.parametrize("dtype, steps", [(np.float32, 300), (np.float64, 1000)])
def test_training_leaves_nothing_below_the_threshold(backend, dtype, steps):
    thr, tiny = THRESHOLD[dtype], SMALLEST_NORMAL[dtype]
    plain = train_on_dead_pixels(dtype, steps, flush=False)
    flushed = train_on_dead_pixels(dtype, steps, flush=True)
    count = lambda a, below: int(((a != 0) & (np.abs(a) < below)).sum())
    # without the flush, weights and moments end up below the threshold and
    # among the subnormals: the assertions on the flushed run can fail
    p, m = plain[1:3]
    assert count(p, thr) > 20 and count(m, thr) > 20
    assert count(p, tiny) + count(m, tiny) > 20
    p, m, v = flushed[1:]
    assert count(p, thr) == 0 and count(m, thr) == 0 and count(v, V_THRESHOLD[dtype]) == 0
    # what the model computes is unchanged: the same loss at every step, bit for bit
    assert np.array_equal(flushed[0], plain[0])
