"""`python -m minivae where`: from an equation, a figure or a function to file:line and the checks.

The expected line numbers are found here by reading the source text, not
through the index's own locator.
"""
import subprocess
import sys
from pathlib import Path

import pytest

from minivae.commands.cli import main
from minivae.site.source import module_path


def line_of(module, text):
    lines = module_path(module).read_text(encoding="utf-8").splitlines()
    return next(n for n, line in enumerate(lines, 1) if text in line)


def test_eq_7_prints_the_kl_lines_and_its_checks(capsys):
    assert main(["where", "Eq. 7"]) == 0
    out = capsys.readouterr().out
    first = line_of("losses", "def kl_normal(")
    key = line_of("losses", "kl = 0.5 * (var + mu * mu - 1 - log_var).sum(axis=1)")
    assert out.splitlines()[0].startswith("Eq. 7 (§2.2)  D[N(μ(X), Σ(X)) ‖ N(0, I)]")
    assert f"minivae/losses.py:{first}-" in out and "kl_normal" in out
    assert f"minivae/losses.py:{key}  kl = 0.5 * (var + mu * mu - 1 - log_var).sum(axis=1)" in out
    assert "lesson    lessons/04_kl_and_elbo.py" in out
    assert "test      tests/unit/test_losses.py::test_kl_normal_gradients" in out
    assert "exercise  ex04_kl.py  (python -m minivae exercise 4)" in out


def test_a_function_name_and_a_figure(capsys):
    assert main(["where", "kl_normal"]) == 0
    assert capsys.readouterr().out.startswith("Eq. 7 (§2.2)")
    assert main(["where", "fig 4"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Fig. 4 (§2.2)")
    assert f"minivae/reparam.py:{line_of('reparam', 'return mu + std * eps')}" in out


def test_a_prose_only_equation_says_why(capsys):
    assert main(["where", "Eq. 11"]) == 0
    out = capsys.readouterr().out
    assert "no code   prose only in the paper: the sparse autoencoder's objective" in out
    assert "code      " not in out


def test_an_unknown_query_is_one_line_and_exit_2():
    done = subprocess.run([sys.executable, "-m", "minivae", "where", "Eq. 22"],
                          capture_output=True, text=True)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith("minivae where: error: 'Eq. 22' is not in the equation index: "
                                  "give Eq. 1 to Eq. 21, Fig. 1 to Fig. 8, or one of ")
    assert "kl_normal" in done.stderr


@pytest.mark.parametrize("query", ["", "   "])
def test_an_empty_query_is_refused(query, capsys):
    assert main(["where", query]) == 2
    assert "is not in the equation index" in capsys.readouterr().err


def test_the_readme_quotes_what_where_prints(capsys):
    """README's example is the command's output today (line numbers move when the maths does)."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    block = readme.split("`where` prints, for example:\n\n```text\n", 1)[1].split("```", 1)[0]
    eq = block.split(" (", 1)[0]
    assert main(["where", eq]) == 0
    assert capsys.readouterr().out == block
