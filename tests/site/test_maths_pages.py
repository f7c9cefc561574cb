"""The side-by-side pages: every line of the file anchored once, each function a section holding
its own code, the index's equations shown beside the functions that compute them."""
import html
import re
import shutil
import textwrap

import pytest

from minivae.site import maths_pages
from minivae.site.source import MATHS_MODULES, module_path, package_root

pytest.importorskip("latex2mathml", reason="the site extra is missing: pip install -e \".[site]\"")


def text_of(fragment):
    return html.unescape(re.sub(r"<[^>]+>", "", fragment))


def test_highlighting_keeps_every_character_of_every_line():
    source = module_path("optim").read_text(encoding="utf-8")
    lines = maths_pages.highlighted_lines(source)
    assert [text_of(line) for line in lines] == source.splitlines()
    assert any('<span class="k">def</span>' in line for line in lines)


@pytest.mark.parametrize("module", MATHS_MODULES)
def test_every_line_has_one_anchor(module):
    page = maths_pages.page_html(module)
    n = len(module_path(module).read_text(encoding="utf-8").splitlines())
    anchors = [int(k) for k in re.findall(r'id="L(\d+)"', page)]
    assert sorted(anchors) == list(range(1, n + 1))


def section(page, name):
    m = re.search(rf'<section class="sbs-row" id="{re.escape(name)}".*?</section>', page, re.S)
    assert m, name
    return m.group()


def test_each_function_is_a_section_holding_its_code_and_its_typeset_docstring():
    page = maths_pages.page_html("losses")
    kl = section(page, "kl_normal_and_grads")
    assert "def kl_normal_and_grads(mu, log_var):" in text_of(kl)
    assert "def bernoulli_nll" not in text_of(kl)
    assert 'href="../equations.html#eq-7"' in kl          # the index's Eq. 7, typeset
    assert kl.count("<math") >= 4                         # Eq. 7 and the docstring's three formulas
    method = section(maths_pages.page_html("model"), "VAE.loss_and_grads")
    assert "def loss_and_grads(self, x, eps, copy=True):" in text_of(method)
    assert "Eq. 9 (§2.2)" in text_of(method) and "Fig. 4 (§2.2)" in text_of(method)


def test_a_docstring_is_on_the_left_and_anchored_where_it_stood():
    source = module_path("reparam").read_text(encoding="utf-8").splitlines()
    page = maths_pages.page_html("reparam")
    first = next(n for n, line in enumerate(source, 1) if line.strip().startswith('"""z = mu'))
    assert f'<span class="line docref" id="L{first}">' in page
    code = section(page, "reparam_forward").split('<div class="code">')[1]
    assert "Σ^{1/2}" not in text_of(code)                  # the docstring is not repeated on the right


def test_the_page_follows_a_restructured_module(tmp_path):
    """No decorators, a dispatch line on top, the flush moved out: the page still holds together."""
    shutil.copytree(package_root() / "minivae", tmp_path / "minivae",
                    ignore=shutil.ignore_patterns("__pycache__"))
    optim = tmp_path / "minivae" / "optim.py"
    text = optim.read_text().replace("@accelerated\n", "")
    decay = '    if weight_decay:\n        g = np.where(decayed, g + weight_decay * p, g)\n'
    assert text.count(decay + '    m *= beta1\n') == 1
    text = text.replace(decay + '    m *= beta1\n',
                        '    if twin.adam_update:\n        return twin.adam_update(p, g, m, v)\n'
                        + decay + '    m *= beta1\n')
    text += textwrap.dedent('''

        def flush(a, below):
            """The flush, moved out of the update."""
            a *= np.abs(a) >= below
    ''')
    optim.write_text(text)
    page = maths_pages.page_html("optim", root=tmp_path)
    n = len(text.splitlines())
    assert sorted(int(k) for k in re.findall(r'id="L(\d+)"', page)) == list(range(1, n + 1))
    adam = text_of(section(page, "adam_update"))
    assert "return twin.adam_update(p, g, m, v)" in adam and "@accelerated" not in adam
    assert "a *= np.abs(a) >= below" in text_of(section(page, "flush"))


def test_page_title_is_the_module_docstrings_first_line():
    assert maths_pages.page_title("reparam").startswith("reparam.py — Reparameterization trick")
