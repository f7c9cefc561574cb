"""Finding a function and its key line in the source, whatever its decorators and line numbers."""
import textwrap

import pytest

from minivae.site.equations import Code
from minivae.site.source import StaleEntry, locate


def package_with(tmp_path, name, text):
    (tmp_path / "minivae").mkdir(exist_ok=True)
    (tmp_path / "minivae" / f"{name}.py").write_text(textwrap.dedent(text))
    return tmp_path


TODAY = '''\
    """A module."""
    @boundary(_check)
    @accelerated
    def kl(mu, log_var):
        """KL."""
        var = np.exp(log_var)
        return 0.5 * (var + mu * mu - 1 - log_var).sum(axis=1)
'''
# the same function after a restructuring: no decorators, a dispatch line on top, moved down
TOMORROW = '''\
    """A module."""
    import numpy as np


    def kl(mu, log_var):
        """KL."""
        if twin.kl: return twin.kl(mu, log_var)
        var = np.exp(log_var)
        return 0.5 * (var + mu*mu - 1 - log_var).sum(axis = 1)
'''


@pytest.mark.parametrize("text, first, key_line", [(TODAY, 4, 7), (TOMORROW, 5, 9)])
def test_lines_are_found_in_the_source_as_it_is(tmp_path, text, first, key_line):
    root = package_with(tmp_path, "losses", text)
    at = locate(Code("losses", "kl", "0.5 * (var + mu * mu - 1 - log_var).sum(axis=1)"), root)
    assert (at.first, at.last, at.key_line) == (first, key_line, key_line)
    assert at.relative == "minivae/losses.py"
    assert at.path.read_text().splitlines()[at.first - 1].startswith("def kl(")


def test_a_method_is_found_by_class_and_name(tmp_path):
    root = package_with(tmp_path, "model", '''\
        class VAE:
            def sample(self, n):
                return 1

            def elbo(self, x):
                a = 2
                return a
    ''')
    at = locate(Code("model", "VAE.elbo", "return a"), root)
    assert (at.first, at.last, at.key_line) == (5, 7, 7)
    with pytest.raises(StaleEntry, match="minivae/model.py has no function VAE.decode"):
        locate(Code("model", "VAE.decode", "x"), root)
    with pytest.raises(StaleEntry, match="has no function elbo"):
        locate(Code("model", "elbo", "x"), root)       # a method is not a module function


def test_a_key_outside_the_function_does_not_count(tmp_path):
    root = package_with(tmp_path, "losses", TODAY + "    X = mu * mu\n")
    assert locate(Code("losses", "kl", "X = mu * mu"), root).key_line is None
