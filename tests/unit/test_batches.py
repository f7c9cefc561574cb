"""minivae.batches: binarization and minibatch indices."""
import numpy as np
import pytest

from minivae.batches import binarize_dynamic, binarize_threshold, iterate_minibatches


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_binarize_dynamic_is_bernoulli(dtype):
    rng = np.random.default_rng(0)
    x = np.linspace(0, 1, 101).astype(dtype)
    draws = np.stack([binarize_dynamic(x, rng) for _ in range(4000)])   # (M, 101)
    assert draws.dtype == dtype and set(np.unique(draws)) <= {0.0, 1.0}
    # Each pixel's mean of M draws is within 5 standard errors sqrt(x(1-x)/M) of x;
    # x = 0 and x = 1 must be exact.
    se = np.sqrt(x * (1 - x) / len(draws))
    assert np.all(np.abs(draws.mean(axis=0) - x) <= 5 * se)
    assert not np.array_equal(draws[0], draws[1])


def test_binarize_threshold_exact():
    x = np.array([[0.0, 0.5, 0.50001, 1.0], [0.2, 0.7, 0.49, 0.51]], np.float32)
    out = binarize_threshold(x)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, [[0, 0, 1, 1], [0, 1, 0, 1]])
    np.testing.assert_array_equal(binarize_threshold(x, threshold=0.6),
                                  [[0, 0, 0, 1], [0, 1, 0, 0]])


def test_binarize_rejects_bad_input():
    with pytest.raises(ValueError, match="rng"):
        binarize_dynamic(np.zeros(3), np.random.RandomState(0))
    with pytest.raises(ValueError, match="x"):
        binarize_dynamic(np.zeros(3, np.uint8), np.random.default_rng(0))
    for bad, says in (([0.5, 255.0], r"x must lie in \[0, 1\] \(pixels scaled by 1/255\), got "
                                     r"values in \[0.5, 255\]"),    # unscaled pixels
                      ([0.5, -0.1], r"got values in \[-0.1, 0.5\]"),
                      ([0.5, np.nan], "x contains NaN or inf"), ([0.5, np.inf], "x contains NaN")):
        with pytest.raises(ValueError, match=says):
            binarize_dynamic(np.array(bad), np.random.default_rng(0))


def test_iterate_minibatches():
    rng = np.random.default_rng(1)
    batches = list(iterate_minibatches(10, 4, rng))
    assert [len(b) for b in batches] == [4, 4, 2] and batches[0].dtype == np.int64
    together = np.concatenate(batches)
    assert sorted(together) == list(range(10)) and together.tolist() != list(range(10))
    assert [len(b) for b in iterate_minibatches(10, 4, rng, drop_last=True)] == [4, 4]
    plain = iterate_minibatches(5, 2, shuffle=False)
    assert [b.tolist() for b in plain] == [[0, 1], [2, 3], [4]]
    first, second = (np.concatenate(list(iterate_minibatches(100, 7, rng))) for _ in range(2))
    assert not np.array_equal(first, second)   # a fresh order every epoch


@pytest.mark.parametrize("kwargs, error, says", [
    (dict(n=10, batch_size=0), ValueError, "batch_size"),
    (dict(n=0, batch_size=4), ValueError, "n must"),
    (dict(n=10, batch_size=2.5), ValueError, "batch_size"),
    (dict(n=10, batch_size=4, rng=None), ValueError, "rng"),
])
def test_iterate_minibatches_validates_at_call(kwargs, error, says):
    kwargs.setdefault("rng", np.random.default_rng(0))
    with pytest.raises(error, match=says):
        iterate_minibatches(**kwargs)   # no next(): the check must not wait for iteration
