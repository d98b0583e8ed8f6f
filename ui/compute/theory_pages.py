"""ELBO & Bounds and Reparameterisation: the numbers each page shows for one digit or one toy Gaussian, from
vae_core.theory, in nats for that one image."""

from __future__ import annotations

import torch

from vae_core import theory

KS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)  # the k at which the importance-weighted bound is drawn
SAMPLE_SIZES = tuple(2 ** i for i in range(11))  # Monte-Carlo sample sizes of the gradient-estimator curves


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(int(seed))


def elbo_numbers(model, x, y, n_samples: int, seed: int) -> dict:
    """Thm 1.1 on one image: ``recon_ll`` (Monte-Carlo E_q[log p(x|z)] with ``n_samples`` draws) and its standard
    error ``recon_se``, the closed-form ``kl``, ``elbo`` = recon_ll − kl, and μ, log σ², KL per dimension."""
    r = theory.elbo_estimate(model, x, y, n_samples=n_samples, generator=_gen(seed))
    out = {k: float(r[k][0]) for k in ("recon_ll", "recon_se", "kl", "elbo")}
    out.update(mu=r["mu"][0].tolist(), logvar=r["logvar"][0].tolist(), kl_per_dim=r["kl_per_dim"][0].tolist())
    return out


def iwae_numbers(model, x, y, K: int, seed: int) -> dict:
    """The importance-weighted bounds L_k for every k in KS up to K, from one set of K draws (seed + 1): ``k``,
    ``bound``, ``elbo_same_draws`` (= L_1) and ``gap`` = L_k − L_1."""
    ks = [k for k in KS if k <= K]
    r = theory.iwae_curve(model, x, ks, generator=_gen(seed + 1), y=y, n_draws=K)
    return {"k": r["k"], "bound": r["bound"], "elbo_same_draws": r["elbo"], "gap": r["gap"]}


def mc_kl_numbers(mu, logvar, n: int, seed: int) -> dict:
    """The closed-form KL(q ‖ N(0, I)) next to its Monte-Carlo estimate from n draws (seed + 2) and its error."""
    r = theory.mc_kl_vs_closed_form(torch.tensor(mu), torch.tensor(logvar), n_samples=n, seed=seed + 2)
    return {k: float(v) for k, v in r.items()}


def estimator_curve(f: str, mu: float, sigma: float, repeats: int) -> dict:
    """Variance of the reparameterised and score-function gradient estimators of E[f(z)], z ~ N(μ, σ²), at each
    sample size in SAMPLE_SIZES (seed 0)."""
    return theory.estimator_variance_curve(f, mu, sigma, SAMPLE_SIZES, repeats=repeats, seed=0)
