"""What the training tests share: a few hundred MNIST digits in float64, a tiny config, and
a stand-in for the thread policy's watch."""
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


class EventsWatch:
    """A stand-in for kernels.watch.Watch that notes, in `events`, each stretch of steps
    begun and ended (`with watch:`) and each step told (tick())."""

    def __init__(self, events):
        self.events = events

    def __enter__(self):
        self.events.append("begin")

    def __exit__(self, *exc):
        self.events.append("end")

    def tick(self):
        self.events.append("tick")
