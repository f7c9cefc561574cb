"""minivae.gradcheck itself, and the `python -m minivae gradcheck` command."""
import subprocess
import sys

import numpy as np

from minivae.gradcheck import max_rel_error, numerical_grad, rel_error


def test_numerical_grad_of_known_function():
    a = np.linspace(-2, 2, 7)
    g = numerical_grad(lambda: float(np.sin(a).sum()), a)
    assert np.abs(g - np.cos(a)).max() < 1e-9       # O(h²) ≈ 1e-10


def test_max_rel_error_fails_a_wrong_gradient():
    a = np.linspace(-2, 2, 7)
    f = lambda: float((a ** 3).sum())
    assert max_rel_error(f, [a], [3 * a ** 2]) < 1e-8
    wrong = 3 * a ** 2
    wrong[3] += 1e-3                                  # one entry off by 0.1% of the scale
    assert max_rel_error(f, [a], [wrong]) > 1e-5


def test_rel_error_is_scale_normalized():
    assert rel_error([1.0, 0.0], [1.0, 1e-9]) < 1e-8
    assert rel_error([0.0], [0.0]) == 0.0


def test_command_passes_and_prints_table():
    """By default a column per backend, after a line that says what they are; --backend
    checks one, after the line that names it."""
    from minivae import kernels
    out = subprocess.run([sys.executable, "-m", "minivae", "gradcheck"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "VAE bernoulli, all params" in out.stdout and "FAIL" not in out.stdout
    lines = out.stdout.splitlines()
    assert lines[0].startswith("checking the NumPy lines you read (numpy)")
    assert lines[1].split()[1:] == [w for b in kernels.available_backends()
                                    for w in (b, "(max", "rel.", "error)")] + ["threshold"]
    one = subprocess.run([sys.executable, "-m", "minivae", "gradcheck", "--backend", "numpy"],
                         capture_output=True, text=True)
    assert one.returncode == 0 and one.stdout.splitlines()[0].startswith("backend numpy: ")
    assert one.stdout.splitlines()[-1] == "numpy: 11 passed, 0 failed"


def test_thresholds_are_the_documented_ones():
    """README and minivae.gradcheck's docstring promise 1e-7 for a layer or loss and
    1e-6 for a whole model; the command's table must use exactly those."""
    from minivae import gradcheck
    assert gradcheck.LAYER_THRESHOLD == 1e-7 and gradcheck.MODEL_THRESHOLD == 1e-6
    rows = gradcheck.run_all()
    assert len(rows) == 11
    for name, _, threshold, _ in rows:
        whole = "all params" in name
        assert threshold == (gradcheck.MODEL_THRESHOLD if whole else gradcheck.LAYER_THRESHOLD), name


def test_a_gradient_just_over_the_threshold_fails():
    """A Dense backward whose dx is off by 3e-7 of its scale fails the layer threshold;
    the right dx passes by orders of magnitude.  (A 10× looser threshold would pass it.)"""
    from minivae.gradcheck import LAYER_THRESHOLD
    from minivae.layers import Dense
    rng = np.random.default_rng(7)
    layer = Dense(5, 4, init="glorot", rng=rng, dtype=np.float64)
    x, dy = rng.standard_normal((3, 5)), rng.standard_normal((3, 4))
    f = lambda: float((layer.forward(x)[0] * dy).sum())
    dx = layer.backward(dy, layer.forward(x)[1])
    right = max_rel_error(f, [x], [dx])
    off = dx.copy()
    off.flat[np.abs(off).argmax()] *= 1 + 6e-7          # rel_error ≈ 6e-7 · max / (2 · max)
    wrong = max_rel_error(f, [x], [off])
    assert right < LAYER_THRESHOLD / 100
    assert LAYER_THRESHOLD < wrong < 10 * LAYER_THRESHOLD
