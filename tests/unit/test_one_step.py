"""One training step as a reader steps through it: the files it enters, the frames it stacks.

README's "First reading" lists, in order, the files that one
`model.loss_and_grads(x, eps)` plus `optimizer.step()` enter on the numpy
backend; the test records them with sys.setprofile and holds the list to it.
A debugger's "step into" must land on the maths: at `dense_backward`, called
from `VAE.loss_and_grads`, the only minivae frames are the model's, the
MLP's and the formula's (on the numba backend, also the twin's).
"""
import re
import sys
from pathlib import Path

import numpy as np
import pytest

from minivae import VAE, kernels
from minivae.optim import Adam

README = Path(__file__).resolve().parents[2] / "README.md"


def one_step():
    """A small VAE and Adam with the doersch preset's settings, and one step's two calls."""
    model = VAE(x_dim=12, hidden=(9, 7), z_dim=3, init="sparse", dtype=np.float32, seed=0)
    opt = Adam(model.flat_params, model.flat_grads, weight_decay=5e-4)
    rng = np.random.default_rng(0)
    x, eps = rng.random((5, 12), dtype=np.float32), rng.standard_normal((5, 3), dtype=np.float32)

    def step():
        model.loss_and_grads(x, eps, copy=False)
        opt.step()
    return step


def profiled(fn, on_call):
    """Run fn() with on_call(frame) called at every Python function call."""
    def profile(frame, event, arg):
        if event == "call":
            on_call(frame)
    sys.setprofile(profile)
    try:
        fn()
    finally:
        sys.setprofile(None)


def minivae_file(frame):
    """"layers.py", "kernels/flush.py", ... for a frame of a minivae module, else None."""
    module = frame.f_globals.get("__name__", "")
    if not module.startswith("minivae."):
        return None
    path = module[len("minivae."):].replace(".", "/")
    return f"{path}/__init__.py" if frame.f_code.co_filename.endswith("__init__.py") else f"{path}.py"


def readme_first_reading():
    """The files README's "First reading" list names, in its order."""
    text = README.read_text(encoding="utf-8")
    block = text[text.index("**First reading"):]
    block = block[:block.index("\n\n", block.index("\n1. "))]
    return re.findall(r"^\d+\. `([\w/]+\.py)`", block, re.M)


def test_one_step_enters_the_files_readme_lists_in_that_order():
    step = one_step()
    entered = []

    def record(frame):
        name = minivae_file(frame)
        if name and name not in entered:
            entered.append(name)
    with kernels.using("numpy"):
        profiled(step, record)
    assert len(entered) <= 8, entered
    assert entered == readme_first_reading(), entered


def test_the_readme_list_is_read():
    """The parser above finds the list (so the test above can fail): eight files."""
    listed = readme_first_reading()
    assert len(listed) == 8 and listed[0] == "model.py", listed


@pytest.mark.parametrize("backend", kernels.available_backends())
def test_stepping_into_dense_backward_from_loss_and_grads(backend):
    """The minivae frames on the stack whenever a dense_backward starts in a step:
    model -> mlp -> layers; on the numba backend one more, the twin it hands the work
    to (minivae/kernels/layers.py)."""
    step = one_step()
    stacks = []

    def at_dense_backward(frame):
        if frame.f_code.co_name == "dense_backward":
            stack = []
            while frame is not None:
                if minivae_file(frame):
                    stack.append(f"{minivae_file(frame)}:{frame.f_code.co_name}")
                frame = frame.f_back
            stacks.append(stack[::-1])
    with kernels.using(backend):
        step()                              # the numba twins compile (or load) outside the count
        profiled(step, at_dense_backward)
    want = ["model.py:loss_and_grads", "mlp.py:backward", "layers.py:dense_backward"]
    if backend == "numba":
        want.append("kernels/layers.py:dense_backward")
    # 7 layers: the decoder's 3, the two heads, the encoder's 2 (numba: each calls its twin)
    assert len(stacks) == 7 * (2 if backend == "numba" else 1)
    assert want in stacks and all(want[:len(s)] == s for s in stacks), stacks
