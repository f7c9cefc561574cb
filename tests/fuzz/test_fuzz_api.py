"""Fuzzing the public API with generated arguments (issue 13).

VAE (loss_and_grads, encode, decode, log_likelihood, elbo, sample), Dense,
Reparameterize, the losses and the optimizers get arrays of any shape and
dtype (ints, bool, float16, complex, strings, objects, non-arrays) and any
content (NaN, ±inf, the largest floats, subnormals).  Each call must either
return finite numbers, or raise an ArgumentError (minivae's ValueError) that
names an argument; any other exception fails.  A warning fails too, with one exception: NumPy's
floating-point settings are the caller's (np.seterr), and minivae leaves
them as they are, so an overflow inside a formula may warn (RuntimeWarning,
"overflow encountered in exp"), but only in a call that then refuses its
input with NonFiniteError.  A rejected call leaves the model's parameters
byte for byte as they were.
"""
import functools
import warnings

import numpy as np
import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from fuzz_strategies import FUZZ, FLOAT_DTYPES, all_finite, float_arrays, garbage_for, names_in
from minivae import losses
from minivae.errors import ArgumentError, NonFiniteError
from minivae.layers import Dense
from minivae.model import VAE
from minivae.optim import SGD, Adam
from minivae.reparam import Reparameterize

D, H, K = 6, 5, 2          # data dim, hidden width, latent dim (the paper's k)


@functools.lru_cache(maxsize=None)
def _model(dtype, likelihood):
    return VAE(x_dim=D, hidden=(H,), z_dim=K, likelihood=likelihood, sigma=0.7,
               init="glorot", dtype=np.dtype(dtype), seed=3)


models = st.sampled_from([(np.float32, "bernoulli"), (np.float64, "bernoulli"),
                          (np.float32, "gaussian"), (np.float64, "gaussian")])


def _valid_x(dtype, likelihood, n):
    if likelihood == "bernoulli":
        return float_arrays(dtype, (n, D), finite=True, low=0.0, high=1.0)
    return float_arrays(dtype, (n, D), finite=True)


def _outcome(f, args, bad, names, state=(), strict=True):
    """Call f(**args) strictly.  Returns ("ok", result) or ("rejected", message).

    bad: the argument that was given a generated stand-in, or a list of them
    (None: any argument may be blamed).
    A rejection must be an ArgumentError (a ValueError) naming `bad`; when `bad` got an array of
    the right dtype but another shape, naming any argument will do (a shape
    mismatch can be blamed on either side).  `state`: arrays that must not
    change when the call is rejected.  strict=False lets every warning pass;
    strict=True only NumPy's RuntimeWarning of a call refused with NonFiniteError.
    """
    before = [a.tobytes() for a in state]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result, error = f(**args), None
        except ValueError as e:
            result, error = None, e
    if strict and caught:
        assert isinstance(error, NonFiniteError) and all(
            issubclass(w.category, RuntimeWarning) for w in caught), \
            (f"warned {[str(w.message) for w in caught]} and then "
             f"{'returned' if error is None else f'raised {error!r}'}")
    if error is not None:
        msg = str(error)
        assert isinstance(error, ArgumentError), f"a ValueError not minivae's own: {error!r}"
        bad = [bad] if isinstance(bad, str) else bad
        loose = bad is None or any(isinstance(args.get(b), np.ndarray) and args[b].dtype.kind == "f"
                                   and args[b].dtype.itemsize >= 4 for b in bad)
        wanted = names if loose else bad
        assert names_in(msg, wanted), f"ValueError names none of {wanted}: {msg!r}"
        assert [a.tobytes() for a in state] == before, "a rejected call changed the state"
        event(f"{getattr(f, '__name__', 'call')}: rejected")
        return "rejected", msg
    assert all_finite(result), f"accepted but not finite: {result!r}"
    event(f"{getattr(f, '__name__', 'call')}: ok")
    return "ok", result


def _pick(draw, valid, bad_choices):
    """Draw which argument (if any) gets garbage, then the arguments."""
    bad = draw(st.sampled_from([None, *bad_choices]))
    return bad, {name: (draw(garbage) if name == bad else draw(v))
                 for name, (v, garbage) in valid.items()}


# --- the VAE -----------------------------------------------------------------
@FUZZ
@given(st.data(), models, st.integers(0, 4))
def test_vae_loss_and_grads(data, spec, n):
    dtype, likelihood = spec
    model = _model(*spec)
    valid = {"x": (_valid_x(dtype, likelihood, n), garbage_for(dtype, (n, D))),
             "eps": (float_arrays(dtype, (n, K), finite=True), garbage_for(dtype, (n, K)))}
    bad, args = _pick(data.draw, valid, ["x", "eps"])
    params = model.flat_params
    before = params.tobytes()
    blame = bad if n else ["x", bad]            # an empty batch is itself a bad x
    kind, result = _outcome(model.loss_and_grads, args, blame, ["x", "eps"])
    assert params.tobytes() == before          # loss_and_grads never moves the parameters
    if n == 0 and bad is None:
        assert kind == "rejected" and names_in(result, ["x"]), "an empty batch must be refused"
    if kind == "ok":
        loss, grads = result
        assert isinstance(loss, float) and set(grads) == set(model.params)


@FUZZ
@given(st.data(), models, st.integers(0, 3))
def test_vae_encode_decode_log_likelihood(data, spec, n):
    dtype, likelihood = spec
    model = _model(*spec)
    before = model.flat_params.tobytes()
    x = data.draw(st.one_of(_valid_x(dtype, likelihood, n), garbage_for(dtype, (n, D))))
    z = data.draw(st.one_of(float_arrays(dtype, (n, K), finite=True), garbage_for(dtype, (n, K))))
    kind, r = _outcome(model.encode, {"x": x}, "x", ["x"])
    if kind == "ok":
        assert [a.shape for a in r] == [(n, K), (n, K)] and n > 0     # an empty batch is refused
    kind, r = _outcome(model.decode, {"z": z}, "z", ["z"])
    if kind == "ok":
        assert r.shape == (len(z), D) and len(z) > 0
    _outcome(model.log_likelihood, {"x": x, "z": z}, None, ["x", "z"])
    assert model.flat_params.tobytes() == before


@FUZZ
@given(st.data(), models, st.integers(0, 3))
def test_vae_elbo(data, spec, n):
    dtype, likelihood = spec
    model = _model(*spec)
    generator = st.builds(np.random.default_rng, st.integers(0, 9))
    valid = {"x": (_valid_x(dtype, likelihood, n), garbage_for(dtype, (n, D))),
             "rng": (generator, st.sampled_from([None, 7, "rng", np.random.RandomState(0)])),
             "n_samples": (st.integers(1, 3), st.one_of(st.integers(-2, 0), st.sampled_from(
                 [2.5, "2", None, True])))}
    bad, args = _pick(data.draw, valid, ["x", "rng", "n_samples"])
    before = model.flat_params.tobytes()
    kind, r = _outcome(model.elbo, args, bad if n else ["x", bad], ["x", "rng", "n_samples"])
    if kind == "ok":
        assert r.elbo.shape == r.kl.shape == (n,) and n > 0
        assert np.allclose(r.elbo, -r.recon_nll - r.kl)
    assert model.flat_params.tobytes() == before


@FUZZ
@given(models, st.one_of(st.integers(-3, 5),
                         st.sampled_from([10**9, 10**15, 2**62, 2.0, "3", None, True,
                                          np.int32(2)])))
def test_vae_sample(spec, n):
    model = _model(*spec)
    kind, r = _outcome(model.sample, {"n": n, "rng": np.random.default_rng(1)}, "n", ["n"])
    if kind == "ok":
        assert r.shape == (n, D)


# --- layers --------------------------------------------------------------------
@FUZZ
@given(st.data(), st.sampled_from(FLOAT_DTYPES), st.integers(0, 3), st.booleans())
def test_dense_forward_backward(data, dtype, n, relu):
    layer = Dense(4, 3, init="glorot", rng=0, dtype=dtype)
    x = data.draw(st.one_of(float_arrays(dtype, (n, 4), finite=True), garbage_for(dtype, (n, 4))))
    state = [layer.params["W"], layer.params["b"]]
    kind, r = _outcome(layer.forward, {"x": x, "relu": relu}, "x", ["x"], state)
    if kind != "ok":
        return
    y, cache = r
    dy = data.draw(st.one_of(float_arrays(dtype, y.shape, finite=True), garbage_for(dtype, y.shape)))
    _outcome(layer.backward, {"dy": dy, "cache": cache}, "dy", ["dy"], state)


@FUZZ
@given(st.data(), st.sampled_from(FLOAT_DTYPES), st.integers(0, 3), st.integers(1, 3))
def test_reparameterize(data, dtype, n, k):
    layer = Reparameterize()
    valid = {name: (float_arrays(dtype, (n, k), finite=True), garbage_for(dtype, (n, k)))
             for name in ("mu", "log_var", "eps")}
    bad, args = _pick(data.draw, valid, ["mu", "log_var", "eps"])
    kind, r = _outcome(layer.forward, args, bad, ["mu", "log_var", "eps"])
    if kind != "ok":
        return
    z, cache = r
    dz = data.draw(st.one_of(float_arrays(dtype, z.shape, finite=True), garbage_for(dtype, z.shape)))
    _outcome(layer.backward, {"dz": dz, "cache": cache}, "dz", ["dz"])


# --- losses --------------------------------------------------------------------
@FUZZ
@given(st.data(), st.sampled_from(FLOAT_DTYPES), st.integers(0, 3), st.integers(1, 4))
def test_kl_normal(data, dtype, n, k):
    valid = {name: (float_arrays(dtype, (n, k), finite=True), garbage_for(dtype, (n, k)))
             for name in ("mu", "log_var")}
    bad, args = _pick(data.draw, valid, ["mu", "log_var"])
    _outcome(losses.kl_normal, args, bad, ["mu", "log_var"])


@FUZZ
@given(st.data(), st.sampled_from(FLOAT_DTYPES), st.integers(0, 3), st.integers(1, 4))
def test_bernoulli_nll(data, dtype, n, d):
    valid = {"x_logits": (float_arrays(dtype, (n, d), finite=True), garbage_for(dtype, (n, d))),
             "x": (float_arrays(dtype, (n, d), finite=True, low=0, high=1), garbage_for(dtype, (n, d)))}
    bad, args = _pick(data.draw, valid, ["x_logits", "x"])
    _outcome(losses.bernoulli_nll, args, bad, ["x_logits", "x"])


@FUZZ
@given(st.data(), st.sampled_from(FLOAT_DTYPES), st.integers(0, 3), st.integers(1, 4))
def test_gaussian_nll(data, dtype, n, d):
    sigmas = st.one_of(st.floats(0.1, 3), st.sampled_from([0.0, -1.0, np.nan, np.inf, 1e-300,
                                                           1e300, "1", None, np.float32(0.5)]))
    valid = {"x_mean": (float_arrays(dtype, (n, d), finite=True), garbage_for(dtype, (n, d))),
             "x": (float_arrays(dtype, (n, d), finite=True), garbage_for(dtype, (n, d))),
             "sigma": (st.floats(0.1, 3), sigmas)}
    bad, args = _pick(data.draw, valid, ["x_mean", "x", "sigma"])
    _outcome(losses.gaussian_nll, args, bad, ["x_mean", "x", "sigma"])


def _broadcasting_args(data, names, dtype):
    """Arguments of a broadcasting loss: arrays (n, k) or (k,), or plain numbers."""
    n, k = data.draw(st.integers(0, 3)), data.draw(st.integers(1, 3))
    good = st.one_of(float_arrays(dtype, (n, k), finite=True), float_arrays(dtype, (k,), finite=True),
                     st.floats(-2, 2))
    valid = {name: (good, st.one_of(garbage_for(dtype, (n, k)), st.sampled_from([np.nan, "0", None])))
             for name in names}
    return _pick(data.draw, valid, names)


@FUZZ
@given(st.data(), st.sampled_from(FLOAT_DTYPES))
def test_kl_gaussians(data, dtype):
    names = ["mu0", "log_var0", "mu1", "log_var1"]
    bad, args = _broadcasting_args(data, names, dtype)
    kind, r = _outcome(losses.kl_gaussians, args, bad, names)
    if kind == "ok":
        assert np.all(r >= -1e-6 * (1 + np.abs(r)))    # a KL divergence is never negative


@FUZZ
@given(st.data(), st.sampled_from(FLOAT_DTYPES))
def test_log_normal(data, dtype):
    names = ["z", "mu", "log_var"]
    bad, args = _broadcasting_args(data, names, dtype)
    _outcome(losses.log_normal, args, bad, names)


# --- optimizers ----------------------------------------------------------------
hyper_values = st.one_of(st.floats(allow_nan=True, allow_infinity=True),
                         st.sampled_from([0.0, -1.0, 1.0, 1e300, "0.1", None, True, [0.1]]))


@FUZZ
@given(st.data(), st.sampled_from([SGD, Adam]), st.sampled_from(FLOAT_DTYPES), st.integers(0, 5))
def test_optimizer_arrays(data, cls, dtype, size):
    """Constructor and step with generated params/grads; one step from a fresh state."""
    valid = {"params": (float_arrays(dtype, (size,), finite=True), garbage_for(dtype, (size,))),
             "grads": (float_arrays(dtype, (size,), finite=True), garbage_for(dtype, (size,)))}
    bad, args = _pick(data.draw, valid, ["params", "grads"])
    kind, params = _outcome(lambda **a: cls(a["params"], a["grads"], lr=0.01).params, args,
                            bad, ["params", "grads"])
    if kind != "ok":
        return
    opt = cls(params, args["grads"], lr=0.01)
    # Any finite gradient, the largest and subnormal ones included.  step() does not
    # scan for inf/NaN (see optim._check_flat): loss_and_grads refuses to produce them.
    opt.grads[...] = data.draw(st.one_of(float_arrays(dtype, (size,), finite=True),
                                         float_arrays(dtype, (size,)).filter(
                                             lambda g: np.isfinite(g).all())))
    _outcome(lambda: (opt.step(), opt.params)[1], {}, None, ["grads", "params"],
             state=[opt.params], strict=False)      # see test_optimizer_extreme_gradients


@pytest.mark.parametrize("cls", [SGD, Adam])
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_optimizer_extreme_gradients(cls, dtype):
    """The largest, the smallest normal and a subnormal gradient: one step keeps params finite.

    Known and left as it is (step() scans neither its input nor its result,
    see optim._check_flat): Adam's g² overflows for |g| above √(largest float),
    1.8e19 in float32 (the NumPy backend warns, Numba is silent; v becomes inf
    and the weight stops moving), and SGD's velocity overflows to inf, then
    the weights to NaN, after a second step with the largest gradient.  In
    training the next loss_and_grads reports that as a diverged run.
    """
    fi = np.finfo(dtype)
    for g in (fi.max, -fi.max, fi.tiny, fi.smallest_subnormal, np.sqrt(fi.max) / 2):
        params = np.linspace(-1, 1, 4).astype(dtype)
        grads = np.full(4, g, dtype=dtype)
        opt = cls(params, grads, lr=0.01, weight_decay=1e-3)
        with np.errstate(over="ignore"):
            opt.step()
        assert np.isfinite(params).all(), (cls.__name__, dtype, g, params)


@FUZZ
@given(st.sampled_from([SGD, Adam]), st.sampled_from(["lr", "momentum", "beta1", "beta2",
                                                      "adam_eps", "weight_decay"]), hyper_values)
def test_optimizer_hyperparameters(cls, name, value):
    params, grads = np.zeros(3), np.ones(3)
    names = {SGD: ["lr", "momentum", "weight_decay"],
             Adam: ["lr", "beta1", "beta2", "adam_eps", "weight_decay"]}[cls]
    if name not in names:
        return
    kind, _ = _outcome(lambda **a: cls(params, grads, **a).params, {name: value}, name, [name])
    if kind == "ok":
        opt = cls(params, grads, **{name: value})
        _outcome(lambda: (opt.step(), params)[1], {}, None, names + ["grads", "params"],
                 state=[params])
