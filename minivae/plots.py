"""Figures shared by the command line and the lessons (Figs. 7, 8 and friends).

matplotlib is imported inside the functions, so `import minivae` stays fast
and works without a display.
"""
import numpy as np


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
    import matplotlib
    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(cols * 0.6, rows * 0.6 + (0.4 if title else 0)))
    ax.imshow(tile(images, rows, cols, shape), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
