"""How a part of an exercise is graded: load the student's file, call, compare, hint.

The grader imports the student's file, calls each function ("part") on
random float64 inputs with a random upstream gradient, and compares the result

  * with central differences (minivae.gradcheck.numerical_grad) of a forward
    pass written here from the formula, and
  * with minivae's own implementation, the reference solution the stub names,

each by minivae.gradcheck.rel_error.  A part passes when both errors are
below its threshold.  When a part fails, its result is compared with
known-wrong variants of the right answer (transposed, N or 2 times off,
negated, ...); the first variant it matches names the hint.
"""
import importlib.util
import sys
import traceback
import warnings
from pathlib import Path
from typing import NamedTuple, Optional

import numpy as np

from ..gradcheck import LAYER_THRESHOLD, MODEL_THRESHOLD, numerical_grad, rel_error

LAYER = LAYER_THRESHOLD     # one layer or loss in float64 (minivae.gradcheck)
MODEL = MODEL_THRESHOLD     # a whole model: the errors of several layers add up
MATCH = 1e-6            # a result within this rel. error of a wrong variant "is" that variant

TODO = "not implemented yet"
HINTS = {
    "transposed dW": "dW has W's shape (D, H): dW = xᵀ dy; yours is its transpose, dyᵀ x",
    "1/N missing": "N times too large (N = batch size): the loss is a mean over the batch, "
                   "so each gradient carries one factor 1/N",
    "1/N doubled": "N times too small (N = batch size): the batch mean's 1/N is applied once "
                   "(where the loss is averaged); yours is applied twice, or where none belongs",
    "factor 2": "2 times off: a ½ lost or doubled? log_var is log σ² (never log σ), so "
                "std = exp(½ log_var) and ∂std/∂log_var = ½ std; Eq. 7 carries a ½",
    "sign": "the sign is flipped: the code minimizes loss = −ELBO, and a gradient is "
            "∂loss/∂(that variable)",
    "KL −1": "∂KL/∂log_var = ½ (exp(log_var) − 1): the −1 comes from the −log det Σ term of Eq. 7",
    "log σ for log σ²": "this treats log_var as log σ (exp(2·log_var) for the variance); "
                        "log_var is log σ², so the variance is exp(log_var)",
    "log sig overflow": "not finite at |logit| = 1e4: log sig(l) and log(1 − sig(l)) overflow; "
                        "use max(l, 0) − l·x + log1p(exp(−|l|)), whose gradient is sig(l) − x",
    "z for mu": "you used z where mu (or z − mu) belongs: ∂KL/∂mu = mu (Eq. 7 has no z), "
                "and ∂z/∂log_var = ½ std ⊙ eps = ½ (z − mu)",
    "averaged pixels": "−log P(X|z) sums over the D pixels (one Bernoulli each); don't average them",
    "KL sign": "loss = −log P(X|z) + D[Q(z|X) ‖ P(z)]: the KL enters with a plus sign",
    "KL missing": "the KL term (Eq. 7) is missing: its gradient is added to dmu and dlog_var",
    "−k missing": "Eq. 7 has −k: −1 per latent dimension inside the ½ Σ_k",
    "ReLU mask": "multiply dy by the indicator [y > 0] (1 where the unit is on, else 0), "
                 "not by y and not by nothing",
    "sigmoid": "d sig(x)/dx = sig(x)(1 − sig(x)) = y (1 − y), written with the output y",
    "dmu = dz": "∂z/∂mu = 1 (Eq. 10), so dmu is dz itself",
    "chain to log_var": "that is ∂loss/∂std = dz ⊙ eps; chain on through std = exp(½ log_var), "
                        "i.e. multiply by ½ std",
    "lse overflow": "exp over- or underflows: subtract the largest entry first, "
                    "log Σ exp(a) = m + log Σ exp(a − m) with m = max(a)",
    "log sum": "that is log Σ; the estimate averages the k weights: subtract log k "
               "(the 1/k of a mean)",
    "mean of logs": "that is the mean of the log weights (an ELBO-like lower bound); "
                    "take the log of the mean of the weights",
    "prior missing": "the weight is P(X|z) P(z) / Q(z|X): log P(z) (the prior N(0, I)) is missing",
    "log Q sign": "the weight divides by Q(z|X): log Q enters with a minus sign",
    "junction split": "a sum passes its gradient unchanged to both addends; don't split it",
    "one path": "X reaches the loss by two paths: the cond tower's gradient is the sum of "
                "what flows back from both junctions",
}


class StudentFileError(Exception):
    """The student's file cannot be imported; the message is one line."""


class Part(NamedTuple):
    number: int
    what: str
    status: str                     # "pass", "FAIL", TODO or "error"
    err_fd: Optional[float] = None  # rel. error vs central differences (None: no derivative)
    err_ref: Optional[float] = None  # rel. error vs minivae's implementation
    note: str = ""                  # the hint, or what went wrong


# -- loading and calling the student's code -----------------------------------
def load(path):
    """Import the file at `path` as a fresh module, leaving sys.modules as it was."""
    path = Path(path)
    name = f"_minivae_student_{path.stem}_{id(path)}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module          # during import only (dataclasses and pickle look here)
    try:
        spec.loader.exec_module(module)
    except SyntaxError as e:
        raise StudentFileError(f"{path}:{e.lineno}: syntax error: {e.msg}") from None
    except SystemExit:
        raise StudentFileError(f"{path}: importing it called exit()") from None
    except Exception as e:
        raise StudentFileError(f"{path}:{_student_line(e, path)}: importing it raised "
                               f"{_one_line(e)}") from None
    finally:
        sys.modules.pop(name, None)
    return module


def _one_line(e):
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0]}" if text else type(e).__name__


def _student_line(e, path):
    """The line of the student's file where exception e was raised (the innermost one)."""
    lines = [f.lineno for f in traceback.extract_tb(e.__traceback__)
             if Path(f.filename).resolve() == Path(path).resolve()]
    return lines[-1] if lines else "?"


def call(module, name, *args):
    """(result, None), or (None, TODO / a one-line error) when the call does not work."""
    fn = getattr(module, name, None)
    if not callable(fn):
        return None, f"the file defines no function {name}()"
    args = [a.copy() if isinstance(a, np.ndarray) else a for a in args]   # ours stay intact
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn(*args), None
    except NotImplementedError:
        return None, TODO
    except (Exception, SystemExit) as e:
        return None, f"{name}() raised {_one_line(e)} (line {_student_line(e, module.__file__)})"


def tuple_of(outcome, n):
    """Split a call's (result, problem) into n outcomes, one per returned array."""
    value, problem = outcome
    if problem is None and not (isinstance(value, (tuple, list)) and len(value) == n):
        problem = f"expected a tuple of {n} arrays, got {type(value).__name__}"
    return [(None, problem)] * n if problem else [(v, None) for v in value]


def joined(outcome, n):
    """A call returning n arrays, as one outcome: the arrays raveled and joined."""
    parts = tuple_of(outcome, n)
    if parts[0][1] is not None:
        return parts[0]
    try:
        return np.concatenate([np.ravel(np.asarray(v, dtype=np.float64)) for v, _ in parts]), None
    except (TypeError, ValueError) as e:
        return None, f"returned something that is not {n} arrays ({_one_line(e)})"


# -- grading one part -----------------------------------------------------------
def common(ref, N):
    """The wrong variants every gradient can fall into: sign, 1/N, factor 2."""
    return [(-ref, "sign"), (ref * N, "1/N missing"), (ref / N, "1/N doubled"),
            (2 * ref, "factor 2"), (ref / 2, "factor 2")]


def grade(number, what, outcome, ref, fd=None, variants=(), threshold=LAYER,
          nonfinite="log sig overflow"):
    """One Part: the student's result against minivae's (ref) and central differences (fd)."""
    value, problem = outcome
    if problem is not None:
        return Part(number, what, TODO if problem == TODO else "error", note=problem)
    try:
        got = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return Part(number, what, "FAIL", note=f"returned {type(value).__name__}, not an array")
    if got.shape != np.shape(ref):
        hint = _match(got, variants)
        return Part(number, what, "FAIL", note=hint or f"shape {got.shape}, expected {np.shape(ref)}")
    if not np.isfinite(got).all():
        return Part(number, what, "FAIL", note=f"hint ({nonfinite}): {HINTS[nonfinite]}")
    err_ref = rel_error(got, ref)
    err_fd = None if fd is None else rel_error(got, fd)
    if err_ref < threshold and (err_fd is None or err_fd < threshold):
        return Part(number, what, "pass", err_fd, err_ref)
    hint = _match(got, variants) or "no common mistake matches: compare your formula with the " \
                                    "stub's, entry by entry, on a small input"
    return Part(number, what, "FAIL", err_fd, err_ref, hint)


def _match(got, variants):
    for wrong, key in variants:
        wrong = np.asarray(wrong, dtype=np.float64)
        if wrong.shape == got.shape and np.isfinite(wrong).all() and rel_error(got, wrong) < MATCH:
            return f"hint ({key}): {HINTS[key]}"
    return None


def grads_vector(grads, keys):
    """The arrays grads[k] for k in keys, raveled and joined (float64)."""
    return np.concatenate([np.asarray(grads[k], dtype=np.float64).ravel() for k in keys])


def student_grads(outcome, keys):
    """Copy the student's gradient dict (its arrays may be views the next pass overwrites)."""
    value, problem = outcome
    if problem is None:
        missing = [k for k in keys if not isinstance(value, dict) or k not in value]
        if missing:
            return None, f"the gradient dict lacks {', '.join(missing[:3])}"
        try:
            return {k: np.array(value[k], dtype=np.float64) for k in keys}, None
        except (TypeError, ValueError) as e:
            return None, f"a gradient is not an array ({_one_line(e)})"
    return None, problem


def fd_params(loss, params, keys):
    """Central differences of loss() with respect to params[k], k in keys, joined."""
    return np.concatenate([numerical_grad(loss, params[k]).ravel() for k in keys])
