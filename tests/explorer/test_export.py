"""The explorer's files: the weights file holds the decoder exactly, the page reads it by
relative URL, and a model or checkpoint without a 2-D latent is refused in one line.

The weights file is read back here by a decoder of the test's own (NumPy in
float64, from the bytes alone), so the layout the page relies on is checked
without the browser; tests/explorer/test_page_in_browser.py runs the page.
"""
import base64
import json
import re
import zlib

import numpy as np
import pytest

from minivae.errors import ArgumentError, CheckpointError
from minivae.explorer.export import NO_LABEL, load_explorable, page_html, plane_extent, write_explorer
from minivae.files.checkpoint import save_checkpoint
from minivae.model import VAE
from minivae.optim import Adam


def read_weights(path):
    """The object the weights file assigns to window.MINIVAE_EXPLORER."""
    text = path.read_text(encoding="utf-8")
    m = re.search(r"^window\.MINIVAE_EXPLORER = (\{.*\});$", text, re.M)
    assert m, text[:200]
    return json.loads(m.group(1))


def decoder_from_bytes(w):
    """(decode(z) in float64, mu (N, 2), labels (N,)) rebuilt from the file's bytes alone."""
    data = base64.b64decode(w["data"])
    assert zlib.crc32(data) == w["crc32"]
    floats, layers, offset = np.frombuffer(data[:len(data) - w["points"]], dtype="<f4"), [], 0
    for n_in, n_out in w["layers"]:
        W = floats[offset:offset + n_in * n_out].reshape(n_in, n_out).astype(np.float64)
        b = floats[offset + n_in * n_out:offset + n_in * n_out + n_out].astype(np.float64)
        layers.append((W, b))
        offset += n_in * n_out + n_out
    mu = floats[offset:].reshape(-1, 2)
    labels = np.frombuffer(data[len(data) - w["points"]:], dtype=np.uint8)

    def decode(z):
        h = np.asarray(z, dtype=np.float64)
        for i, (W, b) in enumerate(layers):
            h = h @ W + b
            if i < len(layers) - 1:
                h = np.maximum(h, 0.0)
        return 1 / (1 + np.exp(-h)) if w["likelihood"] == "bernoulli" else h
    return decode, mu, labels


@pytest.mark.parametrize("hidden, likelihood", [((40,), "bernoulli"), ((24, 16), "gaussian")])
def test_the_weights_file_holds_the_decoder_and_the_encodings(tmp_path, hidden, likelihood):
    model = VAE(x_dim=784, hidden=hidden, z_dim=2, likelihood=likelihood, seed=3)
    rng = np.random.default_rng(0)
    x = rng.random((50, 784), dtype=np.float32)
    labels = rng.integers(0, 10, 50)
    page, weights = write_explorer(model, x, labels, tmp_path, name="e", about="a test model")
    assert (page.name, weights.name) == ("e.html", "e_weights.js")
    w = read_weights(weights)
    assert (w["format"], w["version"], w["likelihood"], w["points"]) == ("minivae-explorer", 1, likelihood, 50)
    assert w["layers"] == [list(p) for p in zip((2, *hidden[::-1]), (*hidden[::-1], 784))]
    decode, mu, got_labels = decoder_from_bytes(w)
    z = rng.standard_normal((20, 2)) * 2
    assert np.abs(decode(z) - model.decode(z.astype(np.float32))).max() < 1e-5
    assert np.array_equal(mu, model.encode(x)[0]) and np.array_equal(got_labels, labels)
    assert w["extent"] == plane_extent(mu) and w["about"] == "a test model"


def test_without_labels_every_point_is_unlabelled(tmp_path):
    model = VAE(x_dim=784, hidden=(8,), z_dim=2, seed=0)
    _, weights = write_explorer(model, np.full((3, 784), 0.5, np.float32), None, tmp_path)
    assert list(decoder_from_bytes(read_weights(weights))[2]) == [NO_LABEL] * 3


def test_the_page_reads_its_own_weights_file_by_relative_url_and_nothing_else(tmp_path):
    html = page_html("07b_explorer_weights.js")
    assert "__WEIGHTS_FILE__" not in html
    assert re.findall(r'<script src="([^"]+)"', html) == ["07b_explorer_weights.js"]
    # no network: no absolute URL, no protocol-relative one, no stylesheet or font from elsewhere
    assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}/", html, re.I), "the page names a URL"
    assert "<link" not in html and "@import" not in html


def test_plane_extent():
    assert plane_extent(np.zeros((10, 2))) == 3.0                  # the prior's 3 σ at least
    mu = np.linspace(-4.2, 4.2, 2001).reshape(-1, 1).repeat(2, 1)
    assert plane_extent(mu) == 4.5                                 # 99.5% of |μ| ≤ 4.18, up to a half
    one_side = -np.linspace(0.0, 4.9, 2001).reshape(-1, 1).repeat(2, 1)   # every μ ≤ 0
    assert plane_extent(one_side) == 5.0                           # 99.5% of |μ| ≤ 4.88: both signs count
    assert plane_extent(np.zeros((0, 2))) == 3.0


@pytest.mark.parametrize("z_dim, x_dim", [(30, 784), (1, 784), (2, 100)])
def test_a_model_without_a_2d_latent_is_refused_in_one_line(tmp_path, z_dim, x_dim):
    model = VAE(x_dim=x_dim, hidden=(8,), z_dim=z_dim, seed=0)
    with pytest.raises(ArgumentError) as e:
        write_explorer(model, np.zeros((2, x_dim), np.float32), None, tmp_path)
    message = str(e.value)
    assert "\n" not in message and f"{z_dim}-D latent" in message and "z_dim = 2" in message
    assert "x_dim = 784" in message
    assert not list(tmp_path.iterdir())                             # nothing written


def _checkpoint(path, z_dim):
    model = VAE(x_dim=784, hidden=(8,), z_dim=z_dim, seed=0)
    opt = Adam(model.flat_params, model.flat_grads)
    return save_checkpoint(path, model, opt, {}, 3, {}, []), model


def test_a_checkpoint_without_a_2d_latent_is_refused_naming_the_file(tmp_path):
    path, _ = _checkpoint(tmp_path / "last.npz", 30)
    with pytest.raises(ArgumentError, match=r"^checkpoint \S+last\.npz has a 30-D latent and 784 "
                                            r"pixels: the explorer needs a VAE with a 2-D latent"):
        load_explorable(path)


def test_a_checkpoint_with_a_2d_latent_is_written(tmp_path):
    path, model = _checkpoint(tmp_path / "last.npz", 2)
    x = np.random.default_rng(1).random((5, 784), dtype=np.float32)
    loaded, about = load_explorable(path)
    _, weights = write_explorer(loaded, x, None, tmp_path / "out", about=about)
    w = read_weights(weights)
    assert w["about"] == "VAE 784-8-2 from last.npz, epoch 3"
    decode, mu, _ = decoder_from_bytes(w)
    z = np.array([[4.0, 0.0], [-1.0, 2.5]])
    assert np.abs(decode(z) - model.decode(z.astype(np.float32))).max() < 1e-5


def test_a_damaged_checkpoint_is_a_checkpoint_error(tmp_path):
    (tmp_path / "last.npz").write_bytes(b"not a zip")
    with pytest.raises(CheckpointError):
        load_explorable(tmp_path / "last.npz")


@pytest.mark.parametrize("name", ["../x", "a/b", "", ".hidden", 3])
def test_a_name_that_is_not_a_plain_file_name_is_refused(tmp_path, name):
    model = VAE(x_dim=784, hidden=(8,), z_dim=2, seed=0)
    with pytest.raises(ArgumentError, match="file name"):
        write_explorer(model, np.zeros((1, 784), np.float32), None, tmp_path, name=name)


@pytest.mark.parametrize("labels, words", [([1, 2, 3], r"labels has shape \(3,\) for 2 digits"),
                                           ([1, 10], "integers 0 to 9"), ([-1, 0], "integers 0 to 9"),
                                           ([0.5, 1.0], "integers 0 to 9")])
def test_labels_must_be_the_digits_classes(tmp_path, labels, words):
    model = VAE(x_dim=784, hidden=(8,), z_dim=2, seed=0)
    with pytest.raises(ArgumentError, match=words):
        write_explorer(model, np.zeros((2, 784), np.float32), labels, tmp_path)
    assert not list(tmp_path.iterdir())
