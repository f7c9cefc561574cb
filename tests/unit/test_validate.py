"""The checks at the door (minivae/validate.py): each bad value is one ArgumentError, a
ValueError, whose message names the argument and what it should be; a good value comes
back as it was, never a converted copy."""
import math

import numpy as np
import pytest

from minivae import validate
from minivae.errors import ArgumentError, NonFiniteError
from minivae.validate import (as_float_array, check_memory, choice, finite_result, float_dtype,
                              float_operand, generator, integer, positive_int, real, same_array,
                              writable_dir)

A = np.zeros((3, 4))


@pytest.mark.parametrize("call, message", [
    (lambda: as_float_array("x", [[0.0]], np.float64), "x must be a numpy array, got list"),
    (lambda: as_float_array("x", A.astype(np.float32), np.float64),
     r"x has dtype float32, expected float64 \(the model's dtype; convert with "
     r"x.astype\(np.float64\)\)"),
    (lambda: as_float_array("x", A.astype(np.int64), None), "x must be float32 or float64, got dtype int64"),
    (lambda: as_float_array("x", A[0], np.float64), r"x must be 2-D, got shape \(4,\)"),
    (lambda: as_float_array("x", A, np.float64, cols=5), r"x must have 5 columns, got shape \(3, 4\)"),
    (lambda: as_float_array("eps", A, np.float64, rows=2), r"eps must have 2 rows \(one per example\)"),
    (lambda: as_float_array("x", A[:0], np.float64, min_rows=1), "x has 0 rows, at least 1 needed"),
    (lambda: as_float_array("x", A + np.inf, np.float64), "x contains NaN or inf"),
    (lambda: as_float_array("x", np.array([[0.5, np.nan, 1.0]]), np.float64, unit_interval=True),
     "x contains NaN or inf"),                      # one NaN among values in [0, 1]
    (lambda: as_float_array("x", np.array([[0.5, -np.inf]]), np.float64, unit_interval=True),
     "x contains NaN or inf"),
    (lambda: as_float_array("x", A - 0.5, np.float64, unit_interval=True),
     r"x must lie in \[0, 1\] for the Bernoulli likelihood, got values in \[-0.5, -0.5\]"),
    (lambda: same_array("dy", np.zeros((3, 5)), "y", A), r"dy has shape \(3, 5\), y \(3, 4\)"),
    (lambda: float_operand("mu", math.nan), "mu must be finite, got nan"),
    (lambda: float_operand("mu", True), "mu must be a numpy array, got bool"),
    (lambda: integer("seed", -1, least=0), "seed must be an integer >= 0, got -1"),
    (lambda: positive_int("k", 0), "k must be a positive integer, got 0"),
    (lambda: positive_int("k", 2.0), "k must be an integer, got 2.0"),
    (lambda: positive_int("k", True), "k must be an integer, got True"),
    (lambda: real("lr", "0.1"), "lr must be a number, got '0.1'"),
    (lambda: real("lr", 0.0, 0, math.inf, low_open=True), r"lr must lie in \(0, inf\), got 0.0"),
    (lambda: real("beta1", 1.0, 0, 1), r"beta1 must lie in \[0, 1\), got 1.0"),
    (lambda: real("lr", math.inf), "lr must lie in"),
    (lambda: generator("rng", np.random.RandomState(0)), "rng must be a np.random.Generator"),
    (lambda: choice("likelihood", "poisson", ("bernoulli", "gaussian")),
     "likelihood must be one of bernoulli, gaussian; got 'poisson'"),
    (lambda: float_dtype(np.float16), "dtype must be float32 or float64, got float16"),
    (lambda: float_dtype("nonsense"), "dtype must be float32 or float64, got 'nonsense'"),
])
def test_each_bad_value_is_one_argument_error_naming_it(call, message):
    with pytest.raises(ArgumentError, match=message) as info:
        call()
    assert isinstance(info.value, ValueError) and "\n" not in str(info.value)


def test_good_values_come_back_as_they_were():
    assert as_float_array("x", A, np.float64, cols=4, rows=3, min_rows=1, unit_interval=True) is A
    assert same_array("dy", A, "y", A) is A
    assert float_operand("mu", 2).dtype == np.float64 and float_operand("mu", 2, np.float32).dtype == np.float32
    assert integer("seed", 0, least=0) == 0 and positive_int("k", np.int64(3)) == 3
    assert positive_int("subset", None, allow_none=True) is None
    assert real("lr", 1) == 1.0 and real("beta1", 0.0, 0, 1) == 0.0
    rng = np.random.default_rng(0)
    assert generator("rng", rng) is rng and choice("init", "he", ("he",)) == "he"
    assert float_dtype("float32") == np.float32


def test_finite_result_names_the_inputs_of_an_overflowed_result():
    finite_result(("x",), np.ones(3))
    with pytest.raises(NonFiniteError, match="the result for these x, z is not finite: it "
                                             "overflows float32"):
        finite_result(("x", "z"), np.ones(2, np.float32), np.array([1, np.inf], np.float32))


def test_check_memory_says_how_much_is_needed_before_allocating(monkeypatch):
    monkeypatch.setattr(validate, "available_memory", lambda: 2 ** 30)
    check_memory("a small thing", 2 ** 29)
    with pytest.raises(ArgumentError, match=r"10,000 samples \(n\) would need 3.0 GiB of memory, "
                                            r"but only 1.0 GiB is available"):
        check_memory("10,000 samples (n)", 3 * 2 ** 30)
    monkeypatch.setattr(validate, "available_memory", lambda: None)      # unknown: no check
    check_memory("anything", 2 ** 60)


def test_writable_dir_probes_without_leaving_anything(tmp_path):
    target = tmp_path / "new" / "run"
    assert writable_dir("run directory", target) == target
    assert list(tmp_path.iterdir()) == []                   # probed, nothing made or left
    (tmp_path / "file").write_text("x")
    with pytest.raises(ArgumentError, match=f"run directory {tmp_path / 'file'} is a file"):
        writable_dir("run directory", tmp_path / "file")
    with pytest.raises(ArgumentError, match=f"cannot be made: {tmp_path / 'file'} is a file"):
        writable_dir("run directory", tmp_path / "file" / "run")
