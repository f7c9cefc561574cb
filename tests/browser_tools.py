"""Headless Chromium for the tests that open a page (the course site, the latent explorer).

The browser is Debian's `chromium` (apt-get install chromium), driven by
Playwright's Python package, which cannot download a browser of its own here.
Where either is missing the tests skip and say which; `.ci/run` installs both,
and under CI=true a missing browser fails instead of skipping, as MNIST does.

    def test_page(browser, tmp_path):
        page, log = open_page(browser, (tmp_path / "index.html").as_uri())
        ...
        log.assert_clean()          # no console error, no failed request, nothing off-site
"""
import os
import shutil
from dataclasses import dataclass, field
from urllib.parse import urlparse

import pytest

# No network traffic of Chromium's own (updates, sync, safe browsing): the machines
# have no internet, and a test must see only the requests the page itself makes.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-default-apps", "--mute-audio"]


def _unavailable(reason):
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI installs it: see .ci/run)")
    pytest.skip(reason)


def chromium_path():
    """The system Chromium's path; skips the test (fails under CI) when there is none."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        _unavailable("no chromium on PATH: apt-get install chromium")
    return path


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the whole session (Playwright's Browser)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed: pip install -e \".[test]\"")
    executable = chromium_path()
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield b
        b.close()


@dataclass
class PageLog:
    """What a page did: console errors, failed requests, requests that left its own origin."""
    allowed: tuple                          # URL prefixes the page may load from
    console_errors: list = field(default_factory=list)
    failed: list = field(default_factory=list)
    off_site: list = field(default_factory=list)

    def request(self, request):
        url = request.url
        if urlparse(url).scheme in ("data", "blob", "about"):
            return
        if not url.startswith(self.allowed):
            self.off_site.append(url)

    def assert_clean(self):
        problems = ([f"console error: {m}" for m in self.console_errors]
                    + [f"failed request: {u}" for u in self.failed]
                    + [f"request off the site: {u}" for u in self.off_site])
        assert not problems, "\n".join(problems)


def open_page(browser, url, allowed=None, viewport=(1200, 900)):
    """A new page at `url`, with a PageLog watching it; returns (page, log).

    allowed: URL prefixes requests may go to (default: the folder of `url`).
    Every other request is recorded as off-site and aborted, so a page that
    would need the network shows it here exactly as it would offline.
    """
    base = url.rsplit("/", 1)[0] + "/"
    log = PageLog(tuple(allowed or (base,)))
    context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
    page = context.new_page()
    page.on("console", lambda m: m.type == "error" and log.console_errors.append(m.text))
    page.on("pageerror", lambda e: log.console_errors.append(str(e)))
    page.on("requestfailed", lambda r: log.failed.append(f"{r.url} ({r.failure})"))
    page.on("request", log.request)
    page.route("**/*", lambda route: route.abort() if not route.request.url.startswith(
        log.allowed) and urlparse(route.request.url).scheme not in ("data", "blob")
        else route.continue_())
    page.goto(url)
    return page, log
