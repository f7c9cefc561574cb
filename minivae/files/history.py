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

from .atomic import atomic_write_text

COLUMNS = ("epoch", "train_running_neg_elbo", "train_neg_elbo", "train_recon_nll", "train_kl",
           "test_neg_elbo", "test_recon_nll", "test_kl", "seconds", "eval_seconds")
TRAIN_EVAL = 10_000


def history_texts(history):
    """{file name: its text} of history.json and history.csv for this history."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in history:
        writer.writerow({k: ("" if row.get(k) is None else row[k]) for k in COLUMNS})
    return {"history.json": json.dumps(history, indent=1) + "\n", "history.csv": buf.getvalue()}


def write_history(run_dir, history):
    """Bring history.json and history.csv in run_dir up to `history`; return the paths rewritten.

    Each is written atomically, and only when it does not already say exactly
    that: the checkpoint holds the history too, and these files are its copies
    (train.py rewrites them from it whenever they are behind).
    """
    rewritten = []
    for name, text in history_texts(history).items():
        path = Path(run_dir) / name
        try:
            if path.read_text(encoding="utf-8") == text:
                continue
        except (OSError, UnicodeDecodeError):
            pass                    # missing or unreadable: write it
        atomic_write_text(path, text)
        rewritten.append(path)
    return rewritten


def summary_line(row, epochs):
    """One line per epoch: 'epoch  3/10  running 114.53  train 111.96 = 87.39 rec + 24.57 KL  test ...'."""
    width = len(str(epochs))
    line = f"epoch {row['epoch']:>{width}}/{epochs}  running {row['train_running_neg_elbo']:.2f}"
    for part in ("train", "test"):
        if row.get(f"{part}_neg_elbo") is not None:
            line += (f"  {part} {row[f'{part}_neg_elbo']:.2f} = {row[f'{part}_recon_nll']:.2f} rec"
                     f" + {row[f'{part}_kl']:.2f} KL")
    return line + f"  ({row['seconds']:.1f} s + {row['eval_seconds']:.1f} s eval)"
