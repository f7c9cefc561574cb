"""A curated mutation check: does the test suite fail when a line that matters is wrong?

Each mutant below replaces one exact piece of minivae's source, or of a
lesson, with a wrong version that would quietly mislead a student or a user
(a gradient's factor, Adam's bias correction, the flush threshold, what a
checkpoint holds, the shuffle, the importance-sampled bound's −log S, the
grader's tolerance and hints, a lesson's own formula, the run folder's lock, ...).
For each mutant the tool

  1. writes the mutation into a scratch copy of the repository (made once),
  2. runs the test files named for it, under each backend (MINIVAE_BACKEND=
     numba, then numpy), stopping at the first failure,
  3. restores the file, with its old modification time, so Numba's disk cache
     of the unchanged kernels stays valid.

A mutant is "caught" when a test fails under some backend; the report names
the first failing test per backend.  Otherwise it SURVIVED, and the tool
exits 1.  In the manner of mutmut or cosmic-ray, but with a hand-picked list:
a general tool over the whole package would take hours here.

    python tools/mutants.py                   # every mutant
    python tools/mutants.py --only kl-grad-numpy shuffle-same-order
    python tools/mutants.py --list            # names, places, and the tests named
    python tools/mutants.py --without-test tests/unit/test_losses.py::test_kl_normal_gradients
                                              # show that a test is what catches a mutant

Run it from the repository root with minivae installed with the test and notebook
extras (pip install -e ".[test,notebook]") and MINIVAE_DATA naming MNIST's folder, as
CI does (.ci/run): a test skipped for want of either catches nothing, and a survivor's
line says which of its tests were skipped, and why.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

REPO = Path(__file__).resolve().parents[1]


class Mutant(NamedTuple):
    name: str
    path: str               # a file of the repository
    old: str                # exact text, found exactly once in the file
    new: str                # what replaces it
    tests: tuple            # test files (or node ids) that should catch it
    why: str                # what a user would be misled by


MUTANTS = [
    Mutant("kl-grad-numpy", "minivae/losses.py",
           "return kl, mu.copy(), 0.5 * (var - 1)", "return kl, mu.copy(), 0.5 * var",
           ("tests/unit/test_losses.py", "tests/unit/test_kernels.py"),
           "Eq. 7's ∂KL/∂log_var without its −1 (NumPy)"),
    Mutant("kl-grad-numba", "minivae/kernels/losses.py",
           "dlv[j] = half * (var_n[j] - one)", "dlv[j] = half * var_n[j]",
           ("tests/unit/test_losses.py", "tests/unit/test_kernels.py"),
           "Eq. 7's ∂KL/∂log_var without its −1 (Numba)"),
    Mutant("kl-value-numba", "minivae/kernels/losses.py",
           "acc += var_n[j] + m[j] * m[j] - one - lv[j]", "acc += var_n[j] + m[j] * m[j] - lv[j]",
           ("tests/unit/test_losses.py", "tests/unit/test_kernels.py"),
           "Eq. 7 without −K (Numba)"),
    Mutant("reparam-half-numpy", "minivae/reparam.py",
           "return dz, dz * eps * (0.5 * std)", "return dz, dz * eps * std",
           ("tests/unit/test_reparam.py", "tests/unit/test_kernels.py"),
           "∂z/∂log_var without the ½ of std = exp(½ log_var) (NumPy)"),
    Mutant("reparam-half-numba", "minivae/kernels/reparam.py",
           "out[k] = g[k] * e[k] * (half * s[k])", "out[k] = g[k] * e[k] * s[k]",
           ("tests/unit/test_reparam.py", "tests/unit/test_kernels.py"),
           "∂z/∂log_var without the ½ (Numba)"),
    Mutant("xent-x-numpy", "minivae/losses.py",
           "nll = (np.maximum(x_logits, 0) - x_logits * x + np.log1p(e)).sum(axis=1)",
           "nll = (np.maximum(x_logits, 0) - x_logits + np.log1p(e)).sum(axis=1)",
           ("tests/unit/test_losses.py", "tests/unit/test_kernels.py"),
           "the cross-entropy's l·x without x (NumPy)"),
    Mutant("xent-grad-numba", "minivae/kernels/losses.py",
           "s = one / (one + e_n[d])\n            dl[d] = (s if l[d] >= zero else e_n[d] * s) - t[d]",
           "s = one / (one + e_n[d])\n            dl[d] = s if l[d] >= zero else e_n[d] * s",
           ("tests/unit/test_losses.py", "tests/unit/test_kernels.py"),
           "∂nll/∂l = sig(l) without − x (Numba, float32)"),
    Mutant("xent-tiny-numba", "minivae/kernels/losses.py",
           "acc += max(l[d], zero) - l[d] * t[d] + (e_n[d] - big)",
           "acc += max(l[d], zero) - l[d] * t[d]",
           ("tests/unit/test_kernels.py",),
           "a float32 −log P(X|z) that drops every pixel's log1p(e) below 2⁻²⁹ (Numba)"),
    Mutant("dense-db-mean", "minivae/layers.py",
           "np.sum(dy, axis=0, out=db)", "np.mean(dy, axis=0, out=db)",
           ("tests/unit/test_layers.py", "tests/unit/test_kernels.py"),
           "db averaged over the batch instead of summed (NumPy)"),
    Mutant("dense-db-numba", "minivae/kernels/layers.py",
           "                out[h] = d\n                db[h] += d",
           "                out[h] = d\n                db[h] += g[h]",
           ("tests/unit/test_layers.py", "tests/unit/test_kernels.py"),
           "db summed before the ReLU mask (Numba)"),
    Mutant("adam-bias-correction", "minivae/optim.py",
           "step = lr * np.sqrt(1 - beta2 ** t) / (1 - beta1 ** t)", "step = lr",
           ("tests/unit/test_optim.py", "tests/unit/test_kernels.py"),
           "Adam without bias correction (NumPy)"),
    Mutant("adam-decay-sign-numba", "minivae/kernels/optim.py",
           "else g[i] + weight_decay * p[i] if decayed[i] else g[i])\n        mi = beta1",
           "else g[i] - weight_decay * p[i] if decayed[i] else g[i])\n        mi = beta1",
           ("tests/unit/test_optim.py", "tests/unit/test_kernels.py"),
           "L2 decay that pushes weights away from 0 (Numba)"),
    Mutant("decay-on-biases", "minivae/mlp.py",
           'np.full(p.size, name.endswith(".W"))', "np.full(p.size, True)",
           ("tests/unit/test_optim.py",),
           "the doersch preset decays its biases too, unlike the reference solver"),
    Mutant("sgd-momentum-numba", "minivae/kernels/optim.py",
           "v = momentum * velocity[i] + gi", "v = velocity[i] + gi",
           ("tests/unit/test_optim.py", "tests/unit/test_kernels.py"),
           "SGD's velocity never decays (Numba)"),
    Mutant("adam-no-flush-numpy", "minivae/optim.py",
           "        flush_tiny(flush_below, p, m)\n", "",
           ("tests/unit/test_flush.py",),
           "Adam's step without its flush of tiny weights and moments (NumPy)"),
    Mutant("flush-threshold", "minivae/kernels/flush.py",
           "return float(np.sqrt(np.finfo(dtype).tiny))", "return float(np.finfo(dtype).tiny)",
           ("tests/unit/test_flush.py",),
           "flushing only subnormals, which leaves their products underflowing"),
    Mutant("edits-not-detected", "minivae/kernels/verified.py",
           "return [f for f in COMPUTES[twin] if current_hash(f) not in (None, VERIFIED.get(f))]",
           "return []",
           ("tests/unit/test_kernels.py::test_an_edited_function_runs_its_numpy_lines_and_says_so_once",),
           "a student's edited formula silently replaced by its twin's original on numba"),
    Mutant("bug-as-user-error", "minivae/errors.py",
           "USER_ERRORS = (ArgumentError,", "USER_ERRORS = (ValueError, ArgumentError,",
           ("tests/commands/test_cli.py::"
            "test_only_minivae_s_own_errors_are_one_line_a_bug_keeps_its_traceback",),
           "a bug's ValueError printed as one line, its traceback lost"),
    Mutant("shuffle-same-order", "minivae/train.py",
           'iterate_minibatches(n, batch_size, streams["shuffle"])',
           'iterate_minibatches(n, batch_size, np.random.default_rng(0))',
           ("tests/unit/test_train_shuffle.py", "tests/unit/test_train.py"),
           "every epoch walks the data in the same order"),
    Mutant("iwae-log-k", "minivae/evaluate.py",
           "logsumexp(np.stack(parts), axis=0) - np.log(k)", "logsumexp(np.stack(parts), axis=0)",
           ("tests/unit/test_evaluate.py",),
           "the importance-sampled log P(X) without −log S: a log-sum, not a log-mean"),
    Mutant("gradcheck-threshold", "minivae/gradcheck.py",
           "\nLAYER_THRESHOLD = 1e-7\n", "\nLAYER_THRESHOLD = 1e-6\n",
           ("tests/unit/test_gradcheck.py",),
           "gradcheck 10× looser than it says"),
    Mutant("checkpoint-drops-v", "minivae/optim.py",
           'return {"t": np.int64(self.t), "m": self.m, "v": self.v}',
           'return {"t": np.int64(self.t), "m": self.m}',
           ("tests/unit/test_checkpoint.py", "tests/unit/test_train.py"),
           "a checkpoint without Adam's second moment: a resumed run is not the same run"),
    Mutant("resume-fresh-streams", "minivae/train.py",
           'streams = {s: rng_from_state(meta["rng_states"][s]) for s in STREAMS}',
           "streams = streams_from_seed(config.seed)",
           ("tests/unit/test_train.py", "tests/unit/test_train_shuffle.py"),
           "a resumed run restarts its random streams: the batches and ε of epoch 1 again"),
    Mutant("resume-history-behind", "minivae/train.py",
           '        write_history(self.run_dir, self.history)\n        row = self.history[-1]',
           '        row = self.history[-1]',
           ("tests/unit/test_run_folder.py::"
            "test_a_death_between_checkpoint_and_history_is_made_good_on_resume",),
           "a run killed between checkpoint and history stays one history row short"),
    Mutant("grader-tolerance", "minivae/classroom/parts.py",
           "LAYER = LAYER_THRESHOLD", "LAYER = 1e-2",
           ("tests/classroom/test_exercises.py",),
           "the exercise grader accepts a gradient 1% off"),
    Mutant("cvae-one-junction", "minivae/cvae.py",
           "self.cond.backward(dc_out, c_cond, dtap=dc_join, need_dx=False)",
           "self.cond.backward(dc_out, c_cond, dtap=None, need_dx=False)",
           ("tests/unit/test_cvae.py",),
           "X's gradient from the encoder's junction dropped: one path instead of two"),
    Mutant("iwae-naive-combine", "minivae/evaluate.py",
           "logsumexp(np.stack(parts), axis=0) - np.log(k)",
           "np.log(np.exp(np.stack(parts)).sum(axis=0)) - np.log(k)",
           ("tests/unit/test_evaluate.py::"
            "test_chunks_of_weights_far_below_exp_s_range_are_combined_stably",),
           "the chunks' log-sum-exps combined naively: −inf for weights below −745 nats"),
    Mutant("regressor-no-junction-relu", "minivae/regressor.py",
           "self.cond = cond_tower(self.x_dim, H, init, rng, self.dtype, relu_last=True)",
           "self.cond = cond_tower(self.x_dim, H, init, rng, self.dtype, relu_last=False)",
           ("tests/unit/test_regressor.py",),
           "the regressor without the ReLU the CVAE applies at the same junction"),
    Mutant("running-elbo-full-batches", "minivae/train.py",
           "total += loss * len(idx)", "total += loss * batch_size",
           ("tests/unit/test_train.py::test_the_running_neg_elbo_weights_each_minibatch_by_its_size",),
           "the epoch's running −ELBO counts the short last batch as a full one"),
    Mutant("last-epoch-not-evaluated", "minivae/train.py",
           "if epoch % cfg.eval_every == 0 or epoch == cfg.epochs:",
           "if epoch % cfg.eval_every == 0:",
           ("tests/unit/test_train.py::test_eval_every_evaluates_every_nth_epoch_and_the_last",),
           "with --eval-every 2 and 3 epochs the last epoch is never evaluated"),
    Mutant("grader-dmu-unchecked", "minivae/classroom/exercises.py",
           'grade(2, "dmu (N, K)", pick(got, "dmu"), dmu, numerical_grad(f, mu), common(dmu, N))',
           'grade(2, "dmu (N, K)", pick(got, "dmu"), pick(got, "dmu").value, None, common(dmu, N))',
           ("tests/classroom/test_exercises.py::test_planted_mistake_names_its_hint",),
           "exercise 4's dmu compared with itself, without central differences"),
    Mutant("lesson05-log-sigma", "lessons/05_testing.py",
           "0.5 * D * (LOG_2PI + np.log(s2))", "0.5 * D * (LOG_2PI + np.log(model.sigma))",
           ("tests/lessons/test_lessons_05_07.py::"
            "test_05_matrix_form_of_log_px_given_z_is_the_models_log_likelihood",),
           "lesson 05's Gaussian log P(X|z) normalized with log σ instead of log σ²"),
    Mutant("checkpoint-float64", "minivae/files/checkpoint.py",
           'arrays.update({f"param/{k}": v for k, v in model.params.items()})',
           'arrays.update({f"param/{k}": v.astype(np.float64) for k, v in model.params.items()})',
           ("tests/unit/test_checkpoint.py", "tests/unit/test_train.py"),
           "float32 parameters saved as float64: the checkpoint no longer loads"),
    Mutant("checkpoint-npy-loaded", "minivae/files/checkpoint.py",
           "    if not head.startswith(ZIP):", "    if not head:",
           ("tests/unit/test_checkpoint.py::test_every_bad_file_raises_a_clear_checkpoint_error",),
           "a .npy or text file handed to np.load: an array where a checkpoint was expected"),
    Mutant("watch-no-backoff", "minivae/kernels/watch.py",
           "min(2 * self.wait, LATEST)", "self.wait",
           ("tests/unit/test_watch.py",),
           "a run on one thread under a load times the 2-thread settings every 5 s for good"),
    Mutant("watch-faster-is-a-load", "minivae/kernels/watch.py",
           "and statistics.median(self.recent) >= DRIFT * self.usual",
           "and not 1 / DRIFT < statistics.median(self.recent) / self.usual < DRIFT",
           ("tests/unit/test_watch.py",),
           "a faster step (the machine's good moments) times the fewer-thread settings"),
    Mutant("watch-takes-any-pick", "minivae/kernels/watch.py",
           "if (1 + MARGIN) * seconds[pick] < seconds[before]:", "if True:",
           ("tests/unit/test_watch.py",),
           "a machine slowing as a whole moves an idle run to one thread (1.6x slower)"),
    Mutant("watch-end-keeps-the-timing", "minivae/kernels/watch.py",
           "        if self.trial is not None:\n            apply(self.setting)\n",
           "        pass\n",
           ("tests/unit/test_watch.py",),
           "an epoch's evaluation, and bench's other contenders, run under a setting being timed"),
    Mutant("overwrite-any-suffix", "minivae/files/overwrite.py",
           "    named = path.suffix.lower() == suffix", "    named = True",
           ("tests/unit/test_overwrite.py",),
           "sample --out samples.jpg writes PNG bytes under a JPEG's name"),
    # the lessons' own functions, the run folder, the notebooks command, the grader's hints,
    # the equation index and `where`, the explorer's exporter
    Mutant("lesson02-shift-up-left", "lessons/02_pixel_distance.py",
           "src[axis], dst[axis] = slice(0, 28 - k), slice(k, 28)",
           "src[axis], dst[axis] = slice(k, 28), slice(0, 28 - k)",
           ("tests/lessons/test_lesson_02.py::test_ordering_depends_on_shift_size",),
           "lesson 02 shifts its 2s up and left, not down and right as it says"),
    Mutant("lesson09-gap-no-jacobian", "lessons/09_appendix_1d.py",
           "log_q = -0.5 * T_GRID ** 2 - HALF_LOG_2PI - np.log(scale)[:, None]",
           "log_q = -0.5 * T_GRID ** 2 - HALF_LOG_2PI",
           ("tests/lessons/test_lesson_09.py::test_lesson_09_slopes",),
           "lesson 09's posterior gap with Q_σ's density missing its 1/scale"),
    Mutant("run-folder-leftover-loss-curve", "minivae/files/run_folder.py",
           '"samples_epoch*.png", "loss_curve.png")', '"samples_epoch*.png")',
           ("tests/unit/test_run_folder.py::"
            "test_temporary_files_of_killed_writes_are_removed_at_the_next_start",),
           "a killed write of loss_curve.png leaves its temporary file for good"),
    Mutant("run-lock-shared", "minivae/files/run_lock.py",
           "fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)",
           "fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)",
           ("tests/unit/test_run_lock.py",),
           "two trains hold one folder's lock at once"),
    Mutant("notebooks-failure-not-counted", "minivae/commands/notebooks.py",
           "            failed += 1\n", "",
           ("tests/commands/test_notebooks.py::test_a_failing_cell_is_named",),
           "notebooks --execute exits 0 though a lesson failed"),
    Mutant("grader-match-loose", "minivae/classroom/parts.py",
           "MATCH = 1e-6 ", "MATCH = 1e-1 ",
           ("tests/classroom/test_exercises.py::test_planted_mistake_names_its_hint",),
           "a hint named for a mistake 10% away from what the student returned"),
    Mutant("grader-half-not-recognized", "minivae/classroom/parts.py",
           '(times(2), "factor 2"), (times(0.5), "factor 2")]', '(times(2), "factor 2")]',
           ("tests/classroom/test_exercises.py::test_planted_mistake_names_its_hint",),
           "a gradient half the right one gets no hint"),
    Mutant("where-method-by-name", "minivae/site/equations.py",
           'name in (c.function, c.function.split(".")[-1], f"{c.module}.{c.function}")',
           'name in (c.function, f"{c.module}.{c.function}")',
           ("tests/site/test_equations.py::test_lookup_by_function_finds_every_entry_that_names_it",),
           "`where elbo` finds nothing, though VAE.elbo is in the index"),
    Mutant("where-key-line-off-by-one", "minivae/commands/where.py",
           ".splitlines()[where.key_line - 1].strip()", ".splitlines()[where.key_line].strip()",
           ("tests/commands/test_where.py::test_eq_7_prints_the_kl_lines_and_its_checks",),
           "`where` prints the line after the key expression"),
    Mutant("explorer-extent-signed", "minivae/explorer/export.py",
           "np.quantile(np.abs(mu), 0.995)", "np.quantile(mu, 0.995)",
           ("tests/explorer/test_export.py::test_plane_extent",),
           "the explorer's plane cuts off encodings on the negative side"),
]


def scratch_copy():
    """The repository's tracked files, copied once into a temporary folder."""
    files = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, check=True,
                           capture_output=True).stdout.decode().split("\0")
    root = Path(tempfile.mkdtemp(prefix="minivae-mutants-")) / "repo"
    for f in filter(None, files):
        (root / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / f, root / f)
    return root


def run_tests(root, mutant, backend, without):
    """(first failing test or None, seconds, why tests were skipped) for the mutant's tests
    under backend."""
    env = {**os.environ, "MINIVAE_BACKEND": backend, "PYTHONPATH": str(root),
           "MPLBACKEND": "Agg", "PYTHONDONTWRITEBYTECODE": "1"}
    deselect = [arg for t in without for arg in ("--deselect", t)]
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider",
                           "-rfEs", *deselect, *mutant.tests], cwd=root, env=env,
                          capture_output=True, text=True)
    failed = re.findall(r"^(?:FAILED|ERROR) (.+?)(?: - .*)?$", proc.stdout, re.M)
    # a skipped test catches nothing: say why (no MNIST, no extra), or a survivor misleads
    skipped = sorted(set(re.findall(r"^SKIPPED \[\d+\] [^:]+:\d+: (.+)$", proc.stdout, re.M)))
    if proc.returncode == 5:            # no test left to run (--without-test): nothing catches it
        return None, time.perf_counter() - t0, skipped
    if proc.returncode not in (0, 1) or (proc.returncode == 1 and not failed):
        print(f"mutants.py: {mutant.name}: pytest exited {proc.returncode} without naming a "
              f"failing test:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}", file=sys.stderr)
        sys.exit(2)
    return (failed[0] if failed else None), time.perf_counter() - t0, skipped


def check(root, mutant, backends, without):
    """{backend: first failing test or None}, with the mutation applied meanwhile."""
    path = root / mutant.path
    text, stat = path.read_text(encoding="utf-8"), path.stat()
    if text.count(mutant.old) != 1:
        print(f"mutants.py: {mutant.name}: the text to mutate is found "
              f"{text.count(mutant.old)} times in {mutant.path}, not once; "
              "update the mutant to the code as it is", file=sys.stderr)
        sys.exit(2)
    path.write_text(text.replace(mutant.old, mutant.new), encoding="utf-8")
    try:
        return {b: run_tests(root, mutant, b, without) for b in backends}
    finally:
        path.write_text(text, encoding="utf-8")
        # the original's own time stamp, never the mutant's: Numba's disk cache is keyed on
        # a file's (mtime, size), and a restored file stamped like its mutant would load
        # the mutant's compiled code
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="+", metavar="NAME", help="these mutants only")
    ap.add_argument("--list", action="store_true", help="list the mutants and exit")
    ap.add_argument("--backends", nargs="+", default=["numba", "numpy"],
                    choices=["numba", "numpy"])
    ap.add_argument("--without-test", nargs="+", default=[], metavar="NODE",
                    help="deselect these tests (to show a mutant survives without them)")
    args = ap.parse_args(argv)
    by_name = {m.name: m for m in MUTANTS}
    unknown = sorted(set(args.only or ()) - set(by_name))
    if unknown:
        ap.error(f"no mutant {', '.join(unknown)}; --list shows them")
    chosen = [by_name[n] for n in args.only] if args.only else MUTANTS
    if args.list:
        for m in chosen:
            print(f"{m.name:24s} {m.path}: {m.why}\n{'':24s} tests: {' '.join(m.tests)}")
        return 0
    root, t0, survived = scratch_copy(), time.perf_counter(), []
    print(f"{len(chosen)} mutants, backends {' and '.join(args.backends)}; scratch copy {root}")
    try:
        for m in chosen:
            results = check(root, m, args.backends, args.without_test)
            caught = {b: test for b, (test, _, _) in results.items() if test}
            secs = sum(s for _, s, _ in results.values())
            verdict = "caught" if caught else "SURVIVED"
            skipped = sorted({why for _, _, whys in results.values() for why in whys})
            print(f"{m.name:24s} {verdict:8s} {secs:5.0f} s  " +
                  ("; ".join(f"{b}: {t}" for b, t in caught.items()) or m.why)
                  + ("" if caught or not skipped else f" (skipped: {'; '.join(skipped)})"),
                  flush=True)
            if not caught:
                survived.append(m.name)
    finally:
        shutil.rmtree(root.parent, ignore_errors=True)
    minutes = (time.perf_counter() - t0) / 60
    print(f"{len(chosen) - len(survived)} of {len(chosen)} caught in {minutes:.1f} min"
          + (f"; SURVIVED: {', '.join(survived)}" if survived else ""))
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main())
