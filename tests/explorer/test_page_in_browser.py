"""The explorer's page in a real browser (headless Chromium, tests/browser_tools.py), opened
from disk as a student opens it: a file:// URL, with no network.

* its JavaScript decoder equals VAE.decode to 1e-5 at 20 fixed z, 8 of them at |z| = 4;
* the pointer draws the digit of the z under it (the z worked out here from the
  pointer's position and the plane's extent, the pixels from the canvas);
* two clicks walk from one encoding to the other;
* a missing or damaged weights file gives a message in words, never a blank canvas;
* no console error, no failed request and nothing off the page's folder.
"""
import base64
import json
import re
import zlib

import numpy as np
import pytest

from browser_tools import open_page
from minivae.explorer.export import write_explorer
from minivae.model import VAE
from minivae.train import TrainConfig, train

ANGLES = np.linspace(0, 2 * np.pi, 8, endpoint=False)
FIXED_Z = np.concatenate([4 * np.stack([np.cos(ANGLES), np.sin(ANGLES)], 1),        # |z| = 4
                          np.array([[0, 0], [0.5, -0.5], [-1, 2], [2, 1], [-2.5, -1.5], [1.5, -2.5],
                                    [3, 0.2], [-0.3, -3], [0.01, 1e-3], [-3.5, 1], [1, 3.3], [2.2, 2.2]])])


@pytest.fixture(scope="module")
def trained(mnist_small, tmp_path_factory):
    """The lesson's network (784-500-2) after 2 epochs on 2,000 digits, and 500 test digits."""
    x_train, _, x_test, y_test = mnist_small
    config = TrainConfig(hidden=(500,), z_dim=2, init="he", weight_decay=0.0, epochs=2, images=False,
                         out_dir=str(tmp_path_factory.mktemp("run")), seed=0)
    model = train(config, x_train=x_train, x_test=None, progress=False).model
    return model, x_test, y_test


@pytest.fixture
def site(trained, tmp_path):
    """The page and weights file written for the trained model, in a fresh folder."""
    model, x, y = trained
    page, weights = write_explorer(model, x, y, tmp_path, name="07b_explorer")
    return page, weights


def header(weights):
    return json.loads(re.search(r"= (\{.*\});", weights.read_text()).group(1))


def ready(page):
    page.wait_for_function("window.minivaeExplorer && (minivaeExplorer.ready || minivaeExplorer.error)")
    assert page.evaluate("minivaeExplorer.error") is None


def js_decode(page, zs):
    return np.array(page.evaluate("zs => zs.map(z => minivaeExplorer.decode(z[0], z[1]))",
                                  [[float(a), float(b)] for a, b in zs]))


def digit_pixels(page):
    """The 28 × 28 grey levels drawn on the digit canvas (each pixel a 10 × 10 block: its centre)."""
    rgba = page.evaluate("""() => Array.from(document.getElementById('digit').getContext('2d')
                                 .getImageData(0, 0, 280, 280).data)""")
    return np.array(rgba, dtype=np.int64).reshape(280, 280, 4)[5::10, 5::10, 0].reshape(-1)


def grey(x_mean):
    return np.rint(255 * np.clip(x_mean, 0, 1)).astype(np.int64)


def test_the_javascript_decoder_equals_vae_decode(browser, trained, site):
    model = trained[0]
    page, log = open_page(browser, site[0].as_uri())
    ready(page)
    got = js_decode(page, FIXED_Z)
    want = model.decode(FIXED_Z.astype(np.float32)).astype(np.float64)
    assert got.shape == (20, 784)
    assert np.abs(got - want).max() < 1e-5, np.abs(got - want).max()
    assert np.abs(want[:8] - want[8]).max() > 0.1                   # far out, other digits than at 0
    assert not page.is_visible("#message")
    log.assert_clean()


def test_a_deeper_gaussian_decoder_too(browser, tmp_path):
    """The page decodes any stack of Dense + ReLU layers, and a Gaussian decoder's f(z) as it is."""
    model = VAE(x_dim=784, hidden=(48, 24), z_dim=2, likelihood="gaussian", init="glorot", seed=5)
    rng = np.random.default_rng(1)
    for name, p in model.params.items():                # every bias in play, not glorot's zeros
        if name.endswith(".b"):
            p[...] = rng.normal(0.0, 0.5, p.shape)
    page_file, _ = write_explorer(model, np.random.default_rng(0).random((30, 784), dtype=np.float32),
                                  None, tmp_path)
    page, log = open_page(browser, page_file.as_uri())
    ready(page)
    got, want = js_decode(page, FIXED_Z), model.decode(FIXED_Z.astype(np.float32))
    assert np.abs(got - want).max() < 1e-5 and (want < 0).any()
    log.assert_clean()


def test_the_pointer_draws_the_digit_of_the_z_under_it(browser, trained, site):
    model = trained[0]
    page, log = open_page(browser, site[0].as_uri())
    ready(page)
    extent = header(site[1])["extent"]
    box = page.locator("#plane").bounding_box()
    drawn = []
    for fx, fy in [(0.3, 0.6), (0.75, 0.2), (0.5, 0.5)]:            # fractions of the plane's width, height
        page.mouse.move(box["x"] + fx * box["width"], box["y"] + fy * box["height"])
        z = np.array([[extent * (2 * fx - 1), extent * (1 - 2 * fy)]], dtype=np.float32)   # z₂ points up
        pixels = digit_pixels(page)
        assert np.abs(pixels - grey(model.decode(z)[0])).max() <= 1, z
        drawn.append(pixels)
    assert np.abs(drawn[0] - drawn[1]).sum() > 255 * 20, "moving the pointer did not change the digit"
    log.assert_clean()


def test_two_clicks_walk_from_one_encoding_to_the_other(browser, trained, site):
    model, x, _ = trained
    page, log = open_page(browser, site[0].as_uri())
    ready(page)
    extent = header(site[1])["extent"]
    box = page.locator("#plane").bounding_box()
    mu = model.encode(x)[0].astype(np.float64)
    px = np.stack([(mu[:, 0] + extent) / (2 * extent) * box["width"],
                   (extent - mu[:, 1]) / (2 * extent) * box["height"]], 1)
    gap = np.sort(np.linalg.norm(px[:, None] - px[None], axis=2), axis=1)[:, 1]   # to the nearest other
    a, b = np.argsort(-gap)[:2]                                     # the two most isolated encodings
    assert gap[b] > 3
    frames = page.evaluate("minivaeExplorer.frames")
    for i in (a, b):
        page.mouse.click(box["x"] + px[i, 0], box["y"] + px[i, 1])
    page.wait_for_function(f"minivaeExplorer.state.walk === null && minivaeExplorer.frames > {frames + 10}")
    assert page.evaluate("minivaeExplorer.state.picks.map(p => p.index)") == [a, b]
    assert np.abs(digit_pixels(page) - grey(model.decode(mu[b:b + 1].astype(np.float32))[0])).max() <= 1
    strip = page.evaluate("""() => Array.from(document.getElementById('strip').getContext('2d')
                             .getImageData(0, 0, 280, 35).data)""")
    assert max(strip[0::4]) > 128, "the strip of the walk is blank"
    log.assert_clean()


def test_a_missing_weights_file_is_said_in_words(browser, site):
    page_file, weights = site
    weights.unlink()
    page, log = open_page(browser, page_file.as_uri())
    page.wait_for_function("minivaeExplorer.error !== null")
    message = page.inner_text("#message")
    assert "07b_explorer_weights.js is missing" in message and "lessons/07b_latent_2d.py" in message
    assert page.is_visible("#message") and not page.is_visible("#plane")
    assert [u.split(" ")[0] for u in log.failed] == [weights.as_uri()] and not log.off_site


def _rewrite_data(text, change):
    """The weights file with its bytes changed by `change` and the checksum made to match."""
    w = json.loads(re.search(r"= (\{.*\});", text).group(1))
    data = bytearray(base64.b64decode(w["data"]))
    change(data)
    w.update(data=base64.b64encode(bytes(data)).decode(), crc32=zlib.crc32(bytes(data)))
    return f"window.MINIVAE_EXPLORER = {json.dumps(w)};\n"


def _flip_one_character(text):
    i = text.index('"data":"') + 5000
    return text[:i] + ("A" if text[i] != "A" else "B") + text[i + 1:]


DAMAGES = {
    "cut short": (lambda t: t[:len(t) // 2], "not the JavaScript minivae wrote"),
    "empty": (lambda t: "", "not the JavaScript minivae wrote"),
    "one character changed": (_flip_one_character, "its checksum does not match its data"),
    "bytes missing": (lambda t: re.sub(r'"data":"[A-Za-z0-9+/]{8}', '"data":"', t),
                      "bytes where its header implies"),
    "not base64": (lambda t: t.replace('"data":"', '"data":"!'), "its data is not base64"),
    "another format": (lambda t: t.replace('"minivae-explorer"', '"minivae-checkpoint"'),
                       "not a minivae-explorer file"),
    "a NaN weight": (lambda t: _rewrite_data(t, lambda d: d.__setitem__(slice(0, 4), b"\x00\x00\xc0\x7f")),
                     "NaN or infinite"),
    "a 3-D latent": (lambda t: t.replace('"layers":[[2,500]', '"layers":[[3,500]'),
                     "its decoder does not map a 2-D z to 28 × 28 pixels"),
    "layers that do not chain": (lambda t: t.replace('[500,784]', '[400,784]'), "its layer sizes do not chain"),
}


@pytest.mark.parametrize("damage", list(DAMAGES))
def test_a_damaged_weights_file_is_said_in_words(browser, site, damage):
    page_file, weights = site
    change, reason = DAMAGES[damage]
    weights.write_text(change(weights.read_text()))
    page, log = open_page(browser, page_file.as_uri())
    page.wait_for_function("minivaeExplorer.error !== null")
    message = page.inner_text("#message")
    assert "07b_explorer_weights.js is damaged" in message and reason in message, message
    assert page.is_visible("#message") and not page.is_visible("#plane")
    assert not log.failed and not log.off_site
    if damage not in ("cut short",):                    # only a syntax error reaches the console
        assert not log.console_errors, log.console_errors
