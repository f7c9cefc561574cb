"""The quick site in headless Chromium (tests/browser_tools.py), as a reader offline sees it.

Over every page: no console error, no failed request, no request leaving the
site's folder (browser_tools aborts them, as no network would answer them);
every image loaded; maths rendered as MathML, with no raw TeX left in the
prose.  Every code link of the equation index lands on an element that holds
the named function, and every key-line link on the line holding its key.
"""
import pytest

from browser_tools import open_page
from minivae.site.equations import ENTRIES

STRAY_TEX = """() => {
  const root = (document.querySelector("article") || document.body).cloneNode(true);
  root.querySelectorAll("pre, code, .highlight, math, script, style").forEach(e => e.remove());
  return root.textContent;
}"""
BROKEN_IMAGES = "els => els.filter(e => !(e.complete && e.naturalWidth > 0)).map(e => e.src)"


@pytest.fixture(scope="module")
def pages(quick_site):
    out, _ = quick_site
    return out, sorted(out.rglob("*.html"))


def test_every_page_loads_whole_and_offline(browser, pages):
    out, files = pages
    root = out.as_uri() + "/"
    assert len(files) >= 19
    for path in files:
        page, log = open_page(browser, path.as_uri(), allowed=(root,))
        page.wait_for_load_state("load")
        assert page.eval_on_selector_all("img", BROKEN_IMAGES) == [], path.name
        text = page.evaluate(STRAY_TEX)
        assert "\\frac" not in text and "$" not in text, (path.name, text[:200])
        log.assert_clean()
        page.context.close()


def test_maths_is_mathml(browser, pages):
    out, _ = pages
    for name, least in (("equations.html", 21), ("maths/losses.html", 10), ("maths/optim.html", 6)):
        page, log = open_page(browser, (out / name).as_uri(), allowed=(out.as_uri() + "/",))
        assert page.locator("math").count() >= least, name
        # rendered: a fraction has a height, which an unrendered <math> text run would not
        assert page.evaluate("() => document.querySelector('mfrac, msup, msub')"
                             ".getBoundingClientRect().height") > 5, name
        log.assert_clean()
        page.context.close()


def test_every_index_link_lands_on_its_function_and_key_line(browser, pages):
    out, _ = pages
    root = out.as_uri() + "/"
    index, log = open_page(browser, (out / "equations.html").as_uri(), allowed=(root,))
    links = index.eval_on_selector_all(
        "a.fn, a.key", "els => els.map(e => [e.href, e.dataset.function || null, e.dataset.key || null])")
    index.context.close()
    assert len([f for _, f, _ in links if f]) == sum(len(e.code) for e in ENTRIES)
    checked = set()
    for href, function, key in links:
        if href in checked:
            continue
        checked.add(href)
        page, log = open_page(browser, href, allowed=(root,))
        anchor = href.split("#", 1)[1]
        text = page.evaluate("id => { const e = document.getElementById(id); return e && e.textContent; }",
                             anchor)
        assert text is not None, f"{href}: no element #{anchor}"
        if function:
            assert f"def {function.split('.')[-1]}(" in text, href
        else:
            assert "".join(key.split()) in "".join(text.split()), href
        log.assert_clean()
        page.context.close()
