"""`python -m minivae explore`: the latent explorer page of a checkpoint with a 2-D latent.

Beyond the paper (Kingma & Welling 2014, Fig. 4, made live): writes
DIR/NAME.html and DIR/NAME_weights.js (minivae/explorer/export.py), with the
encodings of MNIST's test digits as the plane's background.  Open the page in
a browser; it needs no network.  A checkpoint whose latent is not 2-D is
refused in one line saying what the explorer needs.
"""
from pathlib import Path


def add_arguments(p):
    p.add_argument("--checkpoint", required=True, metavar="CKPT",
                   help="a checkpoint of a VAE with a 2-D latent (train --z-dim 2)")
    p.add_argument("--out", default="explorer", metavar="DIR", help="folder for the page (default explorer/)")
    p.add_argument("--name", default="explorer", help="the page's name: NAME.html and NAME_weights.js")
    p.add_argument("--data", metavar="DIR", help="directory holding the MNIST files")
    p.add_argument("--subset", type=int, metavar="N", help="only the first N test digits (default all 10,000)")
    p.add_argument("--force", action="store_true",
                   help="replace files of the page's names that explore did not write (never a source file)")


def run(args):
    from ..data import load_mnist
    from ..explorer.export import load_explorable, write_explorer
    from ..files.overwrite import check_target
    from ..validate import integer
    integer("--subset", args.subset, least=1, allow_none=True)
    for kind, name in (("explorer page", f"{args.name}.html"),
                       ("explorer weights", f"{args.name}_weights.js")):
        check_target(Path(args.out) / name, kind, "--out/--name", inputs=(args.checkpoint,),
                     force=args.force)
    model, about = load_explorable(args.checkpoint)            # refused here unless its latent is 2-D
    x, labels = load_mnist("test", args.data, dtype=model.dtype)
    page, weights = write_explorer(model, x[:args.subset], labels[:args.subset], args.out, args.name, about)
    print(f"saved {page} and {weights.name} ({weights.stat().st_size / 1e6:.1f} MB): open the page in a browser")
    return 0
