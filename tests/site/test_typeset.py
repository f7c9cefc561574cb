"""The docstrings' Unicode formulas read as LaTeX, then MathML; what is not a formula stays text."""
import ast
import re

import pytest

from minivae.site.source import MATHS_MODULES, module_path
from minivae.site.typeset import (Unreadable, docstring_html, formula_mathml, is_formula,
                                  latex_to_mathml, unicode_to_latex)

pytest.importorskip("latex2mathml", reason="the site extra is missing: pip install -e \".[site]\"")


@pytest.mark.parametrize("text, latex", [
    ("KL = ½ ∑_j (exp(lv_j) + mu_j² − 1 − lv_j)",
     r"\mathrm{KL} = \tfrac{1}{2} \sum_{j} (\exp (\mathrm{lv}_{j}) + \mathrm{mu}_{j}^{2} - 1 - \mathrm{lv}_{j})"),
    ("dW = xᵀ dy", r"\mathrm{dW} = x^{\top} \mathrm{dy}"),
    ("z = mu + Σ^{1/2} ⊙ eps", r"z = \mathrm{mu} + \Sigma ^{1/2} \odot  \mathrm{eps}"),
    ("m ← β1 m + (1−β1) g̃", r"m \leftarrow  \beta _{1} m + (1-\beta _{1}) \tilde{g}"),
    ("θ ← θ − lr·√(1−β2ᵗ)", r"\theta  \leftarrow  \theta  - \mathrm{lr}\cdot \sqrt{1-\beta _{2}^{t}}"),
    ("∂nll/∂x_mean = (x_mean − x) / σ²",
     r"\partial \mathrm{nll}/\partial \mathrm{x\_mean} = (\mathrm{x\_mean} - x) / \sigma ^{2}"),
    ("P(X) = E_{z~Q(z|X)}[P(X|z)]", r"P(X) = E_{z\sim Q(z\mid X)}[P(X\mid z)]"),
    ("e^(lv0−lv1)", r"e^{\mathrm{lv0}-\mathrm{lv1}}"),
    ("∑ᵢ exp(zᵢ)", r"\sum_{i} \exp (z_{i})"),
])
def test_unicode_to_latex(text, latex):
    assert unicode_to_latex(text) == latex


def test_what_it_cannot_read_is_refused():
    with pytest.raises(Unreadable):
        unicode_to_latex("√(1 − x")
    with pytest.raises(Unreadable):
        unicode_to_latex("a ⊗ b")
    assert formula_mathml("a ⊗ b") is None


@pytest.mark.parametrize("segment, formula", [
    ("dW = xᵀ dy,", True), ("v ← momentum·v + (g + wd·θ);", True),
    ("[Eq. 7: tr Σ, μᵀμ, −K, −log det Σ]", False), ("(never log sig(l): stable)", False),
    ("P(z|X) = N(0, I), independent of X", False), ("sig = the logistic sigmoid", False),
    ("y, cache = layer.forward(x)", False)])     # code in a docstring: text
def test_is_formula(segment, formula):
    assert is_formula(segment) is formula


def test_latex_to_mathml_builds_real_mathml():
    m = latex_to_mathml(r"\frac{1}{2}\sum_j \mu_j^2", display=True)
    assert m.startswith("<math") and 'display="block"' in m
    assert "<mfrac>" in m and "<msubsup>" in m and "\\" not in m


def test_docstring_html_typesets_the_formula_lines_and_keeps_the_rest_as_text():
    doc = ("D[N(mu, Σ) ‖ N(0, I)] per example.\n\n"
           "    KL = ½ ∑_j (exp(lv_j) + mu_j² − 1 − lv_j)        [Eq. 7: the terms]\n"
           "    ∂KL/∂mu = mu\n\nmu, log_var (N, K) -> kl (N,).")
    out = docstring_html(doc)
    assert out.count('<span class="formula"><math') == 2
    assert '<span class="note">[Eq. 7: the terms]</span>' in out
    assert "<p>D[N(mu, Σ) ‖ N(0, I)] per example.</p>" in out
    assert "<p>mu, log_var (N, K) -&gt; kl (N,).</p>" in out


def test_every_formula_line_of_the_maths_modules_is_typeset():
    """What a docstring states as a formula (an indented line with = or ←) becomes MathML."""
    unread = []
    for module in MATHS_MODULES:
        tree = ast.parse(module_path(module).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            doc = ast.get_docstring(node) if isinstance(node, (ast.Module, ast.ClassDef,
                                                              ast.FunctionDef)) else None
            for line in (doc or "").splitlines():
                for seg in re.split(r"\s{3,}", line.strip()) if line.startswith("    ") else ():
                    if is_formula(seg) and formula_mathml(seg) is None:
                        unread.append(f"{module}: {seg}")
    assert not unread, unread
