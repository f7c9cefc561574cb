"""Kernels: every Numba twin equals its NumPy reference; the backend switch works.

Run the whole suite under both backends (MINIVAE_BACKEND=numpy / numba): the
comparisons here call both implementations directly, everything else goes
through the maths functions and so through whichever backend is active.
"""
import ast
import importlib
import inspect
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from minivae import VAE, kernels, layers, losses, optim, reparam
from minivae.kernels import verified
from minivae.layers import Dense
from minivae.optim import Adam
from fd import num_grad, rel_err

pytest.importorskip("numba", reason="numba not importable")
from minivae.kernels import matmul as loop_matmul, update_threads  # noqa: E402

MATHS = {"layers": layers, "reparam": reparam, "losses": losses, "optim": optim}
# every twin (kernels/verified.py lists them) and the maths function of the same name
TWINS = {key.split(".")[1]: getattr(importlib.import_module(f"minivae.kernels.{key.split('.')[0]}"),
                                    key.split(".")[1]) for key in verified.COMPUTES}
ref = SimpleNamespace(**{key.split(".")[1]: getattr(MATHS[key.split(".")[0]], key.split(".")[1])
                         for key in verified.COMPUTES}, matmul=np.matmul)
nb = SimpleNamespace(**TWINS, matmul=loop_matmul.matmul)

REPO = Path(__file__).resolve().parents[2]
TOL = {np.float64: 1e-12, np.float32: 1e-5}     # max |numba − numpy| / max |numpy|
THRESHOLD = 1e-7                                 # finite differences, one layer, float64
SHAPES = [(1, 1, 1), (3, 5, 7), (0, 4, 3), (17, 33, 9)]     # (N, D, H): 1×1, odd, empty batch


def python(code, **env):
    """Run code in a fresh interpreter with extra environment variables (None: unset);
    return stdout and stderr."""
    full = {k: v for k, v in {**os.environ, **env}.items() if v is not None}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=full, cwd=REPO, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout + out.stderr


def assert_same(want, got, dtype):
    """Arrays (or tuples of them) equal up to TOL relative to the reference's scale."""
    want, got = (want, got) if isinstance(want, tuple) else ((want,), (got,))
    assert len(want) == len(got)
    for w, g in zip(want, got):
        if w is None:
            assert g is None
            continue
        assert g.shape == w.shape and g.dtype == w.dtype == dtype
        if w.size:
            scale = max(np.abs(w).max(), 1e-30)
            assert np.abs(w - g).max() / scale <= TOL[dtype]


def data(dtype, N, D, H, seed=0):
    """Random layer inputs with exact zeros and ±40 logits mixed in."""
    rng = np.random.default_rng(seed)
    f = lambda *s, a=1.0: (a * rng.standard_normal(s)).astype(dtype)
    x, W, b, dy = f(N, D), f(D, H), f(H), f(N, H)
    y_relu = np.maximum(x @ W + b, 0)                      # some exact zeros for the mask
    logits = f(N, D, a=4.0)
    logits.flat[::5] = 0.0
    logits.flat[1::7] = 40.0
    logits.flat[2::7] = -40.0
    target = rng.random((N, D)).astype(dtype)
    target.flat[::3] = np.round(target.flat[::3])           # some exact 0s and 1s
    return dict(x=x, W=W, b=b, dy=dy, y_relu=y_relu, logits=logits, target=target)


def run(k, name, a, **kw):
    """Call kernel `name` of module k on the inputs in `a`; return every output."""
    if name == "dense_forward":
        return k.dense_forward(a["x"], a["W"], a["b"], relu=kw["relu"])
    if name == "dense_backward":
        dW, db = np.full_like(a["W"], np.nan), np.full_like(a["b"], np.nan)
        dx = k.dense_backward(a["x"], a["W"], a["dy"], dW, db, need_dx=kw["need_dx"],
                              relu_y=a["y_relu"] if kw["relu"] else None)
        return dW, db, dx
    if name == "bernoulli_nll_and_grad":
        return k.bernoulli_nll_and_grad(a["logits"], a["target"])
    if name in ("relu_forward", "sigmoid"):
        return getattr(k, name)(a["logits"])
    if name == "relu_backward":
        return k.relu_backward(a["dy"], a["y_relu"])
    mu, log_var, eps = a["logits"] / 8, a["logits"] / 8, a["target"] - 0.5
    if name == "reparam_forward":
        return k.reparam_forward(mu, log_var, eps)
    if name == "reparam_backward":
        return k.reparam_backward(a["logits"], np.exp(0.5 * log_var), eps)
    if name == "kl_normal_and_grads":
        return k.kl_normal_and_grads(mu, log_var)
    if name == "matmul":
        return k.matmul(a["x"], a["W"])
    raise KeyError(name)


ELEMENTWISE = ["bernoulli_nll_and_grad", "relu_forward", "sigmoid", "relu_backward",
               "reparam_forward", "reparam_backward", "kl_normal_and_grads", "matmul"]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("name", ELEMENTWISE)
def test_numba_equals_numpy(name, shape, dtype):
    a = data(dtype, *shape)
    before = {key: v.copy() for key, v in a.items()}
    assert_same(run(ref, name, a), run(nb, name, a), dtype)
    for key, v in a.items():                # inputs are never modified
        np.testing.assert_array_equal(v, before[key])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("relu", [False, True])
def test_dense_numba_equals_numpy(shape, dtype, relu):
    a = data(dtype, *shape)
    kw = dict(relu=relu)
    assert_same(run(ref, "dense_forward", a, **kw), run(nb, "dense_forward", a, **kw), dtype)
    for need_dx in (True, False):
        kw = dict(relu=relu, need_dx=need_dx)
        assert_same(run(ref, "dense_backward", a, **kw), run(nb, "dense_backward", a, **kw), dtype)


@pytest.mark.parametrize("dtype, limit", [(np.float32, 80.0), (np.float64, 700.0)])
def test_cross_entropy_log1p_from_log_is_accurate(dtype, limit):
    """The numba cross-entropy builds log1p(e) from log(1 + e) with Goldberg's
    correction in float64, and from a float64 product of 1 + e with tiny e added
    as itself in float32.  One logit per row, so each nll is one term:
    max(l, 0) + log1p(e) with target 0.  Every value must be within 8 ulps of the
    float64 (for float32) or np.log1p (for float64) value, over logits in ±limit
    (exp(−limit) stays a normal number) and densely where 1 + e rounds (|l| near
    17 in float32, 37 in float64).  Plain log(1 + e) misses by up to 100% there,
    and dropping the tiny e gives 0 for l = −80, so this test fails for either."""
    mags = np.concatenate([np.linspace(0, limit, 40001), np.logspace(-8, np.log10(limit), 20001)])
    logits = np.concatenate([mags, -mags]).astype(dtype)
    l64 = logits.astype(np.float64)
    want = (np.maximum(l64, 0) + np.log1p(np.exp(-np.abs(l64)))).astype(dtype)
    got = nb.bernoulli_nll_and_grad(logits[:, None], np.zeros((logits.size, 1), dtype))[0]
    ulps = np.abs(got.astype(np.float64) - want) / np.spacing(want)
    assert ulps.max() <= 8, (ulps.max(), logits[ulps.argmax()])


@pytest.mark.parametrize("d", [784, 1100])       # a float32 row's product; the fallback past 1023
def test_float32_cross_entropy_rows_are_accurate(d):
    """Whole float32 rows against float64 NumPy: the row's ∑ log1p(e) taken as the log of
    a float64 product (d ≤ 1023, nothing overflows) or per pixel (d = 1100).  Rows of
    moderate logits, of large ones (every e below 2⁻²⁹, added as itself), and mixed; each
    nll within 4 float32 ulps of the float64 value, the gradient within 1e-7 of NumPy's
    (it differs by one float32 ulp of values near 0.5)."""
    rng = np.random.default_rng(d)
    scale = np.repeat([1.0, 4.0, 40.0], 4)[:, None] * np.ones((1, d))
    scale[-2:] = np.where(rng.random((2, d)) < 0.5, 25.0, 1.0)      # tiny and moderate e mixed
    logits = (rng.standard_normal((len(scale), d)) * scale + np.where(scale == 40.0, 40.0, 0.0))
    logits = logits.astype(np.float32)
    x = (rng.random(logits.shape) < 0.3).astype(np.float32)
    l64, x64 = logits.astype(np.float64), x.astype(np.float64)
    want = (np.maximum(l64, 0) - l64 * x64 + np.log1p(np.exp(-np.abs(l64)))).sum(axis=1)
    got, grad = nb.bernoulli_nll_and_grad(logits, x)
    ulps = np.abs(got.astype(np.float64) - want) / np.spacing(want.astype(np.float32))
    assert ulps.max() <= 4, ulps
    np.testing.assert_allclose(grad, ref.bernoulli_nll_and_grad(logits, x)[1], rtol=0, atol=1e-7)


def test_dense_forward_writes_out():
    a = data(np.float32, 4, 3, 5)
    for k in (ref, nb):
        out = np.empty((4, 5), np.float32)
        assert k.dense_forward(a["x"], a["W"], a["b"], relu=True, out=out) is out
        np.testing.assert_allclose(out, np.maximum(a["x"] @ a["W"] + a["b"], 0), rtol=1e-6)


def test_non_contiguous_inputs_and_outputs():
    """Strided and transposed views give the reference's answer (and write through)."""
    a = data(np.float64, 6, 10, 8, seed=1)
    strided = {key: np.repeat(v, 2, axis=-1)[..., ::2] for key, v in a.items()}
    transposed = {key: np.asfortranarray(v) for key, v in a.items()}
    for views in (strided, transposed):
        assert not views["x"].flags.c_contiguous
        for name in ("bernoulli_nll_and_grad", "relu_forward", "sigmoid", "kl_normal_and_grads"):
            assert_same(run(ref, name, a), run(nb, name, views), np.float64)
        assert_same(run(ref, "dense_backward", a, relu=True, need_dx=True),
                    run(nb, "dense_backward", views, relu=True, need_dx=True), np.float64)
    db_ref, db = np.zeros(8), np.zeros(16)[::2]             # a strided gradient buffer
    ref.dense_backward(a["x"], a["W"], a["dy"], np.empty((10, 8)), db_ref, relu_y=a["y_relu"])
    nb.dense_backward(a["x"], a["W"], a["dy"], np.empty((10, 8)), db, relu_y=a["y_relu"])
    assert_same(db_ref, db.copy(), np.float64)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n", [1, 0, 1001])
@pytest.mark.parametrize("weight_decay", [0.0, 5e-4])
def test_optimizer_updates_equal(n, dtype, weight_decay):
    """Both steps, with weight decay on a random half of the entries (the mask `decayed`)."""
    rng = np.random.default_rng(n)
    p, g = rng.standard_normal(n).astype(dtype), rng.standard_normal(n).astype(dtype)
    m, v = (0.1 * rng.standard_normal(n)).astype(dtype), rng.random(n).astype(dtype)
    decayed = rng.random(n) < 0.5
    for t in (1, 7):
        states = [[a.copy() for a in (p, g, m, v)] for _ in range(2)]
        ref.adam_step(*states[0], 1e-3, 0.9, 0.999, 1e-8, t, weight_decay, decayed, 0.0)
        nb.adam_step(*states[1], 1e-3, 0.9, 0.999, 1e-8, t, weight_decay, decayed, 0.0)
        assert_same(tuple(states[0]), tuple(states[1]), dtype)
    states = [[a.copy() for a in (p, g, m)] for _ in range(2)]
    ref.sgd_step(*states[0], 0.01, 0.9, weight_decay, decayed, 0.0)
    nb.sgd_step(*states[1], 0.01, 0.9, weight_decay, decayed, 0.0)
    assert_same(tuple(states[0]), tuple(states[1]), dtype)


def test_optimizer_update_rejects_non_contiguous():
    p, on = np.zeros(10)[::2], np.ones(5, bool)
    with pytest.raises(ValueError, match="contiguous"):
        nb.adam_step(p, p.copy(), p.copy(), p.copy(), 1e-3, 0.9, 0.999, 1e-8, 1, 0.0, on, 0.0)
    with pytest.raises(ValueError, match="contiguous"):
        nb.sgd_step(p, p.copy(), p.copy(), 0.01, 0.9, 0.0, on, 0.0)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("weight_decay", [0.0, 5e-4])       # 0: the mask is passed as None
def test_update_on_two_threads_equals_one_pass(dtype, weight_decay, monkeypatch):
    """Halves splits the update at a cache line; every element ends exactly as in one
    pass on one thread (and so within TOL of the NumPy reference)."""
    n = 3 * update_threads.Halves.MIN_SIZE + 5                   # odd, and above the split size
    rng = np.random.default_rng(4)
    p, g = rng.standard_normal(n).astype(dtype), rng.standard_normal(n).astype(dtype)
    m, v = (0.1 * rng.standard_normal(n)).astype(dtype), rng.random(n).astype(dtype)
    decayed = rng.random(n) < 0.5
    halves = update_threads.Halves()
    results = {}
    for name, runner in (("one", update_threads.one_thread), ("two", halves)):
        monkeypatch.setattr(update_threads, "run", runner)
        adam, sgd = [a.copy() for a in (p, g, m, v)], [a.copy() for a in (p, g, m)]
        for t in (1, 2):
            nb.adam_step(*adam, 1e-3, 0.9, 0.999, 1e-8, t, weight_decay, decayed, 2.0 ** -63)
        nb.sgd_step(*sgd, 0.01, 0.9, weight_decay, decayed, 2.0 ** -63)
        results[name] = adam + sgd
    assert halves._helper is not None and halves._helper.is_alive()
    for one, two in zip(results["one"], results["two"]):
        np.testing.assert_array_equal(one, two)
    want = [a.copy() for a in (p, g, m, v)]
    for t in (1, 2):
        ref.adam_step(*want, 1e-3, 0.9, 0.999, 1e-8, t, weight_decay, decayed, 2.0 ** -63)
    assert_same(tuple(want), tuple(results["two"][:4]), dtype)


def test_update_halves_raise_the_helpers_error_and_run_small_arrays_alone():
    seen = []

    def kernel(a, marker):
        seen.append(len(a))
        if a[0] == marker:
            raise ZeroDivisionError("in the helper's half")
    halves = update_threads.Halves()
    size = update_threads.Halves.MIN_SIZE
    a = np.zeros(2 * size)
    a[size:] = 7.0                                  # only the second half starts with 7
    with pytest.raises(ZeroDivisionError, match="helper's half"):
        halves(kernel, (a,), (7.0,))
    assert sorted(seen) == [size] * 2
    seen.clear()
    halves(kernel, (a[:100],), (1.0,))               # below MIN_SIZE: one call, no split
    assert seen == [100]


def test_set_update_threads_switches_and_refuses_other_counts():
    before = kernels.set_update_threads(1)
    try:
        assert update_threads.run is update_threads.one_thread
        assert kernels.set_update_threads(2) == 1
        assert isinstance(update_threads.run, update_threads.Halves)
        with pytest.raises(ValueError, match="must be 1 or 2, got 3"):
            kernels.set_update_threads(3)
        assert isinstance(update_threads.run, update_threads.Halves)   # refused: no change
    finally:
        kernels.set_update_threads(before)


def test_thread_info_reports_the_update_threads_under_either_backend():
    """The bench reads the numba update's threads from thread_info() whichever backend
    is active when it asks (it used to see them only while numba was active)."""
    backend, before = kernels.get_backend(), kernels.set_update_threads(1)
    try:
        for name in ("numpy", "numba"):
            kernels.set_backend(name)
            for n in (1, 2):
                kernels.set_update_threads(n)
                assert kernels.thread_info()["update_threads"] == n
    finally:
        kernels.set_backend(backend)
        kernels.set_update_threads(before)


def test_loop_matmul_rejects_bad_shapes():
    with pytest.raises(ValueError, match="multiply"):
        nb.matmul(np.ones((2, 3)), np.ones((2, 3)))


@pytest.mark.parametrize("shape, seed", [((3, 5, 4), 5), ((1, 1, 1), 6)])
def test_fused_relu_dense_backward_matches_finite_differences(shape, seed):
    """Gradients of ∑ max(x W + b, 0) ⊙ dy through the active backend's fused path."""
    N, D, H = shape
    rng = np.random.default_rng(seed)
    layer = Dense(D, H, init="glorot", rng=rng, dtype=np.float64)
    layer.params["b"][:] = rng.standard_normal(H)
    x, dy = rng.standard_normal((N, D)), rng.standard_normal((N, H))
    pre = x @ layer.params["W"] + layer.params["b"]
    assert np.abs(pre).min() > 1e-3                 # away from the kink
    assert (pre > 0).any() and ((pre < 0).any() or pre.size == 1)   # both sides exercised
    f = lambda: float((layer.forward(x, relu=True)[0] * dy).sum())
    dx = layer.backward(dy, layer.forward(x, relu=True)[1])
    assert rel_err(dx, num_grad(f, x)) < THRESHOLD
    assert rel_err(layer.grads["W"], num_grad(f, layer.params["W"])) < THRESHOLD
    assert rel_err(layer.grads["b"], num_grad(f, layer.params["b"])) < THRESHOLD


@pytest.fixture
def backend():
    """Lets a test switch backends, restoring the suite's backend afterwards."""
    before = kernels.get_backend()
    yield kernels.set_backend
    kernels.set_backend(before)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_training_steps_agree_across_backends(backend, dtype):
    """Loss, gradients and Adam updates of a whole VAE agree between backends."""
    rng = np.random.default_rng(2)
    x = rng.random((5, 12)).astype(dtype)
    x.flags.writeable = False                   # like MNIST's cached arrays
    eps = rng.standard_normal((5, 3)).astype(dtype)
    results = []
    for name in ("numpy", "numba"):
        backend(name)
        model = VAE(x_dim=12, hidden=(9, 7), z_dim=3, init="pytorch", dtype=dtype, seed=4)
        opt = Adam(model.flat_params, model.flat_grads, weight_decay=5e-4)
        losses = []
        for _ in range(3):
            losses.append(model.loss_and_grads(x, eps)[0])
            opt.step()
        results.append((np.array(losses, dtype), model.flat_grads.copy(),
                        model.flat_params.copy()))
    assert_same(results[0], results[1], dtype)


WARM_CHECK = """
import numpy as np, minivae.kernels as k
from minivae import VAE
from minivae.kernels import layers, losses, optim, reparam
from minivae.optim import SGD, Adam
compiled = lambda: {(m.__name__, n): len(d.signatures) for m in (layers, losses, optim, reparam)
                    for n, d in vars(m).items() if hasattr(d, "signatures")}
dtype = np.DTYPE
model = VAE(x_dim=20, hidden=(8,), z_dim=2, dtype=dtype)
k.set_backend("numba")
built = sum(compiled().values())    # neither building a model nor the switch compiles
k.warmup(dtype)                     # what train() does before its first step
before = compiled()
x = np.random.default_rng(0).random((4, 20)).astype(dtype)
x.flags.writeable = False           # as MNIST's cached arrays are
for opt in (Adam(model.flat_params, model.flat_grads, weight_decay=1e-4),
            SGD(model.flat_params, model.flat_grads, lr=0.01)):
    model.loss_and_grads(x, np.ones((4, 2), dtype))
    opt.step()
model.sample(3, np.random.default_rng(1))
assert sum(before.values()) > 0
print(built, {n: (before[n], c) for n, c in compiled().items() if c != before[n]})
"""


@pytest.mark.parametrize("built_under, dtype", [("numba", "float32"), ("numpy", "float64")])
def test_building_compiles_nothing_and_no_step_compiles_after_warmup(built_under, dtype):
    """In a fresh interpreter, VAE() and set_backend() compile (or load) no twin; once
    kernels.warmup() has, as train() does first, training steps compile nothing."""
    out = python(WARM_CHECK.replace("DTYPE", dtype), MINIVAE_BACKEND=built_under)
    assert out.strip() == "0 {}"


def test_set_backend_fills_the_twins_without_rebinding_names(backend):
    """set_backend changes which twin each maths function's `twin` attribute holds (None
    under numpy); the maths modules' own names stay bound to the same objects throughout."""
    names = {m.__name__: dict(vars(m)) for m in MATHS.values()}
    mu, log_var = np.array([[0.3, -1.2]]), np.array([[0.5, 0.1]])
    for name in ("numba", "numpy"):
        backend(name)
        for key in verified.COMPUTES:
            module, twin = key.split(".")
            assert getattr(MATHS[module].twin, twin) is (TWINS[twin] if name == "numba" else None)
        np.testing.assert_allclose(losses.kl_normal(mu, log_var)[0],
                                   nb.kl_normal_and_grads(mu, log_var)[0])
    for m in MATHS.values():
        assert all(vars(m)[k] is v for k, v in names[m.__name__].items())
    with pytest.raises(ValueError, match="backend must be one of"):
        backend("cuda")
    assert kernels.get_backend() == "numpy"


@pytest.mark.parametrize("inner", ["numpy", "numba"])
def test_using_switches_within_the_block_and_restores_after_it_even_on_error(backend, inner):
    twin_in = lambda name: nb.kl_normal_and_grads if name == "numba" else None
    for outer in ("numba", "numpy"):
        backend(outer)
        with kernels.using(inner):
            assert kernels.get_backend() == inner
            assert losses.twin.kl_normal_and_grads is twin_in(inner)
        assert kernels.get_backend() == outer
        with pytest.raises(ZeroDivisionError), kernels.using(inner):
            1 / 0
        assert kernels.get_backend() == outer
        assert losses.twin.kl_normal_and_grads is twin_in(outer)


def test_switching_backends_compiles_nothing(backend, monkeypatch):
    """Neither set_backend nor `using` compiles: the grader's models live and die
    inside its `using` block, and a twin compiles (or loads) at its first call."""
    from minivae.kernels import precompile
    compiled = []
    monkeypatch.setattr(precompile, "compile_for", compiled.append)
    monkeypatch.setattr(precompile, "_seconds", {})
    backend("numba")
    with kernels.using("numpy"):
        VAE(x_dim=4, hidden=(3,), z_dim=2, dtype=np.float64)
    kernels.set_backend("numba")
    assert compiled == []
    kernels.warmup(np.float64)                                  # what train() does
    kernels.warmup(np.float64)                                  # once per dtype
    assert compiled == [np.dtype(np.float64)]


def _body(fn):
    """The statements of a function's body after its docstring."""
    node = ast.parse(textwrap.dedent(inspect.getsource(fn))).body[0]
    body = node.body
    return body[1:] if isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
        else body


def test_every_twin_has_a_maths_function_that_chooses_it_in_its_first_line():
    """Each twin named in kernels/verified.py has the name and signature of a maths
    function, which it computes; that function's first line after its docstring is
    `if twin.NAME: return twin.NAME(...)`, the choice a reader sees."""
    assert len(verified.COMPUTES) == 11, sorted(verified.COMPUTES)
    for key, functions in verified.COMPUTES.items():
        module, name = key.split(".")
        assert functions[0] == key and TWINS[name].__module__ == f"minivae.kernels.{module}"
        numpy_fn = getattr(ref, name)
        assert inspect.signature(TWINS[name]) == inspect.signature(numpy_fn), key
        chooser = _body(numpy_fn)[0]
        assert ast.unparse(chooser.test) == f"twin.{name}", key
        assert ast.unparse(chooser.body[0]).startswith(f"return twin.{name}("), key


def test_the_recorded_hashes_are_those_of_the_numpy_lines_now():
    """kernels/verified.py records, for each NumPy function a twin computes, the hash of
    its code when the twin was last verified against it (the tests above).  A formula
    edited since runs its NumPy lines on either backend; this test fails until the twin
    is made to match and the new hash recorded."""
    stale = {f: verified.current_hash(f) for fs in verified.COMPUTES.values() for f in fs
             if verified.current_hash(f) != verified.VERIFIED.get(f)}
    assert not stale, (
        "these NumPy functions changed since their Numba twins were verified: "
        f"{', '.join(stale)}.  Make each twin compute the same again (this file's tests "
        "compare them), then record in minivae/kernels/verified.py, VERIFIED: "
        + ", ".join(f'"{f}": "{h}"' for f, h in stale.items()))


def test_code_hash_sees_code_and_not_comments_docstrings_or_layout():
    base = 'def f(a, b):\n    """Doc."""\n    return a * (b + 1)  # note\n'
    same = ['def f(a, b):\n    """Other doc."""\n    return a * (b + 1)\n',
            "def f(a, b):\n\n    # a comment\n    return a*(b+1)\n",
            "def f(a,\n      b):\n    return (a * (b + 1))\n"]
    different = ["def f(a, b):\n    return a * (b - 1)\n", "def f(a, b):\n    return a * (b + 2)\n",
                 "def f(a, b):\n    return b * (a + 1)\n",
                 "def f(a, b):\n    if a:\n        return 0\n    return a * (b + 1)\n"]
    h = verified.code_hash(base, "f")
    assert h is not None and verified.code_hash(base, "g") is None
    assert all(verified.code_hash(src, "f") == h for src in same)
    assert all(verified.code_hash(src, "f") != h for src in different)


def test_an_edited_function_runs_its_numpy_lines_and_says_so_once(backend, monkeypatch, capsys):
    """What a student sees after editing kl_normal_and_grads' NumPy lines (simulated by
    recording another hash): on the numba backend that function's twin is off and one
    line on stderr names it; every other twin stays on; the line is not repeated."""
    monkeypatch.setitem(verified.VERIFIED, "losses.kl_normal_and_grads", "0" * 16)
    monkeypatch.setattr(kernels, "_announced", set())
    backend("numba")
    assert losses.twin.kl_normal_and_grads is None
    assert losses.twin.bernoulli_nll_and_grad is nb.bernoulli_nll_and_grad
    assert layers.twin.dense_backward is nb.dense_backward
    kernels.set_backend("numpy")
    kernels.set_backend("numba")
    err = capsys.readouterr().err
    assert err == ("minivae: losses.kl_normal_and_grads was edited: running your NumPy lines; "
                   "its Numba twin computes the original\n")
    monkeypatch.undo()                      # the record as it is: the twin comes back
    kernels.set_backend("numba")
    assert losses.twin.kl_normal_and_grads is nb.kl_normal_and_grads


def test_numba_lives_only_in_the_kernels_subpackage_and_nothing_imports_torch():
    importers = sorted(str(p.relative_to(REPO / "minivae")) for p in (REPO / "minivae").rglob("*.py")
                       if re.search(r"^\s*(import|from)\s+numba\b", p.read_text(), re.M))
    assert importers and all(p.startswith("kernels/") for p in importers), importers
    assert not [p.name for p in (REPO / "minivae").rglob("*.py")
                if re.search(r"^\s*(import|from)\s+torch\b", p.read_text(), re.M)]


@pytest.mark.parametrize("requested, expected", [("numpy", "numpy"), ("numba", "numba"),
                                                 ("NumPy", "numpy"), (" numba ", "numba"),
                                                 ("", kernels.DEFAULT)])
def test_environment_variable_selects_backend(requested, expected):
    code = "import sys, minivae.kernels as k; print(k.get_backend(), 'numba' in sys.modules)"
    out = python(code, MINIVAE_BACKEND=requested)
    assert out.split()[0] == expected
    if expected == "numpy":
        assert out.split()[1] == "False"            # the numpy backend never imports numba


def test_an_unknown_backend_is_an_error_not_the_default():
    """The library import raises, naming the variable and the accepted values; the
    command line says the same in one line and exits 2 (minivae/environment.py)."""
    env = {**os.environ, "MINIVAE_BACKEND": "fortran"}
    lib = subprocess.run([sys.executable, "-c", "import minivae"], capture_output=True, text=True,
                         env=env, cwd=REPO, timeout=120)
    assert lib.returncode == 1
    assert lib.stderr.count("Traceback") == 1 and "During handling" not in lib.stderr
    last = lib.stderr.strip().splitlines()[-1]
    assert last.startswith("minivae.errors.EnvironmentVariableError: environment variable "
                           "MINIVAE_BACKEND='fortran'") and "numpy or numba" in last, last
    cli = subprocess.run([sys.executable, "-m", "minivae", "gradcheck"], capture_output=True,
                         text=True, env=env, cwd=REPO, timeout=120)
    assert cli.returncode == 2 and cli.stdout == ""
    assert cli.stderr.splitlines() == [last.replace("minivae.errors.EnvironmentVariableError:",
                                                    "minivae: error:")], cli.stderr


BLOCK_NUMBA = "import sys; sys.modules['numba'] = None\n"   # `import numba` now raises ImportError


@pytest.mark.parametrize("requested", ["", "numba"])
def test_everything_runs_without_numba(requested):
    code = BLOCK_NUMBA + """
import numpy as np, minivae.kernels as k
from minivae import VAE
from minivae.optim import Adam
from minivae.gradcheck import run_all
assert k.get_backend() == "numpy" and k.available_backends() == ("numpy",)
try:
    k.set_backend("numba")
except ValueError as e:
    print("refused:", e)
model = VAE(x_dim=16, hidden=(12,), z_dim=2, dtype=np.float32)
opt = Adam(model.flat_params, model.flat_grads, lr=1e-2)
rng = np.random.default_rng(0)
x = (rng.random((32, 16)) < 0.3).astype(np.float32)
losses = []
for _ in range(30):
    losses.append(model.loss_and_grads(x, rng.standard_normal((32, 2), dtype=np.float32))[0])
    opt.step()
assert np.mean(losses[-5:]) < np.mean(losses[:5]), losses
assert all(check.passed for check in run_all())
print("ok")
"""
    out = python(code, MINIVAE_BACKEND=requested)
    assert "refused: backend 'numba' needs the numba package" in out
    assert out.rstrip().endswith("ok") or "ok\n" in out
    if requested:
        assert "numba cannot be imported; using numpy" in out
