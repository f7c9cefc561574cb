"""Lessons 05-07 run with --quick, and the numbers they print agree with the maths.

Each lesson runs in a subprocess (MPLBACKEND=Agg, MINIVAE_DATA from the
`mnist_dir` fixture).  The checks recompute what the lesson claims by an
independent route:

05 (§2.3)      on a 2-D-latent model trained here, log P(X) by quadrature over
               a grid of z; the lesson's importance-sampled and prior-sampled
               estimates must approach it and its ELBO must lie below it;
               the S = 1 importance estimate must equal the ELBO in expectation;
               the ink-ELBO correlation recomputed from the encoder and decoder;
               bits per pixel = −nats / (784 ln 2).
06 (§2.4.2-3)  the KL term recomputed in closed form (Eq. 7) from the encoder,
               bits = nats / ln 2, the active-dimension count, the analytic
               change of the KL under a naive N(0, λI) prior, and the σ trend.
07 (§4.1)      the test −ELBO recomputed from the saved checkpoint within its
               Monte Carlo error; the last epoch's numbers against history.csv;
               the --zdim 2 and --zdim-sweep figures/table.
"""
import csv
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.special import logsumexp

from lesson_tools import lesson_functions
from minivae.files.checkpoint import load_checkpoint
from minivae.losses import kl_normal
from minivae.model import VAE

LESSONS = Path(__file__).resolve().parents[2] / "lessons"
NUM = r"(-?\d+\.\d+(?:e[-+]\d+)?)"
TIMEOUT = 600             # seconds; --quick takes ~10 s on an idle 2-core machine


def run_lesson(script, mnist_dir, out, *extra):
    """Run lessons/<script> --quick --out out *extra; return its stdout (asserting exit 0)."""
    # One BLAS thread: on a busy 2-core machine OpenBLAS's spinning worker
    # threads made the --quick runs 4x slower (measured); results are the same.
    env = {**os.environ, "MPLBACKEND": "Agg", "MINIVAE_DATA": str(mnist_dir),
           "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS", "1")}
    proc = subprocess.run([sys.executable, str(LESSONS / script), "--quick", "--out", str(out), *extra],
                          env=env, capture_output=True, text=True, timeout=TIMEOUT, cwd=out)
    assert proc.returncode == 0, f"{script} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout


def grab(pattern, text, cast=float):
    """The groups of the first match of pattern in text (a test failure if none)."""
    m = re.search(pattern, text)
    assert m, f"no line matching {pattern!r} in:\n{text}"
    return tuple(cast(g) for g in m.groups()) if len(m.groups()) > 1 else cast(m.group(1))


def assert_pngs(out, names):
    for name in names:
        path = out / f"{name}.png"
        assert path.is_file() and path.stat().st_size > 5_000, f"{path} missing or empty"


@pytest.fixture(scope="module")
def tiny_checkpoint(mnist_small, tmp_path_factory):
    """A Bernoulli VAE 784-2 trained for 5 epochs on 2,000 digits, as a checkpoint.

    No hidden layers: the decoder's logits are linear in z, so log P(X|z) is
    concave in z and the posterior P(z|X) is unimodal.  Then the grid sum
    converges fast and the samplers get close within k draws we can afford,
    which lets the checks on lesson 05 use tight tolerances.
    """
    from minivae.train import TrainConfig, train
    x_train, _, x_test, _ = mnist_small
    run = tmp_path_factory.mktemp("tiny") / "run"
    config = TrainConfig(hidden=(), z_dim=2, init="he", weight_decay=0.0, epochs=5,
                         out_dir=str(run), images=False, seed=0)
    train(config, x_train=x_train.copy(), x_test=x_test.copy(), progress=False)
    return run / "last.npz"


def log_px_quadrature(model, x, half_width=5.0):
    """log P(X) = log ∫ P(X|z) N(z; 0, I) dz for a 2-D latent, by a Riemann sum on a grid.

    The spacing h is set below the encoder's smallest σ (a guide to the
    posterior's width), and the same sum on every other grid point (spacing
    2h) is returned too so the caller can see it has converged.
    x (N, 784) float32 -> (fine (N,), coarse (N,)) float64.
    """
    _, log_var = model.encode(x)
    sigma_min = float(np.exp(0.5 * log_var).min())
    assert sigma_min > 0.02, f"posterior too narrow for this grid ({sigma_min})"
    h = min(0.04, sigma_min / 1.5)
    g = np.arange(-half_width, half_width + h / 2, h)
    z = np.stack(np.meshgrid(g, g, indexing="ij"), axis=-1).reshape(-1, 2)      # (G², 2)
    x64 = x.astype(np.float64)
    parts = []
    for s in range(0, len(z), 20_000):
        zc = z[s:s + 20_000]
        logits, _ = model.decoder.forward(zc.astype(model.dtype))
        logits = logits.astype(np.float64)
        # Bernoulli log P(X|z) = X·l − ∑_d log(1 + e^l_d); log N(z; 0, I) in 2-D
        log_px_z = logits @ x64.T - np.logaddexp(0.0, logits).sum(1, keepdims=True)
        parts.append(log_px_z - 0.5 * (zc ** 2).sum(1, keepdims=True) - np.log(2 * np.pi))
    a = np.concatenate(parts).reshape(len(g), len(g), -1)
    fine = logsumexp(a.reshape(-1, a.shape[-1]), axis=0) + 2 * np.log(h)
    coarse = logsumexp(a[::2, ::2].reshape(-1, a.shape[-1]), axis=0) + 2 * np.log(2 * h)
    return fine, coarse


def parse_05_table(out):
    """{model name: (prior {k: value}, Q {k: value}, ELBO)} from lesson 05's stdout."""
    result = {}
    for block in re.split(r"\n(?=VAE [^\n]*: log P\(X\) estimates)", out)[1:]:
        name = block.split(":")[0]
        prior, viaq = {}, {}
        for k, p, q in re.findall(r"S=(\d+)\s+" + NUM + r"(?:[ \t]+" + NUM + r")?", block):
            prior[int(k)] = float(p)
            if q:
                viaq[int(k)] = float(q)
        result[name] = (prior, viaq, grab(r"ELBO \(Eq\. 5 right side.*?: " + NUM, block))
    return result


def elbo_by_hand(model, x, eps):
    """Per digit log P(X|z) − KL for the Bernoulli decoder, z = mu + exp(½ log_var)·eps, in float64.

    Written out here from Eq. 7 and the Bernoulli log-likelihood rather than
    through model.elbo, so the test does not reuse the code it checks.
    """
    mu, log_var = (a.astype(np.float64) for a in model.encode(x))
    z = mu + np.exp(0.5 * log_var) * eps
    logits, _ = model.decoder.forward(z.astype(model.dtype))
    logits, x64 = logits.astype(np.float64), x.astype(np.float64)
    log_lik = (x64 * logits - np.logaddexp(0.0, logits)).sum(1)
    kl = 0.5 * (np.exp(log_var) + mu ** 2 - 1.0 - log_var).sum(1)
    return log_lik - kl


def test_05_estimates_against_quadrature(mnist_dir, mnist_small, tiny_checkpoint, tmp_path):
    out = run_lesson("05_testing.py", mnist_dir, tmp_path, "--checkpoint", str(tiny_checkpoint),
                     "--draws-prior", "10000", "--draws-q", "1000")
    assert_pngs(tmp_path, ["05_samples", "05_elbo_hist", "05_log_px"])
    (prior, viaq, elbo), = parse_05_table(out).values()
    n = grab(r"mean over the first (\d+) test digits", out, int)
    model, _, _ = load_checkpoint(tiny_checkpoint)
    fine, coarse = log_px_quadrature(model, mnist_small[2][:n])
    # Grid converged: halving the spacing moves no digit's log P(X) by 1e-4 nats.
    assert np.abs(fine - coarse).max() < 1e-4
    log_px = fine.mean()
    # Eq. 5: the ELBO lies below log P(X) by the mean D[Q(z|X) || P(z|X)], which
    # for this crude encoder is several nats (the ELBO's own SE here is ~0.05).
    assert elbo < log_px - 1.0, (elbo, log_px)
    # Both estimates of log P(X) are biased low and rise with k.  With 1,000
    # draws from Q, or 10,000 from the prior (enough in 2-D), they close all
    # but a fraction of a nat of that gap; 0.1 nats above allows for the noise
    # of a 20-digit mean.
    assert log_px - 0.6 < viaq[1000] < log_px + 0.1, (viaq, log_px)
    assert log_px - 0.3 < prior[10_000] < log_px + 0.1, (prior, log_px)
    for est in (viaq, prior):
        ks = sorted(est)
        assert all(est[a] < est[b] + 0.05 for a, b in zip(ks, ks[1:])), est
    # S = 1 from Q is log P(X|z) + log P(z) − log Q(z|X), whose mean is the ELBO;
    # a single prior draw is far worse.
    assert abs(viaq[1] - elbo) < 0.5, (viaq[1], elbo)
    assert prior[1] < elbo - 5.0

    # The checkpoint was trained on grey levels: the lesson must say its numbers are the X′ surrogate.
    assert "X′ surrogate" in out and "scoring on binary test digits" not in out

    # The ink-ELBO correlation over the histogram's digits, one z per digit as in the
    # lesson: recomputed for 30 independent draws of eps, the printed value must lie
    # within 4 standard deviations of their mean (plus its printed rounding).
    n_hist = grab(r"ELBO over (\d+) test digits", out, int)
    x_hist = mnist_small[2][:n_hist]
    ink = x_hist.astype(np.float64).sum(1)
    rng = np.random.default_rng(7)
    r = [np.corrcoef(ink, elbo_by_hand(model, x_hist, rng.standard_normal((n_hist, model.z_dim))))[0, 1]
         for _ in range(30)]
    printed_r = grab(r"ink ∑_d X_d against ELBO: correlation " + NUM, out)
    assert abs(printed_r - np.mean(r)) < 4 * np.std(r, ddof=1) + 5e-4, (printed_r, np.mean(r), np.std(r))


@pytest.mark.parametrize("likelihood, sigma", [("gaussian", 0.3), ("gaussian", 2.5),
                                               ("bernoulli", 1.0)])
def test_05_matrix_form_of_log_px_given_z_is_the_models_log_likelihood(likelihood, sigma):
    """The lesson scores every (digit, z) pair at once with log_px_given_z_matrix; each entry
    must be model.log_likelihood of that pair, for a Gaussian decoder with σ ≠ 1 too (whose
    normalizer −½ D log 2πσ² the lesson's Bernoulli models never reach)."""
    matrix = lesson_functions("05_testing.py", "log_px_given_z_matrix").log_px_given_z_matrix
    model = VAE(x_dim=9, hidden=(5,), z_dim=2, likelihood=likelihood, sigma=sigma, init="he",
                dtype=np.float64, seed=1)
    rng = np.random.default_rng(2)
    x, z = rng.random((4, 9)), rng.standard_normal((3, 2))
    pairs = model.log_likelihood(np.tile(x, (3, 1)), np.repeat(z, 4, axis=0)).reshape(3, 4)
    np.testing.assert_allclose(matrix(model, x, z), pairs, rtol=1e-12)


def test_05_trains_two_models(mnist_dir, tmp_path):
    out = run_lesson("05_testing.py", mnist_dir, tmp_path)
    assert_pngs(tmp_path, ["05_samples", "05_elbo_hist", "05_log_px"])
    tables = parse_05_table(out)
    assert list(tables) == ["VAE 784-400-4", "VAE 784-400-30"]
    assert "scoring on binary test digits (0/1 pixels: True)" in out
    errors = [float(e) for e in re.findall(r"standard error of the S=1 column from Q: " + NUM, out)]
    # bits per pixel = −nats / (784 ln 2), for the histogram's ELBO and for log_px_importance;
    # the nats are printed to 0.01 and the bits to 1e-4, hence the tolerance.
    pairs = re.findall(r"mean " + NUM + r" nats, std.*?−ELBO = " + NUM + " bits per pixel", out)
    pairs += re.findall(r"log_px_importance with \d+ draws: " + NUM + " nats = " + NUM + " bits", out)
    assert len(pairs) == 4
    for nats, bits in pairs:
        assert float(bits) == pytest.approx(-float(nats) / (784 * np.log(2)), abs=6e-5), (nats, bits)
    signed = r"([-+]\d+\.\d+)"
    against = re.findall(r"prior sampling against the ELBO: " + signed + r" nats at S=1, " + signed
                         + r" nats at S=(\d+)", out)
    assert len(against) == 2
    for (name, (prior, viaq, elbo)), se, (at1, atmax, smax) in zip(tables.items(), errors, against):
        assert float(at1) == pytest.approx(prior[1] - elbo, abs=0.011)
        assert float(atmax) == pytest.approx(prior[int(smax)] - elbo, abs=0.011)
        # E[log w] = ELBO.  The lesson's ELBO uses as many draws per digit as the S = 1
        # column and its terms vary less (its KL is exact), so the difference has a
        # standard error of at most √2·se: allow 4 of them.
        assert abs(viaq[1] - elbo) < 4 * np.sqrt(2) * se, (name, viaq[1], elbo, se)
        ks = sorted(viaq)
        assert all(viaq[a] <= viaq[b] + 0.2 for a, b in zip(ks, ks[1:])), (name, viaq)
        assert viaq[max(ks)] > elbo                                   # tighter than the ELBO
        assert prior[1] < viaq[1]                                     # the prior wastes draws


def test_06_bits_and_invariance(mnist_dir, mnist_small, tiny_checkpoint, tmp_path):
    out = run_lesson("06_interpreting.py", mnist_dir, tmp_path, "--checkpoint", str(tiny_checkpoint))
    assert_pngs(tmp_path, ["06_kl_per_dim", "06_prior_scale", "06_sigma_tradeoff", "06_sigma_samples",
                           "06_replicate"])
    n = grab(r"first (\d+) test digits", out, int)
    x = mnist_small[2][:n]
    model, _, _ = load_checkpoint(tiny_checkpoint)

    # Part 1: the KL term by Eq. 7, in nats and bits, and the active dimensions.
    mu, log_var = (a.astype(np.float64) for a in model.encode(x))
    kl = kl_normal(mu, log_var)[0].mean()
    kl_dim = 0.5 * (np.exp(log_var) + mu ** 2 - 1 - log_var).mean(0)
    nats, bits = grab(r"KL term .*?= " + NUM + r" nats = " + NUM + " bits", out)
    assert nats == pytest.approx(kl, rel=1e-4)
    assert bits == pytest.approx(kl / np.log(2), rel=1e-4)
    assert grab(r"active dimensions .*?: (\d+) of", out, int) == int((kl_dim > 0.01).sum())

    # Part 2: absorbing the prior's scale leaves the objective equal to rounding;
    # the naive prior N(0, λI) changes the KL by ½ ∑_k [(σ² + μ²)(1/λ − 1) + log λ].
    rows = re.findall(r"λ=(\S+)" + r"\s+".join([""] + [NUM] * 5), out)
    assert len(rows) == 5
    x64 = mnist_small[2][:min(n, 1000)].astype(np.float64)
    m64 = VAE(**{**model.config(), "dtype": np.float64})
    for name, p in model.params.items():
        m64.params[name][...] = p
    mu, log_var = m64.encode(x64)
    for lam, absorbed, diff, naive, naive_diff, per_image in rows:
        lam = float(lam)
        assert abs(float(diff)) < 1e-9 and float(per_image) < 1e-9
        expected = -np.mean(0.5 * ((np.exp(log_var) + mu ** 2) * (1 / lam - 1) + np.log(lam)).sum(1))
        assert float(naive_diff) == pytest.approx(expected, abs=1e-5, rel=1e-7), lam

    # Part 3: smaller σ weights the squared error more: more KL, less error.
    sweep = {float(s): (float(mse), float(k)) for s, mse, k in
             re.findall(r"σ = (\S+)\s+squared error.*?\(MSE " + NUM + r" per pixel\)\s+KL =\s+" + NUM, out)}
    lo, hi = min(sweep), max(sweep)
    assert len(sweep) == 5 and sweep[lo][1] > sweep[hi][1] + 5 and sweep[lo][0] < sweep[hi][0]
    lambdas = re.findall(r"σ = (\S+)\s+squared error.*?Eq\. 11's λ = 2σ² = (\S+)", out)
    assert len(lambdas) == 5 and all(float(lam) == pytest.approx(2 * float(s) ** 2) for s, lam in lambdas)

    # Part 4: every pixel copied r times multiplies −log P(X|z) against the KL, as 1/σ² does:
    # the printed total is r times the per-copy cost, and the KL grows with r.
    copies = [(int(r), float(total), int(r2), float(per), float(k)) for r, total, r2, per, k in re.findall(
        r"r = (\d+):\s+−log P\(X\|z\) =\s+" + NUM + r" nats = (\d+) × \s*" + NUM + r" per copy\s+KL =\s+" + NUM, out)]
    assert [c[0] for c in copies] == [1, 2, 4], out
    for r, total, r2, per, _ in copies:
        assert r2 == r and total == pytest.approx(r * per, abs=0.002 * r)
    kls = [c[4] for c in copies]
    assert kls[0] < kls[1] < kls[2] and kls[2] > kls[0] + 5


@pytest.fixture(scope="module")
def lesson07(mnist_dir, tmp_path_factory):
    """Lesson 07 --quick with a 2-D latent and a short latent-size sweep: (stdout, out folder)."""
    out = tmp_path_factory.mktemp("l07")
    return run_lesson("07_vae_mnist.py", mnist_dir, out, "--zdim", "2", "--zdim-sweep",
                      "--sweep-zdims", "2,5"), out


def test_07_elbo_manifold_and_sweep(lesson07, mnist_small):
    out, tmp_path = lesson07
    assert_pngs(tmp_path, ["07_samples", "07_nearest", "07_reconstructions", "07_loss_curves", "07_manifold"])
    ckpt = Path(grab(r"checkpoint: (\S+last\.npz)", out, str))
    model, _, meta = load_checkpoint(ckpt)
    assert model.z_dim == 2 and model.hidden == (1000, 500, 250) and meta["config"]["lr"] == 1e-3

    # The printed test −ELBO (one z per digit) against 20 fresh draws per digit:
    # the two means differ only by Monte Carlo noise, whose SE we measure.
    n, printed = grab(r"test −ELBO on (\d+) test digits after .*?: " + NUM, out)
    x = mnist_small[2][:int(n)]
    rng = np.random.default_rng(123)
    draws = np.stack([model.elbo(x, rng).elbo for _ in range(20)])          # (20, N)
    mc_var = draws.var(axis=0, ddof=1).mean()                               # per-digit noise
    se = np.sqrt(mc_var / x.shape[0] * (1 + 1 / 20))
    assert abs(printed + draws.mean()) < 5 * se + 1e-2, (printed, -draws.mean(), se)
    untrained = grab(r"untrained network .*?: " + NUM + " nats", out)
    assert printed < untrained - 5          # training lowered it (10 steps in --quick)

    # The last epoch's train/test −ELBO and the mean epoch time, against history.csv.
    with open(ckpt.parent / "history.csv", newline="") as f:
        last = list(csv.DictReader(f))[-1]
    train_ne, test_ne, gap = grab(r"train −ELBO " + NUM + r", test −ELBO " + NUM + r" nats \(test − train = "
                                  r"([-+]\d+\.\d+)\)", out)
    assert train_ne == pytest.approx(float(last["train_neg_elbo"]), abs=0.006)
    assert test_ne == pytest.approx(float(last["test_neg_elbo"]), abs=0.006)
    assert gap == pytest.approx(float(last["test_neg_elbo"]) - float(last["train_neg_elbo"]), abs=0.006)
    seconds = grab(r"training time per epoch: mean " + NUM + " s over 1 epoch", out)
    assert seconds == pytest.approx(float(last["seconds"]), abs=0.051)

    # The sweep prints one row per latent size; a z-D latent has at most z active dims;
    # "behind best" is each −ELBO minus the smallest.
    rows = re.findall(r"z=(\d+)\s+" + NUM + r"\s+" + NUM + r"\s+" + NUM + r"\s+(\d+)\s+" + NUM, out)
    assert [int(r[0]) for r in rows] == [2, 5]
    best = min(float(r[1]) for r in rows)
    for z, ne, rc, kl, act, behind in rows:
        assert float(ne) == pytest.approx(float(rc) + float(kl), abs=0.02)
        assert 0 <= int(act) <= int(z)
        assert float(behind) == pytest.approx(float(ne) - best, abs=0.011)


def test_07_nearest_training_image_per_sample(lesson07, mnist_dir):
    """§4.1: each Fig. 7 sample beside its nearest training image.  The lesson saves its
    100 samples with the index and the squared distance (summed over 784 pixels, lesson
    02's measure) of the nearest of the images it trained on.  Recomputed here by brute
    force, one sample at a time, pixel by pixel in float64: each saved distance must be
    that sample's minimum over the training images (to 1e-9 relative) and its saved
    index must attain it.  The samples must be Fig. 7's own (the checkpoint's model,
    decoding the lesson's seeded z), and the printed medians must match."""
    from minivae.data import load_mnist
    out, tmp_path = lesson07
    saved = np.load(tmp_path / "07_nearest.npz")
    n_train = int(saved["n_train"])
    assert n_train == 1000                                       # --quick trains on the first 1,000
    x = load_mnist("train", data_dir=mnist_dir, download=False)[0][:n_train].astype(np.float64)
    samples, index, distance = saved["samples"], saved["index"], saved["distance"]
    assert samples.shape == (100, 784) and index.shape == distance.shape == (100,)
    model, _, _ = load_checkpoint(Path(grab(r"checkpoint: (\S+last\.npz)", out, str)))
    np.testing.assert_allclose(samples, model.sample(100, np.random.default_rng([0, 7])), atol=1e-6)
    for k, s in enumerate(samples.astype(np.float64)):
        d = ((x - s) ** 2).sum(axis=1)                           # (n_train,) brute force
        assert distance[k] == pytest.approx(d.min(), rel=1e-9), k
        assert d[index[k]] == pytest.approx(d.min(), rel=1e-9), k
    assert distance.min() > 1.0                                  # no sample is a copy of a training digit
    median_printed = grab(r"to each of the 100 samples of Fig\. 7: median " + NUM, out)
    assert median_printed == pytest.approx(np.median(distance), abs=0.006)


def test_07_exercise_numbers():
    """Exercises 2 and 3 of lesson 07 quote Φ⁻¹(0.025), Φ⁻¹(0.975) and the binary entropy H(0.3)."""
    from scipy.stats import norm
    text = (LESSONS / "07_vae_mnist.py").read_text(encoding="utf-8")
    m = re.search(r"Φ⁻¹\(0\.025\) = −(\d\.\d+) to\s+#?\s*Φ⁻¹\(0\.975\) = (\d\.\d+)", text)
    assert m, "exercise 2's grid range not found"
    assert -float(m.group(1)) == pytest.approx(norm.ppf(0.025), abs=5e-4)
    assert float(m.group(2)) == pytest.approx(norm.ppf(0.975), abs=5e-4)
    h = float(re.search(r"H\(0\.3\) = (\d\.\d+) nats", text).group(1))
    assert h == pytest.approx(-(0.3 * np.log(0.3) + 0.7 * np.log(0.7)), abs=5e-4)
