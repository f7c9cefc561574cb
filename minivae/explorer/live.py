"""The explorer in a matplotlib figure: in a notebook cell (ipympl) or in a window.

    explore(model, x_test, y_test, fallback="out/07b_manifold.png", page="out/07b_explorer.html")

The same explorer as the page (export.py): on the left the latent plane,
the encodings μ(X) of the digits x coloured by label, with the prior's 1, 2
and 3 σ circles; on the right the digit decoded from the z under the
pointer, sig(f(z)) = E[X|z] (`VAE.decode`, Fig. 5).  Two clicks walk the
straight line between the encodings nearest them.  matplotlib delivers the
pointer's events (`motion_notify_event`, `button_press_event`) only to an
interactive backend: a window (TkAgg, QtAgg, ...) or, in Jupyter, ipympl's
`%matplotlib widget` (the notebook extra installs ipympl).  Elsewhere
(inline figures, Agg) `explore` says so in one line and shows the fallback
figure instead.  Beyond the paper: Kingma & Welling 2014, Fig. 4.
"""
import numpy as np

from ..classroom.lesson import in_notebook
from .export import plane_extent

NON_INTERACTIVE = {"agg", "cairo", "pdf", "pgf", "ps", "svg", "template"}
WALK_FRAMES, FRAME_MS, SNAP_PX = 38, 40, 10          # a walk: 38 frames, 40 ms apart (1.5 s)


def interactive_backend():
    """True when matplotlib's backend delivers pointer events (a window or ipympl)."""
    import matplotlib
    name = matplotlib.get_backend().lower()
    return name not in NON_INTERACTIVE and "inline" not in name


def _widget_in_notebook():
    """In a notebook with ipympl installed, switch to `%matplotlib widget`; True if it is on."""
    import importlib.util
    if not in_notebook() or importlib.util.find_spec("ipympl") is None:
        return False
    import IPython
    IPython.get_ipython().run_line_magic("matplotlib", "widget")
    return True


class LiveExplorer:
    """The explorer's figure and its event handlers (a model with z_dim = 2; mu (N, 2), labels (N,))."""

    def __init__(self, model, mu, labels=None):
        import matplotlib.pyplot as plt
        from matplotlib.patches import Circle
        self.model, self.mu = model, np.asarray(mu)
        extent = plane_extent(self.mu)
        self.fig, (self.ax, ax_digit) = plt.subplots(1, 2, figsize=(10, 4.9),
                                                     gridspec_kw=dict(width_ratios=(1.15, 1)))
        colours = dict(color="0.3") if labels is None else dict(c=labels, cmap="tab10", vmin=-0.5, vmax=9.5)
        self.ax.scatter(self.mu[:, 0], self.mu[:, 1], s=3, alpha=0.5, **colours)
        for r in (1, 2, 3):                                         # the prior N(0, I)'s 1, 2, 3 σ
            self.ax.add_patch(Circle((0, 0), r, fill=False, ls="--", lw=0.8, color="0.55"))
        self.ax.set(xlim=(-extent, extent), ylim=(-extent, extent), aspect="equal", xlabel="z₁",
                    ylabel="z₂", title="move the pointer; click two dots to walk between them")
        self.path, = self.ax.plot([], [], "-", color="0.1", lw=1.2)
        self.marker, = self.ax.plot([0], [0], "o", mfc="none", mec="red", ms=9, mew=2)
        self.image = ax_digit.imshow(np.zeros((28, 28)), cmap="gray", vmin=0, vmax=1)
        ax_digit.axis("off")
        self.picks, self.walk = [], []                   # clicked z's; the walk's t values to come
        self.timer = self.fig.canvas.new_timer(interval=FRAME_MS)
        self.timer.add_callback(self.tick)
        self.fig.canvas.mpl_connect("motion_notify_event", self.on_move)
        self.fig.canvas.mpl_connect("button_press_event", self.on_click)
        self.show_z((0.0, 0.0))

    def show_z(self, z):
        """Decode z (2,) and draw it: the digit, the marker, the title."""
        x_mean = self.model.decode(np.array([z], dtype=self.model.dtype))       # (1, 784)
        self.image.set_data(x_mean.reshape(28, 28))
        self.marker.set_data([z[0]], [z[1]])
        self.image.axes.set_title(f"decoded from z = ({z[0]:.2f}, {z[1]:.2f})")
        self.fig.canvas.draw_idle()

    def on_move(self, event):
        if event.inaxes is self.ax and not self.walk:
            self.show_z((event.xdata, event.ydata))

    def on_click(self, event):
        if event.inaxes is not self.ax:
            return
        if len(self.picks) == 2:                          # a third click starts a new pair
            self.picks, self.walk = [], []
        self.picks.append(self.nearest(event))
        a, b = self.picks[0], self.picks[-1]
        self.path.set_data([a[0], b[0]], [a[1], b[1]])
        if len(self.picks) == 2:                          # z = (1 − t) a + t b, t from 0 to 1
            self.walk = list(np.linspace(0.0, 1.0, WALK_FRAMES))
            self.timer.start()
        self.show_z(a if len(self.picks) == 1 else b)

    def nearest(self, event):
        """The encoding within SNAP_PX screen pixels of the click, else the clicked z."""
        px = self.ax.transData.transform(self.mu)                           # (N, 2) pixels
        d2 = ((px - (event.x, event.y)) ** 2).sum(1)
        i = int(np.argmin(d2)) if len(d2) else -1
        if i >= 0 and d2[i] <= SNAP_PX ** 2:
            return tuple(float(v) for v in self.mu[i])
        return (float(event.xdata), float(event.ydata))

    def tick(self):
        """One frame of the walk (the timer calls it every FRAME_MS)."""
        if not self.walk:
            self.timer.stop()
            return
        t = self.walk.pop(0)
        (a1, a2), (b1, b2) = self.picks
        self.show_z((a1 + t * (b1 - a1), a2 + t * (b2 - a2)))


def explore(model, x, labels=None, fallback=None, page=None):
    """The live explorer of `model` over the encodings of x, or, where no backend can deliver
    pointer events, one line saying so and the fallback figure (a PNG's path) shown instead.

    Returns the LiveExplorer, or None.  In a script with a window it blocks until the
    window is closed.
    """
    import matplotlib.pyplot as plt
    notebook = in_notebook()
    if notebook:
        _widget_in_notebook()
    if not interactive_backend():
        import matplotlib
        where = f"open {page} in a browser" if page else "use a browser page (export.py)"
        hint = ", or pip install ipympl for %matplotlib widget" if notebook else ""
        print(f"no interactive matplotlib backend here ({matplotlib.get_backend()}), so no live "
              f"explorer: the manifold figure instead; for the explorer {where}{hint}")
        if notebook and fallback is not None:
            from IPython.display import Image, display
            display(Image(filename=str(fallback)))
        return None
    explorer = LiveExplorer(model, model.encode(x)[0], labels)
    plt.show()
    return explorer
