"""The minivae VAE written in PyTorch, for `python -m minivae bench` only.

Not part of the package and never a dependency: `minivae.bench` runs this
file (`python tools/torch_reference.py --serve`) when torch is importable and
the file is there (a source checkout).  It builds the same network as
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


if __name__ == "__main__" and sys.argv[1:] == ["--serve"]:
    serve()
