"""The exercise checker grades right from wrong: every independent correct solution passes,
every planted mistake fails with the hint (or the message) it names, and the
tolerance is exactly the documented threshold.

Correct solutions are student_code.SOLUTIONS, written from the formulas (not
minivae's code rewired).  Each planted mistake below is a correct solution
with one or more functions rewritten by hand, as students write them; one file
may plant several mistakes when each lands in its own part.
"""
import re

import pytest

from minivae import gradcheck
from minivae.classroom import parts
from minivae.classroom.hints import HINTS
from minivae.classroom.materials import stubs_dir
from student_code import EX06, SOLUTIONS, check, failing_line, result_rows, solved, write

# (exercise, code appended after its first solution, {part: hint key or expected text})
MISTAKES = [
    # 1: the Dense layer
    (1, '''
def dense_backward_W(x, dy):
    return dy.T @ x
def dense_backward_b(dy):
    return dy.mean(axis=0)
def dense_backward_x(dy, W):
    return -(dy @ W.T)''', {1: "transposed dW", 2: "1/N doubled", 3: "sign"}),
    (1, '''
def dense_backward_W(x, dy):
    return (x.T @ dy).astype(np.float32)
def dense_backward_b(dy):
    return dy.sum(axis=0, keepdims=True)
def dense_backward_x(dy, W):
    dy @ W.T''', {1: "dtype float32, expected float64", 2: "shape (1, 3), expected (3,)",
                  3: "returned None: a missing `return`?"}),
    (1, '''
def dense_backward_W(x, dy):
    return (x.T @ dy).tolist()''', {1: "returned a list, expected a NumPy array of shape (4, 3)"}),
    # 2: ReLU and sigmoid
    (2, '''
def relu_backward(dy, y):
    return dy * y
def sigmoid_backward(dy, y):
    return dy * y''', {1: "ReLU mask", 2: "sigmoid"}),
    (2, '''
def relu_backward(dy, y):
    return dy * (y >= 0)
def sigmoid_backward(dy, y):
    return dy * (1 - y)''', {1: "ReLU mask", 2: "sigmoid"}),
    # 3: the Bernoulli nll; parts 1-2 at moderate logits, part 3 out to ±1e4
    (3, '''
def bernoulli_nll(logits, x):
    p = 1 / (1 + np.exp(-logits))
    return -(x * np.log(p) + (1 - x) * np.log(1 - p)).sum(axis=1), p - x''',
     {3: "log sig overflow"}),
    (3, '''
def bernoulli_nll(logits, x):
    nll = (np.log1p(np.exp(logits)) - logits * x).sum(axis=1)      # softplus, unstable
    return nll, 1 / (1 + np.exp(-logits)) - x''', {3: "log sig overflow"}),
    (3, '''
def bernoulli_nll(logits, x):
    p = np.clip(1 / (1 + np.exp(-logits)), 1e-7, 1 - 1e-7)
    return -(x * np.log(p) + (1 - x) * np.log(1 - p)).sum(axis=1), p - x''', {3: "clipped p"}),
    (3, '''
def bernoulli_nll(logits, x):
    p = 1 / (1 + np.exp(-logits))
    eps = 1e-12
    return -(x * np.log(p + eps) + (1 - x) * np.log(1 - p + eps)).sum(axis=1), p - x''',
     {3: "clipped p"}),
    (3, '''
def bernoulli_nll(logits, x):
    l = np.clip(logits, -30, 30)
    p = 1 / (1 + np.exp(-l))
    return -(x * np.log(p) + (1 - x) * np.log(1 - p)).sum(axis=1), p - x''',
     {3: "clipped logits"}),
    (3, '''
_right = bernoulli_nll
def bernoulli_nll(logits, x):
    nll, d = _right(logits, x)
    return nll, d + 1e-3 * (np.abs(logits) >= 30)''', {3: "off (rel. error): dlogits"}),
    (3, '''
_right = bernoulli_nll
def bernoulli_nll(logits, x):
    nll, _ = _right(logits, x)
    return nll, np.exp(logits) / (1 + np.exp(logits)) - x''', {3: "sigmoid overflow"}),
    (3, '''
_right = bernoulli_nll
def bernoulli_nll(logits, x):       # 5e-4 nats off per pixel far out: 9e-8 over the whole array
    nll, d = _right(logits, x)
    return nll + 5e-4 * (np.abs(logits) > 20).sum(axis=1), d''',
     {3: "; off entry by entry: nll[1] (rel. error 1.0e-06)"}),
    (3, '''
_right = bernoulli_nll
def bernoulli_nll(logits, x):
    nll, d = _right(logits, x)
    return -nll, -d''', {1: "sign", 2: "sign", 3: "sign"}),
    (3, '''
_right = bernoulli_nll
def bernoulli_nll(logits, x):
    nll, d = _right(logits, x)
    return nll / x.shape[1], d / x.shape[1]''', {1: "averaged pixels", 2: "averaged pixels",
                                                    3: "averaged pixels"}),
    (3, '''
_right = bernoulli_nll
def bernoulli_nll(logits, x):
    nll, d = _right(logits, x)
    return nll, d, 1 / (1 + np.exp(-logits))''',
     {p: "returned 3 values, expected 2 (nll, dlogits)" for p in (1, 2, 3)}),
    (3, '''
_right = bernoulli_nll
def bernoulli_nll(logits, x):
    nll, d = _right(logits, x)''', {p: "returned None: a missing `return`?" for p in (1, 2, 3)}),
    # 4: the KL of Eq. 7
    (4, '''
def kl_normal(mu, log_var):
    kl = 0.5 * (np.exp(log_var) + mu ** 2 - 1 - log_var).sum(axis=1)
    return kl, mu.copy(), 0.5 * np.exp(log_var)''', {3: "KL −1"}),
    (4, '''
def kl_normal(mu, log_var):
    kl = 0.5 * (np.exp(2 * log_var) + mu ** 2 - 1 - 2 * log_var).sum(axis=1)
    return kl, mu.copy(), np.exp(2 * log_var) - 1''',
     {1: "log_var as log std", 3: "log_var as log std"}),
    (4, '''
def kl_normal(mu, log_var):
    kl = 0.5 * (np.exp(log_var) + mu ** 2 - log_var).sum(axis=1)
    return kl, mu.copy(), 0.5 * (np.exp(log_var) - 1)''', {1: "−K missing"}),
    (4, '''
def kl_normal(mu, log_var):
    kl = 0.5 * (np.exp(log_var) + mu ** 2 - 1 - log_var).sum(axis=1)
    return kl, -mu, 0.5 * (np.exp(log_var) - 1)''', {2: "sign"}),
    (4, '''
def kl_normal(mu, log_var):
    kl = 0.5 * (np.exp(log_var) + mu ** 2 - 1 - log_var).sum(axis=1)
    return kl, mu.copy(), 0.25 * (np.exp(log_var) - 1)     # Eq. 7's ½ applied twice''',
     {3: "factor 2"}),
    (4, '''
def kl_normal(mu, log_var):
    kl = 0.5 * (np.exp(log_var) + mu ** 2 - 1 - log_var).sum(axis=1, keepdims=True)
    return kl, mu.copy(), 0.5 * (np.exp(log_var) - 1)''', {1: "shape (4, 1), expected (4,)"}),
    # 5: the reparameterization
    (5, '''
def reparam_forward(mu, log_var, eps):
    return mu + log_var * eps
def reparam_backward(dz, mu, log_var, eps):
    z = mu + np.exp(0.5 * log_var) * eps
    return dz * np.exp(0.5 * log_var), 0.5 * dz * z''',
     {1: "log_var as std", 2: "dmu = dz", 3: "z for mu"}),
    (5, '''
def reparam_forward(mu, log_var, eps):
    return mu + np.exp(log_var) * eps
def reparam_backward(dz, mu, log_var, eps):
    return dz, dz * eps * np.exp(0.5 * log_var)''', {1: "log_var as log std", 3: "factor 2"}),
    (5, '''
def reparam_backward(dz, mu, log_var, eps):
    return dz, dz * eps''', {3: "chain to log_var"}),
    # 6: the whole VAE
    (6, '''
_right = loss_and_grads
def loss_and_grads(model, x, eps):
    loss, grads = _right(model, x, eps)
    return loss * len(x), {k: g * len(x) for k, g in grads.items()}''',
     {p: "1/N missing" for p in (1, 2, 3, 4)}),
    (6, EX06.format(mu_grad="dmu - dmu_kl / N", log_var_grad="dlv - dlv_kl / N",   # subtracted
                    loss="np.mean(nll + kl)"), {3: "KL sign", 4: "KL sign"}),
    (6, EX06.format(mu_grad="dmu + z / N", log_var_grad="dlv + dlv_kl / N",
                    loss="np.mean(nll + kl)"), {3: "z for mu", 4: "z for mu"}),
    (6, EX06.format(mu_grad="dmu + dmu_kl / N", log_var_grad="dlv - dlv_kl / N",   # one flipped
                    loss="np.mean(nll + kl)"), {3: "sign", 4: "sign"}),
    (6, EX06.format(mu_grad="dmu - dmu_kl / N", log_var_grad="dlv + dlv_kl / N",
                    loss="np.mean(nll + kl)"), {3: "sign", 4: "sign"}),
    (6, '''
_right = loss_and_grads
def loss_and_grads(model, x, eps):
    loss, grads = _right(model, x, eps)
    return loss, {k: g.reshape(1, -1) if g.ndim == 1 else g for k, g in grads.items()}''',
     {2: "decoder.0.b: shape (1, 5), expected (5,)", 3: "mu.b: shape (1, 3), expected (3,)",
      4: "encoder.0.b: shape (1, 5), expected (5,)"}),
    (6, '''
_right = loss_and_grads
def loss_and_grads(model, x, eps):
    loss, grads = _right(model, x, eps)
    for k in model.params:                      # one SGD step, where none belongs
        model.params[k] -= 0.1 * grads[k]
    return loss, grads''', {p: "right values, but the call changed model.params (encoder.0.W,"
                                    for p in (1, 2, 3, 4)}),
    (6, '''
_right = loss_and_grads
def loss_and_grads(model, x, eps):
    loss, grads = _right(model, x, eps)
    return np.float32(loss), {k: g for k, g in grads.items() if k != "mu.b"}''',
     {1: "dtype float32, expected float64", 3: "the gradient dict lacks mu.b"}),
    (6, '''
_right = loss_and_grads
def loss_and_grads(model, x, eps):
    loss, grads = _right(model, x, eps)
    return loss, grads, None''', {p: "returned 3 values, expected 2 (loss, grads)" for p in (1, 2, 3, 4)}),
    (6, EX06.format(mu_grad="dmu", log_var_grad="dlv", loss="np.mean(nll)"),
     {1: "KL missing", 3: "KL missing", 4: "KL missing"}),
    # 7: importance sampling; part 2's columns span ~900 nats
    (7, '''
def log_mean_exp(a):
    return np.log(np.mean(np.exp(a), axis=0))
def log_weights(model, x, mu, log_var, eps):
    S, B, K = eps.shape
    z = mu + np.exp(0.5 * log_var) * eps
    lpx = model.log_likelihood(np.tile(x, (S, 1)), z.reshape(S * B, K)).reshape(S, B)
    return lpx + log_normal(z, 0.0, 0.0) + log_normal(z, mu, log_var)''',
     {2: "lse overflow", 3: "log Q sign"}),
    (7, '''
def log_mean_exp(a):
    m = a.max(axis=0)
    return m + np.log(np.sum(np.exp(a - m), axis=0))
def log_weights(model, x, mu, log_var, eps):
    S, B, K = eps.shape
    z = mu + np.exp(0.5 * log_var) * eps
    lpx = model.log_likelihood(np.tile(x, (S, 1)), z.reshape(S * B, K)).reshape(S, B)
    return lpx - log_normal(z, mu, log_var)''', {1: "log sum", 2: "log sum", 3: "prior missing"}),
    (7, '''
def log_mean_exp(a):
    m = a.min(axis=0)
    return m + np.log(np.mean(np.exp(a - m), axis=0))''', {2: "lse overflow"}),
    (7, '''
def log_mean_exp(a):
    m = a.mean(axis=0)
    return m + np.log(np.mean(np.exp(a - m), axis=0))''', {2: "lse overflow"}),
    (7, '''
def log_mean_exp(a):
    return a[0] + np.log(np.mean(np.exp(a - a[0]), axis=0))''', {2: "lse overflow"}),
    (7, '''
def log_mean_exp(a):
    m = a.max()                                 # one maximum for every column
    return m + np.log(np.mean(np.exp(a - m), axis=0))''', {2: "lse overflow"}),
    (7, '''
def log_mean_exp(a):
    m = a.max(axis=0)
    return np.log(np.mean(np.exp(a - m), axis=0))''', {1: "m dropped", 2: "m dropped"}),
    (7, '''
def log_mean_exp(a):
    return a.mean(axis=0)''', {1: "mean of logs", 2: "mean of logs"}),
    # 8: the CVAE's junctions
    (8, '''
def junction_backward(dh, h):
    return dh, dh
_right_grads = junction_grads
def junction_grads(model, x, y, eps):
    dc_join, dc_out = _right_grads(model, x, y, eps)
    return dc_join, dc_out.T
def cond_grads(model, x, dc_join, dc_out):
    _, _, cache = model.cond.forward(x)
    model.cond.backward(dc_out, cache, need_dx=False)
    return {k: g.copy() for k, g in model.grads.items() if k.startswith("cond.")}''',
     {1: "ReLU mask", 2: "dc_out: shape (4, 3), expected (3, 4)", 3: "one path"}),
    (8, '''
def junction_backward(dh, h):
    d = dh * (h > 0)
    return d / 2, d / 2
_right_grads = junction_grads
def junction_grads(model, x, y, eps):
    dc_join, dc_out = _right_grads(model, x, y, eps)
    return dc_join * len(x), dc_out * len(x)''', {1: "junction split", 2: "1/N missing"}),
]


def test_every_hint_is_planted():
    """Each hint the grader knows is named by at least one planted mistake (so each can fire)."""
    named = {v for _, _, expected in MISTAKES for v in expected.values() if v in HINTS}
    assert named == set(HINTS), set(HINTS) - named


def test_the_stubs_are_unfinished_and_check_n_says_to_copy_first(capsys):
    code, out, err = check(capsys, stubs_dir())         # the shipped stubs, as a folder
    assert code == 1 and "Traceback" not in out + err
    failures = [line for line in out.splitlines() if re.match(r"part \d+: ", line)]
    assert len(failures) == 24 and all(line.endswith(": not implemented yet") for line in failures)
    assert "passed 0 of 8 files, 0 of 24 parts" in out
    code, out, err = check(capsys, 5)
    assert code == 1
    assert out.strip().splitlines()[-1].endswith(
        "to work on it, copy it first: python -m minivae exercise 5 --out DIR, then check "
        "DIR/ex05_reparam.py")
    assert "edit " not in out


@pytest.mark.parametrize("n, which", [(n, w) for n in SOLUTIONS for w in range(len(SOLUTIONS[n]))],
                         ids=[f"ex{n}-{w + 1}" for n in SOLUTIONS for w in range(len(SOLUTIONS[n]))])
def test_independent_solutions_pass(tmp_path, capsys, n, which):
    code, out, err = check(capsys, write(tmp_path, n, solved(n, which)))
    assert code == 0, out + err
    rows = result_rows(out)
    assert rows and all(r[-1] == "pass" for r in rows.values()), out
    for r in rows.values():                     # the errors printed are real rel. errors
        errs = [float(v) for v in r[-3:-1] if v != "—"]
        assert errs and all(e < 1e-7 for e in errs), r


@pytest.mark.parametrize("n, code_text, expected", MISTAKES,
                         ids=[f"ex{m[0]}-" + "-".join(m[2].values())[:40] for m in MISTAKES])
def test_planted_mistake_names_its_hint(tmp_path, capsys, n, code_text, expected):
    code, out, err = check(capsys, write(tmp_path, n, solved(n) + code_text))
    assert code == 1, out
    assert "Traceback" not in out + err
    for part, what in expected.items():
        line = failing_line(out, part)
        assert line.startswith(f"part {part}: FAIL — "), out
        assert (f"hint ({what}): {HINTS[what]}" if what in HINTS else what) in line, out
        if what not in ("log sig overflow", "sigmoid overflow", "lse overflow"):
            assert "overflow" not in line, line     # the overflow hints only where they belong
    for part, row in result_rows(out).items():
        if part not in expected:
            assert row[-1] == "pass", out           # a mistake costs only its own part


# -- the tolerance is the documented threshold -----------------------------------------
def test_the_thresholds_are_the_documented_ones():
    assert parts.LAYER == gradcheck.LAYER_THRESHOLD == 1e-7
    assert parts.MODEL == gradcheck.MODEL_THRESHOLD == 1e-6
    readme = (stubs_dir() / "README.md").read_text(encoding="utf-8")
    assert "a part passes below 1e-7, or 1e-6 where a whole model is involved" in " ".join(readme.split())


def scale_for(rel):
    """The factor 1 + d whose scaled gradient g (1 + d) has rel_error(g (1 + d), g) = rel."""
    return 1 + 2 * rel / (1 - rel)


@pytest.mark.parametrize("rel, passes", [(1.1e-7, False), (0.9e-7, True)])
def test_a_layer_gradient_just_over_the_threshold_fails(tmp_path, capsys, rel, passes):
    code, out, _ = check(capsys, write(tmp_path, 1, solved(1) + f'''
def dense_backward_W(x, dy):
    return (x.T @ dy) * {scale_for(rel)!r}'''))
    row = result_rows(out)[1]
    assert float(row[-2]) == pytest.approx(rel, rel=1e-3), out      # vs minivae, as built
    assert (row[-1] == "pass") == passes and (code == 0) == passes, out


@pytest.mark.parametrize("rel, passes", [(1.1e-6, False), (0.9e-6, True)])
def test_a_model_gradient_just_over_the_threshold_fails(tmp_path, capsys, rel, passes):
    code, out, _ = check(capsys, write(tmp_path, 6, solved(6) + f'''
_right = loss_and_grads
def loss_and_grads(model, x, eps):
    loss, grads = _right(model, x, eps)
    return loss, {{k: g * {scale_for(rel)!r} if k.startswith("decoder.") else g
                  for k, g in grads.items()}}'''))
    row = result_rows(out)[2]
    assert float(row[-2]) == pytest.approx(rel, rel=1e-3), out
    assert (row[-1] == "pass") == passes and (code == 0) == passes, out
