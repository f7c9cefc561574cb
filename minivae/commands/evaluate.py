"""`python -m minivae evaluate`: test-set −ELBO (§2.3) and importance-sampled log P(X).

The importance-sampled log P(X) goes beyond the paper (Rezende et al. 2014;
Burda et al. 2016): see minivae.evaluate.
"""
import time

import numpy as np

from ..errors import ArgumentError


def add_arguments(p):
    p.add_argument("--checkpoint", required=True, metavar="CKPT", help="a checkpoint (last.npz)")
    p.add_argument("--k", type=int, default=100,
                   help="importance samples per image for log P(X) (default 100; 0 skips it)")
    p.add_argument("--data", metavar="DIR", help="directory holding the MNIST files")
    p.add_argument("--binarize", metavar="{none,dynamic,threshold}",
                   help="how to binarize the test digits (default: as in training; "
                        "dynamic = one fixed Bernoulli draw from --seed)")
    p.add_argument("--subset", type=int, metavar="N", help="only the first N test images")
    p.add_argument("--seed", type=int, default=0, help="seed for ε, z and binarization (default 0)")
    p.add_argument("--batch-size", type=int, default=1000, help="images per ELBO batch")


def run(args):
    from ..files.checkpoint import load_checkpoint
    from ..data import load_mnist
    from ..validate import choice, integer
    from ..evaluate import BINARIZE, evaluate_elbo, log_px_importance, prepare
    if args.binarize is not None:
        choice("--binarize", args.binarize, BINARIZE)
    for flag, v, low in (("--k", args.k, 0), ("--subset", args.subset, 1), ("--seed", args.seed, 0),
                         ("--batch-size", args.batch_size, 1)):
        integer(flag, v, least=low, allow_none=True)
    model, _, meta = load_checkpoint(args.checkpoint)
    config = meta["config"]
    binarize = args.binarize or config.get("binarize", "none")
    x, _ = load_mnist("test", args.data or config.get("data_dir"), dtype=model.dtype)
    x = x[:args.subset]
    if x.shape[1] != model.x_dim:
        raise ArgumentError(f"the model takes {model.x_dim} inputs, the test images have {x.shape[1]}")
    bin_rng, eps_rng, is_rng = (np.random.default_rng(s)
                                for s in np.random.SeedSequence(args.seed).spawn(3))
    x = prepare(x, binarize, bin_rng)
    sizes = "-".join(map(str, (model.x_dim, *model.hidden, model.z_dim)))
    print(f"{args.checkpoint}: VAE {sizes} ({model.likelihood}, {model.dtype.name}) after "
          f"epoch {meta['epoch']}; {len(x)} test images, binarize={binarize}, seed {args.seed}")
    t0 = time.perf_counter()
    r = evaluate_elbo(model, x, eps_rng, batch_size=args.batch_size)
    print(f"test -ELBO          {r['neg_elbo']:8.2f} nats = {r['recon_nll']:.2f} reconstruction "
          f"+ {r['kl']:.2f} KL   ({time.perf_counter() - t0:.1f} s)", flush=True)
    if args.k:
        print(f"log P(X) by importance sampling: {len(x):,} images × k={args.k:,} = "
              f"{len(x) * args.k:,} decoder passes (progress on stderr; Ctrl-C stops)", flush=True)
        t0 = time.perf_counter()
        log_px = log_px_importance(model, x, args.k, is_rng, progress=True)
        print(f"IS log P(X), k={args.k:<5} {log_px.mean():8.2f} nats   (-log P(X) "
              f"{-log_px.mean():.2f}; bound gap {r['neg_elbo'] + log_px.mean():.2f}; "
              f"{time.perf_counter() - t0:.1f} s)")
    return 0
