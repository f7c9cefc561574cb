"""Subnormal numbers, and why both optimizers flush tiny values to zero.

A float below the smallest normal number ("tiny": 2⁻¹²⁶ ≈ 1.2e-38 in float32,
2⁻¹⁰²² ≈ 2.2e-308 in float64) is stored as a *subnormal*, with fewer
significant bits, and many x86 CPUs, Intel's above all, compute with
subnormals through a slow microcode path.  This objective makes them in large
numbers: a weight that gets no gradient from the data (one reading an MNIST
border pixel that is 0 in every image, or a weight of a unit whose ReLU never
fires) sees only the decay term g̃ = wd·θ, which pulls it towards 0, and
Adam's first moment of such a weight shrinks by β1 every step as g̃ dies
away.  Within a few epochs of the doersch preset about a fifth of its 2.8
million weights and of their first moments are subnormal (README, "Speed",
has the counts and what they cost).

So each optimizer step (minivae.optim's sgd_step, adam_step) takes one more
step after its update, `flush_tiny` below: every parameter and every first
moment (Adam's m, SGD's velocity) whose magnitude is below `threshold(dtype)`
becomes 0.  The threshold is √tiny,
2⁻⁶³ ≈ 1.1e-19 in float32 and 2⁻⁵¹¹ ≈ 1.5e-154 in float64: the product of two
numbers at least that large is at least tiny, so a weight that survives the
flush, multiplied in a matrix product by another surviving weight or by
anything larger (a pixel is 0 or ≥ 1/255), cannot underflow; flushing only
the subnormals themselves would leave such products underflowing.  Adam's v
holds squared gradients, so it is flushed below `v_threshold` = (2·√tiny)² =
4·tiny, the same threshold on the scale of a square; with v ≥ 4·tiny, β2·v
stays normal.

Every value that stays is exactly what the update computes without the
flush.  What is flushed is too small for a float32 network to feel directly,
but a flushed first moment moves a weight that is itself tiny, and float32
training is chaotic: a run with the flush follows the same run without it
step for step at first, then drifts off as runs do whose rounding differs.
In float64 the threshold lies 150 orders of magnitude below any trained
weight, and results are unchanged bit for bit.  The flush is one compare per
element in a pass bound by memory, not arithmetic; `flush_subnormal=False`
(`train --no-flush`) turns it off.  The numba backend does the update and the
flush in one pass (the twins of kernels/optim.py), so each array is read and
written once.

One more step keeps the numba update itself free of subnormal arithmetic:
`adam_skip_limits` says where the term (1−β2) g̃² may be left out of v's
update because it provably changes neither the stored v nor the new θ.
The NumPy Adam of minivae.optim computes the term everywhere; the tests hold
the two equal bit for bit.
"""
import functools

import numpy as np


def flush_tiny(below, *arrays):
    """Set the entries of `arrays` whose magnitude is below `below` to 0, in place:

        a ← a ⊙ [|a| ≥ below]

    Every other entry stays bit for bit (NaN and ±inf included).
    """
    for a in arrays:
        a *= np.abs(a) >= below


def threshold(dtype):
    """√(smallest normal number of dtype): 2⁻⁶³ in float32, 2⁻⁵¹¹ in float64 (exact)."""
    return float(np.sqrt(np.finfo(dtype).tiny))


def v_threshold(below):
    """The threshold of Adam's v, which holds squares: (2·below)² (0 when below is 0)."""
    return (2 * below) ** 2


@functools.lru_cache(maxsize=64)        # asked at every step, with the same arguments
def adam_skip_limits(dtype, beta2, adam_eps, below):
    """(g_small, v_large): where the numba Adam leaves out (1−β2) g̃², 0 for nowhere.

    The term is left out where |g̃| < g_small = √(2·tiny/(1−β2)), so that it
    would lie below 2·tiny (mostly a subnormal), and the old v is 0 or
    ≥ v_large = tiny·2^(b+4) (b: mantissa bits).  From v ≥ v_large, half a
    unit in the last place (ulp) of β2·v exceeds the term, so v's rounded
    update is β2·v either way.  From v = 0 the term alone gives a v below
    v_threshold, which the flush zeroes; and the new θ is unchanged because
    √v < 2·below is under half an ulp of ε̂ when ε̂ ≥ below·2^(b+3).  So the
    stored v and the new θ are those of the update that computes the term.
    Nothing is left out without the flush or with a smaller ε̂.
    """
    info = np.finfo(dtype)
    tiny, bits = float(info.tiny), info.nmant
    if not below or adam_eps < below * 2.0 ** (bits + 3):
        return 0.0, 0.0
    return float(np.sqrt(2 * tiny / (1 - beta2))), tiny * 2.0 ** (bits + 4)
