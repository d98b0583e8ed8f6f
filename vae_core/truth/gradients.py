"""REINFORCE with a baseline, next to REINFORCE without one and the reparameterised estimator (the
Reparameterisation page).

The score-function estimator (f(z) - b) ∇ log q(z) is unbiased for any constant b, because E_q[∇ log q] = 0.
Without a baseline (b = 0) its variance grows with f's *level*, not only with how f changes; subtracting a
baseline close to E_q[f] removes most of that.  The baseline used here is the standard practical one, the
leave-one-out mean of the other n - 1 values f(z_j) in the same batch (Kool, van Hoof & Welling 2019,
"Buy 4 REINFORCE samples, get a baseline for free!"); it does not depend on z_i, so the estimator stays
unbiased.  It needs n >= 2 samples.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ..theory import resolve_integrand
from ..theory._common import DTYPE, _t

__all__ = ["baseline_variance_curve", "score_function_loo_grads"]


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
