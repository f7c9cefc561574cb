"""tools/torch_reference.py against minivae: same start, same batches, step by step.

Needs PyTorch, which is not a dependency: skipped where torch is not
importable (CI does not install it).  Where it runs, it checks that minivae's
hand-written backward and Adam follow PyTorch's autograd and Adam in float64
when ε is placed as PyTorch places it, and that the Caffe placement minivae
uses does change the trajectory (so the first check is not vacuous).
"""
import importlib.util
from pathlib import Path

import pytest

pytest.importorskip("torch")
TOOL = Path(__file__).resolve().parents[2] / "tools" / "torch_reference.py"


@pytest.fixture(scope="module")
def reference():
    spec = importlib.util.spec_from_file_location("torch_reference", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("preset", ["pytorch-example", "doersch"])
def test_same_trajectory_as_pytorch(reference, mnist_dir, monkeypatch, preset):
    monkeypatch.setenv("MINIVAE_DATA", str(mnist_dir))
    caffe, matched = reference.compare(preset, steps=10)
    # float64 round-off only: 10 steps of ~3M-parameter updates stay far below 1e-10
    assert matched["max_rel_loss_diff"] < 1e-12
    assert matched["max_rel_weight_diff"] < 1e-10
    # the ε placement alone moves weights by far more than round-off
    assert caffe["max_rel_weight_diff"] > 1e-6
