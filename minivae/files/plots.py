"""Figures shared by the command line and the lessons (Figs. 7, 8 and friends).

matplotlib is imported inside the functions, so `import minivae` stays fast
and works without a display.  Every PNG is written atomically (`save_png`):
a full disk leaves the previous figure whole, never a truncated one.
"""
import numpy as np

from ..environment import import_matplotlib
from .atomic import atomic_write


def save_png(fig, path, **savefig_kw):
    """fig.savefig as a PNG at path, atomically (atomic.py); return path."""
    atomic_write(path, lambda f: fig.savefig(f, format="png", **savefig_kw))
    return path


def tile(images, rows, cols, shape=(28, 28), pad=1):
    """Tile up to rows·cols flat images (n, H·W) into one 2-D array, pad px apart."""
    images = np.asarray(images)
    h, w = shape
    grid = np.ones((rows * (h + pad) - pad, cols * (w + pad) - pad), dtype=np.float64)
    for i, img in enumerate(images[: rows * cols]):
        r, c = divmod(i, cols)
        grid[r * (h + pad): r * (h + pad) + h, c * (w + pad): c * (w + pad) + w] = img.reshape(h, w)
    return grid


def save_grid(images, path, rows=10, cols=10, shape=(28, 28), title=None):
    """Save a rows × cols grid of images (values in [0, 1]) as a PNG; return path."""
    import_matplotlib().use("Agg", force=False)
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(cols * 0.6, rows * 0.6 + (0.4 if title else 0)))
    ax.imshow(tile(images, rows, cols, shape), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    try:
        return save_png(fig, path, dpi=100)
    finally:
        plt.close(fig)


def plot_history(history, path):
    """Loss curves of a training history (history.py's keys): −ELBO, recon and KL per epoch.

    Left: −ELBO on the training and test sets (and the running minibatch mean);
    right: its two parts, −log P(X|z) and D[Q(z|X) ‖ P(z)] (Eq. 5).  Epochs not
    evaluated are skipped.  Saves a PNG; returns path.
    """
    import_matplotlib().use("Agg", force=False)
    import matplotlib.pyplot as plt

    def series(key):
        pts = [(r["epoch"], r[key]) for r in history if r.get(key) is not None]
        return ([e for e, _ in pts], [v for _, v in pts]) if pts else ([], [])

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.4))
    ax1.plot(*series("train_running_neg_elbo"), ":", color="gray", label="train (running mean)")
    for part, style in (("train", "o--"), ("test", "s-")):      # colour = quantity, style = set
        ax1.plot(*series(f"{part}_neg_elbo"), style, color="C0", ms=3, label=part)
        ax2.plot(*series(f"{part}_recon_nll"), style, color="C1", ms=3, label=f"{part} −log P(X|z)")
        ax2.plot(*series(f"{part}_kl"), style, color="C2", ms=3, label=f"{part} KL")
    ax1.set(xlabel="epoch", ylabel="−ELBO (nats per image)", title="−ELBO")
    ax2.set(xlabel="epoch", ylabel="nats per image", title="reconstruction and KL")
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    try:
        return save_png(fig, path, dpi=100)
    finally:
        plt.close(fig)
