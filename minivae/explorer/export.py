"""The explorer as files: one page and the decoder's weights, for a VAE with a 2-D latent.

    write_explorer(model, x_test, y_test, "out/", name="07b_explorer")
    -> out/07b_explorer.html, out/07b_explorer_weights.js
    model, about = load_explorable("runs/x/last.npz")         # a trained checkpoint's model
    write_explorer(model, x_test, y_test, "explorer/", about=about)

The page decodes the z under the pointer with the decoder of Fig. 5 (z → f(z),
then sig(f(z)) = E[X|z] for the Bernoulli likelihood), written in a few lines
of plain JavaScript: no framework, no network.  Its background is the test
digits' encodings μ(X), coloured by label.  Beyond the paper: the picture is
Kingma & Welling 2014's Fig. 4, a still there.

Two files, every URL between them relative, so the folder can be moved or
copied whole into a course site:

  NAME.html         the page (explorer.html, package data, with its weights file's name filled in)
  NAME_weights.js   one statement, `window.MINIVAE_EXPLORER = {...};`

Why a script and not JSON: Chromium refuses fetch() and XMLHttpRequest of
file:// URLs, so a page opened from disk could not read a .json beside it,
while `<script src>` loads from file:// and http:// alike.  Why not inside
the page: the page stays one fixed, readable file (view its source), and
only the weights change from one model to the next.

The weights object: format "minivae-explorer", version 1, likelihood,
layers [[in, out], ...] (the decoder's Dense layers, y = x W + b, ReLU
between them), points N, extent (the plane shown is [−extent, extent]²),
about (one line on the model), crc32 of the bytes, and data: base64 of
little-endian float32 W (in, out) row-major then b (out) for each layer,
then μ (N, 2), then N uint8 labels (255 for none).  The page checks all of
it and says in words what is wrong instead of drawing a blank canvas.
"""
import base64
import json
import math
import re
import zlib
from importlib import resources
from pathlib import Path

import numpy as np

from ..errors import ArgumentError
from ..files.atomic import atomic_write_text, make_dirs
from ..files.checkpoint import load_checkpoint, read_meta
from ..model import VAE
from ..validate import writable_dir

FORMAT, VERSION = "minivae-explorer", 1
NO_LABEL = 255
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
NEEDS = "the explorer needs a VAE with a 2-D latent (z_dim = 2) decoding 28 × 28 images (x_dim = 784)"


def check_explorable(z_dim, x_dim, source):
    """Raise ArgumentError, in one line naming `source`, unless the latent is 2-D and the images 28 × 28."""
    if z_dim != 2 or x_dim != 784:
        raise ArgumentError(f"{source} has a {z_dim}-D latent and {x_dim} pixels: {NEEDS}; train "
                            "one with `python -m minivae train --z-dim 2` or lessons/07b_latent_2d.py")


def plane_extent(mu):
    """Half the width of the plane shown: 3 (the prior's 3 σ), or wider to hold 99.5% of
    the encodings' coordinates, rounded up to a half."""
    if len(mu) == 0:
        return 3.0
    return max(3.0, math.ceil(2 * float(np.quantile(np.abs(mu), 0.995))) / 2)


def weights_object(model, mu, labels=None, about=""):
    """The dict the weights file assigns to window.MINIVAE_EXPLORER (layout in the module docstring)."""
    layers = model.decoder.layers
    mu = np.asarray(mu, dtype="<f4").reshape(-1, 2)
    labels = np.full(len(mu), NO_LABEL, np.uint8) if labels is None else np.asarray(labels, np.uint8)
    parts = [np.asarray(p, dtype="<f4").tobytes() for layer in layers
             for p in (layer.params["W"], layer.params["b"])]
    data = b"".join(parts + [mu.tobytes(), labels.tobytes()])
    return {"format": FORMAT, "version": VERSION, "likelihood": model.likelihood,
            "layers": [list(layer.params["W"].shape) for layer in layers],
            "points": len(mu), "extent": plane_extent(mu), "about": about,
            "crc32": zlib.crc32(data), "data": base64.b64encode(data).decode("ascii")}


def page_html(weights_file):
    """The page, explorer.html from the package, reading its weights from `weights_file`."""
    template = resources.files("minivae.explorer").joinpath("explorer.html").read_text(encoding="utf-8")
    return template.replace("__WEIGHTS_FILE__", weights_file)


def write_explorer(model, x, labels, out_dir, name="explorer", about=""):
    """Write out_dir/NAME.html and out_dir/NAME_weights.js; return their two paths.

    model: a VAE with z_dim = 2 and x_dim = 784 (else ArgumentError);
    x (N, 784), labels (N,) or None: the digits whose encodings μ(X) are the
    plane's background; about: one line on the model for the page's header.
    The weights are written before the page, each file atomically.
    """
    if not isinstance(model, VAE):
        raise ArgumentError(f"the explorer decodes a VAE, not a {type(model).__name__}")
    check_explorable(model.z_dim, model.x_dim, f"this VAE ({model.z_dim}-D latent)")
    if not (isinstance(name, str) and NAME.fullmatch(name)):
        raise ArgumentError(f"name {name!r}: give a file name without a folder, "
                            "of letters, digits, '_', '-' and '.'")
    mu, _ = model.encode(x)
    if labels is not None:
        labels = np.asarray(labels)
        if labels.shape != (len(mu),):
            raise ArgumentError(f"labels has shape {labels.shape} for {len(mu)} digits")
        if labels.dtype.kind not in "iu" or (labels.size and (labels.min() < 0 or labels.max() > 9)):
            raise ArgumentError("labels must be the digits' classes, integers 0 to 9")
    out = writable_dir("explorer folder", out_dir)
    make_dirs(out)
    weights, page = out / f"{name}_weights.js", out / f"{name}.html"
    text = json.dumps(weights_object(model, mu, labels, about), separators=(",", ":"))
    atomic_write_text(weights, "// the decoder of a VAE with a 2-D latent, and its test encodings: "
                      f"read by {page.name}, written by minivae\nwindow.MINIVAE_EXPLORER = {text};\n")
    atomic_write_text(page, page_html(weights.name))
    return page, weights


def load_explorable(checkpoint):
    """(model, about) from a checkpoint (its last.npz), for write_explorer; refused in one
    line (ArgumentError) before its weights are read when its latent is not 2-D."""
    meta = read_meta(checkpoint)
    check_explorable(meta["model"].get("z_dim"), meta["model"].get("x_dim"),
                     f"checkpoint {Path(checkpoint)}")
    model, _, meta = load_checkpoint(checkpoint)
    sizes = "-".join(map(str, (model.x_dim, *model.hidden, model.z_dim)))
    return model, f"VAE {sizes} from {Path(checkpoint).name}, epoch {meta['epoch']}"
