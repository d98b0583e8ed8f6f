"""What the notes state about the ELBO, computed (the ELBO & Bounds and Exact Identity pages).

* :func:`elbo_two_forms` -- the notes' two forms of the ELBO on one digit: reconstruction - KL (form 1, closed
  KL) and E_q[log p(x, z)] + H(q) (form 2, "negative free energy", with the closed-form entropy of q).  Both
  estimate the same number; their Monte-Carlo parts use independent draws.
* :func:`gaussian_decoder_nll` -- -log N(x; x̂, σ² I) = ||x - x̂||² / (2σ²) + (D/2) log(2πσ²): the notes'
  "||x - x̂||² + KL" is this with σ² = 1/2 and the constant (D/2) log π dropped.
* :func:`theta_counterexample` -- Cor. 1.3 ("maximising the ELBO <=> maximising log p(x) and minimising
  KL(q‖p(z|x))") holds over q only: over θ a higher ELBO can come with a *lower* log p(x).
* :func:`em_trace` -- the EM reading of the ELBO on a linear-Gaussian model (probabilistic PCA with a bias):
  the E-step sets q to the exact posterior (the gap closes, the ELBO rises to log p(x)); the M-step maximises
  the ELBO over θ with q fixed (log p(x) rises, the gap reopens).
"""

from __future__ import annotations

import math

import torch

from ..likelihoods import neg_log_likelihood
from .linear_gaussian import LinearGaussianModel

__all__ = ["elbo_two_forms", "em_trace", "gaussian_decoder_nll", "theta_counterexample"]

LOG2PI = math.log(2 * math.pi)


@torch.no_grad()
def elbo_two_forms(model, x, y=None, likelihood: str = "bernoulli", n_samples: int = 256, seed: int = 0) -> dict:
    """Both forms of the ELBO of one image (nats), each from its own ``n_samples`` draws z ~ q(z|x).

    Form 1: ``recon`` = mean log p(x|z_s), ``kl`` closed form; ``form1`` = recon - kl.
    Form 2: ``log_joint`` = mean [log p(x|z_s) + log N(z_s; 0, I)], ``entropy`` = H(q) =
    Σ_j ½ (1 + log 2π + log σ_j²) closed form; ``form2`` = log_joint + entropy.
    ``form1_se`` / ``form2_se``: standard errors of the Monte-Carlo parts.
    """
    x = torch.as_tensor(x, dtype=torch.float32).reshape(1, -1)
    yy = None if y is None else torch.as_tensor([int(y)])
    mu, logvar = model.encode(x, yy) if model.conditional else model.encode(x)
    mu, logvar = mu[0].double(), logvar[0].double()
    g = torch.Generator().manual_seed(int(seed))
    sd = torch.exp(0.5 * logvar)

    def draws():
        z = mu + torch.randn(n_samples, mu.shape[0], generator=g, dtype=torch.float64) * sd
        lg = model.decode_logits(z.float(), None if yy is None else yy.expand(n_samples)) if model.conditional \
            else model.decode_logits(z.float())
        return z, -neg_log_likelihood(lg, x.expand(n_samples, -1), likelihood).double()

    _, ll1 = draws()
    z2, ll2 = draws()
    kl = float(0.5 * (mu.pow(2) + logvar.exp() - logvar - 1).sum())
    ent = float(0.5 * (1 + LOG2PI + logvar).sum())
    lj = ll2 - 0.5 * (LOG2PI * mu.shape[0] + z2.pow(2).sum(1))

    def se(v: torch.Tensor) -> float:  # standard error of the mean of the draws
        return float(v.std(unbiased=True) / math.sqrt(n_samples))

    return {"recon": float(ll1.mean()), "kl": kl, "form1": float(ll1.mean()) - kl, "form1_se": se(ll1),
            "log_joint": float(lj.mean()), "entropy": ent, "form2": float(lj.mean()) + ent, "form2_se": se(lj),
            "n_samples": int(n_samples)}


def gaussian_decoder_nll(x, x_hat, sigma2: float) -> torch.Tensor:
    """-log N(x; x̂, σ² I) per image = ||x - x̂||² / (2σ²) + (D/2) log(2πσ²), (N,) nats (float64)."""
    x = torch.as_tensor(x, dtype=torch.float64).reshape(-1, torch.as_tensor(x).shape[-1])
    xh = torch.as_tensor(x_hat, dtype=torch.float64).reshape(x.shape)
    s2 = float(sigma2)
    if s2 <= 0:
        raise ValueError("sigma2 must be > 0")
    D = x.shape[1]
    return (x - xh).pow(2).sum(1) / (2 * s2) + 0.5 * D * math.log(2 * math.pi * s2)


def _lgm(w: float, b: float, s: float) -> LinearGaussianModel:
    return LinearGaussianModel(torch.tensor([[float(w)]]), torch.tensor([float(b)]), float(s))


def theta_counterexample(x: float = 3.0, q_mean: float = 0.0, q_var: float = 0.01,
                         theta_a=(3.0, 0.0, 1.0), theta_b=(0.0, 0.0, 10.0)) -> dict:
    """One observation x, one fixed q(z) = N(q_mean, q_var) and two decoders θ = (w, b, s) of the model
    z ~ N(0, 1), x|z ~ N(w z + b, s²).  Returns, for "a" and "b", ``log_px`` (exact), ``elbo`` and ``gap`` =
    KL(q ‖ p_θ(z|x)) (closed forms), plus the parameters.  With the defaults θ_b has the higher ELBO and the
    lower log p(x): its ELBO gain comes entirely from a smaller gap."""
    out = {"x": float(x), "q_mean": float(q_mean), "q_var": float(q_var)}
    for key, th in (("a", theta_a), ("b", theta_b)):
        m = _lgm(*th)
        r = m.identity_check(torch.tensor([float(x)]), torch.tensor([float(q_mean)]), torch.tensor([float(q_var)]))
        out[key] = {"theta": tuple(float(t) for t in th), "log_px": float(r["log_px"]), "elbo": float(r["elbo"]),
                    "gap": float(r["kl_posterior"])}
    return out


def em_trace(xs: torch.Tensor, d: int = 1, steps: int = 5, seed: int = 0, init_noise: float = 1.5) -> dict:
    """EM on z ~ N(0, I_d), x|z ~ N(W z + b, s² I) for the data ``xs`` (N, D), from a random start.

    Each step records, summed over the data (nats): after the E-step (q_n = p_θ(z|x_n) exactly) and after the
    M-step (θ = argmax of the ELBO with q fixed, in closed form).  Returns lists ``stage`` ("start", "E",
    "M", ...), ``elbo``, ``log_px`` and ``gap`` = log_px - elbo, one entry per half-step.
    """
    xs = torch.as_tensor(xs, dtype=torch.float64)
    N, D = xs.shape
    model = LinearGaussianModel.random(d=d, D=D, noise_std=init_noise, seed=seed)
    # a deliberately poor q to start from: the prior for every x
    qm = torch.zeros(N, d, dtype=torch.float64)
    qS = torch.eye(d, dtype=torch.float64).expand(N, d, d).clone()
    rec = {"stage": [], "elbo": [], "log_px": [], "gap": []}

    def log(stage):
        r = model.identity_check(xs, qm, qS)
        rec["stage"].append(stage)
        rec["elbo"].append(float(r["elbo"].sum()))
        rec["log_px"].append(float(r["log_px"].sum()))
        rec["gap"].append(float(r["kl_posterior"].sum()))

    log("start")
    for _ in range(int(steps)):
        qm, qS = model.posterior(xs)  # E-step
        log("E")
        # M-step: augment z with a constant 1 so that W and b are solved together
        Ez = torch.cat([qm, torch.ones(N, 1, dtype=torch.float64)], 1)  # (N, d+1)
        Ezz = torch.zeros(N, d + 1, d + 1, dtype=torch.float64)
        Ezz[:, :d, :d] = qS + qm[:, :, None] * qm[:, None, :]
        Ezz[:, :d, d] = qm
        Ezz[:, d, :d] = qm
        Ezz[:, d, d] = 1.0
        A = Ezz.sum(0)
        Wt = torch.linalg.solve(A, (Ez[:, :, None] * xs[:, None, :]).sum(0)).T  # (D, d+1)
        resid = (xs.pow(2).sum(1) - 2 * ((xs @ Wt) * Ez).sum(1)
                 + torch.einsum("ij,nji->n", Wt.T @ Wt, Ezz)).sum()
        s2 = float(resid) / (N * D)
        model = LinearGaussianModel(Wt[:, :d], Wt[:, d], math.sqrt(max(s2, 1e-12)))
        log("M")
    rec["theta"] = {"W": model.W.tolist(), "b": model.b.tolist(), "s": model.noise_std}
    return rec
