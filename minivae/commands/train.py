"""`python -m minivae train`: train a VAE on MNIST (Doersch §4.1), or resume a run.

    python -m minivae train --preset pytorch-example --epochs 10
    python -m minivae train --preset doersch --epochs 7 --out runs/doersch
    python -m minivae train --resume runs/doersch/last.npz --epochs 20

Writes into the run directory (--out; default runs/<preset>-<timestamp>-<random>):
last.npz, history.csv/.json, recon_epochNNN.png, samples_epochNNN.png, loss_curve.png.
One train at a time per run directory: a second one is refused (files/run_lock.py).
"""
import dataclasses
import sys

from .. import kernels
from ..config import DEPARTURES, PRESETS, TrainConfig
from ..errors import ArgumentError
from ..files.checkpoint import read_meta

# flag -> TrainConfig field, for the flags that set one directly
_FIELDS = ("epochs", "batch_size", "lr", "z_dim", "likelihood", "sigma", "binarize", "seed",
           "subset", "test_subset", "dtype", "beta1", "beta2", "weight_decay", "momentum",
           "init", "optimizer", "eval_every")


def add_arguments(p):
    p.add_argument("--preset", choices=sorted(PRESETS),
                   help="start from a named setup (default: TrainConfig's defaults, the §4.1 net)")
    p.add_argument("--resume", metavar="CKPT", help="continue the run saved in this checkpoint")
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--lr", type=float, help="learning rate")
    p.add_argument("--z-dim", type=int, help="latent dimensions K")
    p.add_argument("--hidden",
                   help="hidden layer sizes, comma-separated, e.g. 1000,500,250 ('' for none)")
    p.add_argument("--likelihood", help="bernoulli | gaussian")
    p.add_argument("--sigma", type=float, help="σ of the Gaussian likelihood (§2.4.3)")
    p.add_argument("--binarize", help="none | dynamic | threshold")
    p.add_argument("--init", help="gaussian | sparse | he | glorot | pytorch")
    p.add_argument("--optimizer", help="adam | sgd")
    p.add_argument("--beta1", type=float)
    p.add_argument("--beta2", type=float)
    p.add_argument("--momentum", type=float, help="SGD momentum")
    p.add_argument("--weight-decay", type=float, help="L2 weight decay added to the gradient")
    p.add_argument("--seed", type=int)
    p.add_argument("--dtype", help="float32 | float64")
    p.add_argument("--subset", type=int, metavar="N", help="train on the first N training images")
    p.add_argument("--test-subset", type=int, metavar="N", help="evaluate on the first N test images")
    p.add_argument("--eval-every", type=int, metavar="E", help="evaluate every E epochs (and the last)")
    p.add_argument("--data", metavar="DIR", help="directory holding the MNIST files")
    p.add_argument("--out", metavar="DIR", help="run directory")
    p.add_argument("--no-images", action="store_true", help="skip the per-epoch figures")
    p.add_argument("--no-flush", action="store_true",
                   help="keep subnormal weights and moments (to see what they cost; see README, Speed)")
    p.add_argument("--quiet", action="store_true", help="no progress bar or per-epoch lines")
    p.add_argument("--backend", choices=kernels.BACKENDS, help=kernels.FLAG_HELP)


def _hidden(text):
    """'1000,500,250' -> (1000, 500, 250); '' -> () (no hidden layer: a linear encoder and
    decoder).  An empty entry ('400,,20') is a slip, not a layer to drop."""
    entries = text.replace(" ", "").split(",")
    if entries == [""]:
        return ()
    try:
        return tuple(int(s) for s in entries)
    except ValueError:
        raise ArgumentError(f"--hidden must be comma-separated layer sizes like 1000,500,250 "
                            f"(or '' for none), got {text!r}") from None


def config_from_args(args):
    """The TrainConfig the flags describe (on --resume: the checkpoint's, with the flags applied)."""
    overrides = {f: getattr(args, f) for f in _FIELDS if getattr(args, f) is not None}
    if args.hidden is not None:
        overrides["hidden"] = _hidden(args.hidden)
    if args.data is not None:
        overrides["data_dir"] = args.data
    if args.out is not None:
        overrides["out_dir"] = args.out
    if args.no_images:
        overrides["images"] = False
    if args.no_flush:
        overrides["flush_subnormal"] = False
    if args.resume:
        if args.preset:
            raise ArgumentError("--preset and --resume do not go together: a resumed run keeps "
                                "its checkpoint's settings")
        saved = TrainConfig.from_dict(read_meta(args.resume)["config"])
        return dataclasses.replace(saved, **{"out_dir": None, **overrides})
    if args.preset:
        return TrainConfig.from_preset(args.preset, **overrides)
    return TrainConfig(**overrides)


def run(args):
    from ..train import train
    if args.backend:
        kernels.set_backend(args.backend)
    config = config_from_args(args)
    if args.preset and not args.quiet:
        notes = DEPARTURES.get(args.preset) or ["none"]
        print(f"preset {args.preset}: departures from its reference setup:")
        for note in notes:
            print(f"  - {note}")
    try:
        result = train(config, resume=args.resume, progress=not args.quiet)
    except FloatingPointError as e:        # a diverged run: its last checkpoint is kept
        print(f"minivae train: error: {e}", file=sys.stderr)
        return 2
    if not args.quiet:
        print(f"done: {result.run_dir / 'last.npz'}, {result.run_dir / 'history.csv'}")
    return 0
