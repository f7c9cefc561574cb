"""train's minibatch order: a fresh permutation every epoch, drawn from the documented
stream (config.streams_from_seed(seed)["shuffle"]), and the same orders when a run is
interrupted and resumed as when it runs straight through."""
import numpy as np
import pytest

from minivae import model as model_module
from minivae import train as train_module
from minivae.config import TrainConfig, streams_from_seed
from minivae.train import train

N, BATCH = 40, 8


@pytest.fixture
def seen(monkeypatch):
    """Every minibatch loss_and_grads sees, as the row numbers it holds (one list per call);
    the thread policy times no steps of its own (they would be seen too)."""
    monkeypatch.setattr(train_module, "scratch_steps", lambda config, x: None)
    batches = []
    original = model_module.VAE.loss_and_grads

    def recording(self, x, eps, copy=True):
        batches.append(np.rint(x[:, 0] * (N - 1)).astype(int).tolist())   # column 0 = row/(N−1)
        return original(self, x, eps, copy)
    monkeypatch.setattr(model_module.VAE, "loss_and_grads", recording)
    return batches


def data():
    x = np.random.default_rng(0).random((N, 6))
    x[:, 0] = np.arange(N) / (N - 1)             # each row says which row it is
    return x


def config(tmp_path, epochs, **kw):
    return TrainConfig(hidden=(5,), z_dim=2, batch_size=BATCH, epochs=epochs, seed=11,
                       dtype="float64", images=False, out_dir=str(tmp_path), **kw)


def epochs_of(batches):
    """The order of rows in each epoch: N / BATCH batches make an epoch."""
    per = N // BATCH
    return [sum(batches[i:i + per], []) for i in range(0, len(batches), per)]


def test_each_epoch_draws_the_next_permutation_of_the_shuffle_stream(tmp_path, seen):
    train(config(tmp_path / "run", 3), progress=False, x_train=data())
    orders = epochs_of(seen)
    assert len(orders) == 3
    stream = streams_from_seed(11)["shuffle"]
    assert orders == [stream.permutation(N).tolist() for _ in range(3)]
    assert orders[0] != orders[1] != orders[2] != orders[0]
    assert all(sorted(o) == list(range(N)) for o in orders)    # each row once per epoch


def test_a_resumed_run_sees_the_orders_of_an_uninterrupted_one(tmp_path, seen):
    train(config(tmp_path / "straight", 3), progress=False, x_train=data())
    straight = epochs_of(seen)
    seen.clear()
    train(config(tmp_path / "split", 1), progress=False, x_train=data())
    train(config(tmp_path / "split", 3), resume=tmp_path / "split" / "last.npz", progress=False,
          x_train=data())
    assert epochs_of(seen) == straight
