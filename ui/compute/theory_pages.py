"""ELBO & Bounds and Reparameterisation: the numbers each page shows for one digit or one toy Gaussian, from
vae_core.theory, in nats for that one image."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from vae_core import theory

KS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)  # the k at which the importance-weighted bound is drawn
SAMPLE_SIZES = tuple(2 ** i for i in range(11))  # Monte-Carlo sample sizes of the gradient-estimator curves


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(int(seed))


@dataclass(frozen=True)
class ElboNumbers:
    """Thm 1.1 on one image, nats."""

    recon_ll: float  # Monte-Carlo estimate of E_q[log p(x|z)]
    recon_se: float  # its standard error
    kl: float  # closed-form KL(q(z|x) || N(0, I))
    elbo: float  # recon_ll - kl
    mu: tuple[float, ...]  # the posterior's mean and log-variance, per dimension
    logvar: tuple[float, ...]
    kl_per_dim: tuple[float, ...]  # sums to kl


def elbo_numbers(model, x, y, n_samples: int, seed: int) -> ElboNumbers:
    """Thm 1.1 on one image: the reconstruction term from ``n_samples`` draws (seeded), the closed-form KL and
    their difference, with μ, log σ² and the KL of each dimension."""
    r = theory.elbo_estimate(model, x, y, n_samples=n_samples, generator=_gen(seed))
    return ElboNumbers(recon_ll=float(r["recon_ll"][0]), recon_se=float(r["recon_se"][0]), kl=float(r["kl"][0]),
                       elbo=float(r["elbo"][0]), mu=tuple(r["mu"][0].tolist()), logvar=tuple(r["logvar"][0].tolist()),
                       kl_per_dim=tuple(r["kl_per_dim"][0].tolist()))


@dataclass(frozen=True)
class IwaeNumbers:
    """Importance-weighted bounds of one image from one set of draws, nats."""

    k: list[int]  # importance samples per estimate
    bound: list[float]  # L_k for each k
    elbo_same_draws: float  # L_1 averaged over all the draws (a Monte-Carlo ELBO)
    gap: list[float]  # L_k - elbo_same_draws


def iwae_numbers(model, x, y, K: int, seed: int) -> IwaeNumbers:
    """The importance-weighted bounds L_k for every k in KS up to K, from one set of K draws (seed + 1)."""
    ks = [k for k in KS if k <= K]
    r = theory.iwae_curve(model, x, ks, generator=_gen(seed + 1), y=y, n_draws=K)
    return IwaeNumbers(k=list(r["k"]), bound=list(r["bound"]), elbo_same_draws=float(r["elbo"]), gap=list(r["gap"]))


@dataclass(frozen=True)
class KLCheck:
    """The closed-form KL(q || N(0, I)) next to its Monte-Carlo estimate, nats."""

    closed_form: float
    mc_estimate: float
    stderr: float  # standard error of mc_estimate
    z_score: float  # (mc_estimate - closed_form) / stderr


def mc_kl_numbers(mu, logvar, n: int, seed: int) -> KLCheck:
    """The closed-form KL(q ‖ N(0, I)) next to its Monte-Carlo estimate from n draws (seed + 2) and its error."""
    r = theory.mc_kl_vs_closed_form(torch.tensor(mu), torch.tensor(logvar), n_samples=n, seed=seed + 2)
    return KLCheck(**{k: float(v) for k, v in r.items()})


@dataclass(frozen=True)
class EstimatorCurve:
    """Variance of the two gradient estimators of E[f(z)], z ~ N(μ, σ²), per sample size."""

    n: list[int]  # sample sizes
    var_reparam: list[list[float]]  # [d/dμ, d/dσ] variance of the n-sample reparameterised estimate, per n
    var_score: list[list[float]]  # the same for the score-function (REINFORCE) estimate
    raw: dict  # theory.estimator_variance_curve's result, for theory.estimator_summary

    def summary(self, param: int) -> dict:
        """:func:`vae_core.theory.estimator_summary` for parameter ``param`` (0: d/dμ, 1: d/dσ)."""
        return theory.estimator_summary(self.raw, param)


def estimator_curve(f: str, mu: float, sigma: float, repeats: int) -> EstimatorCurve:
    """Variance of the reparameterised and score-function gradient estimators of E[f(z)], z ~ N(μ, σ²), at each
    sample size in SAMPLE_SIZES (seed 0)."""
    r = theory.estimator_variance_curve(f, mu, sigma, SAMPLE_SIZES, repeats=repeats, seed=0)
    return EstimatorCurve(n=list(r["n"]), var_reparam=r["var_reparam"], var_score=r["var_score"], raw=r)
