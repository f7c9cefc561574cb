"""Hand-written optimizers over a model's flat parameter vector: SGD with momentum, and Adam.

Both add L2 weight decay to the gradient before the update (g̃ = g + wd·θ),
as the reference code's Caffe solver does (`weight_decay: 0.0005`), rather
than decaying the weights separately (AdamW).  The decay applies where the
mask `decayed` is True: for `train` (config.build_optimizer passes
mlp.weight_mask) a model's weights W and not its biases b, as the reference
sets `decay_mult: 0` on every bias; every entry when no mask is given.  They
update the parameters in place, in one pass over the one contiguous vector
that every layer's W and b are views of (mlp.bind_flat).

`sgd_update` and `adam_update` are the two rules, nothing else.  One step of
an optimizer, `sgd_step` or `adam_step`, takes one more, named step after the
update: the flush of tiny values, `flush_tiny` (minivae/kernels/flush.py says
why subnormal numbers are worth it and why these thresholds), which sets
every parameter and first moment below `flush_below` (√ of the smallest
normal number) to 0, and Adam's v, which holds squares, below
(2·flush_below)²; the rest stays bit for bit.  flush_subnormal=False turns it
off.  On the numba backend, the default, a step hands the update and the
flush to one Numba twin that does both in one pass (minivae/kernels/optim.py);
`--backend numpy` (or MINIVAE_BACKEND=numpy) runs the NumPy lines below, and
a step, update or flush you edited runs as edited on either backend
(minivae/kernels/).
"""
import numpy as np

from . import kernels
from .errors import ArgumentError
from .kernels.flush import flush_tiny, threshold, v_threshold
from .validate import real

twin = kernels.twins(__name__)      # each step's Numba twin, or None: see the docstring


def sgd_update(p, g, velocity, lr, momentum, weight_decay, decayed):
    """One step of SGD with momentum, in place:

        g̃ = g + wd·θ
        v ← momentum·v + g̃;    θ ← θ − lr·v

    with the decay only where the mask `decayed` is True (elsewhere, a model's
    biases, g̃ is g).  With a constant lr this is Caffe's v ← momentum·v + lr·g̃;
    θ ← θ − v.
    """
    if weight_decay:
        g = np.where(decayed, g + weight_decay * p, g)
    velocity *= momentum
    velocity += g
    p -= lr * velocity


def adam_update(p, g, m, v, lr, beta1, beta2, adam_eps, t, weight_decay, decayed):
    """One step of Adam (Kingma & Ba 2015, Algorithm 1), step t ≥ 1, in place:

        g̃ = g + wd·θ
        m ← β1 m + (1−β1) g̃;    v ← β2 v + (1−β2) g̃²
        θ ← θ − lr·√(1−β2ᵗ)/(1−β1ᵗ) · m / (√v + ε̂)

    with the decay only where the mask `decayed` is True (elsewhere, a model's
    biases, g̃ is g), and the bias corrections folded into the step size, the "efficient"
    ordering at the end of Kingma & Ba's §2 (see Adam for where ε̂ goes).
    """
    if weight_decay:
        g = np.where(decayed, g + weight_decay * p, g)
    m *= beta1
    m += (1 - beta1) * g
    v *= beta2
    v += (1 - beta2) * g * g
    step = lr * np.sqrt(1 - beta2 ** t) / (1 - beta1 ** t)
    p -= step * m / (np.sqrt(v) + adam_eps)


def sgd_step(p, g, velocity, lr, momentum, weight_decay, decayed, flush_below):
    """sgd_update, then the flush of every |value| below flush_below (0: none) to 0."""
    if twin.sgd_step:                   # the numba backend: both in one pass
        return twin.sgd_step(p, g, velocity, lr, momentum, weight_decay, decayed, flush_below)
    sgd_update(p, g, velocity, lr, momentum, weight_decay, decayed)
    if flush_below:
        flush_tiny(flush_below, velocity, p)


def adam_step(p, g, m, v, lr, beta1, beta2, adam_eps, t, weight_decay, decayed, flush_below):
    """adam_update, then the flush of every |value| below flush_below (0: none) to 0; v,
    which holds squares, below v_threshold(flush_below) = (2·flush_below)²."""
    if twin.adam_step:                  # the numba backend: both in one pass
        return twin.adam_step(p, g, m, v, lr, beta1, beta2, adam_eps, t, weight_decay,
                              decayed, flush_below)
    adam_update(p, g, m, v, lr, beta1, beta2, adam_eps, t, weight_decay, decayed)
    if flush_below:
        flush_tiny(flush_below, p, m)
        flush_tiny(v_threshold(flush_below), v)


def _check_flat(params, grads):
    """Two writable contiguous 1-D float arrays of one shape and dtype, params finite.

    step() scans neither the gradient nor its result for inf or NaN (so a
    huge gradient can overflow the moments or the weights): the models'
    loss_and_grads raise NonFiniteError rather than hand out an inf or NaN loss.
    """
    for name, a in (("params", params), ("grads", grads)):
        if not isinstance(a, np.ndarray) or a.ndim != 1 or not a.flags.c_contiguous:
            raise ArgumentError(f"{name} must be a contiguous 1-D array (e.g. model.flat_{name})")
        if a.dtype not in (np.float32, np.float64) or not a.flags.writeable:
            raise ArgumentError(f"{name} must be a writable float32 or float64 array, got "
                                f"{a.dtype}{'' if a.flags.writeable else ', read-only'}")
    if params.shape != grads.shape or params.dtype != grads.dtype:
        raise ArgumentError(f"params {params.shape} {params.dtype} and grads "
                            f"{grads.shape} {grads.dtype} must match")
    if not np.isfinite(params).all():
        raise ArgumentError("params contains NaN or inf")


def _decay_mask(decayed, params):
    """The entries weight decay applies to: `decayed` (a bool array shaped like params)
    once checked, or all of them for None."""
    if decayed is None:
        return np.ones(params.shape, dtype=bool)
    if not (isinstance(decayed, np.ndarray) and decayed.dtype == bool
            and decayed.shape == params.shape):
        got = (f"{decayed.dtype} {decayed.shape}" if isinstance(decayed, np.ndarray)
               else type(decayed).__name__)
        raise ArgumentError(f"decayed must be a bool array of shape {params.shape} "
                            f"(e.g. mlp.weight_mask(model.params)), got {got}")
    return np.ascontiguousarray(decayed)


def _check_hyper(**values):
    """Each value a finite number in [low, high) (minivae.validate.real)."""
    for name, (value, low, high) in values.items():
        real(name, value, low, high)


class SGD:
    """SGD with momentum over flat params/grads: each step() an sgd_step.

    decayed: where weight decay applies, a bool mask over params (None: everywhere);
    mlp.weight_mask(model.params) gives a model's weights, not its biases.
    """

    def __init__(self, params, grads, lr=0.01, momentum=0.9, weight_decay=0.0, decayed=None,
                 flush_subnormal=True):
        _check_flat(params, grads)
        _check_hyper(lr=(lr, 0, np.inf), momentum=(momentum, 0, 1),
                     weight_decay=(weight_decay, 0, np.inf))
        self.params, self.grads = params, grads
        self.lr, self.momentum, self.weight_decay = float(lr), float(momentum), float(weight_decay)
        self.decayed = _decay_mask(decayed, params)
        self.flush_subnormal = bool(flush_subnormal)
        self.flush_below = threshold(params.dtype) if flush_subnormal else 0.0
        self.velocity = np.zeros_like(params)
        self.t = 0

    def step(self):
        self.t += 1
        sgd_step(self.params, self.grads, self.velocity, self.lr, self.momentum,
                 self.weight_decay, self.decayed, self.flush_below)

    def state_dict(self):
        return {"t": np.int64(self.t), "velocity": self.velocity}

    def load_state_dict(self, state):
        self.t = int(state["t"])
        self.velocity[...] = state["velocity"]


class Adam:
    """Adam over flat params/grads, with bias correction: each step() an adam_step.

    ε̂ is added to √v after folding the bias correction into the step size:
    the reference code's Caffe form.  PyTorch's Adam adds ε to
    √v̂ = √(v / (1−β2ᵗ)) instead, which equals this form with
    ε̂ = ε·√(1−β2ᵗ).  The two part ways only in the first few hundred steps and
    only for gradients below ~1e-6 (at t = 1 this form's ε̂ acts like 32ε),
    but training is chaotic enough that this alone sends two otherwise
    identical runs apart within 20 steps; with ε̂ matched step by step they
    agree to rounding (`python tools/torch_reference.py --compare doersch`).

    decayed: where weight decay applies, as for SGD.
    """

    def __init__(self, params, grads, lr=1e-3, beta1=0.9, beta2=0.999, adam_eps=1e-8,
                 weight_decay=0.0, decayed=None, flush_subnormal=True):
        _check_flat(params, grads)
        _check_hyper(lr=(lr, 0, np.inf), beta1=(beta1, 0, 1), beta2=(beta2, 0, 1),
                     adam_eps=(adam_eps, 0, np.inf), weight_decay=(weight_decay, 0, np.inf))
        self.params, self.grads = params, grads
        self.lr, self.beta1, self.beta2 = float(lr), float(beta1), float(beta2)
        self.adam_eps, self.weight_decay = float(adam_eps), float(weight_decay)
        self.decayed = _decay_mask(decayed, params)
        self.flush_subnormal = bool(flush_subnormal)
        self.flush_below = threshold(params.dtype) if flush_subnormal else 0.0
        self.m = np.zeros_like(params)
        self.v = np.zeros_like(params)
        self.t = 0

    def step(self):
        self.t += 1
        adam_step(self.params, self.grads, self.m, self.v, self.lr, self.beta1, self.beta2,
                  self.adam_eps, self.t, self.weight_decay, self.decayed, self.flush_below)

    def state_dict(self):
        return {"t": np.int64(self.t), "m": self.m, "v": self.v}

    def load_state_dict(self, state):
        self.t = int(state["t"])
        self.m[...] = state["m"]
        self.v[...] = state["v"]
