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
    out = subprocess.run([sys.executable, "-m", "minivae", "gradcheck"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "VAE bernoulli, all params" in out.stdout and "FAIL" not in out.stdout
