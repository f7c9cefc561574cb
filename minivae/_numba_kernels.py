"""Hot-path kernels, Numba versions: one twin per function of kernels_numpy.

The only module that imports numba; minivae.kernels imports it only for the
numba backend.  Each public function has its NumPy reference's signature.
What runs where was decided by measurement (`python -m minivae bench`):

* matrix products stay with BLAS (np.matmul, out=): the readable loop
  `matmul` below is several times slower than OpenBLAS, and np.dot inside
  @njit calls a second BLAS copy whose threads would fight the first;
* exp and log stay with NumPy, whose SIMD versions are ~10× faster than the
  scalar libm calls Numba makes without Intel's SVML; NumPy's log1p has no
  SIMD version (6× slower than its log), so the cross-entropy gets log1p from
  log (`_xent_combine`);
* the elementwise work around them is fused into single @njit passes: bias +
  ReLU; ReLU mask + bias gradient; the cross-entropy's value and gradient;
  the optimizer updates (on two threads when OpenBLAS lets them: Halves).

Compiled with cache=True (machine code kept on disk, loaded in milliseconds
next time) and error_model="numpy" (x/0 gives inf instead of raising, which
lets LLVM vectorize).  Loops walk row views (`row = y[n]`), the form LLVM
vectorizes here; 2-D indexing mixed with flat indices ran 5× slower.
"""
import math
import os
import threading

import numba
import numpy as np

from .blas_threads import update_threads
from .kernels_numpy import adam_v_limits

_OPTS = dict(cache=True, error_model="numpy", nogil=True)
jit = numba.njit(**_OPTS)
rjit = numba.njit(fastmath={"reassoc"}, **_OPTS)    # reassociation lets LLVM vectorize sums


def _like(a):
    return np.empty(a.shape, a.dtype)


def _flat(a):
    return a.reshape(-1)        # a view when contiguous, else a contiguous copy (inputs only)


# --- Dense layer -------------------------------------------------------------
@jit
def _bias_act(y, b, relu):
    """y ← y + b, then y ← max(y, 0) if relu: one pass over y (N, H), in place."""
    zero = y.dtype.type(0)      # typed constants keep float32 maths in float32
    for n in range(y.shape[0]):
        row = y[n]
        for h in range(row.size):
            v = row[h] + b[h]
            row[h] = max(v, zero) if relu else v


@jit
def _mask_colsum(dy, relu_y, masked, db):
    """masked = dy ⊙ [relu_y > 0] (skipped if relu_y is None), db = Σ_n masked."""
    zero = dy.dtype.type(0)
    db[:] = zero
    for n in range(dy.shape[0]):
        g, out = dy[n], masked[n]
        if relu_y is None:
            for h in range(g.size):
                db[h] += g[h]
        else:
            y = relu_y[n]
            for h in range(g.size):
                d = g[h] if y[h] > zero else zero
                out[h] = d
                db[h] += d


def dense_forward(x, W, b, relu=False, out=None):
    """y = x @ W + b (and max(y, 0) if relu): BLAS matmul, then one fused pass."""
    y = np.matmul(x, W, out=out)
    _bias_act(y, b, bool(relu))
    return y


def dense_backward(x, W, dy, dW, db, need_dx=True, relu_y=None):
    """dy ← dy ⊙ [relu_y > 0] fused with db = Σ_n dy;  dW = xᵀ dy;  dx = dy Wᵀ."""
    masked = dy if relu_y is None else _like(dy)
    _mask_colsum(dy, relu_y, masked, db)
    np.matmul(x.T, masked, out=dW)
    return np.matmul(masked, W.T) if need_dx else None


# --- Elementwise activations (flat passes over any shape) -------------------------
@jit
def _relu(x, y):
    for i in range(x.size):
        y[i] = max(x[i], x.dtype.type(0))


@jit
def _relu_grad(dy, y, dx):
    for i in range(dy.size):
        dx[i] = dy[i] if y[i] > 0 else dy.dtype.type(0)


@jit
def _neg_abs(x, out):
    for i in range(x.size):
        out[i] = -abs(x[i])


@jit
def _sigmoid_from_e(x, e, y):
    """sigmoid(x) from e = exp(−|x|):  1/(1+e) for x ≥ 0,  e/(1+e) for x < 0 (no overflow)."""
    one = x.dtype.type(1)
    for i in range(x.size):
        s = one / (one + e[i])
        y[i] = s if x[i] >= 0 else e[i] * s


def _exp_neg_abs(x):
    """exp(−|x|) in x's shape: one fused pass, then NumPy's SIMD exp in place."""
    e = _like(x)
    _neg_abs(_flat(x), _flat(e))
    return np.exp(e, out=e)


def relu_forward(x):
    y = _like(x)
    _relu(_flat(x), _flat(y))
    return y


def relu_backward(dy, y):
    dx = _like(dy)
    _relu_grad(_flat(dy), _flat(y), _flat(dx))
    return dx


def sigmoid(x):
    y = _like(x)
    _sigmoid_from_e(_flat(x), _flat(_exp_neg_abs(x)), _flat(y))
    return y


# --- Bernoulli likelihood from logits ----------------------------------------------
@rjit
def _xent_combine(logits, x, e, log_u, nll, dlogits):
    """nll[n] = Σ_d max(l, 0) − l·x + log1p(e),  dlogits = sigmoid(l) − x,  e = exp(−|l|).

    Value and gradient in one pass; each row's sum is accumulated in float64.
    log1p(e) comes from log_u = log(u), u = 1 + e rounded, as
    log(u) · e / (u − 1), and as e itself where u rounds to 1 (Goldberg 1991,
    "What every computer scientist should know about floating-point
    arithmetic", Theorem 4: within a few ulps when log is accurate; u − 1 is
    exact for u in [1, 2]).  The factor e / (u − 1) undoes the rounding of
    1 + e, which plain log(1 + e) would carry into a relative error of up to
    100% for e near the precision's epsilon.
    """
    zero, one = logits.dtype.type(0), logits.dtype.type(1)
    for n in range(logits.shape[0]):
        l, t, e_n, lu, dl = logits[n], x[n], e[n], log_u[n], dlogits[n]
        acc = 0.0
        for d in range(l.size):
            u = one + e_n[d]
            log1p_e = e_n[d] if u == one else lu[d] * (e_n[d] / (u - one))
            acc += max(l[d], zero) - l[d] * t[d] + log1p_e
            s = one / u
            dl[d] = (s if l[d] >= zero else e_n[d] * s) - t[d]
        nll[n] = acc


def bernoulli_nll(logits, x):
    e = _exp_neg_abs(logits)
    log_u = np.add(e, 1, out=_like(e))
    nll, dlogits = np.empty(logits.shape[0], logits.dtype), _like(logits)
    _xent_combine(logits, x, e, np.log(log_u, out=log_u), nll, dlogits)
    return nll, dlogits


# --- Reparameterization and KL (Eqs. 7, 10), shapes (N, K): exp by NumPy, rest fused ---
@jit
def _reparam(mu, std, eps, z):
    for n in range(mu.shape[0]):
        m, s, e, out = mu[n], std[n], eps[n], z[n]
        for k in range(m.size):
            out[k] = m[k] + s[k] * e[k]


@jit
def _reparam_grad(dz, std, eps, dlog_var):
    half = dz.dtype.type(0.5)
    for n in range(dz.shape[0]):
        g, s, e, out = dz[n], std[n], eps[n], dlog_var[n]
        for k in range(g.size):
            out[k] = g[k] * e[k] * (half * s[k])


@rjit
def _kl(mu, log_var, var, kl, dlog_var):
    """kl[n] = ½ Σ_k (var + mu² − 1 − lv),  dlog_var = ½ (var − 1),  var = exp(lv)."""
    half, one = mu.dtype.type(0.5), mu.dtype.type(1)
    for n in range(mu.shape[0]):
        m, lv, var_n, dlv = mu[n], log_var[n], var[n], dlog_var[n]
        acc = 0.0
        for k in range(m.size):
            acc += var_n[k] + m[k] * m[k] - one - lv[k]
            dlv[k] = half * (var_n[k] - one)
        kl[n] = 0.5 * acc


def reparam_forward(mu, log_var, eps):
    std, z = np.exp(0.5 * log_var), _like(mu)
    _reparam(mu, std, eps, z)
    return z, std


def reparam_backward(dz, std, eps):
    dlog_var = _like(dz)
    _reparam_grad(dz, std, eps, dlog_var)
    return dz, dlog_var


def kl_normal(mu, log_var):
    kl, dlog_var = np.empty(mu.shape[0], mu.dtype), _like(mu)
    _kl(mu, log_var, np.exp(log_var), kl, dlog_var)
    return kl, mu.copy(), dlog_var


# --- Optimizer updates, in place, one pass over the flat vector ------------------------
# The pass is bound by memory bandwidth, which one core does not exhaust, so
# two threads (Halves below) finish it sooner, but only while OpenBLAS's idle
# workers sleep instead of spinning on the cores (minivae.blas_threads; the
# bench's `update 2/1 threads` ratio measures the gain).  Python threads,
# not a Numba thread pool: these kernels release the GIL (nogil=True), the
# helper waits on a semaphore without spinning, and no second OpenMP/TBB pool
# starts beside OpenBLAS's (an idle Numba pool slowed OpenBLAS's matmuls).
# The loops walk the vector from its end: measured 5–15% faster than from its
# start, as the first layers' arrays, touched last by backward and first by
# the next forward, then stay in cache.
@jit
def _sgd(p, g, velocity, lr, momentum, weight_decay, flush_below):
    zero = p.dtype.type(0)
    for i in range(p.size - 1, -1, -1):
        v = momentum * velocity[i] + g[i]
        if weight_decay:
            v += weight_decay * p[i]
        pi = p[i] - lr * v
        velocity[i] = zero if abs(v) < flush_below else v      # flush: see kernels_numpy
        p[i] = zero if abs(pi) < flush_below else pi


@jit
def _adam(p, g, m, v, step, beta1, beta2, c1, c2, adam_eps, weight_decay, flush_below,
          v_below, g_small, v_large):
    zero = p.dtype.type(0)
    for i in range(p.size - 1, -1, -1):
        gi = g[i] + weight_decay * p[i] if weight_decay else g[i]
        mi = beta1 * m[i] + c1 * gi
        vo = v[i]
        # leave out a subnormal (1−β2) g̃² (kernels_numpy.adam_v_limits); the select is
        # on g̃, not on the product, so no SIMD lane computes the subnormal either;
        # & and | rather than `and`/`or`, whose branches made the loop 20% slower
        skip = (abs(gi) < g_small) & ((vo == zero) | (vo >= v_large))
        gs = zero if skip else gi
        vi = beta2 * vo + c2 * gs * gs
        pi = p[i] - step * mi / (math.sqrt(vi) + adam_eps)
        p[i] = zero if abs(pi) < flush_below else pi            # flush: see kernels_numpy
        m[i] = zero if abs(mi) < flush_below else mi
        v[i] = zero if abs(vi) < v_below else vi


class Halves:
    """Run an elementwise @jit(nogil) kernel over the two halves of its 1-D arrays at once:
    the second half on a helper thread, the first on the caller.

    halves(kernel, arrays, scalars) computes exactly kernel(*arrays, *scalars),
    element for element, as each element's update reads and writes only its
    own index.  Arrays below MIN_SIZE elements, or a call while another thread
    is using the helper, run on the caller alone.  The helper thread starts on
    first use and again after a fork (a child process inherits no threads).
    """
    MIN_SIZE = 1 << 16          # below this the hand-off (tens of µs) costs more than it saves

    def __init__(self):
        self._busy = threading.Lock()
        self._go, self._done = threading.Semaphore(0), threading.Semaphore(0)
        self._job = self._error = None
        self._helper = None

    def _serve(self):
        while True:
            self._go.acquire()
            kernel, args = self._job
            try:
                kernel(*args)
            except BaseException as e:          # re-raised on the caller's thread
                self._error = e
            self._done.release()

    def __call__(self, kernel, arrays, scalars):
        n = arrays[0].size
        if n < self.MIN_SIZE or not self._busy.acquire(blocking=False):
            kernel(*arrays, *scalars)
            return
        try:
            if self._helper is None:
                self._helper = threading.Thread(target=self._serve, name="minivae-update",
                                                daemon=True)
                self._helper.start()
            mid = n // 2 - n // 2 % 16          # a cache-line boundary in both dtypes
            self._job = (kernel, (*(a[mid:] for a in arrays), *scalars))
            self._go.release()
            kernel(*(a[:mid] for a in arrays), *scalars)
            self._done.acquire()
            error, self._error = self._error, None
            if error is not None:
                raise error
        finally:
            self._busy.release()


def _one_thread(kernel, arrays, scalars):
    kernel(*arrays, *scalars)


def _update_threads_now():
    return 2 if isinstance(_run_update, Halves) else 1


def set_update_threads(n=None):
    """Run the optimizer updates on n threads, 1 or 2 (None: blas_threads.update_threads(),
    the measured choice).  Returns the count in effect before."""
    global _run_update
    before = _update_threads_now()
    n = update_threads() if n is None else n
    if n not in (1, 2):
        raise ValueError(f"update threads must be 1 or 2, got {n!r}")
    if n != before:
        _run_update = Halves() if n == 2 else _one_thread
    return before


_run_update = _one_thread
set_update_threads()


def _after_fork():
    global _run_update
    if isinstance(_run_update, Halves):
        _run_update = Halves()      # the parent's helper thread did not come along


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)


def _contiguous(*arrays):
    if not all(a.flags.c_contiguous for a in arrays):
        raise ValueError("the numba optimizer update needs C-contiguous arrays "
                         "(as model.flat_params and model.flat_grads are)")
    return arrays[0].dtype.type    # scalars go in at the arrays' precision, as NumPy's do


def sgd_update(p, g, velocity, lr, momentum, weight_decay, flush_below=0.0):
    f = _contiguous(p, g, velocity)
    _run_update(_sgd, (p, g, velocity), (f(lr), f(momentum), f(weight_decay), f(flush_below)))


def adam_update(p, g, m, v, lr, beta1, beta2, adam_eps, t, weight_decay, flush_below=0.0):
    f = _contiguous(p, g, m, v)
    step = lr * math.sqrt(1 - beta2 ** t) / (1 - beta1 ** t)
    v_below, g_small, v_large = adam_v_limits(p.dtype, beta2, adam_eps, flush_below)
    _run_update(_adam, (p, g, m, v),
                (f(step), f(beta1), f(beta2), f(1 - beta1), f(1 - beta2), f(adam_eps),
                 f(weight_decay), f(flush_below), f(v_below), f(g_small), f(v_large)))


# --- What a matrix product is ----------------------------------------------------------
@jit
def _matmul_loops(a, b, c):
    """c[n, h] = Σ_d a[n, d] b[d, h].

    Loop order n, d, h: the inner loop walks a row of b and a row of c side by
    side, so it vectorizes.  BLAS adds cache blocking, hand-tuned register
    tiles and threads on top; the benchmark shows what that is worth.  One
    thread, like every kernel here: a Numba thread pool, once started, slowed
    other libraries' threads (PyTorch's by 25% in the benchmark) even idle.
    """
    for n in range(a.shape[0]):
        c_n = c[n]
        c_n[:] = 0
        for d in range(a.shape[1]):
            a_nd, b_d = a[n, d], b[d]
            for h in range(c_n.size):
                c_n[h] += a_nd * b_d[h]


def matmul(a, b, out=None):
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0]:
        raise ValueError(f"matmul: shapes {a.shape} and {b.shape} do not multiply")
    c = np.empty((a.shape[0], b.shape[1]), np.result_type(a, b)) if out is None else out
    _matmul_loops(a, b, c)
    return c


# --- Compile (or load from the disk cache) before anything is timed ---------------------
def warmup(dtype):
    """Run every kernel the model and optimizers use on tiny arrays of `dtype`.

    The first run ever compiles (seconds); later runs load the cache.  The
    data-facing inputs are also warmed read-only, as MNIST arrays often are.
    """
    f = np.dtype(dtype).type
    a, b, w = np.ones((2, 3), f), np.ones((3, 2), f), np.ones(3, f)
    ro = a.copy()
    ro.flags.writeable = False
    for relu in (False, True):
        y = dense_forward(a, b, w[:2], relu=relu)
        dense_backward(a, b, y, np.empty_like(b), np.empty(2, f), relu_y=y if relu else None)
    relu_backward(relu_forward(a), a)
    sigmoid(a)
    for x in (a, ro):
        bernoulli_nll(a, x)
        z, std = reparam_forward(a, a, x)
    reparam_backward(z, std, a)
    kl_normal(a, a)
    sgd_update(w.copy(), w, w.copy(), 0.1, 0.9, 0.0)
    adam_update(w.copy(), w, w.copy(), w.copy(), 0.1, 0.9, 0.999, 1e-8, 1, 0.0)


def thread_info():
    """Numba's thread count and its threading layer if anything started one (nothing in
    minivae does), and the optimizer update's threads (Halves, blas_threads)."""
    try:
        layer = numba.threading_layer()
    except ValueError:
        layer = "not started"
    return {"numba_threads": numba.get_num_threads(), "numba_layer": layer,
            "update_threads": _update_threads_now()}
