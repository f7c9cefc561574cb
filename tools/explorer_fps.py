"""Frames per second of the latent explorer's page (lessons/07b_latent_2d.py) in headless Chromium.

    python tools/explorer_fps.py [--checkpoint runs/.../last.npz | --page lessons/out/07b_explorer.html]
                                 [--seconds 5] [--json PATH] [--screenshot PNG]

Writes the explorer of a VAE with a 2-D latent into a temporary folder: the
model of --checkpoint, else the lesson's network 784-500-2 with fresh weights
(the decoder does the same work either way), with the encodings of 10,000
random images as the plane's background.  Opens the page from disk in the system's
Chromium (Playwright drives it, as in the tests) and measures:

* frames per second: for --seconds, every animation frame (requestAnimationFrame)
  redraws the page at a new z on a circle, as a moving pointer makes it: the
  plane with its 10,000 dots, the marker, the decoded 28 × 28 digit.  The
  display's refresh caps this (60 Hz in headless Chromium);
* one redraw's cost: the median milliseconds of the page's `render(z)` called
  back to back (the decoder's forward pass and the drawing calls), and the
  redraws per second that cost allows.

--page measures a page already written (the lesson's).  --screenshot then
walks from the encoding of a 1 to that of a 0 (the ones nearest their
classes' mean encodings) and saves the page as a PNG: the README's picture
is `--page lessons/out/07b_explorer.html --screenshot docs/explorer.png`
after a default run of the lesson.

Run it on an idle machine: other work on the same cores slows every frame.
"""
import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from browser_tools import CHROMIUM_ARGS  # noqa: E402  (the tests' Chromium flags)
from race import cpu_model, load_average  # noqa: E402  tools/race.py, beside this file

WALK = """() => {
  const e = minivaeExplorer.encodings, n = e.labels.length, at = {};
  for (const d of [1, 0]) {                 // the encoding nearest the class's mean
    let s1 = 0, s2 = 0, k = 0;
    for (let i = 0; i < n; i++) if (e.labels[i] === d) { s1 += e.mu[2 * i]; s2 += e.mu[2 * i + 1]; k++; }
    let best = -1, bestD = Infinity;
    for (let i = 0; i < n; i++) {
      const d2 = (e.mu[2 * i] - s1 / k) ** 2 + (e.mu[2 * i + 1] - s2 / k) ** 2;
      if (e.labels[i] === d && d2 < bestD) { bestD = d2; best = i; }
    }
    at[d] = e.toPx(e.mu[2 * best], e.mu[2 * best + 1]);
  }
  return [at[1], at[0]];
}"""

MEASURE = """async seconds => {
  const ex = window.minivaeExplorer, E = ex.extent * 0.8;
  const zAt = i => [E * Math.cos(i / 40), E * Math.sin(i / 23)];
  let frames = 0, t0 = null;
  await new Promise(done => {
    function frame(now) {
      if (t0 === null) t0 = now;
      ex.render(zAt(frames++));
      if (now - t0 < seconds * 1000) requestAnimationFrame(frame); else done();
    }
    requestAnimationFrame(frame);
  });
  const fps = (frames - 1) / ((performance.now() - t0) / 1000);
  const costs = [];
  for (let i = 0; i < 300; i++) {
    const s = performance.now();
    ex.render(zAt(i));
    costs.push(performance.now() - s);
  }
  costs.sort((a, b) => a - b);
  return {fps: fps, frames: frames, render_ms_median: costs[150], render_ms_p90: costs[270]};
}"""


def page_for(checkpoint, folder):
    """Write the explorer for the checkpoint's model (or a fresh 784-500-2) into folder; its page.

    The 10,000 background dots are drawn once, into an image each frame copies,
    so where they lie does not change a frame's cost: random digits will do.
    """
    from minivae.explorer.export import load_explorable, write_explorer
    from minivae.model import VAE
    rng = np.random.default_rng(0)
    x, labels = rng.random((10_000, 784), dtype=np.float32), rng.integers(0, 10, 10_000)
    model, about = (load_explorable(checkpoint) if checkpoint
                    else (VAE(x_dim=784, hidden=(500,), z_dim=2, seed=0), "fresh weights"))
    return write_explorer(model, x.astype(model.dtype), labels, folder, about=about)[0]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", help="a checkpoint of a VAE with a 2-D latent (default: fresh 784-500-2)")
    ap.add_argument("--page", help="an explorer page already written, e.g. lessons/out/07b_explorer.html")
    ap.add_argument("--screenshot", metavar="PNG", help="walk from a 1 to a 0, then save the page here")
    ap.add_argument("--seconds", type=float, default=5.0, help="seconds of animation frames (default 5)")
    ap.add_argument("--json", metavar="PATH", help="also save the numbers here")
    a = ap.parse_args(argv)
    from playwright.sync_api import sync_playwright
    load_before = load_average()
    with tempfile.TemporaryDirectory(prefix="explorer-fps-") as folder, sync_playwright() as p:
        page_file = Path(a.page).resolve() if a.page else page_for(a.checkpoint, Path(folder))
        chromium = shutil.which("chromium") or shutil.which("chromium-browser")
        if chromium is None:
            ap.error("no chromium on PATH: apt-get install chromium")
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 900, "height": 725})
        page.goto(page_file.as_uri())
        page.wait_for_function("window.minivaeExplorer && minivaeExplorer.ready")
        t0 = time.perf_counter()
        result = page.evaluate(MEASURE, a.seconds)
        result["wall_seconds"] = round(time.perf_counter() - t0, 1)
        if a.screenshot:
            box = page.locator("#plane").bounding_box()
            for x, y in page.evaluate(WALK):
                page.mouse.click(box["x"] + x, box["y"] + y)
            page.wait_for_function("minivaeExplorer.state.walk === null")
            page.screenshot(path=a.screenshot)
            from PIL import Image                   # Pillow, which matplotlib needs: 256 colours
            Image.open(a.screenshot).convert("RGB").quantize(256).save(a.screenshot, optimize=True)
            print(f"saved {a.screenshot}")
        browser.close()
    result.update(cpu=cpu_model(), load_before=load_before, load_after=load_average())
    print(f"explorer page, headless Chromium: {result['fps']:.1f} frames per second "
          f"({result['frames']} frames in {a.seconds:g} s, each redrawn at a new z)")
    print(f"one redraw (decode + draw): median {result['render_ms_median']:.2f} ms, 90th percentile "
          f"{result['render_ms_p90']:.2f} ms: {1000 / result['render_ms_median']:.0f} redraws per second")
    print(f"CPU: {result['cpu']}\nload average before: {load_before}, after: {result['load_after']}")
    if a.json:
        Path(a.json).write_text(json.dumps(result, indent=1) + "\n")
        print(f"saved {a.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
