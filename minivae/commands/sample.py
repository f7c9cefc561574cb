"""`python -m minivae sample`: decode z ~ N(0, I) with a trained model (Fig. 5, Fig. 7)."""
from pathlib import Path

import numpy as np

from ..errors import ArgumentError


def add_arguments(p):
    p.add_argument("--checkpoint", required=True, metavar="CKPT", help="a checkpoint (last.npz)")
    p.add_argument("--out", default="samples.png", help="PNG to write (default samples.png)")
    p.add_argument("--n", type=int, default=100, help="number of samples (default 100, a 10×10 grid)")
    p.add_argument("--seed", type=int, default=0, help="seed for z (default 0)")
    p.add_argument("--force", action="store_true",
                   help="replace --out even when it is not a PNG (never the checkpoint, "
                        "a history or a source file)")


def run(args):
    from ..files.checkpoint import load_checkpoint
    from ..files.overwrite import check_target
    from ..validate import integer, writable_dir
    from ..files.plots import save_grid
    integer("--n", args.n, least=1)
    integer("--seed", args.seed, least=0)
    out = Path(args.out)
    if not out.parent.is_dir():
        raise ArgumentError(f"--out: directory {out.parent} does not exist")
    check_target(out, "png", "--out", inputs=[args.checkpoint], force=args.force)
    writable_dir("--out: directory", out.parent)
    model, _, meta = load_checkpoint(args.checkpoint)
    if model.x_dim != 784:
        raise ArgumentError(f"the model's images have {model.x_dim} pixels, not 28×28")
    x_mean = model.sample(args.n, np.random.default_rng(args.seed))     # (n, 784)
    cols = min(10, args.n)
    save_grid(x_mean, out, rows=-(-args.n // cols), cols=cols,
              title=f"{args.n} samples, epoch {meta['epoch']}, seed {args.seed}")
    print(f"saved {out}")
    return 0
