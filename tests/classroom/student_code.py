"""What students write, for the classroom tests: correct solutions and the helpers that file them.

Every solution here is written from the formulas in the stubs, as a student
would, in two formulations per exercise where there are two (einsum against
matrix products, np.logaddexp against a shifted log-sum-exp, the KL summed per
element, gradients written in terms of y or of x).  None calls the minivae
function that solves its exercise; exercises 6 and 8 use the model's layers,
as their stubs ask.  A planted mistake is one of these with one function
replaced by hand (test_exercises.py).
"""
from minivae.classroom.exercises import EXERCISES
from minivae.classroom.materials import stubs_dir
from minivae.commands.cli import main

STUBS = stubs_dir()

# exercise 6 as its stub asks: the model's layers, forward then backward (Fig. 4, right);
# the gradients reaching the two heads and the loss are left to fill in
EX06 = '''
def loss_and_grads(model, x, eps):
    N = len(x)
    h, c_enc = model.encoder.forward(x)
    mu, c_mu = model.mu_head.forward(h)
    log_var, c_lv = model.log_var_head.forward(h)
    z, c_z = model.reparam.forward(mu, log_var, eps)
    logits, c_dec = model.decoder.forward(z)
    nll, dlogits = bernoulli_nll(logits, x)
    kl, dmu_kl, dlv_kl = kl_normal(mu, log_var)
    dz = model.decoder.backward(dlogits / N, c_dec)
    dmu, dlv = model.reparam.backward(dz, c_z)
    dh = model.mu_head.backward({mu_grad}, c_mu)
    dh = dh + model.log_var_head.backward({log_var_grad}, c_lv)
    model.encoder.backward(dh, c_enc, need_dx=False)
    return float({loss}), {{k: g.copy() for k, g in model.grads.items()}}
'''

SOLUTIONS = {   # exercise -> [code appended to the stub: its functions, solved]
    1: ['''
def dense_backward_W(x, dy):
    return x.T @ dy
def dense_backward_b(dy):
    return dy.sum(axis=0)
def dense_backward_x(dy, W):
    return dy @ W.T
''', '''
def dense_backward_W(x, dy):
    return np.einsum("nd,nh->dh", x, dy)
def dense_backward_b(dy):
    return np.einsum("nh->h", dy)
def dense_backward_x(dy, W):
    return np.einsum("nh,dh->nd", dy, W)
'''],
    2: ['''
def relu_backward(dy, y):
    return dy * (y > 0)
def sigmoid_backward(dy, y):
    return dy * y * (1 - y)
''', '''
def relu_backward(dy, y):
    return np.where(y > 0, dy, 0.0)
def sigmoid_backward(dy, y):
    return dy * (y - y ** 2)
'''],
    3: ['''
def bernoulli_nll(logits, x):
    e = np.exp(-np.abs(logits))
    nll = (np.maximum(logits, 0) - logits * x + np.log1p(e)).sum(axis=1)
    p = np.where(logits >= 0, 1 / (1 + e), e / (1 + e))
    return nll, p - x
''', '''
def bernoulli_nll(logits, x):
    # −log sig(l) = logaddexp(0, −l),  −log(1 − sig(l)) = logaddexp(0, l)
    nll = np.sum(x * np.logaddexp(0, -logits) + (1 - x) * np.logaddexp(0, logits), axis=1)
    return nll, np.exp(-np.logaddexp(0, -logits)) - x
'''],
    4: ['''
def kl_normal(mu, log_var):
    kl = 0.5 * np.sum(np.exp(log_var) + mu ** 2 - 1 - log_var, axis=1)
    return kl, mu.copy(), 0.5 * (np.exp(log_var) - 1)
''', '''
def kl_normal(mu, log_var):
    # Eq. 7 term by term, summed per element: tr Σ, μᵀμ, −K, −log det Σ
    N, K = mu.shape
    kl = np.zeros(N)
    for n in range(N):
        for j in range(K):
            kl[n] += 0.5 * (np.exp(log_var[n, j]) + mu[n, j] ** 2 - 1 - log_var[n, j])
    return kl, 1.0 * mu, np.exp(log_var) / 2 - 0.5
'''],
    5: ['''
def reparam_forward(mu, log_var, eps):
    return mu + np.exp(0.5 * log_var) * eps
def reparam_backward(dz, mu, log_var, eps):
    return dz.copy(), 0.5 * dz * np.exp(0.5 * log_var) * eps
''', '''
def reparam_forward(mu, log_var, eps):
    return mu + np.sqrt(np.exp(log_var)) * eps
def reparam_backward(dz, mu, log_var, eps):
    z = reparam_forward(mu, log_var, eps)
    return 1.0 * dz, 0.5 * dz * (z - mu)
'''],
    6: [EX06.format(mu_grad="dmu + dmu_kl / N", log_var_grad="dlv + dlv_kl / N",
                    loss="np.mean(nll + kl)"), '''
def loss_and_grads(model, x, eps):
    # the reparameterization, the KL and the sigmoid's gradient by hand; model.grads returned
    N = len(x)
    h, c_enc = model.encoder.forward(x)
    mu, c_mu = model.mu_head.forward(h)
    log_var, c_lv = model.log_var_head.forward(h)
    std = np.exp(0.5 * log_var)
    z = mu + std * eps
    logits, c_dec = model.decoder.forward(z)
    nll = np.sum(np.logaddexp(0, logits) - logits * x)
    kl = 0.5 * np.sum(np.exp(log_var) + mu ** 2 - 1 - log_var)   # per element, then summed
    dlogits = 1 / (1 + np.exp(-logits)) - x
    dz = model.decoder.backward(dlogits / N, c_dec)
    dmu = dz + mu / N
    dlv = 0.5 * dz * std * eps + 0.5 * (np.exp(log_var) - 1) / N
    dh = model.mu_head.backward(dmu, c_mu) + model.log_var_head.backward(dlv, c_lv)
    model.encoder.backward(dh, c_enc, need_dx=False)
    return (nll + kl) / N, model.grads
'''],
    7: ['''
def log_mean_exp(a):
    m = a.max(axis=0, keepdims=True)
    return (m + np.log(np.mean(np.exp(a - m), axis=0, keepdims=True)))[0]
def log_weights(model, x, mu, log_var, eps):
    S, B, K = eps.shape
    z = mu + np.exp(0.5 * log_var) * eps
    xs = np.broadcast_to(x, (S,) + x.shape).reshape(S * B, -1)
    log_px = model.log_likelihood(xs, z.reshape(S * B, K)).reshape(S, B)
    log_pz = -0.5 * np.sum(np.log(2 * np.pi) + z ** 2, axis=-1)
    log_qz = -0.5 * np.sum(np.log(2 * np.pi) + log_var + eps ** 2, axis=-1)
    return log_px + log_pz - log_qz
''', '''
def log_mean_exp(a):
    return np.logaddexp.reduce(a, axis=0) - np.log(a.shape[0])
def log_weights(model, x, mu, log_var, eps):
    S = eps.shape[0]
    z = mu + np.exp(log_var / 2) * eps
    log_px = np.stack([model.log_likelihood(x, z[s]) for s in range(S)])
    return log_px + log_normal(z, 0.0, 0.0) - log_normal(z, mu, log_var)
'''],
    8: ['''
def junction_backward(dh, h):
    d = np.where(h > 0, dh, 0.0)
    return d, d.copy()
def junction_grads(model, x, y, eps):
    _, p = forward(model, x, y, eps)
    N = len(x)
    dz, dc_out = model.decoder.backward(p.dlogits / N, p.decoder)
    dmu, dlv = model.reparam.backward(dz, p.c_z)
    dh = model.mu_head.backward(dmu + p.dmu_kl / N, p.c_mu)
    dh = dh + model.log_var_head.backward(dlv + p.dlv_kl / N, p.c_lv)
    _, dc_join = model.encoder.backward(dh, p.encoder, need_dx=False)
    return dc_join, dc_out
def cond_grads(model, x, dc_join, dc_out):
    _, _, cache = model.cond.forward(x)
    model.cond.backward(dc_out, cache, dtap=dc_join, need_dx=False)
    return {k: g.copy() for k, g in model.grads.items() if k.startswith("cond.")}
''', '''
def junction_backward(dh, h):
    return dh * (h > 0), dh * (h > 0)
'''],
}


def solved(n, which=0):
    """The stub of exercise n with solution `which` appended (for exercise 8 the second
    solution replaces only junction_backward)."""
    base = SOLUTIONS[n][0] if which else ""
    return base + SOLUTIONS[n][which]


def write(folder, n, extra="", name=None):
    """A copy of stub n with code appended, named like the stub unless `name` is given."""
    stub = STUBS / EXERCISES[n][0]
    path = folder / (name or stub.name)
    path.write_text(stub.read_text(encoding="utf-8") + "\n" + extra + "\n", encoding="utf-8")
    return path


def check(capsys, *argv):
    """`python -m minivae check ARGV`, in this process: (exit code, stdout, stderr)."""
    code = main(["check", *map(str, argv)])
    out = capsys.readouterr()
    return code, out.out, out.err


def failing_line(out, part):
    """The line "part N: …" that says why part N did not pass, or ""."""
    return next((line for line in out.splitlines() if line.startswith(f"part {part}: ")), "")


def result_rows(out):
    """{part number: the table row's words} of a check's printed table."""
    return {int(line.split()[0]): line.split() for line in out.splitlines()
            if line[:1].isdigit() and len(line.split()) > 2}
