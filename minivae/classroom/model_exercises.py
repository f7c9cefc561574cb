"""The graders of exercises 6–8, each on a small float64 model (exercises 1–5: exercises.py).

The student's function gets the model as its layers (given.py: never the
model's own loss_and_grads), copied into the sandbox, so it works on its own
copy: the references below are computed on this process's model, which the
student's code never touches, and a function that changes the parameters is
reported (parts.grade).
Every gradient is compared on its own, key by key.
Shapes: N batch, D data dim, K latent dims (the paper's k), S samples.
"""
import numpy as np
from scipy.special import logsumexp

from ..cvae import CVAE
from ..evaluate import importance_log_weights
from ..gradcheck import numerical_grad
from ..layers import ReLU
from ..losses import bernoulli_nll, kl_normal, log_normal
from ..model import VAE
from .parts import MODEL, away_from_zero, common, entries, fd_params, grade, pick, returned


def tiny_vae(rng):
    return VAE(x_dim=6, hidden=(5,), z_dim=3, likelihood="bernoulli", init="he",
               dtype=np.float64, seed=int(rng.integers(2 ** 31)))


# exercise 6's mistakes: (hint key, what vae_variant computes)
VAE_MISTAKES = [("KL −1", "KL −1"), ("z for mu", "z for mu"), ("1/N missing", "1/N missing"),
                ("KL missing", "KL missing"), ("KL sign", "KL sign"), ("factor 2", "factor 2"),
                ("sign", "∂KL/∂mu flipped"), ("sign", "∂KL/∂log_var flipped")]


def vae_variant(model, x, eps, mistake=None):
    """Gradients of the VAE's loss as model.loss_and_grads computes them, or with one mistake
    (VAE_MISTAKES)."""
    N = x.shape[0]
    h, c_enc = model.encoder.forward(x)
    mu, c_mu = model.mu_head.forward(h)
    log_var, c_lv = model.log_var_head.forward(h)
    z, c_z = model.reparam.forward(mu, log_var, eps)
    x_logits, c_dec = model.decoder.forward(z)
    _, dx_logits = bernoulli_nll(x_logits, x)
    _, dmu_kl, dlv_kl = kl_normal(mu, log_var)
    if mistake == "KL −1":
        dlv_kl = 0.5 * np.exp(log_var)
    if mistake == "z for mu":
        dmu_kl = z
    if mistake == "∂KL/∂mu flipped":                            # the sign of Eq. 7's gradient
        dmu_kl = -dmu_kl
    if mistake == "∂KL/∂log_var flipped":
        dlv_kl = -dlv_kl
    kl_scale = {"1/N missing": 1.0, "KL missing": 0.0, "KL sign": -1 / N}.get(mistake, 1 / N)
    dz = model.decoder.backward(dx_logits / N, c_dec)
    dmu, dlv = model.reparam.backward(dz, c_z)
    if mistake == "factor 2":
        dlv = 2 * dlv
    dh = model.mu_head.backward(dmu + dmu_kl * kl_scale, c_mu)
    dh += model.log_var_head.backward(dlv + dlv_kl * kl_scale, c_lv)
    model.encoder.backward(dh, c_enc, need_dx=False)
    return {k: g.copy() for k, g in model.grads.items()}


def ex06(student, rng):
    """The whole VAE's loss_and_grads, assembled from minivae's layers (Fig. 4, right)."""
    N = 4
    model = tiny_vae(rng)
    x, eps = rng.random((N, model.x_dim)), rng.standard_normal((N, model.z_dim))
    keys = list(model.params)
    got = returned(student.call("loss_and_grads", model, x, eps), ("loss", "grads"))
    got_grads = pick(got, "grads")
    loss, grads = model.loss_and_grads(x, eps)
    mu, log_var = model.encode(x)
    z, _ = model.reparam.forward(mu, log_var, eps)
    rec = model.log_likelihood(x, z).mean()                     # E log P(X|z), one z each
    kl = kl_normal(mu, log_var)[0].mean()
    loss_only = lambda: model.loss_and_grads(x, eps)[0]
    wrong = [(key, vae_variant(model, x, eps, mistake)) for key, mistake in VAE_MISTAKES]
    parts = [grade(1, "loss (a float)", pick(got, "loss"), np.float64(loss), None,
                   [(rec + kl, "sign"), (rec - kl, "sign"), (-rec - kl, "KL sign"),
                    (-rec, "KL missing"), (N * loss, "1/N missing")], MODEL)]
    groups = (("decoder: ∂loss/∂decoder.*", ("decoder.",)),
              ("heads: ∂loss/∂mu.*, log_var.*", ("mu.", "log_var.")),
              ("encoder: ∂loss/∂encoder.*", ("encoder.",)))
    for n, (what, prefixes) in enumerate(groups, start=2):
        ks = [k for k in keys if k.startswith(prefixes)]
        ref = {k: grads[k] for k in ks}
        variants = [({k: w[k] for k in ks}, key) for key, w in wrong] + common(ref, N)
        parts.append(grade(n, what, entries(got_grads, ks), ref,
                           fd_params(loss_only, model.params, ks), variants, MODEL))
    return parts


def far_apart(rng, S):
    """a (S, 3) whose columns span ~900 nats: the naive log-mean-exp under- or overflows
    in columns 0 and 1; shifted by the minimum, the mean, the median or the first row
    (rather than each column's maximum) it overflows in column 2 or 1."""
    a = 3 * rng.standard_normal((S, 3))
    a[:, 0] += -1000.0
    a[::10, 0] += -900.0            # rows 0, 10, …: the first row is far below the maximum
    a[:, 1] += 800.0
    a[::10, 1] += -900.0
    a[:, 2] += -800.0
    a[5::10, 2] += 800.0            # a few near 0: the mean and median sit ~800 below the max
    a[0, 2] = -900.0
    return a


def ex07(student, rng):
    """Importance-sampled log P(X) (beyond the paper: Rezende et al. 2014; Burda et al. 2016)."""
    S, B = 50, 4
    a = 3 * rng.standard_normal((S, B))
    ref = logsumexp(a, axis=0) - np.log(S)
    big = far_apart(rng, S)
    ref_big = logsumexp(big, axis=0) - np.log(S)
    model = tiny_vae(rng)
    x = rng.random((B, model.x_dim))
    mu, log_var = model.encode(x)
    eps = rng.standard_normal((S, B, model.z_dim))
    ref_w = importance_log_weights(model, x, mu, log_var, eps)
    z = mu + np.exp(0.5 * log_var) * eps                             # (S, B, K)  Eq. 10
    lpxz = model.log_likelihood(np.broadcast_to(x, (S, B, model.x_dim)).reshape(S * B, -1),
                                z.reshape(S * B, -1)).reshape(S, B)
    lpz, lqz = log_normal(z, 0.0, 0.0), log_normal(z, mu, log_var)
    lqz_log_std = log_normal(z, mu, 2 * log_var)                     # log_var read as log std
    return [
        grade(1, "log_mean_exp (B,), moderate a", student.call("log_mean_exp", a), ref, None,
              [(ref + np.log(S), "log sum"), (a.mean(axis=0), "mean of logs"),
               (ref - a.max(axis=0), "m dropped")]),
        grade(2, "log_mean_exp, columns 900 nats wide", student.call("log_mean_exp", big),
              ref_big, None, [(ref_big + np.log(S), "log sum"), (big.mean(axis=0), "mean of logs"),
                              (ref_big - big.max(axis=0), "m dropped")], nonfinite="lse overflow"),
        grade(3, "log_weights (S, B)", student.call("log_weights", model, x, mu, log_var, eps),
              ref_w, None, [(lpxz + lpz + lqz, "log Q sign"), (lpxz - lqz, "prior missing"),
                     (lpxz + lpz - lqz_log_std, "log_var as log std"), (-ref_w, "sign")], MODEL),
    ]


def tiny_cvae(rng):
    return CVAE(x_dim=4, y_dim=6, hidden=(5, 4), z_dim=2, join=1, init="he",
                dtype=np.float64, seed=int(rng.integers(2 ** 31)))


def cvae_junction_grads(model, x, y, eps):
    """(c_join, c_out, loss(c_join, c_out), dc_join, dc_out) at the two junctions, batch mean."""
    c_out, c_join, _ = model.cond.forward(x)

    def loss():
        h, _, _ = model.encoder.forward(y, c_join)
        mu, log_var = model.mu_head.forward(h)[0], model.log_var_head.forward(h)[0]
        z = mu + np.exp(0.5 * log_var) * eps
        logits, _, _ = model.decoder.forward(z, c_out)
        return np.mean(bernoulli_nll(logits, y)[0] + kl_normal(mu, log_var)[0])
    N = x.shape[0]
    h, _, enc = model.encoder.forward(y, c_join)
    (mu, c_mu), (log_var, c_lv) = model.mu_head.forward(h), model.log_var_head.forward(h)
    z, c_z = model.reparam.forward(mu, log_var, eps)
    logits, _, dec = model.decoder.forward(z, c_out)
    _, dlogits = bernoulli_nll(logits, y)
    _, dmu_kl, dlv_kl = kl_normal(mu, log_var)
    dz, dc_out = model.decoder.backward(dlogits / N, dec)
    dmu, dlv = model.reparam.backward(dz, c_z)
    dh = (model.mu_head.backward(dmu + dmu_kl / N, c_mu)
          + model.log_var_head.backward(dlv + dlv_kl / N, c_lv))
    _, dc_join = model.encoder.backward(dh, enc, need_dx=False)
    return c_join, c_out, loss, dc_join, dc_out


def ex08(student, rng):
    """The CVAE's two junctions (§3, Fig. 6; the junctions of the reference code, §4.2)."""
    a, c, dh = (rng.standard_normal((4, 3)) for _ in range(3))
    c = away_from_zero(a + c) - a
    h, cache = ReLU().forward(a + c)
    da = ReLU().backward(dh, cache)                             # = dc: a sum's two addends
    f = lambda: np.sum(np.maximum(a + c, 0) * dh)
    ref1, fd1 = {"da": da, "dc": da}, {"da": numerical_grad(f, a), "dc": numerical_grad(f, c)}

    N = 3                                                       # ≠ the widths 4: a transpose shows
    model = tiny_cvae(rng)
    x, y = rng.random((N, model.x_dim)), rng.random((N, model.y_dim))
    eps = rng.standard_normal((N, model.z_dim))
    c_join, c_out, loss, dc_join, dc_out = cvae_junction_grads(model, x, y, eps)
    ref2 = {"dc_join": dc_join, "dc_out": dc_out}
    fd2 = {"dc_join": numerical_grad(loss, c_join), "dc_out": numerical_grad(loss, c_out)}

    keys = [k for k in model.params if k.startswith("cond.")]
    got3 = entries(student.call("cond_grads", model, x, dc_join, dc_out), keys)
    grads = model.loss_and_grads(x, y, eps)[1]
    ref3 = {k: grads[k] for k in keys}
    fd3 = fd_params(lambda: model.loss_and_grads(x, y, eps)[0], model.params, keys)

    def cond_tower_alone(dtap, dy):                             # a wrong answer: one path only
        _, _, cc = model.cond.forward(x)
        model.cond.backward(dy, cc, dtap=dtap, need_dx=False)
        return {k: model.grads[k].copy() for k in keys}
    one_path = [(cond_tower_alone(None, dc_out), "one path"),
                (cond_tower_alone(dc_join, np.zeros_like(dc_out)), "one path")]
    got1 = returned(student.call("junction_backward", dh, h), ("da", "dc"))
    got2 = returned(student.call("junction_grads", model, x, y, eps), ("dc_join", "dc_out"))
    return [
        grade(1, "junction: (da, dc) from dh, h", got1, ref1, fd1,
              [({"da": dh, "dc": dh}, "ReLU mask"), ({"da": da / 2, "dc": da / 2}, "junction split"),
               ({"da": da, "dc": 0 * da}, "junction split"),
               ({"da": 0 * da, "dc": da}, "junction split")]),
        grade(2, "(dc_join, dc_out) of the batch loss", got2, ref2, fd2, common(ref2, N), MODEL),
        grade(3, "cond tower: ∂loss/∂cond.*", got3, ref3, fd3, one_path + common(ref3, N), MODEL),
    ]
