"""minivae's own answers cannot be handed in (minivae.classroom.guard, given.py).

A graded file may not use the module that holds its answer, whichever way it
reaches it: the failing part, or the import, says "uses minivae.X: write it
yourself".  What an exercise is given (its stub's imports, its model's
layers) still works: every correct solution passes (test_exercises.py).
"""
import pytest

from student_code import check, failing_line, result_rows, solved, write

REFUSED = "uses minivae.{}: write it yourself"

# (exercise, code appended to its first solution, part that fails (0: the import),
#  what it says); each reaches minivae's reference answer in its own way
WAYS = [
    (4, "from minivae.losses import kl_normal", 0, "ImportError: " + REFUSED.format("losses")),
    (4, '''
def kl_normal(mu, log_var):
    import importlib
    return importlib.import_module("minivae.losses").kl_normal(mu, log_var)''', 1,
     "PermissionError: " + REFUSED.format("losses")),         # refused as the file is read
    (1, '''
def dense_backward_x(dy, W):
    return __import__("minivae.layers").layers.dense_backward''', 3,
     "ImportError: " + REFUSED.format("layers")),
    (5, "from minivae.reparam import reparam_backward", 0,
     "ImportError: " + REFUSED.format("reparam")),
    (5, "from minivae import kernels", 0, "ImportError: " + REFUSED.format("kernels")),
    (6, "from minivae import VAE", 0, "ImportError: uses minivae.VAE: write it yourself"),
    (4, '''
def kl_normal(mu, log_var):
    import sys, minivae
    sys.path.insert(0, minivae.__path__[0])               # a sys.path trick
    import losses
    return losses.kl_normal(mu, log_var)''', 1, "PermissionError: " + REFUSED.format("losses")),
    (1, '''
def dense_backward_W(x, dy):
    import importlib.util, os, minivae
    path = os.path.join(minivae.__path__[0], "layers.py")
    spec = importlib.util.spec_from_file_location("mine", path)
    spec.loader.exec_module(importlib.util.module_from_spec(spec))''', 1,
     "PermissionError: " + REFUSED.format("layers")),
    (3, '''
def bernoulli_nll(logits, x):
    import os, minivae
    source = open(os.path.join(minivae.__path__[0], "losses.py")).read()''', 1,
     "PermissionError: " + REFUSED.format("losses")),
    (3, '''
def bernoulli_nll(logits, x):
    import os, minivae, tempfile
    os.link(os.path.join(minivae.__path__[0], "losses.py"), tempfile.mktemp(suffix=".py"))''', 1,
     "PermissionError: " + REFUSED.format("losses")),
    (4, '''
def kl_normal(mu, log_var):
    import pickle
    return pickle.loads(b"cminivae.losses\\nkl_normal\\n.")(mu, log_var)''', 1,
     "ImportError: " + REFUSED.format("losses")),
    (3, "from minivae.losses import bernoulli_nll", 0,        # given to 6 and 8, not to 3
     "ImportError: " + REFUSED.format("losses")),
    (6, "from minivae.losses import kl_gaussians", 0,
     "ImportError: uses minivae.losses.kl_gaussians: this exercise is given only "
     "bernoulli_nll, kl_normal of minivae.losses"),
    (6, '''
def loss_and_grads(model, x, eps):
    return model.loss_and_grads(x, eps)''', 1,
     "AttributeError: the model handed to this exercise has no loss_and_grads: write it "
     "yourself from its layers"),
    (6, '''
def loss_and_grads(model, x, eps):
    import gc                                       # minivae's VAE, anywhere in the process?
    VAE = next(o for o in gc.get_objects() if isinstance(o, type) and o.__name__ == "VAE")
    return VAE.loss_and_grads(model, x, eps)''', 1, "StopIteration"),
    (7, "from minivae.evaluate import importance_log_weights", 0,
     "ImportError: " + REFUSED.format("evaluate")),
    (8, "from minivae.cvae import CVAE", 0, "ImportError: " + REFUSED.format("cvae")),
    (8, "from minivae.tower import Tower", 0, "ImportError: " + REFUSED.format("tower")),
    (7, "import minivae.gradcheck", 0, "ImportError: " + REFUSED.format("cvae")),
]


@pytest.mark.parametrize("n, code_text, part, says", WAYS,
                         ids=[f"ex{w[0]}-{w[1].strip().splitlines()[-1][:40]}" for w in WAYS])
def test_minivae_s_answer_is_refused_however_it_is_reached(tmp_path, capsys, n, code_text, part,
                                                           says):
    code, out, err = check(capsys, write(tmp_path, n, solved(n) + code_text))
    assert code == 1 and err == "", out + err
    if part == 0:
        assert f"importing it raised {says}" in out, out
        return
    assert failing_line(out, part).startswith(f"part {part}: error — "), out
    assert f"() raised {says}" in failing_line(out, part), out


def test_what_a_stub_imports_and_its_model_s_layers_still_work(tmp_path, capsys):
    """The stubs of 6-8 import from minivae.losses and use the model's layers: solved, they
    pass (every solution: test_exercises.py); the given model carries its layers' classes."""
    code_text = '''
import minivae.losses
def loss_and_grads(model, x, eps, _right=loss_and_grads):
    assert minivae.losses.bernoulli_nll is bernoulli_nll
    assert type(model).__name__ == "GivenVAE" and type(model.encoder).__name__ == "MLP"
    return _right(model, x, eps)'''
    code, out, _ = check(capsys, write(tmp_path, 6, solved(6) + code_text))
    assert code == 0 and all(r[-1] == "pass" for r in result_rows(out).values()), out
