"""ELBO and importance-sampled log P(X) (§2.3) on a VAE whose P(X) is known exactly.

The VAE below is linear-Gaussian in disguise: a positive offset of 50 on every
hidden pre-activation keeps each ReLU in its identity region for all z and x
that occur, so the decoder is f(z) = z A + c and

    P(X) = N(X | c, AᵀA + σ² I),      P(z|X) = N(S A (x − c)ᵀ / σ², S),  S = (I + A Aᵀ/σ²)⁻¹.

The encoder is set to any chosen Gaussian Q(z|X) with mean linear in X, so
the exact log P(X) (scipy) and the exact ELBO are available for comparison.
"""
import numpy as np
import pytest
from scipy.stats import multivariate_normal

from minivae import evaluate
from minivae.evaluate import evaluate_elbo, log_px_importance, prepare
from minivae.model import VAE

D, K, H, SIGMA, OFFSET = 5, 2, 6, 0.7, 50.0


def linear_vae(A_rows_orthogonal=False, shift=0.0, var_scale=1.0, seed=0):
    """(model, A, c, S, M): a float64 VAE with f(z) = zA + c and Q(z|X) =
    N((x − c) M + shift, var_scale · diag S), M = Aᵀ S / σ² (the posterior mean map)."""
    rng = np.random.default_rng(seed)
    model = VAE(x_dim=D, hidden=(H,), z_dim=K, likelihood="gaussian", sigma=SIGMA,
                init="he", dtype=np.float64, seed=seed)
    P = model.params
    if A_rows_orthogonal:            # A Aᵀ diagonal -> the posterior covariance S is diagonal
        W0 = np.eye(K, H)
        Q, _ = np.linalg.qr(rng.normal(size=(D, K)))
        W1 = np.vstack([Q.T * np.array([[1.5], [0.8]]), rng.normal(0, 0.5, (H - K, D))])
    else:
        W0, W1 = rng.normal(0, 0.5, (K, H)), rng.normal(0, 0.5, (H, D))
    c = rng.normal(0, 0.3, D)
    P["decoder.0.W"][...], P["decoder.0.b"][...] = W0, OFFSET
    P["decoder.1.W"][...] = W1
    P["decoder.1.b"][...] = c - OFFSET * W1.sum(axis=0)           # cancels the offset
    A = W0 @ W1                                                     # (K, D)
    S = np.linalg.inv(np.eye(K) + A @ A.T / SIGMA ** 2)             # (K, K)
    M = A.T @ S / SIGMA ** 2                                        # (D, K)
    P["encoder.0.W"][...], P["encoder.0.b"][...] = np.eye(D, H), OFFSET   # h = [x + 50, 50]
    P["mu.W"][...] = np.vstack([M, np.zeros((H - D, K))])
    P["mu.b"][...] = -(c + OFFSET) @ M + shift
    P["log_var.W"][...] = 0.0
    P["log_var.b"][...] = np.log(np.diag(S) * var_scale)
    return model, A, c, S, M


def data(A, c, n, seed=1):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, K)) @ A + c + SIGMA * rng.standard_normal((n, D))


def exact_log_px(x, A, c):
    return multivariate_normal(mean=c, cov=A.T @ A + SIGMA ** 2 * np.eye(D)).logpdf(x)


def exact_elbo_terms(model, x, A, c):
    """Closed-form E_Q[−log P(X|z)] and KL (Eq. 7) for the linear decoder, per example."""
    mu, log_var = model.encode(x)
    v = np.exp(log_var)
    r = x - (mu @ A + c)
    recon = 0.5 * ((r ** 2).sum(1) + v @ (A ** 2).sum(1)) / SIGMA ** 2 \
        + 0.5 * D * np.log(2 * np.pi * SIGMA ** 2)
    kl = 0.5 * (v + mu ** 2 - 1 - log_var).sum(1)
    return recon, kl


def test_the_relus_stay_in_their_identity_region():
    model, A, c, _, _ = linear_vae(shift=0.3, var_scale=1.5)
    x = data(A, c, 50)
    assert np.abs(x).max() < OFFSET / 2
    mu, log_var = model.encode(x)
    z_far = np.abs(mu).max() + 10 * np.exp(0.5 * log_var).max()      # beyond any sampled z
    assert z_far * np.abs(model.params["decoder.0.W"]).sum(0).max() < OFFSET
    np.testing.assert_allclose(model.decode(mu), mu @ A + c, atol=1e-10)


def test_exact_posterior_gives_the_exact_log_px_at_any_k(monkeypatch):
    # Q(z|X) = P(z|X): every importance weight equals P(X) exactly.
    model, A, c, S, _ = linear_vae(A_rows_orthogonal=True)
    assert abs(S[0, 1]) < 1e-12
    x = data(A, c, 7)
    monkeypatch.setattr(evaluate, "IS_ROWS", 3)       # force many uneven sample chunks
    est = log_px_importance(model, x, k=10, rng=np.random.default_rng(0))
    np.testing.assert_allclose(est, exact_log_px(x, A, c), rtol=0, atol=1e-9)


def test_chunks_of_weights_far_below_exp_s_range_are_combined_stably(monkeypatch):
    """A Gaussian VAE with σ = 0.05 scores data it has not learnt: every log weight is
    tens of thousands of nats below zero, where exp is 0 in float64 (below −745).  Forced into
    several chunks of samples, the chunks must combine into the log-mean-exp of all k
    weights of an example, recomputed here by hand from the ε each chunk drew:
    m + log (1/k) ∑ᵢ exp(log wᵢ − m), m = maxᵢ log wᵢ, with log wᵢ = log N(X | f(zᵢ), σ²I)
    + log N(zᵢ | 0, I) − log N(zᵢ | μ, Σ)."""
    sigma, B, k = 0.05, 3, 12
    model = VAE(x_dim=D, hidden=(H,), z_dim=K, likelihood="gaussian", sigma=sigma,
                init="he", dtype=np.float64, seed=3)
    x = 2 + np.random.default_rng(4).random((B, D))             # far from the decoder's means
    drawn = []
    real = evaluate.importance_log_weights

    def recording(model_, xb, mu, log_var, eps):
        drawn.append(eps.copy())
        return real(model_, xb, mu, log_var, eps)
    monkeypatch.setattr(evaluate, "importance_log_weights", recording)
    monkeypatch.setattr(evaluate, "IS_ROWS", 4 * B)             # 4 samples per pass: 3 chunks
    est = log_px_importance(model, x, k=k, rng=np.random.default_rng(5), batch_size=B)
    eps = np.concatenate(drawn)                                  # (k, B, K)
    assert len(drawn) == 3 and eps.shape == (k, B, K)
    mu, log_var = model.encode(x)
    z = mu + np.exp(0.5 * log_var) * eps                         # (k, B, K)  Eq. 10
    f_z = model.decode(z.reshape(-1, K)).reshape(k, B, D)        # the Gaussian's means
    log_px_z = -0.5 * (((x - f_z) / sigma) ** 2 + np.log(2 * np.pi * sigma ** 2)).sum(-1)
    log_pz = -0.5 * (z ** 2 + np.log(2 * np.pi)).sum(-1)
    log_qz = -0.5 * (eps ** 2 + log_var + np.log(2 * np.pi)).sum(-1)
    log_w = log_px_z + log_pz - log_qz                           # (k, B)
    assert log_w.max() < -1000                                   # exp(log w) is 0 in float64
    m = log_w.max(axis=0)
    expected = m + np.log(np.exp(log_w - m).mean(axis=0))
    np.testing.assert_allclose(est, expected, rtol=1e-12)


def test_importance_estimate_matches_exact_log_px_within_monte_carlo_error():
    # A deliberately wrong Q (mean shifted by 0.3, variance ×1.5): weights vary,
    # so agreement needs the estimator right, not just its constants.
    model, A, c, _, _ = linear_vae(shift=0.3, var_scale=1.5)
    x = data(A, c, 4)
    R, k = 24, 2000                                     # R independent estimates per image
    est = log_px_importance(model, np.repeat(x, R, axis=0), k=k,
                            rng=np.random.default_rng(5)).reshape(4, R)
    exact = exact_log_px(x, A, c)
    mean, se = est.mean(1), est.std(1, ddof=1) / np.sqrt(R)
    assert (se < 0.01).all()                            # tight enough to catch errors
    assert (np.abs(mean - exact) < 4 * se + 1e-3).all(), (mean - exact, se)
    recon, kl = exact_elbo_terms(model, x, A, c)
    elbo = -(recon + kl)
    assert (elbo < exact - 0.05).all()                  # this Q leaves a real gap (Eq. 5)
    assert (est.mean(1) > elbo + 10 * se).all()         # IS is above the bound


def test_one_sample_importance_estimate_averages_to_the_elbo():
    # E_Q[log w] = ELBO exactly (Eq. 5's right side), so k = 1 must reproduce it.
    model, A, c, _, _ = linear_vae(shift=0.3, var_scale=1.5)
    x = data(A, c, 3)
    R = 4000
    est = log_px_importance(model, np.repeat(x, R, axis=0), k=1,
                            rng=np.random.default_rng(6)).reshape(3, R)
    recon, kl = exact_elbo_terms(model, x, A, c)
    se = est.std(1, ddof=1) / np.sqrt(R)
    assert (np.abs(est.mean(1) + recon + kl) < 4 * se).all()


def test_evaluate_elbo_matches_the_closed_form():
    model, A, c, _, _ = linear_vae(shift=0.3, var_scale=1.5)
    x = np.repeat(data(A, c, 5), 2000, axis=0)          # 10,000 rows
    r = evaluate_elbo(model, x, np.random.default_rng(0), batch_size=1000)
    recon, kl = exact_elbo_terms(model, x, A, c)
    per_example = model.elbo(x, np.random.default_rng(9)).recon_nll    # only to size the tolerance
    se = per_example.std() / np.sqrt(len(x))
    assert abs(r["recon_nll"] - recon.mean()) < 4 * se
    assert r["kl"] == pytest.approx(kl.mean(), rel=1e-12)             # KL is exact (Eq. 7)
    assert r["neg_elbo"] == pytest.approx(r["recon_nll"] + r["kl"], rel=1e-14)
    assert set(r) == {"neg_elbo", "recon_nll", "kl"} and all(type(v) is float for v in r.values())


def test_evaluate_elbo_does_not_depend_on_the_batch_size():
    model, A, c, _, _ = linear_vae()
    x = data(A, c, 23)
    a = evaluate_elbo(model, x, np.random.default_rng(4), batch_size=1000)
    b = evaluate_elbo(model, x, np.random.default_rng(4), batch_size=7)    # 7+7+7+2
    for key in a:
        assert a[key] == pytest.approx(b[key], rel=1e-12)


def test_memory_stays_bounded_at_large_k(monkeypatch):
    # k = 5000 for 3 images: no decoder pass may see more than IS_ROWS rows.
    model, A, c, _, _ = linear_vae(shift=0.3)
    seen = []
    original = model.log_likelihood

    def spy(x, z):
        seen.append(len(z))
        return original(x, z)
    monkeypatch.setattr(model, "log_likelihood", spy)
    x = data(A, c, 3)
    est = log_px_importance(model, x, k=5000, rng=np.random.default_rng(0))
    assert max(seen) <= evaluate.IS_ROWS and sum(seen) == 3 * 5000
    np.testing.assert_allclose(est, exact_log_px(x, A, c), atol=0.05)


def test_prepare_binarizes_as_asked():
    x = np.random.default_rng(0).random((4, 9))
    assert prepare(x, "none") is x
    assert np.array_equal(prepare(x, "threshold"), (x > 0.5).astype(x.dtype))
    d1 = prepare(x, "dynamic", np.random.default_rng(3))
    assert np.array_equal(d1, prepare(x, "dynamic", np.random.default_rng(3)))
    assert set(np.unique(d1)) <= {0.0, 1.0}
    with pytest.raises(ValueError):
        prepare(x, "dynamic")
    with pytest.raises(ValueError):
        prepare(x, "sometimes")
