"""The ELBO and the bounds above it on real models (Thm 1.1, Thm 1.3).

The ELBO of a digit with a Monte-Carlo reconstruction term and its standard error, the closed-form
KL against its Monte-Carlo estimate, Jensen's gap on importance log-weights, and the IWAE bounds
L_k rising with k towards log p(x).

Against the exact log p(x) of a 2-D model (the ELBO & Bounds page; :mod:`.quadrature`):

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

from ..objectives import bernoulli_nll, gaussian_kl, gaussian_kl_per_dim, iwae_log_weights, mc_kl
from ._common import _t
from .quadrature import Quadrature, log_marginal_quadrature

__all__ = ["elbo_estimate", "iwae_curve", "iwae_vs_exact", "jensen_gap", "mc_kl_vs_closed_form"]


@torch.no_grad()
def elbo_estimate(model, x: torch.Tensor, y: torch.Tensor | None = None, n_samples: int = 16,
                  generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
    """The ELBO of Thm 1.1 for a batch ``x`` (N, 784), with a Monte-Carlo reconstruction term and its standard error.

    recon_ll = (1/S) sum_s log p(x | z_s), z_s = mu + sigma * eps_s  (estimates E_q[log p(x|z)], nats)
    kl       = closed-form KL(q(z|x) || N(0, I))                    (seed §KL散度闭式解, nats)
    elbo     = recon_ll - kl

    Returns float64 tensors of shape (N,): ``recon_ll``, ``recon_se`` (std of the S log-likelihoods / sqrt(S); 0
    for S = 1), ``kl``, ``elbo``; plus ``kl_per_dim`` (N, d), ``mu``, ``logvar`` (N, d) and ``n_samples``.
    """
    S = int(n_samples)
    if S < 1:
        raise ValueError("n_samples must be >= 1")
    y = model.condition(y)
    mu, logvar = model.encode(x, y)
    lls = []
    for _ in range(S):
        z = model.reparameterize(mu, logvar, generator)
        logits = model.decode_logits(z, y)
        lls.append(-bernoulli_nll(logits, x).double())
    ll = torch.stack(lls)  # (S, N)
    se = ll.std(0, unbiased=True) / math.sqrt(S) if S > 1 else torch.zeros_like(ll[0])
    kl_dims = gaussian_kl_per_dim(mu.double(), logvar.double())
    kl = kl_dims.sum(1)
    return {"recon_ll": ll.mean(0), "recon_se": se, "kl": kl, "elbo": ll.mean(0) - kl, "kl_per_dim": kl_dims,
            "mu": mu.double(), "logvar": logvar.double(), "n_samples": S}


def mc_kl_vs_closed_form(mu, logvar, n_samples: int = 1000, seed: int = 0) -> dict[str, torch.Tensor]:
    """Closed-form KL(N(mu, diag exp(logvar)) || N(0, I)) (seed §KL散度闭式解) against objectives.mc_kl.

    ``mu``/``logvar``: (N, d) for N distributions, (d,) or a scalar for one.  Returns float64 tensors
    ``closed_form``, ``mc_estimate``, ``stderr``, ``z_score`` (= (mc - closed) / stderr; 0 when both are
    exactly equal, e.g. q = prior), each of shape (N,) -- or 0-d for a single distribution.
    """
    mu, logvar = torch.broadcast_tensors(_t(mu), _t(logvar))
    single = mu.ndim < 2
    mu2, lv2 = mu.reshape(1, -1) if single else mu, logvar.reshape(1, -1) if single else logvar
    g = torch.Generator().manual_seed(int(seed))
    est, se = mc_kl(mu2, lv2, int(n_samples), g)
    closed = gaussian_kl(mu2, lv2)
    diff = est - closed
    z = torch.where(se > 0, diff / se.clamp_min(1e-300), torch.zeros_like(diff))
    out = {"closed_form": closed, "mc_estimate": est, "stderr": se, "z_score": z}
    return {k: v.reshape(()) for k, v in out.items()} if single else out


def jensen_gap(log_w: torch.Tensor, ks: Sequence[int]) -> dict:
    """Thm 1.3 (Jensen) on importance log-weights ``log_w`` of shape (M, *batch) (M draws per example).

    * ``elbo``: mean of all M log-weights, the ELBO estimate E[log w]  -- shape ``batch``
    * ``bounds``: (len(ks), *batch); row i estimates L_k = E[log (1/k) sum_j w_j] for k = ks[i] by splitting
      the *first* floor(M / k) * k draws into disjoint groups of k and averaging log-mean-exp over groups
    * ``gap``: bounds - elbo (>= 0 on average; exactly >= 0 when k divides M);  ``k``: list(ks)

    All k share the same draws, so along a divisor chain (k | k', both | M) the estimates are non-decreasing
    for *every* draw -- Jensen applied group by group -- not merely in expectation.
    """
    log_w = torch.as_tensor(log_w)
    M = log_w.shape[0]
    bounds = []
    for k in ks:
        k = int(k)
        if not 1 <= k <= M:
            raise ValueError(f"k = {k} needs 1 <= k <= {M} (the number of draws)")
        groups = log_w[: (M // k) * k].reshape(M // k, k, *log_w.shape[1:])
        bounds.append((torch.logsumexp(groups, dim=1) - math.log(k)).mean(0))
    elbo = log_w.mean(0)
    b = torch.stack(bounds)
    return {"k": [int(k) for k in ks], "elbo": elbo, "bounds": b, "gap": b - elbo}


@torch.no_grad()
def iwae_curve(model, x: torch.Tensor, ks: Sequence[int] = (1, 2, 5, 10, 50), generator: torch.Generator | None = None,
               y: torch.Tensor | None = None, n_draws: int | None = None, shared: bool = True,
               chunk: int = 100) -> dict:
    """Importance-weighted bounds L_k (Burda et al. 2016) for each k, averaged over the batch ``x``.

    Draws come from :func:`vae_core.objectives.iwae_log_weights`; ``n_draws`` (default max(ks)) per example.

    * ``shared=True``: one pool of ``n_draws`` log-weights per example serves every k (via
      :func:`jensen_gap`); cheap, and monotone in k along divisor chains for every draw when k | n_draws.
    * ``shared=False``: each k gets its own independent pool of ``n_draws`` draws (honest, independent
      estimates; monotone only in expectation).

    Returns ``k`` (list), ``bound`` (list of floats: batch-mean L_k, nats per image, <= log p(x)),
    ``bound_per_x`` ((len(ks), N) tensor), ``elbo`` (float: batch-mean of all log-weights = ELBO estimate
    with a Monte-Carlo KL), ``gap`` (list: bound - elbo), ``n_draws``, ``shared``.
    """
    ks = [int(k) for k in ks]
    if not ks or min(ks) < 1:
        raise ValueError("ks must be a non-empty list of integers >= 1")
    M = int(n_draws or max(ks))
    if max(ks) > M:
        raise ValueError("n_draws must be >= max(ks)")

    def pool() -> torch.Tensor:
        parts, done = [], 0
        while done < M:
            m = min(chunk, M - done)
            parts.append(iwae_log_weights(model, x, m, y, generator).double())
            done += m
        return torch.cat(parts, 0)

    if shared:
        res = jensen_gap(pool(), ks)
        per_x, elbo = res["bounds"], res["elbo"]
    else:
        rows, elbos = [], []
        for k in ks:
            res = jensen_gap(pool(), [k])
            rows.append(res["bounds"][0])
            elbos.append(res["elbo"])
        per_x, elbo = torch.stack(rows), torch.stack(elbos).mean(0)
    bound = per_x.mean(1)
    e = float(elbo.mean())
    return {"k": ks, "bound": bound.tolist(), "bound_per_x": per_x, "elbo": e, "gap": (bound - e).tolist(),
            "n_draws": M, "shared": shared}


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
