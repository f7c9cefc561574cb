"""The equation index: each numbered equation and figure of the paper, with what holds it.

One record per Eq. 1–21 and Fig. 1–8, numbered as in arXiv:1606.05908v3.
`code` names functions of the maths modules, each with a key expression that
must appear in its source (`source.py` finds the lines at run time, and a
test fails when a function or its expression is gone); `lessons` are lesson
stems, `tests` pytest node ids, `exercise` a stub of lessons/exercises/.
An entry without code says why in `no_code`.  The course site and
`python -m minivae where` both read this table.
"""
from typing import NamedTuple, Optional, Tuple


class Code(NamedTuple):
    module: str             # a maths module of minivae: "losses"
    function: str           # its function or Class.method: "kl_normal", "VAE.elbo"
    key: str                # an expression the function's source must hold


class Entry(NamedTuple):
    label: str              # "Eq. 7", "Fig. 4"
    section: str            # where the paper has it: "§2.2"
    text: str               # the equation in plain Unicode (a figure: what it shows)
    latex: str              # the equation typeset ("" for a figure)
    code: Tuple[Code, ...] = ()
    lessons: Tuple[str, ...] = ()
    tests: Tuple[str, ...] = ()
    exercise: Optional[str] = None
    no_code: str = ""       # why no library function computes it


L04, L09 = "04_kl_and_elbo", "09_appendix_1d"
T04 = "tests/lessons/test_lesson_04.py::"
T09 = "tests/lessons/test_lesson_09.py::"
PROOF = ("a step of the appendix's proof about an ideal 1-D decoder f = F⁻¹∘G, not of "
         "a trained VAE; lesson 09 builds f and g numerically and measures the gaps by quadrature")
DERIVATION = ("a step of the derivation of Eq. 5, about the true posterior P(z|X), which a "
              "VAE cannot compute; lesson 04 checks it exactly on a linear-Gaussian model")
SAMPLE = Code("model", "VAE.sample", "rng.standard_normal((n, self.z_dim)")
ELBO = Code("model", "VAE.elbo", "ELBOTerms(-recon_nll - kl, recon_nll, kl)")
LOSS = Code("model", "VAE.loss_and_grads", "loss = batch_loss((recon_nll, kl)")
KL = Code("losses", "kl_normal_and_grads", "0.5 * (var + mu * mu - 1 - log_var).sum(axis=1)")
KL_CHECKED = Code("losses", "kl_normal", "kl_normal_and_grads(mu, log_var)")   # its checked face
REPARAM = Code("reparam", "reparam_forward", "mu + std * eps")
CVAE_SAMPLE = Code("cvae", "CVAE.sample", "rng.standard_normal((x.shape[0], self.z_dim)")
CVAE_LOSS = Code("cvae", "CVAE.loss_and_grads", "self.cond.backward(dc_out, c_cond, dtap=dc_join")

ENTRIES = (
    Entry("Eq. 1", "§1.1", "P(X) = ∫ P(X|z; θ) P(z) dz",
          r"P(X) = \int P(X \mid z; \theta)\, P(z)\, dz",
          (SAMPLE, Code("evaluate", "log_px_importance", "logsumexp(np.stack(parts), axis=0) - np.log(k)")),
          ("01_latent_variables", "02_pixel_distance", "05_testing"),
          ("tests/lessons/test_lesson_02.py::test_eq1_weights",
           "tests/unit/test_evaluate.py::test_importance_estimate_matches_exact_log_px_within_monte_carlo_error"),
          "ex07_importance_logpx"),
    Entry("Eq. 2", "§2.1", "D[Q(z) ‖ P(z|X)] = E_{z~Q}[log Q(z) − log P(z|X)]",
          r"\mathcal{D}[Q(z) \| P(z \mid X)] = E_{z \sim Q}[\log Q(z) - \log P(z \mid X)]",
          lessons=(L04,), tests=(T04 + "test_part2_eqs_2_to_4",), no_code=DERIVATION),
    Entry("Eq. 3", "§2.1", "D[Q(z) ‖ P(z|X)] = E_{z~Q}[log Q(z) − log P(X|z) − log P(z)] + log P(X)",
          r"\mathcal{D}[Q(z) \| P(z \mid X)] = E_{z \sim Q}[\log Q(z) - \log P(X \mid z) - \log P(z)]"
          r" + \log P(X)",
          lessons=(L04,), tests=(T04 + "test_part2_eqs_2_to_4",), no_code=DERIVATION),
    Entry("Eq. 4", "§2.1", "log P(X) − D[Q(z) ‖ P(z|X)] = E_{z~Q}[log P(X|z)] − D[Q(z) ‖ P(z)]",
          r"\log P(X) - \mathcal{D}[Q(z) \| P(z \mid X)] = E_{z \sim Q}[\log P(X \mid z)]"
          r" - \mathcal{D}[Q(z) \| P(z)]",
          lessons=(L04,), tests=(T04 + "test_part2_eqs_2_to_4",), no_code=DERIVATION),
    Entry("Eq. 5", "§2.1", "log P(X) − D[Q(z|X) ‖ P(z|X)] = E_{z~Q}[log P(X|z)] − D[Q(z|X) ‖ P(z)]",
          r"\log P(X) - \mathcal{D}[Q(z \mid X) \| P(z \mid X)] = E_{z \sim Q}[\log P(X \mid z)]"
          r" - \mathcal{D}[Q(z \mid X) \| P(z)]",
          (ELBO,), (L04, "05_testing", L09),
          ("tests/unit/test_model.py::test_elbo_terms_against_eq6_and_a_monte_carlo_elbo",
           "tests/unit/test_evaluate.py::test_one_sample_importance_estimate_averages_to_the_elbo",
           T04 + "test_eqs_5_8_9_over_the_data")),
    Entry("Eq. 6", "§2.2",
          "D[N(μ0, Σ0) ‖ N(μ1, Σ1)] = ½ (tr(Σ1⁻¹Σ0) + (μ1 − μ0)ᵀ Σ1⁻¹ (μ1 − μ0) − k + log(det Σ1 / det Σ0))",
          r"\mathcal{D}[\mathcal{N}(\mu_0, \Sigma_0) \| \mathcal{N}(\mu_1, \Sigma_1)] = \frac{1}{2}"
          r"\left(\operatorname{tr}(\Sigma_1^{-1}\Sigma_0) + (\mu_1 - \mu_0)^\top \Sigma_1^{-1}"
          r"(\mu_1 - \mu_0) - k + \log\frac{\det \Sigma_1}{\det \Sigma_0}\right)",
          (Code("losses", "kl_gaussians", "np.exp(log_var0 - log_var1)"),), (L04, "06_interpreting"),
          ("tests/unit/test_losses.py::test_kl_gaussians_against_full_covariance_eq6",
           "tests/unit/test_losses.py::test_kl_normal_zero_at_prior_and_equal_to_eq6")),
    Entry("Eq. 7", "§2.2", "D[N(μ(X), Σ(X)) ‖ N(0, I)] = ½ (tr(Σ(X)) + μ(X)ᵀμ(X) − k − log det(Σ(X)))",
          r"\mathcal{D}[\mathcal{N}(\mu(X), \Sigma(X)) \| \mathcal{N}(0, I)] = \frac{1}{2}"
          r"\left(\operatorname{tr}(\Sigma(X)) + \mu(X)^\top \mu(X) - k - \log\det(\Sigma(X))\right)",
          (KL, KL_CHECKED), (L04, "06_interpreting"),
          ("tests/unit/test_losses.py::test_kl_normal_gradients",
           "tests/unit/test_losses.py::test_kl_normal_matches_monte_carlo_within_standard_error"),
          "ex04_kl"),
    Entry("Eq. 8", "§2.2",
          "E_{X~D}[log P(X) − D[Q(z|X) ‖ P(z|X)]] = E_{X~D}[E_{z~Q}[log P(X|z)] − D[Q(z|X) ‖ P(z)]]",
          r"E_{X \sim D}\left[\log P(X) - \mathcal{D}[Q(z \mid X) \| P(z \mid X)]\right] = "
          r"E_{X \sim D}\left[E_{z \sim Q}[\log P(X \mid z)] - \mathcal{D}[Q(z \mid X) \| P(z)]\right]",
          (Code("evaluate", "evaluate_elbo", '"neg_elbo": (recon_nll + kl) / n'),), (L04,),
          (T04 + "test_eqs_5_8_9_over_the_data",
           "tests/unit/test_evaluate.py::test_evaluate_elbo_matches_the_closed_form")),
    Entry("Eq. 9", "§2.2", "log P(X|z) − D[Q(z|X) ‖ P(z)]   (one X, one z ~ Q)",
          r"\log P(X \mid z) - \mathcal{D}[Q(z \mid X) \| P(z)]",
          (LOSS,), ("03_reparam", L04),
          ("tests/unit/test_model.py::test_loss_is_mean_negative_elbo_in_nats",
           "tests/unit/test_model.py::test_whole_model_gradient", T04 + "test_eqs_5_8_9_over_the_data"),
          "ex06_vae_loss_and_grads"),
    Entry("Eq. 10", "§2.2",
          "E_{X~D}[E_{ε~N(0,I)}[log P(X | z = μ(X) + Σ^{1/2}(X) ∗ ε)] − D[Q(z|X) ‖ P(z)]]",
          r"E_{X \sim D}\left[E_{\epsilon \sim \mathcal{N}(0, I)}\left[\log P(X \mid z = \mu(X) + "
          r"\Sigma^{1/2}(X) * \epsilon)\right] - \mathcal{D}[Q(z \mid X) \| P(z)]\right]",
          (REPARAM, Code("reparam", "reparam_backward", "dz * eps * (0.5 * std)")), ("03_reparam",),
          ("tests/unit/test_reparam.py::test_backward_matches_central_differences",
           "tests/unit/test_reparam.py::test_samples_have_mean_mu_and_variance_exp_log_var"),
          "ex05_reparam"),
    Entry("Eq. 11", "§2.4.3", "‖φ(ψ(X)) − X‖² + λ ‖ψ(X)‖₀",
          r"\|\phi(\psi(X)) - X\|^2 + \lambda \|\psi(X)\|_0",
          no_code="prose only in the paper: the sparse autoencoder's objective, quoted to contrast "
                  "its hand-set λ with the VAE, which has no such parameter (lesson 06 discusses it)"),
    Entry("Eq. 12", "§3", "P(Y|X) = N(f(z, X), σ² ∗ I)",
          r"P(Y \mid X) = \mathcal{N}(f(z, X), \sigma^2 * I)",
          (Code("cvae", "CVAE.loss_and_grads", "bernoulli_nll_and_grad(y_logits, y)"),), ("08_cvae_mnist",),
          ("tests/unit/test_cvae.py::test_cvae_whole_model_gradient",), "ex08_cvae_junctions"),
    Entry("Eq. 13", "§3",
          "log P(Y|X) − D[Q(z|Y, X) ‖ P(z|Y, X)] = E_{z~Q(·|Y,X)}[log P(Y|z, X)] − D[Q(z|Y, X) ‖ P(z|X)]",
          r"\log P(Y \mid X) - \mathcal{D}[Q(z \mid Y, X) \| P(z \mid Y, X)] = E_{z \sim Q(\cdot \mid Y, X)}"
          r"[\log P(Y \mid z, X)] - \mathcal{D}[Q(z \mid Y, X) \| P(z \mid X)]",
          (Code("cvae", "CVAE.conditional_elbo", "ELBOTerms(-recon_nll - kl, recon_nll, kl)"), CVAE_LOSS),
          ("08_cvae_mnist",),
          ("tests/unit/test_cvae.py::test_loss_is_mean_negative_conditional_elbo",
           "tests/lessons/test_lesson_08.py::test_eq13_both_sides_agree_on_an_exact_cvae",
           "tests/lessons/test_lesson_08.py::test_likelihoods_obey_the_bounds"), "ex08_cvae_junctions"),
    Entry("Eq. 14", "Appendix A", "E_{z~Q_σ}[log P_σ(X|z)] − D[Q_σ(z|X) ‖ P(z)],  P_σ(X|z) = N(X | f(z), σ²)",
          r"E_{z \sim Q_\sigma}[\log P_\sigma(X \mid z)] - \mathcal{D}[Q_\sigma(z \mid X) \| P(z)]",
          (Code("losses", "gaussian_nll_and_grad", "0.5 * (r * r).sum(axis=1) / var"), ELBO), (L09,),
          (T09 + "test_lesson_09_vae_bound_and_fit",
           "tests/unit/test_losses.py::test_gaussian_nll_equals_log_density_and_gradient")),
    Entry("Eq. 15", "Appendix A", "D[Q_σ(z|X) ‖ P_σ(z|X)] = D[Q⁰(z⁰|X) ‖ P⁰_σ(z⁰|X)]",
          r"\mathcal{D}[Q_\sigma(z \mid X) \| P_\sigma(z \mid X)] = \mathcal{D}[Q^0(z^0 \mid X) \| "
          r"P^0_\sigma(z^0 \mid X)]",
          lessons=(L09,), tests=(T09 + "test_lesson_09_posterior_gap",), no_code=PROOF),
) + tuple(
    Entry(f"Eq. {n}", "Appendix A", "P⁰_σ(z⁰|X) = C·N(X | f(r), σ²) → N(z⁰ | g(X), g′(X)²) = Q⁰(z⁰|X),"
          "  r = g(X) + (z⁰ − g(X))·σ   (the proof's chain, Eqs. 16–21)",
          r"P^0_\sigma(z^0 \mid X) = C \cdot \mathcal{N}(X \mid f(r), \sigma^2) \to "
          r"\mathcal{N}(z^0 \mid g(X), g'(X)^2) = Q^0(z^0 \mid X)",
          lessons=(L09,), tests=(T09 + "test_lesson_09_posterior_gap",
                                 T09 + "test_lesson_09_best_gaussian_q_misses_by_the_curvature_alone"),
          no_code="one of the steps from Bayes' rule through f's Taylor expansion to the limit "
                  "(the index shows the chain once for Eqs. 16–21); " + PROOF)
    for n in range(16, 22)
) + (
    Entry("Fig. 1", "§1.1", "the graphical model: z → X, with θ the decoder's parameters", "",
          (SAMPLE,), ("01_latent_variables",),
          ("tests/unit/test_model.py::test_sample_and_reconstruct_shapes_in_unit_interval",)),
    Entry("Fig. 2", "§2 opening", "z ~ N(0, I) mapped by g(z) = z/10 + z/‖z‖ to a ring", "",
          lessons=("01_latent_variables",),
          tests=("tests/lessons/test_lessons_01_03.py::test_01_ring_radius_matches_rayleigh",),
          no_code="the ring map g is a few lines of lesson 01, not a library function"),
    Entry("Fig. 3", "§2 opening", "an MNIST 2, a worse sample, and the 2 shifted: pixel distance misleads",
          "", lessons=("02_pixel_distance",),
          tests=("tests/lessons/test_lesson_02.py::test_fig3_rebuilt_with_an_erased_stroke",),
          no_code="the shifts and distances are lesson 02's own functions (shift_diag, erase_stroke)"),
    Entry("Fig. 4", "§2.2", "the training-time VAE without (left) and with (right) the reparameterization trick",
          "", (Code("model", "VAE.loss_and_grads", "z, std = reparam_forward(mu, log_var, eps)"), REPARAM),
          ("03_reparam",),
          ("tests/unit/test_model.py::test_whole_model_gradient",
           "tests/lessons/test_lessons_01_03.py::test_03_only_the_trick_learns_a_code"),
          "ex06_vae_loss_and_grads"),
    Entry("Fig. 5", "§2.3", "the test-time VAE: z ~ N(0, I) into the decoder", "",
          (SAMPLE,), ("05_testing",),
          ("tests/unit/test_model.py::test_sample_and_reconstruct_shapes_in_unit_interval",
           "tests/lessons/test_lessons_05_07.py::test_05_trains_two_models")),
    Entry("Fig. 6", "§3", "the conditional VAE at training time (left) and test time (right)", "",
          (CVAE_LOSS, CVAE_SAMPLE),
          ("08_cvae_mnist",), ("tests/unit/test_cvae.py::test_both_junctions_feed_the_conditioning_tower",
                               "tests/lessons/test_lesson_08.py::test_figures_6_and_8"),
          "ex08_cvae_junctions"),
    Entry("Fig. 7", "§4.1", "MNIST digits sampled from the trained VAE's prior", "",
          (SAMPLE,), ("07_vae_mnist",),
          ("tests/lessons/test_lessons_05_07.py::test_07_elbo_manifold_and_sweep",
           "tests/lessons/test_lessons_05_07.py::test_07_nearest_training_image_per_sample")),
    Entry("Fig. 8", "§4.2", "the CVAE against a regressor, completing digits from their middle column", "",
          (CVAE_SAMPLE,), ("08_cvae_mnist",),
          ("tests/lessons/test_lesson_08.py::test_figure_and_panels",)),
)


def slug(label):
    """The anchor of an entry on the index page: "Eq. 7" -> "eq-7", "Fig. 4" -> "fig-4"."""
    kind, number = label.split()
    return f"{kind.rstrip('.').lower()}-{number}"


def parse_label(text):
    """"Eq. 7", "eq7", "Eq 7", "equation 7", "Fig. 4", "figure 4" -> "Eq. 7" / "Fig. 4"; else None."""
    import re
    m = re.fullmatch(r"\s*(eq|equation|fig|figure)\.?\s*(\d+)\s*", text, re.IGNORECASE)
    if not m:
        return None
    return f"{'Eq.' if m.group(1).lower().startswith('eq') else 'Fig.'} {int(m.group(2))}"


def lookup(query):
    """The entries a query names: an equation or figure label, or a function ("kl_normal",
    "VAE.elbo", "losses.kl_normal").  An empty tuple when nothing matches."""
    label = parse_label(query)
    if label:
        return tuple(e for e in ENTRIES if e.label == label)
    name = query.strip()
    return tuple(e for e in ENTRIES if any(
        name in (c.function, c.function.split(".")[-1], f"{c.module}.{c.function}") for c in e.code))
