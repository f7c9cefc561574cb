"""What the training tests share: a few hundred MNIST digits in float64, and a tiny config."""
import numpy as np
import pytest

from minivae.config import TrainConfig


@pytest.fixture(scope="module")
def small64(mnist_small):
    """300 training and 100 test MNIST digits in float64."""
    x_train, _, x_test, _ = mnist_small
    return x_train[:300].astype(np.float64), x_test[:100].astype(np.float64)


def tiny(out_dir, **kw):
    """A 784-16-3 VAE, float64; batch 64 leaves a short last batch (300 = 4·64 + 44)."""
    base = dict(hidden=(16,), z_dim=3, init="he", batch_size=64, epochs=2, dtype="float64",
                binarize="dynamic", weight_decay=5e-4, images=False, out_dir=str(out_dir))
    return TrainConfig(**{**base, **kw})
