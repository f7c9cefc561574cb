"""Maths as MathML at build time (latex2mathml): no script, no font, no network in the page.

The index's equations are LaTeX.  The docstrings write their formulas in plain
Unicode ("KL = ½ ∑_j (exp(lv_j) + mu_j² − 1 − lv_j)"), so `unicode_to_latex`
reads that house notation: Greek letters and operators, x_j and E_{z~Q}
subscripts, superscript digits, ½ and √(…), code names such as log_var kept
upright.  A docstring's formula lines (its indented lines with =, ← or ≈) are
typeset; a line it cannot read stays as text.
"""
import html
import re

GREEK = {"α": r"\alpha", "β": r"\beta", "ε": r"\epsilon", "θ": r"\theta", "λ": r"\lambda",
         "μ": r"\mu", "π": r"\pi", "σ": r"\sigma", "φ": r"\phi", "ψ": r"\psi", "ϑ": r"\vartheta",
         "Σ": r"\Sigma", "∂": r"\partial"}
SYMBOLS = {"−": "-", "·": r"\cdot ", "×": r"\times ", "⊙": r"\odot ", "⊕": r"\oplus ",
           "←": r"\leftarrow ", "→": r"\to ", "≈": r"\approx ", "≤": r"\le ", "≥": r"\ge ",
           "‖": r"\| ", "~": r"\sim ", "∼": r"\sim ", "∫": r"\int ", "∗": "*", "∈": r"\in ",
           "∞": r"\infty ", "|": r"\mid ", "{": r"\{", "}": r"\}", "′": "'", "½": r"\tfrac{1}{2}", "…": r"\ldots "}
SUPERSCRIPTS = dict(zip("⁰¹²³⁴⁵⁶⁷⁸⁹ᵀᵗⁿ⁻", ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9",
                                            r"\top", "t", "n", "-"]))
SUBSCRIPTS = dict(zip("₀₁₂₃₄₅₆₇₈₉ᵢⱼ", "0123456789ij"))
FUNCTIONS = {"exp": r"\exp", "log": r"\log", "max": r"\max", "min": r"\min", "det": r"\det",
             "tr": r"\operatorname{tr}", "sig": r"\operatorname{sig}", "log1p": r"\operatorname{log1p}"}
ACCENTS = {"\u0302": r"\hat", "\u0303": r"\tilde"}      # combining ^ and ~ (ε̂, g̃)
WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]{2,})*")
TOKEN = re.compile(r"[_^][{(]|_[A-Za-z0-9]|[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]{2,})*|\d+(?:\.\d+)?|\s+|.",
                   re.S)
NAMES_IN_FORMULAS = {"loss", "momentum"}     # the longer words a formula line may hold


class Unreadable(ValueError):
    """A formula line the notation reader does not understand."""


def latex_to_mathml(latex, display=False):
    """MathML for a LaTeX formula (display=True: a block)."""
    from latex2mathml.converter import convert
    return convert(latex, display="block" if display else "inline")


def _group(text, start, opening="(", closing=")"):
    """The end index (exclusive) of the bracket group opening at text[start]."""
    depth = 0
    for i in range(start, len(text)):
        depth += (text[i] == opening) - (text[i] == closing)
        if depth == 0:
            return i + 1
    raise Unreadable(f"unbalanced {opening} in {text!r}")


def unicode_to_latex(text):
    """LaTeX for a formula in the docstrings' Unicode notation; raises Unreadable."""
    out, i = [], 0
    while i < len(text):
        m = TOKEN.match(text, i)
        tok = m.group()
        i = m.end()
        if tok[0] in "_^" and tok[1] in "{(":     # E_{z~Q}, Σ^{1/2}, e^(lv0−lv1): a group
            end = _group(text, i - 1, *(("{", "}") if tok[1] == "{" else ("(", ")")))
            out.append(tok[0] + "{" + unicode_to_latex(text[i:end - 1]) + "}")
            i = end
        elif tok.startswith("_"):                # lv_j
            out.append("_{" + tok[1:] + "}")
        elif tok[0].isalpha() and tok.isascii():
            out.append(_word(tok))
        elif tok in GREEK:
            out.append(GREEK[tok] + " ")      # Σ is the covariance; a sum is ∑ (below)
            if i < len(text) and text[i] in "0123456789":      # β2 -> β_2
                out.append("_{" + text[i] + "}")
                i += 1
        elif tok == "∑":                         # ∑_j, ∑ᵢ: its index follows as a subscript
            out.append(r"\sum" if text[i:i + 1] in ("_", *SUBSCRIPTS) else r"\sum ")
        elif tok == "√":
            if text.startswith("(", i):
                end = _group(text, i)
                out.append(r"\sqrt{" + unicode_to_latex(text[i + 1:end - 1]) + "}")
                i = end
            else:
                out.append(r"\sqrt ")
        elif tok in SUPERSCRIPTS:
            run = tok
            while i < len(text) and text[i] in SUPERSCRIPTS:
                run, i = run + text[i], i + 1
            out.append("^{" + "".join(SUPERSCRIPTS[c] for c in run) + "}")
        elif tok in SUBSCRIPTS:
            out.append("_{" + SUBSCRIPTS[tok] + "}")
        elif tok in ACCENTS and out:
            out[-1] = f"{ACCENTS[tok]}{{{out[-1].strip()}}}"
        elif tok in SYMBOLS:
            out.append(SYMBOLS[tok])
        elif tok.isspace() or tok.isdigit() or tok in "()[]+-=/*<>,.;:!'" or re.fullmatch(r"[\d.]+", tok):
            out.append(" " if tok.isspace() else tok)
        else:
            raise Unreadable(f"{tok!r} in {text!r}")
    return "".join(out).strip()


def _word(tok):
    """A name: a function (exp), one letter (x), or a code name kept upright (log_var)."""
    if tok in FUNCTIONS:
        return FUNCTIONS[tok] + " "
    if len(tok) == 1:
        return tok
    return r"\mathrm{" + tok.replace("_", r"\_") + "}"


def formula_mathml(text):
    """MathML for one formula in Unicode notation, or None when it cannot be read."""
    try:
        return latex_to_mathml(unicode_to_latex(text))
    except Exception:           # noqa: BLE001  latex2mathml's errors have no common class
        return None


def is_formula(segment):
    """A segment that states a formula: an =, ← or ≈, and no run of English prose."""
    if not re.search(r"=|←|≈", segment) or re.search(r"\[(Eq|§)|^\(|\bfor\b|\bwhen\b", segment):
        return False
    return all(len(w) <= 3 or "_" in w or w in FUNCTIONS or w in NAMES_IN_FORMULAS
               for w in WORD.findall(segment))


def docstring_html(doc):
    """A docstring as HTML: paragraphs as text, each indented formula typeset in MathML.

    An indented line is cut at runs of three or more spaces; each piece that is
    a formula becomes MathML, the rest (an [Eq. 7] tag, a comment) stays text.
    """
    blocks, prose = [], []

    def flush():
        if prose:
            blocks.append("<p>" + html.escape(" ".join(prose)) + "</p>")
            prose.clear()
    for line in (doc or "").splitlines():
        if not line.strip():
            flush()
        elif line.startswith("    "):
            flush()
            pieces = []
            for seg in re.split(r"\s{3,}", line.strip()):
                mathml = formula_mathml(seg) if is_formula(seg) else None
                pieces.append(f'<span class="formula">{mathml}</span>' if mathml
                              else f'<span class="note">{html.escape(seg)}</span>')
            blocks.append('<div class="display">' + "".join(pieces) + "</div>")
        else:
            prose.append(line.strip())
    flush()
    return "\n".join(blocks)
