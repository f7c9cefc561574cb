"""The minivae VAE written in PyTorch: the reference for bench and for training.

Not part of the package and never a dependency.  Three uses:

    python tools/torch_reference.py --serve      # driven by `python -m minivae bench`
    python tools/torch_reference.py --train doersch --seed 0 --epochs 7
                                                 # test −ELBO and seconds per epoch, to
                                                 # compare with `python -m minivae train`
                                                 # (--flush-denormal: subnormals flushed)
    python tools/torch_reference.py --compare doersch --steps 100
                                                 # same start and batches: step by step

It builds the same network as minivae.VAE (MLP encoder with ReLUs, mu and
log_var heads reading the last hidden layer, MLP decoder to Bernoulli
logits), the same loss (mean over the batch of −ELBO in nats, Eq. 7 for the
KL) and Adam with L2 decay added to the gradient of the weights (not the
biases), so that a training step does the same arithmetic in both libraries
(`--compare` checks it).

The bench runs it in a process of its own: in one process, PyTorch's OpenMP
threads and NumPy's OpenBLAS threads slowed each other (PyTorch by 15–25% here).

PyTorch computes with subnormal floats unless told otherwise;
`torch.set_flush_denormal(True)` (--flush-denormal, or "flush_denormal" in the
bench's config) sets the CPU to flush them to zero.  minivae instead flushes
tiny weights and moments in its optimizer (minivae/kernels/flush.py explains why).
"""
import json
import sys
import time

import numpy as np

try:
    import torch
    from torch import nn
    from torch.nn import functional as F
except ImportError:
    sys.exit("tools/torch_reference.py needs PyTorch, which minivae does not depend on; "
             "install it, e.g. the CPU build: `python -m pip install torch "
             "--index-url https://download.pytorch.org/whl/cpu`")


PRESET_NAMES = ("doersch", "pytorch-example")      # minivae.config.PRESETS


def _mlp(sizes, relu_last):
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2 or relu_last:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class TorchVAE(nn.Module):
    def __init__(self, x_dim, hidden, z_dim):
        super().__init__()
        hidden = tuple(hidden)
        self.encoder = _mlp((x_dim, *hidden), relu_last=True)
        self.mu = nn.Linear(hidden[-1], z_dim)
        self.log_var = nn.Linear(hidden[-1], z_dim)
        self.decoder = _mlp((z_dim, *hidden[::-1], x_dim), relu_last=False)

    def loss(self, x, eps):
        """Mean over the batch of −log P(X|z) + KL(Q(z|X) ‖ N(0, I)), in nats."""
        h = self.encoder(x)
        mu, log_var = self.mu(h), self.log_var(h)
        z = mu + torch.exp(0.5 * log_var) * eps                       # Eq. 10
        rec = F.binary_cross_entropy_with_logits(self.decoder(z), x, reduction="sum")
        kl = 0.5 * torch.sum(torch.exp(log_var) + mu * mu - 1 - log_var)   # Eq. 7
        return (rec + kl) / x.shape[0]


class Trainer:
    """One model + Adam; `step(x, eps)` runs forward, backward and the update.

    x, eps: NumPy float32 arrays (shared memory with torch, no copy).
    """

    def __init__(self, x_dim, hidden, z_dim, lr, beta1, beta2, weight_decay, threads,
                 seed=0, fused=True):
        torch.set_num_threads(threads)
        torch.manual_seed(seed)
        self.model = TorchVAE(x_dim, hidden, z_dim)
        named = list(self.model.named_parameters())
        weights = [p for n, p in named if n.endswith("weight")]
        biases = [p for n, p in named if not n.endswith("weight")]
        # L2 decay on the weights only, as minivae's optimizers and the reference's solver
        self.opt = torch.optim.Adam([{"params": weights, "weight_decay": weight_decay},
                                     {"params": biases, "weight_decay": 0.0}],
                                    lr=lr, betas=(beta1, beta2), fused=fused)

    @classmethod
    def from_preset(cls, p, threads, x_dim=784, **kw):
        """A Trainer for a minivae preset dict (minivae.config.PRESETS[name])."""
        return cls(x_dim, p["hidden"], p["z_dim"], p["lr"], p["beta1"], p["beta2"],
                   p["weight_decay"], threads, **kw)

    def step(self, x, eps):
        self.opt.zero_grad(set_to_none=True)
        loss = self.model.loss(torch.from_numpy(x), torch.from_numpy(eps))
        loss.backward()
        self.opt.step()
        return loss.item()


def versions():
    return {"torch": torch.__version__, "threads": torch.get_num_threads(),
            "parallel": torch.__config__.parallel_info().splitlines()[-1].strip()}


def tiny_counts(trainer):
    """{params, m, v: {subnormal, below_threshold}}: nonzero entries of the weights and
    of Adam's two moments below float32's smallest normal and below 2^-63, minivae's
    flush threshold.  After set_flush_denormal(True) the CPU reads a stored subnormal
    as 0, so these counts then see none."""
    tiny = torch.finfo(torch.float32).tiny
    params = list(trainer.model.parameters())
    state = [trainer.opt.state[p] for p in params if p in trainer.opt.state]
    out = {}
    for name, ts in (("params", params), ("m", [s["exp_avg"] for s in state]),
                     ("v", [s["exp_avg_sq"] for s in state])):
        a = torch.cat([t.detach().reshape(-1) for t in ts]).abs() if ts else torch.zeros(0)
        a = a[a != 0]
        out[name] = {"subnormal": int((a < tiny).sum()),
                     "below_threshold": int((a < 2.0 ** -63).sum())}
    return out


def serve(lines=sys.stdin, out=sys.stdout):
    """Line protocol: a JSON config first (x_path: an .npy of images, the preset's
    hidden, z_dim, batch_size, lr, beta1, beta2, weight_decay, init, threads, and
    flush_denormal); answer "ready" + versions.  Then each line "N" runs N training
    steps and answers "done"; the line "count" answers tiny_counts as JSON."""
    cfg = json.loads(next(lines))
    torch.set_flush_denormal(bool(cfg.get("flush_denormal")))   # before any thread starts
    X = np.load(cfg["x_path"])
    trainer = Trainer.from_preset(cfg, cfg["threads"], x_dim=X.shape[1])
    if cfg.get("init") == "sparse":
        sparse_init_(trainer.model)
    rng, N, K = np.random.default_rng(0), cfg["batch_size"], cfg["z_dim"]
    perm, i = rng.permutation(len(X)), 0
    print("ready", json.dumps(versions()), file=out, flush=True)
    for line in lines:
        if line.strip() == "count":
            print(json.dumps(tiny_counts(trainer)), file=out, flush=True)
            continue
        for _ in range(int(line)):
            if i + N > len(X):                      # reshuffle each pass, as training does
                perm, i = rng.permutation(len(X)), 0
            trainer.step(X[perm[i:i + N]], rng.standard_normal((N, K), dtype=np.float32))
            i += N
        print("done", file=out, flush=True)


def sparse_init_(model, std=0.1, sparse=15):
    """Caffe's sparse Gaussian filler (the reference code's init; minivae.config), drawn
    by torch's own generator: every Linear but the heads gets N(0, std²) weights kept with
    probability sparse / out_features; heads dense N(0, std²); biases 0."""
    heads = {model.mu, model.log_var}
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Linear):
                m.weight.normal_(0.0, std)
                if m not in heads:
                    m.weight.mul_((torch.rand_like(m.weight) < sparse / m.out_features).float())
                m.bias.zero_()


def mean_neg_elbo(model, x, gen, batch=1000):
    """Mean test −ELBO in nats, one ε per test image (as minivae's evaluate_elbo)."""
    total = 0.0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            xb = torch.tensor(x[i:i + batch])
            eps = torch.randn(len(xb), model.mu.out_features, generator=gen)
            total += model.loss(xb, eps).item() * len(xb)
    return total / len(x)


def train(preset, seed, epochs, threads=2, flush_denormal=False):
    """Train a minivae preset in PyTorch; print and return test −ELBO per epoch.

    Each line also gives the epoch's seconds: `seconds` for the training steps,
    `eval_seconds` for the test-set evaluation after them."""
    torch.set_flush_denormal(flush_denormal)
    from minivae.data import load_mnist
    from minivae.config import PRESETS
    p = PRESETS[preset]
    x_train, _ = load_mnist("train")
    x_test, _ = load_mnist("test")
    trainer = Trainer.from_preset(p, threads, seed=seed)
    if p["init"] == "sparse":
        sparse_init_(trainer.model)
    gen = torch.Generator().manual_seed(seed + 1)
    rng, N, curve = np.random.default_rng(seed), p["batch_size"], []
    for epoch in range(1, epochs + 1):
        t0 = time.perf_counter()
        perm = rng.permutation(len(x_train))
        for i in range(0, len(perm) - N + 1, N):
            trainer.step(x_train[perm[i:i + N]],
                         rng.standard_normal((N, p["z_dim"]), dtype=np.float32))
        t1 = time.perf_counter()
        curve.append(mean_neg_elbo(trainer.model, x_test, gen))
        print(json.dumps({"preset": preset, "seed": seed, "epoch": epoch,
                          "test_neg_elbo": round(curve[-1], 2), "seconds": round(t1 - t0, 2),
                          "eval_seconds": round(time.perf_counter() - t1, 2),
                          "flush_denormal": flush_denormal}), flush=True)
    return curve


def _linears(model):
    """The torch model's Linear layers under minivae's parameter names."""
    enc = [m for m in model.encoder if isinstance(m, nn.Linear)]
    dec = [m for m in model.decoder if isinstance(m, nn.Linear)]
    named = {f"encoder.{i}": m for i, m in enumerate(enc)}
    named.update({"mu": model.mu, "log_var": model.log_var})
    named.update({f"decoder.{j}": m for j, m in enumerate(dec)})
    return named


def compare(preset, steps, seed=0):
    """Same start, same batches, same reparameterization noise ε, float64: minivae's
    hand-written backward and Adam against PyTorch's autograd and Adam, step by step.

    The two Adams place Adam's own constant, adam_eps, differently
    (minivae.optim.Adam: Caffe's √v + adam_eps after folding the bias correction
    into the step; PyTorch: √v̂ + adam_eps), which is the same as minivae with
    adam_eps·√(1 − β2ᵗ) at step t.  Runs both ways; prints and
    returns, for each, the largest relative difference of the loss over the
    steps and of the weights at the end."""
    from minivae.data import load_mnist
    from minivae.config import PRESETS
    p = PRESETS[preset]
    x_train = load_mnist("train", dtype=np.float64)[0]
    results, dtype_before = [], torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        for eps_as in ("caffe", "pytorch"):
            results.append(_compare_run(p, x_train, steps, seed, eps_as))
            print(json.dumps({"preset": preset, **results[-1]}), flush=True)
    finally:
        torch.set_default_dtype(dtype_before)
    return results


def _compare_run(p, x_train, steps, seed, eps_as):
    from minivae.mlp import weight_mask
    from minivae.model import VAE
    from minivae.optim import Adam
    ours = VAE(784, p["hidden"], p["z_dim"], init=p["init"], dtype=np.float64, seed=seed)
    opt = Adam(ours.flat_params, ours.flat_grads, lr=p["lr"], beta1=p["beta1"],
               beta2=p["beta2"], weight_decay=p["weight_decay"], decayed=weight_mask(ours.params))
    trainer = Trainer.from_preset(p, threads=2, fused=False)
    named = _linears(trainer.model)
    with torch.no_grad():
        for name, m in named.items():
            m.weight.copy_(torch.from_numpy(ours.params[f"{name}.W"].T))
            m.bias.copy_(torch.from_numpy(ours.params[f"{name}.b"]))
    rng, N, worst, eps0 = np.random.default_rng(seed), p["batch_size"], 0.0, opt.adam_eps
    for t in range(1, steps + 1):
        x = x_train[rng.integers(0, len(x_train), N)]
        eps = rng.standard_normal((N, p["z_dim"]))
        ours_loss, _ = ours.loss_and_grads(x, eps)
        if eps_as == "pytorch":
            opt.adam_eps = eps0 * np.sqrt(1 - p["beta2"] ** t)
        opt.step()
        torch_loss = trainer.step(x, eps)
        worst = max(worst, abs(ours_loss - torch_loss) / abs(torch_loss))
    diff = max(np.abs(ours.params[f"{n}.W"].T - m.weight.detach().numpy()).max()
               / np.abs(m.weight.detach().numpy()).max() for n, m in named.items())
    return {"steps": steps, "adam_eps_placed_as": eps_as, "max_rel_loss_diff": worst,
            "max_rel_weight_diff": float(diff)}


def main(argv=None):
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--serve", action="store_true", help="the bench's worker process")
    mode.add_argument("--train", metavar="PRESET", choices=PRESET_NAMES)
    mode.add_argument("--compare", metavar="PRESET", choices=PRESET_NAMES)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--epochs", type=int, default=7, help="--train: epochs")
    ap.add_argument("--steps", type=int, default=100, help="--compare: steps")
    ap.add_argument("--flush-denormal", action="store_true",
                    help="--train: torch.set_flush_denormal(True) first (subnormals become 0)")
    a = ap.parse_args(argv)
    if a.serve:
        serve()
    elif a.train:
        train(a.train, a.seed, a.epochs, flush_denormal=a.flush_denormal)
    else:
        compare(a.compare, a.steps, a.seed)


if __name__ == "__main__":
    main()
