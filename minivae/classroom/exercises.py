"""The eight graders of lessons/exercises/, one per stub (grading one part: parts.py).

Each grader(module, rng) calls the student's functions on float64 inputs drawn
from rng, and returns one parts.Part per part of the stub.  The forward
passes differentiated numerically are written here from the formulas, so a
wrong minivae could not hide a wrong student (or the other way round).
Shapes: N batch, D in-features, H out-features, K latent dims (the paper's k).
"""
import numpy as np
from scipy.special import expit, logsumexp

from ..cvae import CVAE
from ..evaluate import importance_log_weights
from ..gradcheck import numerical_grad
from ..layers import Dense, ReLU, Sigmoid
from ..losses import bernoulli_nll, kl_normal, log_normal
from ..model import VAE
from ..reparam import Reparameterize
from .parts import (MODEL, call, common, fd_params, grade, grads_vector, joined, student_grads,
                    tuple_of)


def away_from_zero(a, gap=0.1):
    """a pushed at least `gap` from 0, so a ReLU's kink never sits within h of an input."""
    return np.where(a >= 0, a + gap, a - gap)


def ex01(m, rng):
    """Dense backward: dW = xᵀ dy, db = Σ_n dy, dx = dy Wᵀ."""
    N, D, H = 5, 4, 3
    x, W, b, dy = (rng.standard_normal(s) for s in ((N, D), (D, H), (H,), (N, H)))
    layer = Dense(D, H, dtype=np.float64)
    layer.params["W"][...], layer.params["b"][...] = W, b
    _, cache = layer.forward(x)
    dx = layer.backward(dy, cache)
    dW, db = layer.grads["W"].copy(), layer.grads["b"].copy()
    f = lambda: np.sum((x @ W + b) * dy)                        # ∂f/∂y = dy
    return [
        grade(1, "dW (D, H)", call(m, "dense_backward_W", x, dy), dW, numerical_grad(f, W),
              [(dW.T, "transposed dW")] + common(dW, N)),
        grade(2, "db (H,)", call(m, "dense_backward_b", dy), db, numerical_grad(f, b), common(db, N)),
        grade(3, "dx (N, D)", call(m, "dense_backward_x", dy, W), dx, numerical_grad(f, x),
              common(dx, N)),
    ]


def ex02(m, rng):
    """ReLU and sigmoid backward, written with the layer's output y."""
    x = away_from_zero(rng.standard_normal((4, 5)))
    dy = rng.standard_normal((4, 5))
    y_relu, c_relu = ReLU().forward(x)
    y_sig, c_sig = Sigmoid().forward(x)
    ref_relu, ref_sig = ReLU().backward(dy, c_relu), Sigmoid().backward(dy, c_sig)
    f_relu = lambda: np.sum(np.maximum(x, 0) * dy)
    fd_relu = numerical_grad(f_relu, x)
    f_sig = lambda: np.sum(expit(x) * dy)
    fd_sig = numerical_grad(f_sig, x)
    return [
        grade(1, "ReLU: dx from dy, y", call(m, "relu_backward", dy, y_relu), ref_relu, fd_relu,
              [(dy * y_relu, "ReLU mask"), (dy, "ReLU mask"), (-ref_relu, "sign")]),
        grade(2, "sigmoid: dx from dy, y", call(m, "sigmoid_backward", dy, y_sig), ref_sig, fd_sig,
              [(dy * y_sig, "sigmoid"), (dy * expit(y_sig) * (1 - expit(y_sig)), "sigmoid"),
               (-ref_sig, "sign")]),
    ]


def ex03(m, rng):
    """Bernoulli NLL from logits, its gradient, and both at |logit| = 1e4."""
    N, D = 4, 6
    logits = 3 * rng.standard_normal((N, D))
    x = rng.random((N, D))                                      # grey levels, as §4.1 uses
    nll, dlogits = bernoulli_nll(logits, x)

    def f():                                                    # −Σ x log p + (1 − x) log(1 − p)
        p = expit(logits)
        return -np.sum(x * np.log(p) + (1 - x) * np.log(1 - p))
    fd = numerical_grad(f, logits)
    got_nll, got_d = tuple_of(call(m, "bernoulli_nll", logits, x), 2)
    big = np.array([[1e4, -1e4, 1e4, -1e4, 30.0, -30.0]])
    xb = np.array([[0.0, 1.0, 1.0, 0.0, 0.5, 0.25]])
    ref_big = np.concatenate(bernoulli_nll(big, xb), axis=None)
    got_big = joined(call(m, "bernoulli_nll", big, xb), 2)
    return [
        grade(1, "nll (N,)", got_nll, nll, None,
              [(-nll, "sign"), (nll / D, "averaged pixels"), (nll / N, "1/N doubled")]),
        grade(2, "dlogits (N, D)", got_d, dlogits, fd,
              [(-dlogits, "sign"), (dlogits / D, "averaged pixels"), (dlogits / N, "1/N doubled")]),
        grade(3, "nll and dlogits at |logit| = 1e4", got_big, ref_big),
    ]


def ex04(m, rng):
    """Eq. 7's KL in closed form and its gradients with respect to mu and log_var."""
    N, K = 4, 3
    mu, lv = rng.standard_normal((N, K)), 0.7 * rng.standard_normal((N, K))
    kl, dmu, dlv = kl_normal(mu, lv)
    f = lambda: 0.5 * np.sum(np.exp(lv) + mu ** 2 - 1 - lv)     # Σ_n of Eq. 7, diagonal Σ
    got = tuple_of(call(m, "kl_normal", mu, lv), 3)
    kl_log_sigma = 0.5 * (np.exp(2 * lv) + mu ** 2 - 1 - 2 * lv).sum(axis=1)
    return [
        grade(1, "kl (N,)", got[0], kl, None,
              [(kl_log_sigma, "log σ for log σ²"), (kl + K / 2, "−k missing")] + common(kl, N)),
        grade(2, "dmu (N, K)", got[1], dmu, numerical_grad(f, mu), common(dmu, N)),
        grade(3, "dlog_var (N, K)", got[2], dlv, numerical_grad(f, lv),
              [(0.5 * np.exp(lv), "KL −1"), (np.exp(2 * lv) - 1, "log σ for log σ²")]
              + common(dlv, N)),
    ]


def ex05(m, rng):
    """The reparameterization layer (Eq. 10): z, and its backward to mu and log_var."""
    N, K = 4, 3
    mu, lv, eps, dz = (rng.standard_normal((N, K)) for _ in range(4))
    layer = Reparameterize()
    z, cache = layer.forward(mu, lv, eps)
    dmu, dlv = layer.backward(dz, cache)
    std = np.exp(0.5 * lv)
    f = lambda: np.sum((mu + np.exp(0.5 * lv) * eps) * dz)
    got_d = tuple_of(call(m, "reparam_backward", dz, mu, lv, eps), 2)
    return [
        grade(1, "z (N, K)", call(m, "reparam_forward", mu, lv, eps), z, None,
              [(mu + np.exp(lv) * eps, "log σ for log σ²"), (mu + lv * eps, "log σ for log σ²")]),
        grade(2, "dmu (N, K)", got_d[0], dmu, numerical_grad(f, mu),
              [(dz * std, "dmu = dz")] + common(dmu, N)),
        grade(3, "dlog_var (N, K)", got_d[1], dlv, numerical_grad(f, lv),
              [(0.5 * dz * z, "z for mu"), (dz * eps, "chain to log_var"),
               (0.5 * dz * eps * np.exp(lv), "log σ for log σ²")] + common(dlv, N)),
    ]


def tiny_vae(rng):
    return VAE(x_dim=6, hidden=(5,), z_dim=3, likelihood="bernoulli", init="he",
               dtype=np.float64, seed=int(rng.integers(2 ** 31)))


def vae_variant(model, x, eps, mistake=None):
    """Gradients of the VAE's loss as model.loss_and_grads computes them, or with one mistake."""
    N = x.shape[0]
    h, enc = model.encoder.forward(x)
    mu, c_mu = model.mu_head.forward(h)
    lv, c_lv = model.log_var_head.forward(h)
    z, c_z = model.reparam.forward(mu, lv, eps)
    out, dec = model.decoder.forward(z)
    _, dout = bernoulli_nll(out, x)
    _, dmu_kl, dlv_kl = kl_normal(mu, lv)
    if mistake == "KL −1":
        dlv_kl = 0.5 * np.exp(lv)
    if mistake == "z for mu":
        dmu_kl = z
    kl_scale = 1.0 if mistake == "1/N missing" else 0.0 if mistake == "KL missing" else 1 / N
    dz = model.decoder.backward(dout / N, dec)
    dmu, dlv = model.reparam.backward(dz, c_z)
    if mistake == "factor 2":
        dlv = 2 * dlv
    dh = model.mu_head.backward(dmu + dmu_kl * kl_scale, c_mu)
    dh += model.log_var_head.backward(dlv + dlv_kl * kl_scale, c_lv)
    model.encoder.backward(dh, enc, need_dx=False)
    return {k: g.copy() for k, g in model.grads.items()}


def ex06(m, rng):
    """The whole VAE's loss_and_grads, assembled from minivae's layers (Fig. 4, right)."""
    N = 4
    model = tiny_vae(rng)
    x, eps = rng.random((N, model.x_dim)), rng.standard_normal((N, model.z_dim))
    keys = list(model.params)
    outcome = call(m, "loss_and_grads", model, x, eps)
    got_loss, got_g = tuple_of(outcome, 2)
    got_g = student_grads(got_g, keys)
    loss, grads = model.loss_and_grads(x, eps)
    grads = {k: g.copy() for k, g in grads.items()}
    mu, lv = model.encode(x)
    z, _ = model.reparam.forward(mu, lv, eps)
    rec = model.log_likelihood(x, z).mean()                     # E log P(X|z), one z each
    kl = kl_normal(mu, lv)[0].mean()
    loss_only = lambda: model.loss_and_grads(x, eps)[0]
    wrong = {k: vae_variant(model, x, eps, k)
             for k in ("KL −1", "z for mu", "1/N missing", "KL missing", "factor 2")}
    parts = [grade(1, "loss (a float)", got_loss, loss, None,
                   [(rec + kl, "sign"), (rec - kl, "sign"), (-rec - kl, "KL sign"),
                    (-rec, "KL missing"), (N * loss, "1/N missing")], MODEL)]
    groups = (("decoder: ∂loss/∂decoder.*", ("decoder.",)),
              ("heads: ∂loss/∂mu.*, log_var.*", ("mu.", "log_var.")),
              ("encoder: ∂loss/∂encoder.*", ("encoder.",)))
    for n, (what, prefixes) in enumerate(groups, start=2):
        ks = [k for k in keys if k.startswith(prefixes)]
        ref = grads_vector(grads, ks)
        got = got_g if got_g[1] else (grads_vector(got_g[0], ks), None)
        variants = [(grads_vector(w, ks), k) for k, w in wrong.items()] + common(ref, N)
        parts.append(grade(n, what, got, ref, fd_params(loss_only, model.params, ks), variants, MODEL))
    return parts


def ex07(m, rng):
    """Importance-sampled log P(X) (beyond the paper: Rezende et al. 2014; Burda et al. 2016)."""
    S, B = 50, 4
    a = 3 * rng.standard_normal((S, B))
    ref = logsumexp(a, axis=0) - np.log(S)
    direct = np.log(np.mean(np.exp(a), axis=0))                 # safe at this scale
    big = a + np.array([-1000.0, -1000.0, 800.0, 800.0])
    ref_big = logsumexp(big, axis=0) - np.log(S)
    model = tiny_vae(rng)
    x = rng.random((B, model.x_dim))
    mu, lv = model.encode(x)
    eps = rng.standard_normal((S, B, model.z_dim))
    ref_w = importance_log_weights(model, x, mu, lv, eps)
    z = mu + np.exp(0.5 * lv) * eps                             # (S, B, K)  Eq. 10
    lpxz = model.log_likelihood(np.broadcast_to(x, (S, B, model.x_dim)).reshape(S * B, -1),
                                z.reshape(S * B, -1)).reshape(S, B)
    lpz, lqz = log_normal(z, 0.0, 0.0), log_normal(z, mu, lv)
    lqz_sigma = log_normal(z, mu, 2 * lv)                      # log_var read as log σ
    return [
        grade(1, "log_mean_exp (B,), moderate a", call(m, "log_mean_exp", a), ref, None,
              [(direct + np.log(S), "log sum"), (a.mean(axis=0), "mean of logs")]),
        grade(2, "log_mean_exp at a ≈ −1000 and 800", call(m, "log_mean_exp", big), ref_big,
              None, [(ref_big + np.log(S), "log sum")], nonfinite="lse overflow"),
        grade(3, "log_weights (S, B)", call(m, "log_weights", model, x, mu, lv, eps), ref_w, None,
              [(lpxz + lpz + lqz, "log Q sign"), (lpxz - lqz, "prior missing"),
               (lpxz + lpz - lqz_sigma, "log σ for log σ²"), (-ref_w, "sign")], MODEL),
    ]


def tiny_cvae(rng):
    return CVAE(x_dim=4, y_dim=6, hidden=(5, 4), z_dim=2, join=1, init="he",
                dtype=np.float64, seed=int(rng.integers(2 ** 31)))


def cvae_junction_grads(model, x, y, eps):
    """(c_join, c_out, loss(c_join, c_out), dc_join, dc_out) at the two junctions, batch mean."""
    c_out, c_join, _ = model.cond.forward(x)

    def loss():
        h, _, _ = model.encoder.forward(y, c_join)
        mu, lv = model.mu_head.forward(h)[0], model.log_var_head.forward(h)[0]
        z = mu + np.exp(0.5 * lv) * eps
        logits, _, _ = model.decoder.forward(z, c_out)
        return np.mean(bernoulli_nll(logits, y)[0] + kl_normal(mu, lv)[0])
    N = x.shape[0]
    h, _, enc = model.encoder.forward(y, c_join)
    (mu, c_mu), (lv, c_lv) = model.mu_head.forward(h), model.log_var_head.forward(h)
    z, c_z = model.reparam.forward(mu, lv, eps)
    logits, _, dec = model.decoder.forward(z, c_out)
    _, dlogits = bernoulli_nll(logits, y)
    _, dmu_kl, dlv_kl = kl_normal(mu, lv)
    dz, dc_out = model.decoder.backward(dlogits / N, dec)
    dmu, dlv = model.reparam.backward(dz, c_z)
    dh = model.mu_head.backward(dmu + dmu_kl / N, c_mu) + model.log_var_head.backward(dlv + dlv_kl / N, c_lv)
    _, dc_join = model.encoder.backward(dh, enc, need_dx=False)
    return c_join, c_out, loss, dc_join, dc_out


def ex08(m, rng):
    """The CVAE's two junctions (§3, Fig. 6; the junctions of the reference code, §4.2)."""
    a, c, dh = (rng.standard_normal((4, 3)) for _ in range(3))
    c = away_from_zero(a + c) - a                               # a + c away from the kink
    h, cache = ReLU().forward(a + c)
    da = ReLU().backward(dh, cache)                             # = dc: a sum's two addends
    f = lambda: np.sum(np.maximum(a + c, 0) * dh)
    ref1 = np.concatenate([da, da], axis=None)
    fd1 = np.concatenate([numerical_grad(f, a), numerical_grad(f, c)], axis=None)

    N = 4
    model = tiny_cvae(rng)
    x, y = rng.random((N, model.x_dim)), rng.random((N, model.y_dim))
    eps = rng.standard_normal((N, model.z_dim))
    c_join, c_out, loss, dc_join, dc_out = cvae_junction_grads(model, x, y, eps)
    ref2 = np.concatenate([dc_join, dc_out], axis=None)
    fd2 = np.concatenate([numerical_grad(loss, c_join), numerical_grad(loss, c_out)], axis=None)

    keys = [k for k in model.params if k.startswith("cond.")]
    got3 = student_grads(call(m, "cond_grads", model, x, dc_join, dc_out), keys)
    got3 = got3 if got3[1] else (grads_vector(got3[0], keys), None)
    ref3 = grads_vector(model.loss_and_grads(x, y, eps)[1], keys)
    fd3 = fd_params(lambda: model.loss_and_grads(x, y, eps)[0], model.params, keys)

    def cond_tower_alone(dtap, dy):                             # a wrong answer: one path only
        _, _, cc = model.cond.forward(x)
        model.cond.backward(dy, cc, dtap=dtap, need_dx=False)
        return grads_vector(model.grads, keys)
    one_path = [(cond_tower_alone(None, dc_out), "one path"),
                (cond_tower_alone(dc_join, np.zeros_like(dc_out)), "one path")]
    return [
        grade(1, "junction: (da, dc) from dh, h", joined(call(m, "junction_backward", dh, h), 2),
              ref1, fd1, [(np.concatenate([dh, dh], axis=None), "ReLU mask"),
                          (ref1 / 2, "junction split"),
                          (np.concatenate([da, 0 * da], axis=None), "junction split")]),
        grade(2, "(dc_join, dc_out) of the batch loss",
              joined(call(m, "junction_grads", model, x, y, eps), 2), ref2, fd2,
              common(ref2, N), MODEL),
        grade(3, "cond tower: ∂loss/∂cond.*", got3, ref3, fd3, one_path + common(ref3, N), MODEL),
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
