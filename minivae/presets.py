"""Named training setups for `python -m minivae train --preset NAME`.

doersch          the tutorial's §4.1 MNIST VAE as its reference code ran it
                 (../shared/paper/SEED_EXPERIMENTS.md), with the departures
                 listed in DEPARTURES.
pytorch-example  784-400-20, batch 128, Adam 1e-3: the setup of PyTorch's
                 best-known VAE example, for side-by-side comparison.
"""

PRESETS = {
    "doersch": dict(
        hidden=(1000, 500, 250), z_dim=30, likelihood="bernoulli", init="sparse",
        batch_size=100, optimizer="adam", lr=1e-3, beta1=0.9, beta2=0.999,
        weight_decay=5e-4, epochs=100, binarize="none",
    ),
    "pytorch-example": dict(
        hidden=(400,), z_dim=20, likelihood="bernoulli", init="pytorch",
        batch_size=128, optimizer="adam", lr=1e-3, beta1=0.9, beta2=0.999,
        weight_decay=0.0, epochs=10, binarize="none",
    ),
}

DEPARTURES = {
    "doersch": [
        "Adam beta1 = 0.9; the reference solver leaves Caffe's `momentum` unset, so it "
        "effectively ran beta1 = 0 (pass --beta1 0 to reproduce that; 0.9 trains faster).",
        "the log-variance head reads the 250-unit layer after its ReLU and predicts "
        "log sigma^2; the reference reads it before the ReLU and predicts log sigma.",
        "epochs instead of iterations: 100 epochs of 600 batches = the reference's 60,000.",
    ],
    "pytorch-example": [],
}
