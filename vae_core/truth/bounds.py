"""The IWAE bounds against the exact log p(x) of a 2-D model (the ELBO & Bounds page).

* One *estimate* of L_k is a random number whose expectation is <= log p(x) (Burda et al. 2016); a single
  estimate can lie above log p(x).  :func:`iwae_vs_exact` counts how often it does.
* The whole gap log p(x) - ELBO is KL(q(z|x) ‖ p(z|x)) (Thm 1.2).  L_K - L_1 is the part of it that
  importance weighting with K samples recovers: a large value proves q is far from the posterior, a small
  one does not prove it is close (the rest, log p(x) - L_K, is invisible without the exact value).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from ..objectives import iwae_log_weights
from .quadrature import Quadrature, log_marginal_quadrature

__all__ = ["iwae_vs_exact"]


@torch.no_grad()
def iwae_vs_exact(model, x, ks: Sequence[int] = (1, 10, 100), n_rep: int = 200, y=None,
                  likelihood: str = "bernoulli", seed: int = 0, exact: Quadrature | None = None) -> dict:
    """For one image: ``n_rep`` independent estimates of L_k for each k, against the quadrature's log p(x).

    Returns ``log_px``, and per k (lists): ``mean`` (average of the estimates ≈ L_k), ``frac_above`` (share of
    single estimates > log p(x)), ``max`` (largest estimate); ``posterior_kl`` = log p(x) - L_1 (= KL(q‖p(z|x)),
    estimated) and ``recovered`` = L_K - L_1 for the largest K.  nats."""
    x = torch.as_tensor(x, dtype=torch.float32).reshape(1, -1)
    ex = exact or log_marginal_quadrature(model, x, y, likelihood)[0]
    g = torch.Generator().manual_seed(int(seed))
    yy = None if y is None else torch.tensor([int(y)])
    out = {"k": [int(k) for k in ks], "mean": [], "frac_above": [], "max": [], "log_px": ex.log_px}
    for k in ks:
        k = int(k)
        est = []
        for _ in range(int(n_rep)):
            lw = iwae_log_weights(model, x, k, yy, g, likelihood)[:, 0].double()
            est.append(float(torch.logsumexp(lw, 0)) - math.log(k))
        e = torch.tensor(est, dtype=torch.float64)
        out["mean"].append(float(e.mean()))
        out["frac_above"].append(float((e > ex.log_px).double().mean()))
        out["max"].append(float(e.max()))
    out["posterior_kl"] = ex.log_px - out["mean"][0]
    out["recovered"] = out["mean"][-1] - out["mean"][0]
    return out
