"""The explorer in a matplotlib figure: pointer events decode the z under the pointer, two
clicks walk between two encodings, and without an interactive backend one line says so.

Events are made here as matplotlib makes them (MouseEvent at pixel positions,
through the canvas's callbacks), on the Agg canvas: the handlers run exactly
as under a window or ipympl, which only deliver the same events.
"""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.backend_bases import MouseEvent  # noqa: E402

from minivae.explorer import live  # noqa: E402
from minivae.explorer.live import WALK_FRAMES, LiveExplorer, explore, interactive_backend  # noqa: E402
from minivae.model import VAE  # noqa: E402


@pytest.fixture
def explorer():
    model = VAE(x_dim=784, hidden=(32,), z_dim=2, seed=4)
    mu = np.array([[-1.5, -1.0], [2.0, 1.0], [0.3, 2.2]], dtype=np.float32)
    ex = LiveExplorer(model, mu, labels=[1, 7, 0])
    yield ex
    plt.close(ex.fig)


def event(ex, name, z, **kw):
    """Send the canvas a MouseEvent at the pixel where data point z is drawn."""
    ex.fig.canvas.draw()                                        # lay out, as a shown figure is
    x, y = ex.ax.transData.transform(z)
    e = MouseEvent(name, ex.fig.canvas, x, y, **kw)
    ex.fig.canvas.callbacks.process(name, e)


def shown(ex):
    return np.asarray(ex.image.get_array()).reshape(-1)


def decoded(ex, z):
    return ex.model.decode(np.array([z], dtype=np.float32))[0]


def test_moving_the_pointer_draws_the_decoded_z(explorer):
    for z in [(0.5, -0.25), (-2.0, 1.5)]:
        event(explorer, "motion_notify_event", z)
        assert np.allclose(shown(explorer), decoded(explorer, z), atol=1e-5)
        assert np.allclose(explorer.marker.get_data(), [[z[0]], [z[1]]], atol=1e-3)
    before = shown(explorer).copy()
    event(explorer, "motion_notify_event", (2.5, 2.5))
    assert np.abs(shown(explorer) - before).max() > 1e-3


def test_a_move_outside_the_plane_changes_nothing(explorer):
    event(explorer, "motion_notify_event", (1.0, 1.0))
    before = shown(explorer).copy()
    x, y = explorer.image.axes.transAxes.transform((0.5, 0.5))  # over the digit, not the plane
    explorer.fig.canvas.callbacks.process("motion_notify_event",
                                          MouseEvent("motion_notify_event", explorer.fig.canvas, x, y))
    assert np.array_equal(shown(explorer), before)


def test_two_clicks_walk_the_line_between_the_nearest_encodings(explorer):
    event(explorer, "button_press_event", (-1.49, -1.02), button=1)      # near the 1 at (−1.5, −1)
    assert explorer.picks == [(-1.5, -1.0)]
    event(explorer, "button_press_event", (2.02, 0.98), button=1)        # near the 7 at (2, 1)
    assert explorer.picks == [(-1.5, -1.0), (2.0, 1.0)] and len(explorer.walk) == WALK_FRAMES
    explorer.tick()                                                       # t = 0: the first encoding
    assert np.allclose(shown(explorer), decoded(explorer, (-1.5, -1.0)), atol=1e-5)
    for _ in range(WALK_FRAMES // 2 - 1):
        explorer.tick()
    t = (WALK_FRAMES // 2 - 1) / (WALK_FRAMES - 1)
    assert np.allclose(shown(explorer), decoded(explorer, (-1.5 + 3.5 * t, -1.0 + 2.0 * t)), atol=1e-5)
    event(explorer, "motion_notify_event", (0.0, -2.0))                   # ignored while walking
    while explorer.walk:
        explorer.tick()
    assert np.allclose(shown(explorer), decoded(explorer, (2.0, 1.0)), atol=1e-5)
    event(explorer, "motion_notify_event", (0.0, -2.0))                   # live again after it
    assert np.allclose(shown(explorer), decoded(explorer, (0.0, -2.0)), atol=1e-5)


def test_a_click_far_from_every_encoding_takes_the_clicked_z(explorer):
    event(explorer, "button_press_event", (-2.5, 2.5), button=1)
    (z1, z2), = explorer.picks
    assert (z1, z2) == pytest.approx((-2.5, 2.5), abs=1e-6)
    event(explorer, "button_press_event", (2.0, 1.0), button=1)
    event(explorer, "button_press_event", (0.3, 2.2), button=1)            # a third click starts anew
    assert explorer.picks == [(pytest.approx(0.3), pytest.approx(2.2))] and explorer.walk == []


def test_agg_and_inline_are_not_interactive(monkeypatch):
    assert not interactive_backend()
    for name, expected in [("module://matplotlib_inline.backend_inline", False), ("svg", False),
                           ("TkAgg", True), ("QtAgg", True), ("module://ipympl.backend_nbagg", True)]:
        monkeypatch.setattr(matplotlib, "get_backend", lambda name=name: name)
        assert interactive_backend() is expected, name


def test_without_an_interactive_backend_one_line_says_so(capsys, tmp_path):
    model = VAE(x_dim=784, hidden=(8,), z_dim=2, seed=0)
    figures = plt.get_fignums()
    result = explore(model, np.zeros((4, 784), np.float32), [0, 1, 2, 3],
                     fallback=tmp_path / "m.png", page=tmp_path / "p.html")
    out = capsys.readouterr().out.splitlines()
    assert result is None and plt.get_fignums() == figures
    assert len(out) == 1 and "no interactive matplotlib backend here (agg)" in out[0].lower()
    assert f"open {tmp_path / 'p.html'} in a browser" in out[0]


def test_in_a_notebook_without_ipympl_the_manifold_is_shown_instead(capsys, monkeypatch, tmp_path):
    pytest.importorskip("IPython", reason='the notebook extra is missing: pip install -e ".[notebook]"')
    import IPython.display
    model = VAE(x_dim=784, hidden=(8,), z_dim=2, seed=0)
    shown_objects = []
    monkeypatch.setattr(live, "in_notebook", lambda: True)
    monkeypatch.setattr(live, "_widget_in_notebook", lambda: False)
    monkeypatch.setattr(IPython.display, "display", shown_objects.append)
    plt.imsave(tmp_path / "m.png", np.eye(4))
    assert explore(model, np.zeros((2, 784), np.float32), None, fallback=tmp_path / "m.png") is None
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 and out[0].endswith("or pip install ipympl for %matplotlib widget")
    (image,) = shown_objects
    assert isinstance(image, IPython.display.Image) and image.filename == str(tmp_path / "m.png")


def test_in_a_notebook_with_ipympl_the_explorer_is_a_widget(mnist_dir, tmp_path):
    """Lesson 07b's notebook, run in a real kernel: its explorer cell shows an ipympl widget."""
    import importlib.util
    import json
    import os
    import subprocess
    import sys
    missing = [m for m in ("ipympl", "nbclient", "jupytext", "ipykernel") if importlib.util.find_spec(m) is None]
    if missing:
        reason = f"the notebook extra is missing ({', '.join(missing)}): pip install -e \".[notebook]\""
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    env = {**os.environ, "MINIVAE_DATA": str(mnist_dir)}
    subprocess.run([sys.executable, "-m", "minivae", "notebooks", "07b", "--execute", "--quick",
                    "--out", str(tmp_path)], env=env, check=True, capture_output=True, timeout=600)
    nb = json.loads((tmp_path / "07b_latent_2d.ipynb").read_text())
    cell = next(c for c in nb["cells"] if "explore(model" in "".join(c["source"]))
    kinds = [k for o in cell["outputs"] for k in o.get("data", {})]
    assert "application/vnd.jupyter.widget-view+json" in kinds, cell["outputs"]
    assert not any("no interactive" in "".join(o.get("text", "")) for o in cell["outputs"])


def test_with_an_interactive_backend_the_explorer_is_shown(monkeypatch):
    model = VAE(x_dim=784, hidden=(8,), z_dim=2, seed=0)
    shows = []
    monkeypatch.setattr(live, "interactive_backend", lambda: True)
    monkeypatch.setattr(plt, "show", lambda *a, **k: shows.append(1))
    x = np.random.default_rng(0).random((6, 784), dtype=np.float32)
    ex = explore(model, x, None)
    try:
        assert isinstance(ex, LiveExplorer) and shows == [1]
        assert np.array_equal(ex.mu, model.encode(x)[0])
    finally:
        plt.close(ex.fig)
