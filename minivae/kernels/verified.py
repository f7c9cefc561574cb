"""What each Numba twin computes, and the NumPy lines it was verified against.

A twin is a second implementation of NumPy lines a reader reads in a maths
module.  It stays trustworthy only while those lines are the ones it was
tested against (tests/unit/test_kernels.py holds the two equal).  So each
NumPy function's code is recorded here, as a hash, from when its twin was
last verified.  When the code a reader has in front of them no longer
matches (they edited the formula to try something), the switch
(kernels/__init__.py) runs their NumPy lines instead of the twin, on either
backend, and says so once on stderr:

    losses.kl_normal_and_grads was edited: running your NumPy lines; its Numba twin computes the original

The hash is taken of the function's syntax tree with its docstring left out,
so comments, the docstring and formatting do not count; a changed operator,
name or number does.  Where the source cannot be read (a package installed
without its .py files), the twin is trusted.

Someone who changes a formula on purpose changes its twin to match, runs
tests/unit/test_kernels.py, and records the new hash below: the test that
checks these hashes prints the line to paste.
"""
import ast
import hashlib
import importlib.util

# twin ("module.name" in minivae.kernels) -> the NumPy functions it computes, "module.name" in
# minivae: the function of the same name, and what it calls (an optimizer's step calls its
# update and the flush of kernels/flush.py, which the twin does in one pass).
COMPUTES = {
    "layers.dense_forward": ("layers.dense_forward",),
    "layers.dense_backward": ("layers.dense_backward",),
    "layers.relu_forward": ("layers.relu_forward",),
    "layers.relu_backward": ("layers.relu_backward",),
    "layers.sigmoid": ("layers.sigmoid",),
    "reparam.reparam_forward": ("reparam.reparam_forward",),
    "reparam.reparam_backward": ("reparam.reparam_backward",),
    "losses.kl_normal_and_grads": ("losses.kl_normal_and_grads",),
    "losses.bernoulli_nll_and_grad": ("losses.bernoulli_nll_and_grad",),
    "optim.sgd_step": ("optim.sgd_step", "optim.sgd_update", "kernels.flush.flush_tiny"),
    "optim.adam_step": ("optim.adam_step", "optim.adam_update", "kernels.flush.flush_tiny"),
}

# NumPy function -> code_hash() of it when its twin was last verified equal to it
VERIFIED = {
    "layers.dense_forward": "b40c66a4d33b73cb",
    "layers.dense_backward": "ba82159674474002",
    "layers.relu_forward": "c56ebd56e6608893",
    "layers.relu_backward": "d6995d2042ffb5f4",
    "layers.sigmoid": "fc2a6fcb91922dff",
    "reparam.reparam_forward": "9abf6df68ed648f4",
    "reparam.reparam_backward": "fd89d6e766222f9e",
    "losses.kl_normal_and_grads": "d8fcff98d81f7a41",
    "losses.bernoulli_nll_and_grad": "2f1003b0ca589b11",
    "optim.sgd_step": "52cf3f9bcd8c1c75",
    "optim.sgd_update": "92c5c2567e26dcab",
    "optim.adam_step": "c845e4bf1ee2db7e",
    "optim.adam_update": "de4a981e6bac8bfc",
    "kernels.flush.flush_tiny": "e92875049287ab5c",
}

_hashes = {}        # "module.name" -> its code_hash now (None: no source), computed once


def code_hash(source, name):
    """The hash of top-level function `name` in `source` (docstring left out), or None."""
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                node.body = body[1:]
            return hashlib.sha256(_canonical(node).encode()).hexdigest()[:16]
    return None


def _canonical(node):
    """The tree as text, alike on every Python version this package runs on (ast.dump is
    not: newer versions add fields such as type_params, so empty and unset fields are
    left out here)."""
    if isinstance(node, ast.AST):
        fields = (f"{name}={_canonical(value)}" for name, value in ast.iter_fields(node)
                  if value is not None and value != [] and name != "type_comment")
        return f"{type(node).__name__}({', '.join(fields)})"
    if isinstance(node, list):
        return f"[{', '.join(_canonical(item) for item in node)}]"
    return repr(node)


def current_hash(function):
    """code_hash of "module.name" (a module of minivae) as its file reads now; None when
    its source is not available."""
    if function not in _hashes:
        module, name = function.rsplit(".", 1)
        try:
            spec = importlib.util.find_spec(f"minivae.{module}")
            source = spec.loader.get_source(spec.name)
        except (ImportError, AttributeError, OSError):
            source = None
        _hashes[function] = code_hash(source, name) if source is not None else None
    return _hashes[function]


def edited(twin):
    """The NumPy functions that `twin` computes whose code is no longer what it was verified
    against (none where the source is not available)."""
    return [f for f in COMPUTES[twin] if current_hash(f) not in (None, VERIFIED.get(f))]
