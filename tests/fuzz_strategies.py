"""Hypothesis settings and strategies shared by the tests/test_fuzz_*.py files.

Every fuzz test runs with FUZZ (or a copy with another max_examples):
derandomized and without an example database, so a CI run draws the same
cases every time and a failure reproduces from the test alone.
"""
import re
import warnings

import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

FUZZ = settings(max_examples=100, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                       HealthCheck.function_scoped_fixture,
                                       HealthCheck.data_too_large])

FLOAT_DTYPES = (np.float32, np.float64)
# every kind of dtype a caller might hand over by mistake
OTHER_DTYPES = (np.bool_, np.int8, np.int64, np.uint8, np.float16, np.complex64, np.complex128,
                np.longdouble, "U3", "S2", "M8[s]")


def special_floats(dtype):
    """Finite and non-finite floats of `dtype`: NaN, ±inf, the largest, subnormals, ±0."""
    fi = np.finfo(dtype)
    edge = [np.nan, np.inf, -np.inf, float(fi.max), -float(fi.max), float(fi.smallest_subnormal),
            -float(fi.smallest_subnormal), float(fi.tiny) / 3, 0.0, -0.0, 1e30, -1e30]
    width = 32 if np.dtype(dtype) == np.float32 else 64
    return st.one_of(st.sampled_from(edge),
                     st.floats(allow_nan=True, allow_infinity=True, width=width),
                     st.floats(-3, 3, width=width))


def float_arrays(dtype, shape, finite=False, low=-3.0, high=3.0):
    """Arrays of `dtype` and `shape`: tame values (low..high), or (finite=False) any content."""
    width = 32 if np.dtype(dtype) == np.float32 else 64
    tame = st.floats(low, high, width=width)
    if finite:
        return hnp.arrays(dtype, shape, elements=tame)
    return st.one_of(hnp.arrays(dtype, shape, elements=tame),
                     hnp.arrays(dtype, shape, elements=special_floats(dtype)))


shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4)


@st.composite
def any_array(draw):
    """An array of any shape and dtype (object arrays included), or no array at all."""
    kind = draw(st.sampled_from(["float", "other", "object", "not-an-array"]))
    shape = draw(shapes)
    if kind == "float":
        return draw(float_arrays(draw(st.sampled_from(FLOAT_DTYPES)), shape))
    if kind == "other":
        return draw(hnp.arrays(np.dtype(draw(st.sampled_from(OTHER_DTYPES))), shape))
    if kind == "object":
        a = np.empty(shape, dtype=object)
        a.fill(draw(st.sampled_from([1.0, None, "x", [1.0]])))
        return a
    return draw(st.sampled_from([None, 1.0, "abc", [[0.5, 0.5]], b"\x00", {"x": 1}]))


def garbage_for(dtype, shape):
    """A bad stand-in for an argument that should be a (shape) array of dtype:
    the right type and shape with any content, another shape, or anything at all."""
    wrong_shape = shapes.filter(lambda s: s != tuple(shape)).flatmap(
        lambda s: float_arrays(dtype, s, finite=True))
    return st.one_of(float_arrays(dtype, shape), wrong_shape, any_array())


def names_in(message, names):
    """The argument names among `names` that `message` mentions as words."""
    return [n for n in names if re.search(rf"(?<![\w.]){re.escape(n)}(?!\w)", message)]


def call_strictly(f, *args, **kwargs):
    """f(*args, **kwargs) with every warning turned into an error: a clean call warns nothing."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return f(*args, **kwargs)


def all_finite(result):
    """True when every array or number in a (nested) result is finite."""
    if isinstance(result, (tuple, list)):
        return all(all_finite(r) for r in result)
    if isinstance(result, dict):
        return all(all_finite(r) for r in result.values())
    if result is None:                  # e.g. a cache's unused field, backward's dx=None
        return True
    a = np.asarray(result)
    return a.dtype.kind in "fiu" and bool(np.isfinite(a).all())
