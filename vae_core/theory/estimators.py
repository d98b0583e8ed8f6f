"""The gradient problem (seed §梯度问题) and the reparameterisation trick (Thm 2.1).

Per-sample gradients of E_{N(mu, sigma^2)}[f(z)] by reparameterisation and by the score function
(REINFORCE), their variance as the number of samples grows, a summary table, and plain
reparameterised draws z = mu + sigma * eps.

REINFORCE with a baseline (the Reparameterisation page): the score-function estimator (f(z) - b) ∇ log q(z) is
unbiased for any constant b, because E_q[∇ log q] = 0.  Without a baseline (b = 0) its variance grows with f's
*level*, not only with how f changes; subtracting a baseline close to E_q[f] removes most of that.  The baseline
used here is the standard practical one, the leave-one-out mean of the other n - 1 values f(z_j) in the same
batch (Kool, van Hoof & Welling 2019, "Buy 4 REINFORCE samples, get a baseline for free!"); it does not depend
on z_i, so the estimator stays unbiased.  It needs n >= 2 samples.  Test functions with closed-form gradients live in
:data:`INTEGRANDS`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from ._common import DTYPE, _t

__all__ = [
    "INTEGRANDS", "Integrand", "baseline_variance_curve", "estimator_summary", "estimator_variance_curve",
    "quadratic", "reparam_draws", "reparam_grad_samples", "resolve_integrand", "score_function_grad_samples",
    "score_function_loo_grads",
]


@dataclass(frozen=True)
class Integrand:
    """A test function f(z) (elementwise torch op) and, where known, the exact gradient of E_{N(mu, sigma^2)}[f]."""

    name: str
    f: Callable[[torch.Tensor], torch.Tensor]
    grad: Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]] | None = None
    expectation: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None

    def true_grad(self, mu, sigma) -> tuple[torch.Tensor, torch.Tensor] | None:
        """(d/dmu, d/dsigma) of E_q[f(z)], or None when no closed form is registered."""
        return None if self.grad is None else self.grad(_t(mu), _t(sigma))


def quadratic(c: float = 2.0) -> Integrand:
    """f(z) = (z - c)^2:  E = (mu - c)^2 + sigma^2,  d/dmu = 2 (mu - c),  d/dsigma = 2 sigma."""
    c = float(c)
    return Integrand(f"(z-{c:g})^2", lambda z: (z - c) ** 2,
                     lambda mu, s: (2 * (mu - c), 2 * s),
                     lambda mu, s: (mu - c) ** 2 + s ** 2)


INTEGRANDS: dict[str, Integrand] = {
    "(z-2)^2": Integrand("(z-2)^2", lambda z: (z - 2.0) ** 2,
                         lambda mu, s: (2 * (mu - 2.0), 2 * s),
                         lambda mu, s: (mu - 2.0) ** 2 + s ** 2),
    # E sin(3z) = sin(3 mu) exp(-9 sigma^2 / 2)
    "sin(3z)": Integrand("sin(3z)", lambda z: torch.sin(3 * z),
                         lambda mu, s: (3 * torch.cos(3 * mu) * torch.exp(-4.5 * s ** 2),
                                        -9 * s * torch.sin(3 * mu) * torch.exp(-4.5 * s ** 2)),
                         lambda mu, s: torch.sin(3 * mu) * torch.exp(-4.5 * s ** 2)),
    # E z^4 = mu^4 + 6 mu^2 sigma^2 + 3 sigma^4
    "z^4": Integrand("z^4", lambda z: z ** 4,
                     lambda mu, s: (4 * mu ** 3 + 12 * mu * s ** 2, 12 * mu ** 2 * s + 12 * s ** 3),
                     lambda mu, s: mu ** 4 + 6 * mu ** 2 * s ** 2 + 3 * s ** 4),
}


def resolve_integrand(f: str | Integrand | Callable[[torch.Tensor], torch.Tensor]) -> Integrand:
    """A name from :data:`INTEGRANDS`, an :class:`Integrand`, or any elementwise torch callable (no true gradient)."""
    if isinstance(f, Integrand):
        return f
    if isinstance(f, str):
        if f not in INTEGRANDS:
            raise ValueError(f"unknown integrand {f!r}; choose from {sorted(INTEGRANDS)}")
        return INTEGRANDS[f]
    if callable(f):
        return Integrand(getattr(f, "__name__", "f"), f)
    raise TypeError("f must be a name, an Integrand or a callable")


def _mu_sigma(mu, sigma) -> tuple[torch.Tensor, torch.Tensor]:
    mu, sigma = torch.broadcast_tensors(_t(mu), _t(sigma))
    if torch.any(sigma <= 0):
        raise ValueError("sigma must be > 0")
    return mu, sigma


def reparam_grad_samples(f, mu, sigma, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Per-sample reparameterisation gradients of E_{N(mu, sigma^2)}[f(z)] (Thm 2.1).

    z = mu + sigma * eps, eps ~ N(0, 1):  d/dmu = f'(z),  d/dsigma = f'(z) * eps, with f' from autograd.
    ``mu``/``sigma`` are scalars or broadcastable tensors (f acts elementwise); returns (n, *mu.shape, 2),
    i.e. (n, 2) for scalars, last axis = (d/dmu, d/dsigma).
    """
    fn = resolve_integrand(f).f
    mu, sigma = _mu_sigma(mu, sigma)
    eps = torch.randn(n, *mu.shape, generator=generator, dtype=DTYPE)
    with torch.enable_grad():
        z = (mu + sigma * eps).detach().requires_grad_(True)
        (df,) = torch.autograd.grad(fn(z).sum(), z)
    return torch.stack([df, df * eps], dim=-1).detach()


def score_function_grad_samples(f, mu, sigma, n: int, generator: torch.Generator | None = None,
                                baseline: float = 0.0) -> torch.Tensor:
    """Per-sample score-function (REINFORCE) gradients -- the naive answer to seed §梯度问题.

    (f(z) - baseline) * d/dtheta log q(z), z ~ N(mu, sigma^2), with
    d/dmu log q = (z - mu) / sigma^2 = eps / sigma and d/dsigma log q = (eps^2 - 1) / sigma.
    Unbiased for any constant ``baseline`` (E[score] = 0).  Shape (n, *mu.shape, 2) like
    :func:`reparam_grad_samples`.
    """
    fn = resolve_integrand(f).f
    mu, sigma = _mu_sigma(mu, sigma)
    eps = torch.randn(n, *mu.shape, generator=generator, dtype=DTYPE)
    with torch.no_grad():
        fz = fn(mu + sigma * eps) - float(baseline)
    return torch.stack([fz * eps / sigma, fz * (eps ** 2 - 1) / sigma], dim=-1)


def estimator_variance_curve(f, mu: float, sigma: float, sample_sizes: Sequence[int] = tuple(2 ** i for i in range(11)),
                             repeats: int = 200, seed: int = 0) -> dict:
    """Mean and variance (over ``repeats`` runs) of the n-sample average gradient, for both estimators.

    Scalar ``mu``/``sigma``.  Returns a plain dict of lists (JSON/plot friendly):

    * ``n``: the sample sizes; ``param_names``: ["mu", "sigma"]
    * ``mean_reparam``, ``var_reparam``, ``mean_score``, ``var_score``: one [d/dmu, d/dsigma] pair per n
      (variances are unbiased, ddof = 1; both fall as 1/n, reparameterisation usually far lower)
    * ``true_grad``: [d/dmu, d/dsigma] in closed form, or None for a callable without one
    * ``f``, ``mu``, ``sigma``, ``repeats``, ``seed``: the inputs

    The two estimators use independent draws from one generator seeded with ``seed``.
    """
    integrand = resolve_integrand(f)
    if repeats < 2:
        raise ValueError("repeats must be >= 2 to estimate a variance")
    g = torch.Generator().manual_seed(int(seed))
    mu_t, sigma_t = _t(float(mu)), _t(float(sigma))
    out: dict = {"n": [], "mean_reparam": [], "var_reparam": [], "mean_score": [], "var_score": []}
    for n in sample_sizes:
        n = int(n)
        if n < 1:
            raise ValueError("sample sizes must be >= 1")
        rep = reparam_grad_samples(integrand, mu_t.expand(repeats), sigma_t.expand(repeats), n, g).mean(0)
        sco = score_function_grad_samples(integrand, mu_t.expand(repeats), sigma_t.expand(repeats), n, g).mean(0)
        out["n"].append(n)
        out["mean_reparam"].append(rep.mean(0).tolist())
        out["var_reparam"].append(rep.var(0, unbiased=True).tolist())
        out["mean_score"].append(sco.mean(0).tolist())
        out["var_score"].append(sco.var(0, unbiased=True).tolist())
    tg = integrand.true_grad(mu_t, sigma_t)
    out.update(true_grad=None if tg is None else [float(tg[0]), float(tg[1])], param_names=["mu", "sigma"],
               f=integrand.name, mu=float(mu), sigma=float(sigma), repeats=int(repeats), seed=int(seed))
    return out


def estimator_summary(curve: dict, param: int = 0) -> dict:
    """Summary of :func:`estimator_variance_curve` for parameter ``param`` (0: d/dmu, 1: d/dsigma).

    The means over ``repeats`` runs of the n-sample estimate at the largest n, with standard errors
    sqrt(var / repeats); the per-sample variances (n = 1 scale: n * var_n, averaged over n) and their ratio
    score / reparam (> 1: reparameterisation is better).  Plain floats.
    """
    p = int(param)
    R = int(curve["repeats"])
    ns = curve["n"]
    i = len(ns) - 1
    rep_mean, sco_mean = curve["mean_reparam"][i][p], curve["mean_score"][i][p]
    rep_se = math.sqrt(curve["var_reparam"][i][p] / R)
    sco_se = math.sqrt(curve["var_score"][i][p] / R)
    per_rep = sum(n * v[p] for n, v in zip(ns, curve["var_reparam"], strict=True)) / len(ns)
    per_sco = sum(n * v[p] for n, v in zip(ns, curve["var_score"], strict=True)) / len(ns)
    tg = curve.get("true_grad")
    return {"n": int(ns[i]), "true": None if tg is None else float(tg[p]),
            "reparam_mean": rep_mean, "reparam_se": rep_se, "score_mean": sco_mean, "score_se": sco_se,
            "reparam_var1": per_rep, "score_var1": per_sco, "ratio": per_sco / per_rep if per_rep > 0 else math.inf}


def reparam_draws(mu, sigma, n: int, seed: int = 0) -> dict[str, torch.Tensor]:
    """Thm 2.1: ``eps`` ~ N(0, I) of shape (n, d) and ``z`` = mu + sigma * eps (elementwise), float64.

    ``mu``/``sigma`` are scalars or (d,) vectors (sigma > 0)."""
    mu_t, sd = _t(mu).reshape(-1), _t(sigma).reshape(-1)
    mu_t, sd = torch.broadcast_tensors(mu_t, sd)
    if torch.any(sd <= 0):
        raise ValueError("sigma must be > 0")
    g = torch.Generator().manual_seed(int(seed))
    eps = torch.randn(int(n), mu_t.shape[0], generator=g, dtype=DTYPE)
    return {"eps": eps, "z": mu_t + sd * eps}


def score_function_loo_grads(f, mu, sigma, n: int, repeats: int, generator: torch.Generator) -> torch.Tensor:
    """``repeats`` independent n-sample REINFORCE gradient estimates with the leave-one-out baseline,
    (repeats, 2) for (d/dmu, d/dsigma) of E_{N(mu, sigma^2)}[f(z)]."""
    if n < 2:
        raise ValueError("a leave-one-out baseline needs n >= 2 samples")
    fn = resolve_integrand(f).f
    mu, sigma = float(mu), float(sigma)
    if sigma <= 0:
        raise ValueError("sigma must be > 0")
    eps = torch.randn(repeats, n, generator=generator, dtype=DTYPE)
    fz = fn(mu + sigma * eps)
    b = (fz.sum(1, keepdim=True) - fz) / (n - 1)
    w = fz - b
    g_mu = (w * eps / sigma).mean(1)
    g_sigma = (w * (eps ** 2 - 1) / sigma).mean(1)
    return torch.stack([g_mu, g_sigma], 1)


def baseline_variance_curve(f, mu: float, sigma: float, sample_sizes: Sequence[int] = tuple(2 ** i for i in
                                                                                                range(1, 11)),
                            repeats: int = 200, seed: int = 0) -> dict:
    """Mean and variance over ``repeats`` runs of the n-sample REINFORCE-with-baseline gradient for each n >= 2.

    Returns ``n``, ``mean_baseline``, ``var_baseline`` (one [d/dmu, d/dsigma] pair per n), ``true_grad`` (or
    None) -- shaped like :func:`vae_core.theory.estimator_variance_curve`'s lists so both can be plotted
    together."""
    integrand = resolve_integrand(f)
    g = torch.Generator().manual_seed(int(seed) + 7919)
    out = {"n": [], "mean_baseline": [], "var_baseline": []}
    for n in sample_sizes:
        n = int(n)
        if n < 2:
            continue
        est = score_function_loo_grads(integrand, mu, sigma, n, repeats, g)
        out["n"].append(n)
        out["mean_baseline"].append(est.mean(0).tolist())
        out["var_baseline"].append(est.var(0, unbiased=True).tolist())
    tg = integrand.true_grad(_t(float(mu)), _t(float(sigma)))
    out["true_grad"] = None if tg is None else [float(tg[0]), float(tg[1])]
    return out
