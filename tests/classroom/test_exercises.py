"""The exercise checker (minivae.classroom): right answers pass, planted mistakes
fail with the hint that names them, unfinished stubs and broken files are
reported in one line, and the command line keeps its exit codes.

Right answers are generated here, in tmp_path, by appending to each stub
definitions that call minivae's own functions under the stub's names (the
later definition wins).  Each planted mistake is the right answer with one
known error written in by hand.
"""
import sys

import pytest

from minivae.commands.cli import main
from minivae.classroom.exercises import EXERCISES
from minivae.classroom.materials import stubs_dir

STUBS = stubs_dir()

# exercise -> code that wires minivae's implementation into the stub's names
SOLUTIONS = {
    1: '''
from minivae.layers import Dense
def _dense(x, W, dy):
    layer = Dense(*W.shape, dtype=np.float64)
    layer.params["W"][...] = W
    _, cache = layer.forward(x)
    return layer.backward(dy, cache), layer.grads["W"].copy(), layer.grads["b"].copy()
def dense_backward_W(x, dy):
    return _dense(x, np.zeros((x.shape[1], dy.shape[1])), dy)[1]
def dense_backward_b(dy):
    return _dense(np.zeros((len(dy), 1)), np.zeros((1, dy.shape[1])), dy)[2]
def dense_backward_x(dy, W):
    return _dense(np.zeros((len(dy), W.shape[0])), W, dy)[0]
''',
    2: '''
from minivae.layers import ActivationCache, ReLU, Sigmoid
def relu_backward(dy, y):
    return ReLU().backward(dy, ActivationCache(y))
def sigmoid_backward(dy, y):
    return Sigmoid().backward(dy, ActivationCache(y))
''',
    3: '''
from minivae.losses import bernoulli_nll
''',
    4: '''
from minivae.losses import kl_normal
''',
    5: '''
from minivae.reparam import Reparameterize, ReparamCache
def reparam_forward(mu, log_var, eps):
    return Reparameterize().forward(mu, log_var, eps)[0]
def reparam_backward(dz, mu, log_var, eps):
    return Reparameterize().backward(dz, ReparamCache(np.exp(0.5 * log_var), eps))
''',
    6: '''
def loss_and_grads(model, x, eps):
    return model.loss_and_grads(x, eps)
''',
    7: '''
from scipy.special import logsumexp
from minivae.evaluate import importance_log_weights as log_weights
def log_mean_exp(a):
    return logsumexp(a, axis=0) - np.log(len(a))
''',
    8: '''
from minivae.layers import ActivationCache, ReLU
def junction_backward(dh, h):
    d = ReLU().backward(dh, ActivationCache(h))
    return d, d
def junction_grads(model, x, y, eps):
    _, p = forward(model, x, y, eps)
    N = len(x)
    dz, dc_out = model.decoder.backward(p.dlogits / N, p.decoder)
    dmu, dlv = model.reparam.backward(dz, p.c_z)
    dh = model.mu_head.backward(dmu + p.dmu_kl / N, p.c_mu)
    dh += model.log_var_head.backward(dlv + p.dlv_kl / N, p.c_lv)
    _, dc_join = model.encoder.backward(dh, p.encoder, need_dx=False)
    return dc_join, dc_out
def cond_grads(model, x, dc_join, dc_out):
    _, _, cache = model.cond.forward(x)
    model.cond.backward(dc_out, cache, dtap=dc_join, need_dx=False)
    return {k: g.copy() for k, g in model.grads.items() if k.startswith("cond.")}
''',
}

# (exercise, code appended after the solution, the hint that must be named, the failing part)
MISTAKES = [
    (1, "def dense_backward_W(x, dy):\n    return dy.T @ x", "transposed dW", 1),
    (1, "def dense_backward_b(dy):\n    return dy.mean(axis=0)", "1/N doubled", 2),
    (1, "def dense_backward_x(dy, W):\n    return -(dy @ W.T)", "sign", 3),
    (2, "def relu_backward(dy, y):\n    return dy * y", "ReLU mask", 1),
    (2, "def sigmoid_backward(dy, y):\n    return dy * y", "sigmoid", 2),
    (3, '''def bernoulli_nll(logits, x):
    p = 1 / (1 + np.exp(-logits))
    return -(x * np.log(p) + (1 - x) * np.log(1 - p)).sum(axis=1), p - x''',
     "log sig overflow", 3),
    (3, '''_right = bernoulli_nll
def bernoulli_nll(logits, x):
    nll, d = _right(logits, x)
    return -nll, -d''', "sign", 1),
    (4, '''def kl_normal(mu, log_var):
    kl = 0.5 * (np.exp(log_var) + mu ** 2 - 1 - log_var).sum(axis=1)
    return kl, mu.copy(), 0.5 * np.exp(log_var)''', "KL −1", 3),
    (4, '''def kl_normal(mu, log_var):
    kl = 0.5 * (np.exp(2 * log_var) + mu ** 2 - 1 - 2 * log_var).sum(axis=1)
    return kl, mu.copy(), np.exp(2 * log_var) - 1''', "log σ for log σ²", 1),
    (5, '''def reparam_backward(dz, mu, log_var, eps):
    return dz, dz * eps * np.exp(0.5 * log_var)''', "factor 2", 3),
    (5, '''def reparam_backward(dz, mu, log_var, eps):
    z = mu + np.exp(0.5 * log_var) * eps
    return dz, 0.5 * dz * z''', "z for mu", 3),
    (5, '''def reparam_forward(mu, log_var, eps):
    return mu + np.exp(log_var) * eps''', "log σ for log σ²", 1),
    (6, '''def loss_and_grads(model, x, eps):
    N = len(x)
    h, enc = model.encoder.forward(x)
    mu, c_mu = model.mu_head.forward(h)
    log_var, c_lv = model.log_var_head.forward(h)
    z, c_z = model.reparam.forward(mu, log_var, eps)
    logits, dec = model.decoder.forward(z)
    nll, dlogits = bernoulli_nll(logits, x)
    kl, dmu_kl, dlv_kl = kl_normal(mu, log_var)
    dz = model.decoder.backward(dlogits / N, dec)
    dmu, dlv = model.reparam.backward(dz, c_z)
    dh = model.mu_head.backward(dmu + z / N, c_mu)
    dh += model.log_var_head.backward(dlv + dlv_kl / N, c_lv)
    model.encoder.backward(dh, enc, need_dx=False)
    return float(np.mean(nll + kl)), model.grads''', "z for mu", 3),
    (6, '''_right = loss_and_grads
def loss_and_grads(model, x, eps):
    loss, grads = _right(model, x, eps)
    return loss * len(x), {k: g * len(x) for k, g in grads.items()}''', "1/N missing", 2),
    (7, '''def log_mean_exp(a):
    return np.log(np.mean(np.exp(a), axis=0))''', "lse overflow", 2),
    (7, '''def log_mean_exp(a):
    return logsumexp(a, axis=0)''', "log sum", 1),
    (7, '''def log_weights(model, x, mu, log_var, eps):
    S, B, K = eps.shape
    z = mu + np.exp(0.5 * log_var) * eps
    lpx = model.log_likelihood(np.tile(x, (S, 1)), z.reshape(S * B, K)).reshape(S, B)
    return lpx + log_normal(z, 0.0, 0.0) + log_normal(z, mu, log_var)''', "log Q sign", 3),
    (8, '''def cond_grads(model, x, dc_join, dc_out):
    _, _, cache = model.cond.forward(x)
    model.cond.backward(dc_out, cache, need_dx=False)
    return {k: g.copy() for k, g in model.grads.items() if k.startswith("cond.")}''', "one path", 3),
    (8, '''def junction_backward(dh, h):
    return dh, dh''', "ReLU mask", 1),
]


def write(tmp_path, n, extra=""):
    """A copy of stub n with code appended (named like the stub, so the checker knows it)."""
    stub = STUBS / EXERCISES[n][0]
    path = tmp_path / stub.name
    path.write_text(stub.read_text(encoding="utf-8") + "\n" + extra + "\n", encoding="utf-8")
    return path


def check(capsys, *argv):
    code = main(["check", *map(str, argv)])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_every_stub_exists_and_is_unfinished(capsys):
    assert sorted(EXERCISES) == list(range(1, 9))
    for n in EXERCISES:
        code, out, err = check(capsys, n)
        assert code == 1, out
        assert "Traceback" not in out + err
        parts = [line for line in out.splitlines() if line.startswith("part ") and ":" in line]
        assert parts and all(line.endswith(": not implemented yet") for line in parts), out
        assert f"passed 0 of {len(parts)} parts" in out


@pytest.mark.parametrize("n", sorted(SOLUTIONS))
def test_reference_solutions_pass(tmp_path, capsys, n):
    code, out, err = check(capsys, write(tmp_path, n, SOLUTIONS[n]))
    assert code == 0, out + err
    rows = [line.split() for line in out.splitlines()[2:] if line[:1].isdigit()]
    assert rows and all(r[-1] == "pass" for r in rows), out
    for r in rows:                          # the errors printed are real rel. errors, not blanks
        errs = [float(v) for v in r[-3:-1] if v != "—"]
        assert errs and all(e < 1e-6 for e in errs), r


@pytest.mark.parametrize("n, code_text, hint, part", MISTAKES,
                         ids=[f"ex{m[0]}-{m[2]}" for m in MISTAKES])
def test_planted_mistake_names_its_hint(tmp_path, capsys, n, code_text, hint, part):
    code, out, err = check(capsys, write(tmp_path, n, SOLUTIONS[n] + "\n" + code_text))
    assert code == 1, out
    failing = [line for line in out.splitlines() if line.startswith(f"part {part}: FAIL")]
    assert failing and f"hint ({hint})" in failing[0], out
    assert "Traceback" not in out + err


def test_broken_files_give_one_line(tmp_path, capsys):
    path = write(tmp_path, 1, "def dense_backward_W(x, dy)\n    return 1")      # missing colon
    code, out, err = check(capsys, path)
    assert code == 1 and "syntax error" in out and len(out.strip().splitlines()) == 1, out
    path = write(tmp_path, 1, "import numpi")
    code, out, err = check(capsys, path)
    assert code == 1 and "ModuleNotFoundError" in out and len(out.strip().splitlines()) == 1, out
    path = write(tmp_path, 1, "import sys\nsys.exit(3)")
    code, out, err = check(capsys, path)
    assert code == 1 and "called exit()" in out and len(out.strip().splitlines()) == 1, out
    assert not [m for m in sys.modules if m.startswith("_minivae_student_")]
    path = write(tmp_path, 1, SOLUTIONS[1] + "def dense_backward_b(dy):\n    return dy[7]")
    code, out, err = check(capsys, path)
    assert code == 1 and "part 2: error — dense_backward_b() raised IndexError" in out, out


def test_usage_errors_exit_2(tmp_path, capsys):
    assert check(capsys, 9)[0] == 2
    code, out, err = check(capsys, tmp_path / "nothing.py")
    assert code == 2 and "no such file" in err and len(err.strip().splitlines()) == 1
    anonymous = tmp_path / "mine.py"
    anonymous.write_text("x = 1\n")
    code, out, err = check(capsys, anonymous)
    assert code == 2 and "--exercise" in err


def test_exercise_copies_and_refuses_to_overwrite(tmp_path, capsys):
    assert main(["exercise", "5", "--out", str(tmp_path / "mine")]) == 0
    copy = tmp_path / "mine" / EXERCISES[5][0]
    assert copy.read_text(encoding="utf-8") == (STUBS / EXERCISES[5][0]).read_text(encoding="utf-8")
    capsys.readouterr()
    copy.write_text("EXERCISE = 5\n# my work\n", encoding="utf-8")
    assert main(["exercise", "5", "--out", str(tmp_path / "mine")]) == 2
    err = capsys.readouterr().err
    assert "exists" in err and "--force" in err and len(err.strip().splitlines()) == 1
    assert copy.read_text(encoding="utf-8") == "EXERCISE = 5\n# my work\n"
    assert main(["exercise", "5", "--out", str(tmp_path / "mine"), "--force"]) == 0
    assert copy.read_text(encoding="utf-8") == (STUBS / EXERCISES[5][0]).read_text(encoding="utf-8")
