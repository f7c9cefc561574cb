"""Per-epoch training history: its columns, its files, its one-line summary.

One dict per epoch, all losses in nats per image (−ELBO = recon_nll + kl,
recon_nll = −log P(X|z), Eqs. 5 and 7):

    epoch                    1, 2, ...
    train_running_neg_elbo   mean of the minibatch losses during the epoch
                             (what the progress bar shows; the weights move meanwhile)
    train_neg_elbo, train_recon_nll, train_kl
                             at the end of the epoch, on a fixed set of up to
                             TRAIN_EVAL training images, one ε per image
    test_neg_elbo, test_recon_nll, test_kl
                             the same on the test set
    seconds, eval_seconds    wall-clock time of the epoch's training / evaluation

Columns of epochs that were not evaluated (eval_every > 1) are None in JSON
and empty in CSV.
"""
import csv
import io
import json
from pathlib import Path

from .atomic import atomic_write

COLUMNS = ("epoch", "train_running_neg_elbo", "train_neg_elbo", "train_recon_nll", "train_kl",
           "test_neg_elbo", "test_recon_nll", "test_kl", "seconds", "eval_seconds")
TRAIN_EVAL = 10_000


def write_history(run_dir, history):
    """Write history.json and history.csv into run_dir (each atomically); return both paths."""
    run_dir = Path(run_dir)
    text = json.dumps(history, indent=1) + "\n"
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in history:
        writer.writerow({k: ("" if row.get(k) is None else row[k]) for k in COLUMNS})
    paths = run_dir / "history.json", run_dir / "history.csv"
    for path, content in zip(paths, (text, buf.getvalue())):
        atomic_write(path, lambda f, c=content: f.write(c.encode()))
    return paths


def summary_line(row, epochs):
    """One line per epoch: 'epoch  3/10  running 114.53  train 111.96 = 87.39 rec + 24.57 KL  test ...'."""
    width = len(str(epochs))
    line = f"epoch {row['epoch']:>{width}}/{epochs}  running {row['train_running_neg_elbo']:.2f}"
    for part in ("train", "test"):
        if row.get(f"{part}_neg_elbo") is not None:
            line += (f"  {part} {row[f'{part}_neg_elbo']:.2f} = {row[f'{part}_recon_nll']:.2f} rec"
                     f" + {row[f'{part}_kl']:.2f} KL")
    return line + f"  ({row['seconds']:.1f} s + {row['eval_seconds']:.1f} s eval)"
