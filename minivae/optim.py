"""Hand-written optimizers over a model's flat parameter vector.

Both add L2 weight decay to the gradient before the update (g ← g + wd·θ),
as the paper's Caffe solver does (`weight_decay: 0.0005`), rather than
decaying the weights separately (AdamW).  They update `params` in place
through minivae.kernels, in one pass over the one contiguous vector that
every layer's W and b are views of (see mlp.bind_flat).

Subnormal numbers are flushed to zero.  A float below the smallest normal
number (float32: 2⁻¹²⁶ ≈ 1.2e-38; float64: 2⁻¹⁰²² ≈ 2.2e-308) is stored as a
*subnormal*, with fewer significant bits, and many x86 CPUs, Intel's above
all, compute with subnormals through a slow microcode path.  This objective
makes them in large numbers: a weight that gets no gradient from the data
(one reading an MNIST border pixel that is 0 in every image, or a weight of a
unit whose ReLU never fires) sees only the decay term g̃ = wd·θ, which pulls
it towards 0, and Adam's first moment of such a weight shrinks by β1 every
step as g̃ dies away.  Within two epochs of the doersch preset about a
quarter of its 2.8 million weights and of their first moments fall below
1e-19 (README, "Speed", has the counts and what they cost).

So after each update both optimizers set every parameter and every first
moment (Adam's m, SGD's velocity) whose magnitude is below
`flush_threshold(dtype)` to 0.  The threshold is √(smallest normal), 2⁻⁶³ ≈
1.1e-19 in float32 and 2⁻⁵¹¹ ≈ 1.5e-154 in float64: the product of two numbers
at least that large is at least the smallest normal, so a weight that
survives the flush, multiplied in a matrix product by another surviving
weight or by anything larger (a pixel is 0 or ≥ 1/255), cannot underflow;
flushing only the subnormals themselves would leave such products
underflowing.  Adam's v holds squared gradients, so it is flushed below the
square of twice that, 4 × the smallest normal, and the update leaves out a
term (1−β2) g̃² that would be subnormal where that provably changes nothing
(kernels_numpy.adam_v_limits), so the update makes no subnormal number itself.

Every value that stays is exactly what the update computes without the
flush.  What is flushed is too small for a float32 network to feel directly,
but a flushed first moment moves a weight that is itself tiny, and float32
training is chaotic: a run with the flush follows the same run without it
step for step at first, then drifts off as runs do whose rounding differs
(README, "Speed", has the measurement).  In float64 the threshold lies 150
orders of magnitude below any trained weight.  The flush is a compare per
element in a pass that is bound by memory, not arithmetic;
`flush_subnormal=False` turns it off.
"""
import numpy as np

from . import kernels
from .checks import real


def _check_flat(params, grads):
    """Two writable contiguous 1-D float arrays of one shape and dtype, params finite.

    step() scans neither the gradient nor its result for inf or NaN (so a
    huge gradient can overflow the moments or the weights): np.isfinite over the
    doersch preset's 2.8 million gradients took 1.3–1.6 ms beside a 58–64 ms
    one-thread training step (2–3%, measured on the shared 2-core machine),
    and model.loss_and_grads raises checks.NonFiniteError rather than hand
    out an inf or NaN loss.
    """
    for name, a in (("params", params), ("grads", grads)):
        if not isinstance(a, np.ndarray) or a.ndim != 1 or not a.flags.c_contiguous:
            raise ValueError(f"{name} must be a contiguous 1-D array (e.g. model.flat_{name})")
        if a.dtype not in (np.float32, np.float64) or not a.flags.writeable:
            raise ValueError(f"{name} must be a writable float32 or float64 array, got "
                             f"{a.dtype}{'' if a.flags.writeable else ', read-only'}")
    if params.shape != grads.shape or params.dtype != grads.dtype:
        raise ValueError(f"params {params.shape} {params.dtype} and grads "
                         f"{grads.shape} {grads.dtype} must match")
    if not np.isfinite(params).all():
        raise ValueError("params contains NaN or inf")


def flush_threshold(dtype):
    """√(smallest normal number of dtype): 2⁻⁶³ in float32, 2⁻⁵¹¹ in float64 (see above)."""
    return float(np.sqrt(np.finfo(dtype).tiny))        # exact: the root of an even power of 2


def _check_hyper(**values):
    """Each value a finite number in [low, high) (minivae.checks.real)."""
    for name, (value, low, high) in values.items():
        real(name, value, low, high)


class SGD:
    """SGD with momentum (Caffe's form):  v ← momentum·v + g̃;  θ ← θ − lr·v."""

    def __init__(self, params, grads, lr=0.01, momentum=0.9, weight_decay=0.0,
                 flush_subnormal=True):
        _check_flat(params, grads)
        _check_hyper(lr=(lr, 0, np.inf), momentum=(momentum, 0, 1),
                     weight_decay=(weight_decay, 0, np.inf))
        self.params, self.grads = params, grads
        self.lr, self.momentum, self.weight_decay = float(lr), float(momentum), float(weight_decay)
        self.flush_subnormal = bool(flush_subnormal)
        self.flush_below = flush_threshold(params.dtype) if flush_subnormal else 0.0
        self.velocity = np.zeros_like(params)
        self.t = 0

    def step(self):
        self.t += 1
        kernels.sgd_update(self.params, self.grads, self.velocity, self.lr,
                           self.momentum, self.weight_decay, self.flush_below)

    def state_dict(self):
        return {"t": np.int64(self.t), "velocity": self.velocity}

    def load_state_dict(self, state):
        self.t = int(state["t"])
        self.velocity[...] = state["velocity"]


class Adam:
    """Adam (Kingma & Ba 2015, Alg. 1) with bias correction.

    g̃ = g + wd·θ;  m ← β1 m + (1−β1) g̃;  v ← β2 v + (1−β2) g̃²
    θ ← θ − lr·√(1−β2ᵗ)/(1−β1ᵗ) · m / (√v + ε̂)
    ε̂ is added to √v after folding the bias correction into the step size:
    Caffe's form (the paper's solver), and the "efficient" ordering at the end
    of Kingma & Ba §2.  PyTorch's Adam adds ε to √v̂ = √(v / (1−β2ᵗ)) instead,
    which equals this form with ε̂ = ε·√(1−β2ᵗ).  The two part ways only in
    the first few hundred steps and only for gradients below ~1e-6 (at t = 1
    this form's ε̂ acts like 32ε), but training is chaotic enough that this
    alone sends two otherwise identical runs apart within 20 steps; with ε̂
    matched step by step they agree to 1e-13 over 100 steps
    (`python tools/torch_reference.py --compare doersch --steps 100`).
    """

    def __init__(self, params, grads, lr=1e-3, beta1=0.9, beta2=0.999, adam_eps=1e-8,
                 weight_decay=0.0, flush_subnormal=True):
        _check_flat(params, grads)
        _check_hyper(lr=(lr, 0, np.inf), beta1=(beta1, 0, 1), beta2=(beta2, 0, 1),
                     adam_eps=(adam_eps, 0, np.inf), weight_decay=(weight_decay, 0, np.inf))
        self.params, self.grads = params, grads
        self.lr, self.beta1, self.beta2 = float(lr), float(beta1), float(beta2)
        self.adam_eps, self.weight_decay = float(adam_eps), float(weight_decay)
        self.flush_subnormal = bool(flush_subnormal)
        self.flush_below = flush_threshold(params.dtype) if flush_subnormal else 0.0
        self.m = np.zeros_like(params)
        self.v = np.zeros_like(params)
        self.t = 0

    def step(self):
        self.t += 1
        kernels.adam_update(self.params, self.grads, self.m, self.v, self.lr, self.beta1,
                            self.beta2, self.adam_eps, self.t, self.weight_decay,
                            self.flush_below)

    def state_dict(self):
        return {"t": np.int64(self.t), "m": self.m, "v": self.v}

    def load_state_dict(self, state):
        self.t = int(state["t"])
        self.m[...] = state["m"]
        self.v[...] = state["v"]
