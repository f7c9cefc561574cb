"""The mistakes the grader recognizes, each with what it tells the student.

A grader (exercises.py, model_exercises.py) computes each mistake's result as
a known-wrong variant of the right answer; when a student's failing result
matches one, the part's note is "hint (KEY): TEXT".  Notation as in the
paper and the stubs: K latent dimensions (the paper's k) indexed by j, N
examples in a batch, S importance samples; log_var = log diag Σ, the log of
Q's variance; σ is only the decoder's noise.
"""

HINTS = {
    # the Dense layer and the batch mean
    "transposed dW": "dW has W's shape (D, H): dW = xᵀ dy; yours is its transpose, dyᵀ x",
    "1/N missing": "N times too large (N = batch size): the loss is a mean over the batch, "
                   "so each gradient carries one factor 1/N",
    "1/N doubled": "N times too small (N = batch size): the batch mean's 1/N is applied once "
                   "(where the loss is averaged); yours is applied twice, or where none belongs",
    "factor 2": "2 times off: a ½ lost or doubled? log_var is the log of the variance "
                "(log diag Σ), never the log of std, so std = exp(½ log_var) and "
                "∂std/∂log_var = ½ std; Eq. 7 carries a ½",
    "sign": "the sign is flipped: the code minimizes loss = −ELBO, and a gradient is "
            "∂loss/∂(that variable)",
    # ReLU and the sigmoid
    "ReLU mask": "multiply dy by the indicator [y > 0] (1 where the unit is on, else 0), "
                 "not by y and not by nothing",
    "sigmoid": "d sig(x)/dx = sig(x)(1 − sig(x)) = y (1 − y), written with the output y",
    # the Bernoulli −log P(X|z)
    "log sig overflow": "not finite at large |logit|: log sig(l) and log(1 − sig(l)) overflow; "
                        "use max(l, 0) − l·x + log1p(exp(−|l|)), whose gradient is sig(l) − x",
    "sigmoid overflow": "not finite at large |logit|: exp(l) / (1 + exp(l)) is inf/inf for "
                        "l > 709; use 1 / (1 + exp(−l)) for l ≥ 0 and exp(l) / (1 + exp(l)) "
                        "for l < 0, so exp only ever sees −|l|",
    "clipped p": "you clip p = sig(l) (to [ε, 1 − ε], or add ε) before the log: that caps "
                 "−log p at −log ε, so far out (|logit| in the hundreds or thousands) the nll "
                 "is much too small; max(l, 0) − l·x + log1p(exp(−|l|)) needs no clipping",
    "clipped logits": "you clip the logits: far out the nll grows like |l|, and the clipped "
                      "value is wrong there; max(l, 0) − l·x + log1p(exp(−|l|)) is exact at "
                      "any l, with no clipping",
    "averaged pixels": "−log P(X|z) sums over the D pixels (one Bernoulli each); don't average them",
    # the KL of Eq. 7 and the reparameterization of Eq. 10
    "KL −1": "∂KL/∂log_var = ½ (exp(log_var) − 1): the −1 comes from the −log det Σ term of Eq. 7",
    "log_var as log std": "log_var is the log of the *variance*; yours treats it as the log of "
                          "the standard deviation (exp(2·log_var) for the variance). The "
                          "variance is exp(log_var), std = exp(½ log_var)",
    "log_var as std": "yours uses log_var as the standard deviation itself "
                      "(z = mu + log_var·eps); log_var is the log of the variance, so "
                      "std = exp(½ log_var)",
    "−K missing": "Eq. 7 has −K (the paper's k): −1 per latent dimension inside the ½ ∑_j",
    "z for mu": "you used z where mu (or z − mu) belongs: ∂KL/∂mu = mu (Eq. 7 has no z), "
                "and ∂z/∂log_var = ½ std ⊙ eps = ½ (z − mu)",
    "dmu = dz": "∂z/∂mu = 1 (Eq. 10), so dmu is dz itself",
    "chain to log_var": "that is ∂loss/∂std = dz ⊙ eps; chain on through std = exp(½ log_var), "
                        "i.e. multiply by ½ std",
    # the whole model
    "KL sign": "loss = −log P(X|z) + D[Q(z|X) ‖ P(z)]: the KL enters with a plus sign, in the "
               "loss and in its gradients (dmu and dlog_var each gain ∂KL/∂· divided by N)",
    "KL missing": "the KL term (Eq. 7) is missing: its gradient is added to dmu and dlog_var",
    # importance sampling
    "lse overflow": "exp over- or underflows: subtract each column's largest entry first, "
                    "log ∑_s exp(a_s) = m + log ∑_s exp(a_s − m) with m = max_s a_s "
                    "(the minimum, the mean or the first row will not do: far apart, "
                    "exp(a_s − m) still overflows)",
    "m dropped": "log ∑_s exp(a_s) = m + log ∑_s exp(a_s − m): add back the m you subtracted",
    "log sum": "that is log ∑; the estimate averages the S weights: subtract log S "
               "(the 1/S of a mean)",
    "mean of logs": "that is the mean of the log weights (an ELBO-like lower bound); "
                    "take the log of the mean of the weights",
    "prior missing": "the weight is P(X|z) P(z) / Q(z|X): log P(z) (the prior N(0, I)) is missing",
    "log Q sign": "the weight divides by Q(z|X): log Q enters with a minus sign",
    # the CVAE's junctions
    "junction split": "a sum passes its gradient unchanged to both addends; don't split it",
    "one path": "X reaches the loss by two paths: the cond tower's gradient is the sum of "
                "what flows back from both junctions",
}
