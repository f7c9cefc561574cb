"""The minivae VAE written in PyTorch: the reference for bench and for training.

Not part of the package and never a dependency.  Two uses:

    python tools/torch_reference.py --serve      # driven by `python -m minivae bench`
    python tools/torch_reference.py --train doersch --seed 0 --epochs 7
                                                 # test -ELBO per epoch, for issue 3's
                                                 # "within 2 nats of a reference"

  It builds the same network as
minivae.VAE (MLP encoder with ReLUs, mu and log_var heads reading the last
hidden layer, MLP decoder to Bernoulli logits), the same loss (mean over the
batch of −ELBO in nats, Eq. 7 for the KL) and Adam with L2 decay added to the
gradient, so that a training step does the same arithmetic in both libraries.

It runs in a process of its own: in one process, PyTorch's OpenMP threads and
NumPy's OpenBLAS threads slowed each other (PyTorch by 15–25% here).
"""
import json
import sys

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F


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
        self.opt = torch.optim.Adam(self.model.parameters(), lr=lr, betas=(beta1, beta2),
                                    weight_decay=weight_decay, fused=fused)

    def step(self, x, eps):
        self.opt.zero_grad(set_to_none=True)
        loss = self.model.loss(torch.from_numpy(x), torch.from_numpy(eps))
        loss.backward()
        self.opt.step()
        return loss.item()


def versions():
    return {"torch": torch.__version__, "threads": torch.get_num_threads(),
            "parallel": torch.__config__.parallel_info().splitlines()[-1].strip()}


def serve(lines=sys.stdin, out=sys.stdout):
    """Line protocol: a JSON config first (x_path: an .npy of images, the preset's
    hidden, z_dim, batch_size, lr, beta1, beta2, weight_decay, threads); answer
    "ready" + versions.  Then each line "N" runs N training steps and answers "done"."""
    cfg = json.loads(next(lines))
    X = np.load(cfg["x_path"])
    trainer = Trainer(X.shape[1], cfg["hidden"], cfg["z_dim"], cfg["lr"], cfg["beta1"],
                      cfg["beta2"], cfg["weight_decay"], cfg["threads"])
    rng, N, K = np.random.default_rng(0), cfg["batch_size"], cfg["z_dim"]
    perm, i = rng.permutation(len(X)), 0
    print("ready", json.dumps(versions()), file=out, flush=True)
    for line in lines:
        for _ in range(int(line)):
            if i + N > len(X):                      # reshuffle each pass, as training does
                perm, i = rng.permutation(len(X)), 0
            trainer.step(X[perm[i:i + N]], rng.standard_normal((N, K), dtype=np.float32))
            i += N
        print("done", file=out, flush=True)


def sparse_init_(model, std=0.1, sparse=15):
    """Caffe's sparse Gaussian filler (SEED_EXPERIMENTS.md), drawn by torch's own
    generator: every Linear but the heads gets N(0, std²) weights kept with
    probability sparse / out_features; heads dense N(0, std²); biases 0."""
    heads = {model.mu, model.log_var}
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Linear):
                m.weight.normal_(0.0, std)
                if m not in heads:
                    m.weight.mul_((torch.rand_like(m.weight) < sparse / m.out_features).float())
                m.bias.zero_()


def test_neg_elbo(model, x, gen, batch=1000):
    """Mean test −ELBO in nats, one ε per test image (as minivae's evaluate_elbo)."""
    total = 0.0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            xb = torch.tensor(x[i:i + batch])
            eps = torch.randn(len(xb), model.mu.out_features, generator=gen)
            total += model.loss(xb, eps).item() * len(xb)
    return total / len(x)


def train(preset, seed, epochs, threads=2):
    """Train a minivae preset in PyTorch; print and return test −ELBO per epoch."""
    from minivae.data import load_mnist
    from minivae.presets import PRESETS
    p = PRESETS[preset]
    x_train, _ = load_mnist("train")
    x_test, _ = load_mnist("test")
    trainer = Trainer(784, p["hidden"], p["z_dim"], p["lr"], p["beta1"], p["beta2"],
                      p["weight_decay"], threads, seed=seed)
    if p["init"] == "sparse":
        sparse_init_(trainer.model)
    gen = torch.Generator().manual_seed(seed + 1)
    rng, N, curve = np.random.default_rng(seed), p["batch_size"], []
    for epoch in range(1, epochs + 1):
        perm = rng.permutation(len(x_train))
        for i in range(0, len(perm) - N + 1, N):
            trainer.step(x_train[perm[i:i + N]],
                         rng.standard_normal((N, p["z_dim"]), dtype=np.float32))
        curve.append(test_neg_elbo(trainer.model, x_test, gen))
        print(json.dumps({"preset": preset, "seed": seed, "epoch": epoch,
                          "test_neg_elbo": round(curve[-1], 2)}), flush=True)
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
    """Same start, same batches, same ε, float64: minivae's hand-written backward and
    Adam against PyTorch's autograd and Adam, step by step.

    The two Adams place ε differently (minivae.optim.Adam: Caffe's √v + ε after
    folding the bias correction into the step; PyTorch: √v̂ + ε), which is the
    same as minivae with ε·√(1 − β2ᵗ) at step t.  Run both ways; prints the
    largest relative difference of the loss over the steps and of the weights
    at the end."""
    from minivae.data import load_mnist
    from minivae.model import VAE
    from minivae.optim import Adam
    from minivae.presets import PRESETS
    torch.set_default_dtype(torch.float64)
    p = PRESETS[preset]
    x_train = load_mnist("train", dtype=np.float64)[0]
    for eps_as in ("caffe", "pytorch"):
        ours = VAE(784, p["hidden"], p["z_dim"], init=p["init"], dtype=np.float64, seed=seed)
        opt = Adam(ours.flat_params, ours.flat_grads, lr=p["lr"], beta1=p["beta1"],
                   beta2=p["beta2"], weight_decay=p["weight_decay"])
        trainer = Trainer(784, p["hidden"], p["z_dim"], p["lr"], p["beta1"], p["beta2"],
                          p["weight_decay"], threads=2, fused=False)
        named = _linears(trainer.model)
        with torch.no_grad():
            for name, m in named.items():
                m.weight.copy_(torch.from_numpy(ours.params[f"{name}.W"].T))
                m.bias.copy_(torch.from_numpy(ours.params[f"{name}.b"]))
        rng, N, worst = np.random.default_rng(seed), p["batch_size"], 0.0
        for t in range(1, steps + 1):
            x = x_train[rng.integers(0, len(x_train), N)]
            eps = rng.standard_normal((N, p["z_dim"]))
            a, _ = ours.loss_and_grads(x, eps)
            if eps_as == "pytorch":
                opt.adam_eps = 1e-8 * np.sqrt(1 - p["beta2"] ** t)
            opt.step()
            b = trainer.step(x, eps)
            worst = max(worst, abs(a - b) / abs(b))
        diff = max(np.abs(ours.params[f"{n}.W"].T - m.weight.detach().numpy()).max()
                   / np.abs(m.weight.detach().numpy()).max() for n, m in named.items())
        print(json.dumps({"preset": preset, "steps": steps, "minivae_eps": eps_as,
                          "max_rel_loss_diff": worst, "max_rel_weight_diff": float(diff)}))


if __name__ == "__main__":
    if sys.argv[1:] == ["--serve"]:
        serve()
    elif sys.argv[1:2] == ["--train"]:
        import argparse
        ap = argparse.ArgumentParser()
        ap.add_argument("--train", required=True, choices=("doersch", "pytorch-example"))
        ap.add_argument("--seed", type=int, default=0)
        ap.add_argument("--epochs", type=int, default=7)
        a = ap.parse_args()
        train(a.train, a.seed, a.epochs)
    elif sys.argv[1:2] == ["--compare"]:
        compare(sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 200)
    else:
        sys.exit(__doc__)
