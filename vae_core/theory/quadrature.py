"""Exact log p(x) of a VAE with a 1-D or 2-D latent space, by quadrature over z.

    log p(x) = log ∫ p(x|z) p(z) dz  ≈  log Σ_cells exp(log p(x|z_c) + log p(z_c)) + log(cell volume)

on a grid of cell midpoints, with a log-sum-exp: no encoder, no importance sampling, no random numbers, so it
is an independent reference for everything the app estimates with q(z|x) (the ELBO, the IWAE bounds, the
β-objective).  The grid is found without the encoder: a coarse grid over [-R, R]^d locates every region whose
log-joint lies within ``window`` nats of the largest value; the box around those regions is re-gridded until
it stops shrinking, and the answer is computed at two resolutions whose difference is reported as ``error``.
Decoders are smooth in z and the midpoint rule on a peak a few cells wide is accurate to far below 1e-3 nats
(the tests check it against a closed-form Gaussian and against IWAE with k = 5,000).

What the number *is* depends on the pixels and the likelihood (:mod:`vae_core.likelihoods`):
``kind`` is "log-probability" (Bernoulli, binary pixels), "log-density" (continuous Bernoulli) or
"log-integral of exp(-cross-entropy)" (Bernoulli cross-entropy on grey pixels: the quantity a BCE-trained
VAE's ELBO and IWAE bounds are bounds on, but not the log-likelihood of any distribution over grey images).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ..likelihoods import is_binary, neg_log_likelihood
from ..objectives import gaussian_kl

__all__ = ["Quadrature", "beta_bound_check", "log_joint", "log_marginal_quadrature", "quantity_kind"]

LOG2PI = math.log(2 * math.pi)


@dataclass(frozen=True)
class Quadrature:
    """One image's exact log ∫ p(x|z) p(z) dz (nats) and how it was computed."""

    log_px: float
    error: float  # |estimate at resolution n - estimate at 2n|, nats
    box: tuple[tuple[float, float], ...]  # the final integration box, one (lo, hi) per latent dimension
    n_evals: int  # decoder evaluations used for this image (the shared coarse grid included)
    kind: str  # what log_px is: see quantity_kind


def quantity_kind(x: torch.Tensor, likelihood: str) -> str:
    if likelihood == "continuous_bernoulli":
        return "log-density"
    return "log-probability" if is_binary(x) else "log-integral of exp(-cross-entropy)"


def _grid(box, n: int) -> tuple[torch.Tensor, float]:
    axes = [lo + (torch.arange(n, dtype=torch.float64) + 0.5) * (hi - lo) / n for lo, hi in box]
    mesh = torch.meshgrid(*axes, indexing="ij")
    z = torch.stack([m.reshape(-1) for m in mesh], 1)
    vol = math.prod((hi - lo) / n for lo, hi in box)
    return z, vol


@torch.no_grad()
def _logits(model, z: torch.Tensor, y, chunk: int = 8192) -> torch.Tensor:
    out = []
    for s in range(0, z.shape[0], chunk):
        zz = z[s:s + chunk].to(torch.float32)
        yy = None if y is None else torch.full((zz.shape[0],), int(y), dtype=torch.long)
        out.append(model.decode_logits(zz, yy) if model.conditional else model.decode_logits(zz))
    return torch.cat(out)


def _log_joint_from_logits(logits: torch.Tensor, z: torch.Tensor, x: torch.Tensor, likelihood: str,
                           chunk: int = 8192) -> torch.Tensor:
    parts = []
    for s in range(0, z.shape[0], chunk):
        lg = logits[s:s + chunk]
        ll = -neg_log_likelihood(lg, x.expand(lg.shape[0], -1), likelihood).double()
        parts.append(ll)
    ll = torch.cat(parts)
    return ll - 0.5 * (LOG2PI * z.shape[1] + z.pow(2).sum(1))


@torch.no_grad()
def log_joint(model, x: torch.Tensor, z: torch.Tensor, y=None, likelihood: str = "bernoulli") -> torch.Tensor:
    """log p(x|z) + log N(z; 0, I) for one image ``x`` (784,) at the points ``z`` (M, d), float64 (M,)."""
    z = torch.as_tensor(z, dtype=torch.float64)
    return _log_joint_from_logits(_logits(model, z, y), z, x.reshape(1, -1).float(), likelihood)


def _box_of(z: torch.Tensor, lj: torch.Tensor, window: float, pad: float) -> tuple[tuple[float, float], ...]:
    keep = lj >= lj.max() - window
    lo = z[keep].min(0).values - pad
    hi = z[keep].max(0).values + pad
    return tuple((float(a), float(b)) for a, b in zip(lo, hi, strict=True))


@torch.no_grad()
def log_marginal_quadrature(model, x, y=None, likelihood: str = "bernoulli", radius: float = 6.0,
                            coarse_n: int | None = None, fine_n: int = 32, window: float = 30.0,
                            max_levels: int = 6, tol: float = 1e-2) -> list[Quadrature]:
    """Exact log ∫ p(x|z) p(z) dz for each image in ``x`` ((N, 784) or (784,)) of a model with d = 1 or 2.

    ``y``: one class label for a CVAE (every image is scored under it), else None.  Raises ValueError for
    d > 2 (a grid would need too many decoder calls) or when the log-joint on the edge of [-radius, radius]^d
    comes within ``window`` nats of its maximum (the mass would not be inside the grid).
    """
    d = int(model.latent_dim)
    if d not in (1, 2):
        raise ValueError(f"quadrature over z needs a 1-D or 2-D latent space; this model has d = {d}")
    xs = torch.as_tensor(x, dtype=torch.float32).reshape(-1, model.input_dim)
    coarse_n = coarse_n or (97 if d == 2 else 1201)
    model.eval()
    grids = {}

    def coarse(r):  # the coarse grid over [-r, r]^d and its decoder outputs, shared by every image
        if r not in grids:
            z, _ = _grid(tuple((-r, r) for _ in range(d)), coarse_n)
            grids[r] = (z, _logits(model, z, y))
        return grids[r]

    out = []
    for xi in xs:
        xr = xi.reshape(1, -1)
        for r in (radius, 1.5 * radius, 2.25 * radius):
            zc, logits_c = coarse(r)
            step0 = 2 * r / coarse_n
            lj = _log_joint_from_logits(logits_c, zc, xr, likelihood)
            edge = (zc.abs() >= r - step0).any(1)
            if float(lj[edge].max()) < float(lj.max()) - window:
                break
        else:
            raise ValueError("the joint density is not negligible at the edge of the grid; increase radius")
        n_evals = zc.shape[0]
        box = _box_of(zc, lj, window, 2 * step0)
        for _ in range(max_levels):
            z, _vol = _grid(box, fine_n)
            lj = _log_joint_from_logits(_logits(model, z, y), z, xr, likelihood)
            n_evals += z.shape[0]
            steps = [(hi - lo) / fine_n for lo, hi in box]
            new = _box_of(z, lj, window, 2 * max(steps))
            shrink = math.prod((b - a) / (hi - lo) for (a, b), (lo, hi) in zip(new, box, strict=True))
            box = new
            if shrink > 0.7:
                break
        ests = []
        n = fine_n
        for _ in range(4):
            vals = []
            for m in (n, 2 * n):
                z, vol = _grid(box, m)
                lj = _log_joint_from_logits(_logits(model, z, y), z, xr, likelihood)
                n_evals += z.shape[0]
                vals.append(float(torch.logsumexp(lj, 0)) + math.log(vol))
            ests = vals
            if abs(vals[1] - vals[0]) < tol:
                break
            n *= 2
        out.append(Quadrature(ests[1], abs(ests[1] - ests[0]), box, n_evals, quantity_kind(xr, likelihood)))
    return out


@torch.no_grad()
def beta_bound_check(model, x, beta: float, y=None, likelihood: str = "bernoulli", n_samples: int = 2000,
                     seed: int = 0, exact: list[Quadrature] | None = None) -> dict:
    """Is E_q[log p(x|z)] - β·KL(q‖p) a lower bound on log p(x)?  Per image, against the quadrature.

    Returns float64 tensors (N,): ``recon`` (E_q[log p(x|z)], Monte Carlo with ``n_samples`` draws) and its
    standard error ``recon_se``, ``kl`` (closed form), ``beta_objective`` = recon - β·kl, ``elbo`` = recon - kl,
    ``log_px`` (exact, :func:`log_marginal_quadrature`), ``excess`` = beta_objective - log_px (> 0 means the
    β-objective is *not* a bound) and ``posterior_kl`` = log_px - elbo = KL(q(z|x) ‖ p(z|x)) >= 0 (Thm 1.2).

    Since E_q[log p(x|z)] - KL <= log p(x) (Thm 1.1) and KL >= 0, the β-objective is a bound for β >= 1; for
    β < 1 it exceeds log p(x) whenever (1 - β)·KL > KL(q ‖ p(z|x)).
    """
    xs = torch.as_tensor(x, dtype=torch.float32).reshape(-1, model.input_dim)
    exact = exact if exact is not None else log_marginal_quadrature(model, xs, y, likelihood)
    g = torch.Generator().manual_seed(int(seed))
    yy = None if y is None else torch.full((xs.shape[0],), int(y), dtype=torch.long)
    mu, logvar = model.encode(xs, yy) if model.conditional else model.encode(xs)
    kl = gaussian_kl(mu, logvar).double()
    sums = torch.zeros(xs.shape[0], dtype=torch.float64)
    sq = torch.zeros_like(sums)
    done = 0
    while done < n_samples:
        m = min(250, n_samples - done)
        eps = torch.randn(m, *mu.shape, generator=g)
        z = (mu + eps * torch.exp(0.5 * logvar)).reshape(-1, mu.shape[1])
        lg = model.decode_logits(z, None if yy is None else yy.repeat(m)) if model.conditional else \
            model.decode_logits(z)
        ll = -neg_log_likelihood(lg, xs.repeat(m, 1), likelihood).double().reshape(m, -1)
        sums += ll.sum(0)
        sq += ll.pow(2).sum(0)
        done += m
    recon = sums / n_samples
    var = (sq / n_samples - recon.pow(2)).clamp_min(0) * n_samples / max(n_samples - 1, 1)
    log_px = torch.tensor([q.log_px for q in exact], dtype=torch.float64)
    obj = recon - float(beta) * kl
    return {"recon": recon, "recon_se": (var / n_samples).sqrt(), "kl": kl, "beta_objective": obj,
            "elbo": recon - kl, "log_px": log_px, "excess": obj - log_px, "posterior_kl": log_px - (recon - kl),
            "beta": float(beta)}
