"""The eight graders of lessons/exercises/, one per stub: 1–5 here, 6–8 (a model each) in
model_exercises.py.  How one part is graded: parts.py.

Each grader(student, rng) calls the student's functions through the sandbox
(student.call) on float64 inputs drawn from rng, and returns one parts.Part
per part of the stub.  The forward passes differentiated numerically are
written here from the formulas, so a wrong minivae could not hide a wrong
student (or the other way round).  The inputs are chosen so that every
known-wrong variant fails: far-apart entries where an exp can overflow,
sizes that differ (N ≠ D ≠ H), and ReLU inputs away from the kink.
Shapes: N batch, D in-features, H out-features, K latent dims (the paper's k).
"""
import ast
import functools

import numpy as np
from scipy.special import expit

from ..errors import ArgumentError
from ..gradcheck import numerical_grad
from ..layers import Dense, ReLU, Sigmoid
from ..losses import bernoulli_nll, kl_normal
from ..reparam import Reparameterize
from .materials import stubs_dir
from .model_exercises import ex06, ex07, ex08
from .parts import away_from_zero, common, grade, pick, returned

# exercise 3's far-out logits (2, 8): |l| from 0 to 1e4, past exp's overflow at 709.8; x in [0, 1]
BIG_LOGITS = np.array([[1e4, -1e4, 1e4, -1e4, 800.0, -800.0, 750.0, -750.0],
                       [710.0, -710.0, 30.0, -30.0, 35.0, -40.0, 0.5, 0.0]])
BIG_X = np.array([[0.0, 1.0, 1.0, 0.0, 0.5, 0.25, 0.0, 1.0],
                  [0.0, 1.0, 0.7, 0.3, 1.0, 0.0, 0.2, 0.5]])
CLIP_EPS = [10.0 ** -p for p in range(3, 17)] + [np.finfo(np.float64).eps]
CLIP_LOGITS = [5, 10, 15, 20, 25, 30, 35, 40, 50, 80, 88, 100, 500, 700, 709]


def ex01(student, rng):
    """Dense backward: dW = xᵀ dy, db = ∑_n dy, dx = dy Wᵀ."""
    N, D, H = 5, 4, 3
    x, W, b, dy = (rng.standard_normal(s) for s in ((N, D), (D, H), (H,), (N, H)))
    layer = Dense(D, H, dtype=np.float64)
    layer.params["W"][...], layer.params["b"][...] = W, b
    _, cache = layer.forward(x)
    dx = layer.backward(dy, cache)
    dW, db = layer.grads["W"].copy(), layer.grads["b"].copy()
    f = lambda: np.sum((x @ W + b) * dy)                        # ∂f/∂y = dy
    return [
        grade(1, "dW (D, H)", student.call("dense_backward_W", x, dy), dW, numerical_grad(f, W),
              [(dW.T, "transposed dW")] + common(dW, N)),
        grade(2, "db (H,)", student.call("dense_backward_b", dy), db, numerical_grad(f, b),
              common(db, N)),
        grade(3, "dx (N, D)", student.call("dense_backward_x", dy, W), dx, numerical_grad(f, x),
              common(dx, N)),
    ]


def ex02(student, rng):
    """ReLU and sigmoid backward, written with the layer's output y."""
    x = away_from_zero(rng.standard_normal((4, 5)))
    dy = rng.standard_normal((4, 5))
    y_relu, c_relu = ReLU().forward(x)
    y_sig, c_sig = Sigmoid().forward(x)
    ref_relu, ref_sig = ReLU().backward(dy, c_relu), Sigmoid().backward(dy, c_sig)
    fd_relu = numerical_grad(lambda: np.sum(np.maximum(x, 0) * dy), x)
    fd_sig = numerical_grad(lambda: np.sum(expit(x) * dy), x)
    return [
        grade(1, "ReLU: dx from dy, y", student.call("relu_backward", dy, y_relu), ref_relu,
              fd_relu, [(dy * y_relu, "ReLU mask"), (dy, "ReLU mask"), (-ref_relu, "sign")]),
        grade(2, "sigmoid: dx from dy, y", student.call("sigmoid_backward", dy, y_sig), ref_sig,
              fd_sig, [(dy * y_sig, "sigmoid"), (dy * (1 - y_sig), "sigmoid"),
                       (dy * expit(y_sig) * (1 - expit(y_sig)), "sigmoid"), (-ref_sig, "sign")]),
    ]


def ex03(student, rng):
    """Bernoulli NLL from logits and its gradient; both again at logits out to ±1e4."""
    N, D = 4, 6
    logits = 3 * rng.standard_normal((N, D))
    x = rng.random((N, D))                                      # grey levels, as §4.1 uses
    nll, dlogits = bernoulli_nll(logits, x)

    def f():                                                    # −∑ x log p + (1 − x) log(1 − p)
        p = expit(logits)
        return -np.sum(x * np.log(p) + (1 - x) * np.log(1 - p))
    got = returned(student.call("bernoulli_nll", logits, x), ("nll", "dlogits"))
    big_nll, big_d = bernoulli_nll(BIG_LOGITS, BIG_X)
    got_big = returned(student.call("bernoulli_nll", BIG_LOGITS.copy(), BIG_X.copy()),
                       ("nll", "dlogits"))
    return [
        grade(1, "nll (N,)", pick(got, "nll"), nll, None,
              [(-nll, "sign"), (nll / D, "averaged pixels"), (nll / N, "1/N doubled")]),
        grade(2, "dlogits (N, D)", pick(got, "dlogits"), dlogits, numerical_grad(f, logits),
              [(-dlogits, "sign"), (dlogits / D, "averaged pixels"), (dlogits / N, "1/N doubled")]),
        grade(3, "nll, dlogits at |logit| to 1e4", got_big, {"nll": big_nll, "dlogits": big_d},
              None, clipped_variants() + [({"nll": -big_nll}, "sign"),
                                          ({"nll": big_nll / 8, "dlogits": big_d / 8}, "averaged pixels")],
              nonfinite={"nll": "log sig overflow", "dlogits": "sigmoid overflow"}),
    ]


def clipped_variants():
    """Exercise 3's far-out nll as it comes out with p or the logits clipped."""
    p = expit(BIG_LOGITS)
    x, variants = BIG_X, []
    with np.errstate(all="ignore"):
        for e in CLIP_EPS:
            for lp, l1p in ((np.log(np.clip(p, e, 1 - e)), np.log(np.clip(1 - p, e, 1 - e))),
                            (np.log(p + e), np.log(1 - p + e))):
                variants.append(({"nll": -(x * lp + (1 - x) * l1p).sum(axis=1)}, "clipped p"))
        for c in CLIP_LOGITS:                               # then the stable or the naive form
            clipped = np.clip(BIG_LOGITS, -c, c)
            q = 1 / (1 + np.exp(-clipped))
            for nll in (bernoulli_nll(clipped, x)[0],
                        -(x * np.log(q) + (1 - x) * np.log(1 - q)).sum(axis=1)):
                variants.append(({"nll": nll}, "clipped logits"))
    return variants


def ex04(student, rng):
    """Eq. 7's KL in closed form and its gradients with respect to mu and log_var."""
    N, K = 4, 3
    mu, lv = rng.standard_normal((N, K)), 0.7 * rng.standard_normal((N, K))
    kl, dmu, dlv = kl_normal(mu, lv)
    f = lambda: 0.5 * np.sum(np.exp(lv) + mu ** 2 - 1 - lv)     # ∑_n of Eq. 7, diagonal Σ
    got = returned(student.call("kl_normal", mu, lv), ("kl", "dmu", "dlog_var"))
    kl_log_std = 0.5 * (np.exp(2 * lv) + mu ** 2 - 1 - 2 * lv).sum(axis=1)
    return [
        grade(1, "kl (N,)", pick(got, "kl"), kl, None,
              [(kl_log_std, "log_var as log std"), (kl + K / 2, "−K missing")] + common(kl, N)),
        grade(2, "dmu (N, K)", pick(got, "dmu"), dmu, numerical_grad(f, mu), common(dmu, N)),
        grade(3, "dlog_var (N, K)", pick(got, "dlog_var"), dlv, numerical_grad(f, lv),
              [(0.5 * np.exp(lv), "KL −1"), (np.exp(2 * lv) - 1, "log_var as log std")]
              + common(dlv, N)),
    ]


def ex05(student, rng):
    """The reparameterization layer (Eq. 10): z, and its backward to mu and log_var."""
    N, K = 4, 3
    mu, lv, eps, dz = (rng.standard_normal((N, K)) for _ in range(4))
    layer = Reparameterize()
    z, cache = layer.forward(mu, lv, eps)
    dmu, dlv = layer.backward(dz, cache)
    std = np.exp(0.5 * lv)
    f = lambda: np.sum((mu + np.exp(0.5 * lv) * eps) * dz)
    got = returned(student.call("reparam_backward", dz, mu, lv, eps), ("dmu", "dlog_var"))
    return [
        grade(1, "z (N, K)", student.call("reparam_forward", mu, lv, eps), z, None,
              [(mu + np.exp(lv) * eps, "log_var as log std"), (mu + lv * eps, "log_var as std")]),
        grade(2, "dmu (N, K)", pick(got, "dmu"), dmu, numerical_grad(f, mu),
              [(dz * std, "dmu = dz")] + common(dmu, N)),
        grade(3, "dlog_var (N, K)", pick(got, "dlog_var"), dlv, numerical_grad(f, lv),
              [(0.5 * dz * z, "z for mu"), (dz * eps, "chain to log_var"),
               (dz * eps * np.exp(lv), "log_var as log std"),
               (0.5 * dz * eps * np.exp(lv), "log_var as log std")] + common(dlv, N)),
    ]


EXERCISES = {   # number -> (stub file, title, grader)
    1: ("ex01_dense_backward.py", "the Dense layer's backward (dW, db, dx)", ex01),
    2: ("ex02_relu_sigmoid.py", "ReLU and sigmoid backward", ex02),
    3: ("ex03_bernoulli_nll.py", "Bernoulli NLL from logits, stable at |logit| = 1e4", ex03),
    4: ("ex04_kl.py", "Eq. 7's KL and its gradients", ex04),
    5: ("ex05_reparam.py", "the reparameterization layer (Eq. 10)", ex05),
    6: ("ex06_vae_loss_and_grads.py", "the VAE's loss_and_grads (Fig. 4, right)", ex06),
    7: ("ex07_importance_logpx.py", "importance-sampled log P(X) (beyond the paper)", ex07),
    8: ("ex08_cvae_junctions.py", "the CVAE's two junctions (Fig. 6)", ex08),
}
RANGE = f"1–{len(EXERCISES)}"


def exercise_number(number):
    if number not in EXERCISES:
        raise ArgumentError(f"no exercise {number}: there are exercises {RANGE}")
    return number


def stub_path(number):
    """The stub lessons/exercises/exNN_*.py of exercise `number`."""
    exercise_number(number)
    path = stubs_dir() / EXERCISES[number][0]
    if not path.is_file():
        raise ArgumentError(f"{path} not found: this minivae was installed without its exercises")
    return path


@functools.lru_cache(maxsize=None)
def interface(number):
    """(functions, given) of exercise `number`, read from its stub: the functions it asks
    for (those that raise NotImplementedError), and what it imports from minivae,
    {module: names}, which is all a graded file may import from minivae (guard.py)."""
    tree = ast.parse(stub_path(number).read_bytes())
    functions = tuple(node.name for node in tree.body if isinstance(node, ast.FunctionDef)
                      and any(isinstance(n, ast.Raise) for n in ast.walk(node)))
    given = {node.module: tuple(a.name for a in node.names) for node in tree.body
             if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("minivae.")}
    return functions, given
