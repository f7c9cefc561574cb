"""The training configuration (minivae/config.py): checked values, presets, a dict round
trip, separate random streams, and the settings reaching the model and optimizer."""
import json

import numpy as np
import pytest

from minivae.config import PRESETS, TrainConfig, build_model, streams_from_seed


@pytest.mark.parametrize("field, value", [
    ("epochs", 0), ("epochs", 1.5), ("batch_size", -3), ("lr", -1), ("lr", 0), ("lr", float("nan")),
    ("beta1", 1.0), ("weight_decay", -1e-4), ("binarize", "sometimes"), ("optimizer", "rmsprop"),
    ("likelihood", "poisson"), ("init", "zeros"), ("dtype", "float16"), ("dtype", "nonsense"),
    ("hidden", (400, 0)), ("z_dim", 0), ("seed", -1), ("subset", 0), ("sigma", 0), ("eval_every", 0),
])
def test_config_rejects_bad_values(field, value):
    with pytest.raises(ValueError, match=field.split("_")[0]):
        TrainConfig(**{field: value})


def test_presets_and_dict_round_trip():
    c = TrainConfig.from_preset("pytorch-example", epochs=3)
    assert (c.hidden, c.z_dim, c.batch_size, c.epochs, c.preset) == ((400,), 20, 128, 3, "pytorch-example")
    assert TrainConfig.from_dict(json.loads(json.dumps(c.to_dict()))) == c
    d = TrainConfig.from_preset("doersch")
    assert all(getattr(d, k) == (tuple(v) if k == "hidden" else v) for k, v in PRESETS["doersch"].items())
    with pytest.raises(ValueError, match="preset must be one of doersch"):
        TrainConfig.from_preset("nope")
    with pytest.raises(ValueError, match="unknown training option"):
        TrainConfig.from_dict({"epochs": 1, "learning_rate": 1})


def test_streams_are_separate():
    # Initialization uses its own stream: batch size, binarization and the
    # optimizer (which change how the other streams are used) leave it alone.
    a = build_model(TrainConfig(hidden=(8,), z_dim=2, seed=3))
    b = build_model(TrainConfig(hidden=(8,), z_dim=2, seed=3, batch_size=7, binarize="dynamic"))
    c = build_model(TrainConfig(hidden=(8,), z_dim=2, seed=4))
    assert np.array_equal(a.flat_params, b.flat_params)
    assert not np.array_equal(a.flat_params, c.flat_params)
    s = streams_from_seed(0)
    draws = [g.random(4) for g in s.values()]
    assert len({d.tobytes() for d in draws}) == 4


def test_flush_setting_reaches_the_optimizer():
    """TrainConfig.flush_subnormal (train --no-flush) decides the optimizer's flush."""
    from minivae.config import build_optimizer
    from minivae.kernels.flush import threshold as flush_threshold
    for optimizer in ("adam", "sgd"):
        on = TrainConfig(hidden=(4,), z_dim=2, optimizer=optimizer)
        off = TrainConfig(hidden=(4,), z_dim=2, optimizer=optimizer, flush_subnormal=False)
        model = build_model(on, x_dim=6)
        assert build_optimizer(on, model).flush_below == flush_threshold(np.float32) > 0
        assert build_optimizer(off, model).flush_below == 0.0
