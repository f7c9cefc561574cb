"""What the lessons say about the paper, held to the numbers they print.

The lessons' text names each quantity with one sign and one symbol (the
reconstruction cost `recon_nll` = −log P(X|z), the expected log-likelihood
E_Q[log P(X|z)] with the plus sign, K for the latent size, σ only for the
decoder's noise), and credits each number to the right source.  These tests
run the lessons whose text makes such a claim about a printed number and
check the number against the paper's printed value or a computation of
their own; the last test keeps the retired names out of the text.
"""
import ast
import math
import re

import numpy as np
import pytest
from numpy.polynomial.hermite_e import hermegauss

from lesson_tools import LESSONS, REPO, grab, run_lesson

NUM = r"([-+]?\d+(?:\.\d*)?(?:e[-+]?\d+)?)"          # one printed number
LIST = r"(\[[^=;|\n]*\])"                             # one printed Python list
PAPER_SHIFT, PAPER_ERASED = 0.2693, 0.0387            # Fig. 3's distances as the paper prints them


# ---------------------------------------------------------------- lesson 02
@pytest.fixture(scope="module")
def run02(mnist_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("l02")
    return run_lesson("02_pixel_distance.py", out, env={"MINIVAE_DATA": str(mnist_dir)})


def test_02_paper_distances_are_attributed_as_printed(run02):
    """.0387 is Fig. 3's (a)–(b) distance and .2693 its (a)–(c) one: the lesson prints each
    beside the distance it is, never .0387 beside a shift, and the paper's ratio is theirs."""
    b_line = re.search(r"^\s+\(b\) \(a\) with .*$", run02, re.M).group(0)
    c_line = re.search(r"^\s+\(c\) \(a\) shifted 1/2 px.*$", run02, re.M).group(0)
    d_line = re.search(r"^\s+\(d\) \(a\) shifted 1 px.*$", run02, re.M).group(0)
    assert b_line.endswith("(paper: .0387)") and c_line.endswith("(paper: .2693)")
    assert "paper" not in d_line
    _, paper_ratio = grab(rf"ratio d\(a,c\)/d\(a,b\) = {NUM} \(paper: {NUM}\)", run02)
    assert paper_ratio == pytest.approx(PAPER_SHIFT / PAPER_ERASED, abs=6e-4)
    # the erased stroke, not a shift, comes near .0387 per pixel
    d_ab_px, = grab(rf"d\(a,b\) = {NUM} sum = {NUM} per pixel", run02)[1:]
    d_ac_px, = grab(rf"d\(a,c\) = {NUM} sum = {NUM} per pixel", run02)[1:]
    assert abs(d_ab_px - PAPER_ERASED) < 0.01 and abs(d_ac_px - PAPER_SHIFT) > 0.2


# ---------------------------------------------------------------- lesson 03
@pytest.fixture(scope="module")
def run03(tmp_path_factory):
    return run_lesson("03_reparam.py", tmp_path_factory.mktemp("l03"))


def test_03_gaussian_recon_nll_is_a_cost_that_can_be_negative(run03):
    """recon_nll = −log P(X|z) is positive only for binary X: with the Gaussian decoder of
    lesson 03 it is ‖X − f(z)‖²/(2σ²) + (D/2) ln(2πσ²), which is bounded below by the
    constant (D/2) ln(2πσ²) < 0 and, for the run with the trick, lies below zero.  Each
    printed −ELBO is that reconstruction cost plus the KL."""
    sigma, = grab(rf"Gaussian likelihood sigma = {NUM}", run03)
    x_dim, = grab(r"VAE on the ring of Fig\. 2 \(x_dim (\d+),", run03, int)
    floor = 0.5 * x_dim * math.log(2 * math.pi * sigma ** 2)            # −2.77 for σ = 0.1, D = 2
    rows = dict((name, (float(n), float(r), float(k))) for name, n, r, k in re.findall(
        rf"^\s+(with the trick|gradient through z cut)\s*: -ELBO =\s*{NUM} ± \S+ nats, "
        rf"reconstruction -log P\(X\|z\) =\s*{NUM} nats, KL = {NUM} nats", run03, re.M))
    assert set(rows) == {"with the trick", "gradient through z cut"}, run03
    for neg_elbo, recon_nll, kl in rows.values():
        assert abs(neg_elbo - (recon_nll + kl)) < 1.5e-3                # printed to 3, 3 and 4 places
        assert recon_nll > floor - 1e-3
    assert floor < 0 and rows["with the trick"][1] < 0                  # README's "positive for binary X"


# ---------------------------------------------------------------- lesson 04
@pytest.fixture(scope="module")
def run04(tmp_path_factory):
    return run_lesson("04_kl_and_elbo.py", tmp_path_factory.mktemp("l04"))


def printed_array(pattern, text):
    m = re.search(pattern, text)
    assert m, f"no line matching {pattern!r} in:\n{text}"
    return np.array(ast.literal_eval(m.group(1)), dtype=np.float64)


def test_04_expected_log_likelihood_has_the_plus_sign(run04):
    """The row lesson 04 labels E_Q[log P(X|z)] is +log P(X|z) averaged over Q (not the
    reconstruction cost −log P(X|z)): recomputed here by Gauss–Hermite quadrature from the
    printed model (exact, log P(X|z) being quadratic in z), and K is the printed latent size."""
    K, D, sigma = grab(rf"linear-Gaussian model, K = (\d+), D = (\d+), sigma = {NUM}", run04)
    W, b, x = (printed_array(rf"\n\s+{name} = {LIST}\n", run04) for name in ("W", "b", "X"))
    m_q, S_q = printed_array(rf"with mq = {LIST}, Sq", run04), printed_array(rf"Sq = {LIST}\n", run04)
    assert W.shape == (int(D), int(K)) and m_q.shape == (int(K),)
    nodes, w = hermegauss(8)
    w = w / math.sqrt(2 * math.pi)
    u = np.stack(np.meshgrid(nodes, nodes, indexing="ij"), -1).reshape(-1, 2)        # N(0, I) nodes
    wu = np.outer(w, w).ravel()
    z = m_q + u @ np.linalg.cholesky(S_q).T                                         # z ~ Q
    r = x - z @ W.T - b
    log_lik = -0.5 * D * math.log(2 * math.pi * sigma ** 2) - (r * r).sum(1) / (2 * sigma ** 2)
    closed, mc, se = grab(rf"E_Q\[log P\(X\|z\)\] \(Part 2's Q\)\s+closed form {NUM} nats \| MC {NUM} ± {NUM}",
                          run04)
    assert closed == pytest.approx(wu @ log_lik, abs=1e-4)              # printed to 5 places
    assert abs(mc - wu @ log_lik) < 4.5 * se
    assert closed < 0                                                    # a log-likelihood of continuous X here


# ---------------------------------------------------------------- the text itself
TEXT_FILES = sorted(LESSONS.glob("*.py")) + sorted((LESSONS / "exercises").glob("*")) + [REPO / "README.md"]
RETIRED = {
    r"log σ|log sigma": "σ is only the decoder's noise: the encoder's log-variance is log_var = log diag Σ",
    r"\brecon_term\b|\brecon_data\b": "E_Q[log P(X|z)] is the expected log-likelihood; recon_* names −log P(X|z)",
    r"paper's k = 30": "30 latent dimensions are the reference code's choice, not the paper's text",
    r"Rᵀz ~ N\(0, I\)": "the decoder W·R computes W(Rz), so the fact needed is Rz ~ N(0, I)",
}


@pytest.mark.parametrize("pattern", sorted(RETIRED))
def test_retired_wordings_stay_out(pattern):
    hits = [f"{p.relative_to(REPO)}:{i}: {line.strip()}"
            for p in TEXT_FILES if p.is_file()
            for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
            if re.search(pattern, line)]
    assert not hits, RETIRED[pattern] + ":\n" + "\n".join(hits)


# Σ is the covariance of Q(z|X) (§2.2, Eqs. 6-7) and nothing else; a sum is ∑ (U+2211) or
# words.  A sum written with Σ is Σ with an index (Σ_n, Σᵢ; Σ_jj is a covariance entry),
# Σ before a summand (Σ exp, Σ over, Σ y ⊙ dy, Σw) or the log of a sum (log Σ;).
SIGMA_AS_SUM = re.compile(r"Σ(?:_(?!jj\b)[a-z]|ᵢ(?!ᵢ)|w\b| over\b| (?:exp|max|[a-z])\b)|log Σ(?![\^(_′])")
PACKAGE_FILES = sorted((REPO / "minivae").rglob("*.py"))


def test_sigma_is_only_the_covariance():
    hits = [f"{p.relative_to(REPO)}:{i}: {line.strip()}"
            for p in TEXT_FILES + PACKAGE_FILES if p.is_file()
            for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
            if SIGMA_AS_SUM.search(line)]
    assert not hits, "write a sum as ∑ (or in words); Σ is the covariance:\n" + "\n".join(hits)


@pytest.mark.parametrize("sum_text, covariance_text", [
    ("½ Σ_j (exp(lv_j) + mu_j² − 1 − lv_j)", "½ (Σ_jj + μ_j² − 1 − log Σ_jj)"),
    ("P(X) ≈ (1/S) Σᵢ P(X|zᵢ)", "Σ = diag(1/(S⁻¹)ᵢᵢ)"),
    ("differences of Σ y ⊙ dy", "a Gaussian with diagonal Σ, so"),
    ("Σ over pixels of (a − b)²", "N(μ(X), Σ(X)), Σ^{1/2}"),
    ("that is log Σ; the estimate", "predicts log Σ^{1/2}, the log"),
    ("(Σw)²/Σw² is 1", "Σ′ = λ Σ (so"),
])
def test_sigma_as_sum_pattern(sum_text, covariance_text):
    """The pattern above finds the sums the text used to write with Σ, and no covariance."""
    assert SIGMA_AS_SUM.search(sum_text) and not SIGMA_AS_SUM.search(covariance_text)

