"""The ELBO and everything derived from it (seed §变分推断, §损失函数, §后验坍缩, §β-VAE).

Conventions: every function returns *per-example* values in nats unless it says
otherwise; ``x`` are pixel intensities in [0, 1].  ``likelihood`` picks the decoder's
p(x|z) (:mod:`vae_core.likelihoods`): ``"bernoulli"`` (default; the seed's
``F.binary_cross_entropy(..., reduction='sum')`` — a true -log p(x|z) only for binary
pixels, a cross-entropy on grey ones) or ``"continuous_bernoulli"`` (a density on [0, 1]).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .likelihoods import neg_log_likelihood

LOG2PI = math.log(2 * math.pi)


# ----------------------------------------------------------------- the terms
def gaussian_kl_per_dim(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Closed-form KL(N(mu, sigma^2) || N(0, 1)) for each latent dimension, (N, d) nats.

    = 1/2 (mu^2 + sigma^2 - log sigma^2 - 1)      (seed §KL散度闭式解)
    """
    return 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1.0)


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Total closed-form KL(q(z|x) || p(z)) per example, (N,) nats."""
    return gaussian_kl_per_dim(mu, logvar).sum(dim=1)


def bernoulli_nll(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """-log p(x|z) per example (BCE summed over pixels), (N,) nats, from decoder logits."""
    return F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(dim=1)


def gaussian_log_density(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """log N(z; mu, diag(exp(logvar))) summed over the last dimension."""
    return -0.5 * (LOG2PI + logvar + (z - mu).pow(2) / logvar.exp()).sum(dim=-1)


def standard_normal_log_density(z: torch.Tensor) -> torch.Tensor:
    return -0.5 * (LOG2PI + z.pow(2)).sum(dim=-1)


# ----------------------------------------------------------- KL weighting
def free_bits_penalty(kl_per_dim: torch.Tensor, free_bits: float) -> torch.Tensor:
    """Free bits (Kingma et al. 2016), the one definition: sum_j max(lambda, KL_j) for the (d,)
    batch-average KL of each dimension (plain sum_j KL_j when lambda = 0).

    A dimension below lambda nats receives no gradient pushing it further towards the prior
    (torch.clamp's gradient is 0 below the floor).  Returns a scalar tensor."""
    if free_bits <= 0:
        return kl_per_dim.sum()
    return torch.clamp(kl_per_dim, min=free_bits).sum()


def free_bits_kl(kl_per_dim: torch.Tensor, free_bits: float) -> torch.Tensor:
    """:func:`free_bits_penalty` of per-example KLs ``kl_per_dim`` (N, d): the floor applies to the
    batch average of each dimension.  Returns the per-example-average penalty (scalar)."""
    return free_bits_penalty(kl_per_dim.mean(dim=0), free_bits)


def linear_warmup(step: int, warmup_steps: int, beta: float = 1.0) -> float:
    """KL annealing: weight grows linearly from 0 to beta over ``warmup_steps`` steps."""
    if warmup_steps <= 0:
        return float(beta)
    return float(beta) * min(1.0, step / warmup_steps)


def cyclical(step: int, cycle_steps: int, beta: float = 1.0, ramp_fraction: float = 0.5) -> float:
    """Cyclical annealing (Fu et al. 2019): within each cycle ramp 0->beta over
    ``ramp_fraction`` of it, then hold beta."""
    if cycle_steps <= 0:
        return float(beta)
    pos = (step % cycle_steps) / cycle_steps
    return float(beta) * min(1.0, pos / max(ramp_fraction, 1e-12))


@dataclass(frozen=True)
class KLSchedule:
    """How the KL weight evolves with the optimisation step."""

    kind: str = "constant"  # "constant" | "linear" | "cyclical"
    beta: float = 1.0
    warmup_steps: int = 0  # linear: steps to reach beta; cyclical: steps per cycle
    ramp_fraction: float = 0.5

    def __post_init__(self) -> None:
        if self.kind not in ("constant", "linear", "cyclical"):
            raise ValueError(f"unknown KL schedule {self.kind!r}")
        if not math.isfinite(self.beta) or self.beta < 0:
            raise ValueError("beta must be a finite number >= 0")

    def weight(self, step: int) -> float:
        if self.kind == "linear":
            return linear_warmup(step, self.warmup_steps, self.beta)
        if self.kind == "cyclical":
            return cyclical(step, self.warmup_steps, self.beta, self.ramp_fraction)
        return float(self.beta)

    def to_dict(self) -> dict:
        return {"kind": self.kind, "beta": self.beta, "warmup_steps": self.warmup_steps,
                "ramp_fraction": self.ramp_fraction}


# --------------------------------------------------------------- the loss
@dataclass
class LossTerms:
    loss: torch.Tensor  # scalar that is minimised (per-example average)
    recon: torch.Tensor  # scalar: average -log p(x|z) (nats / image)
    kl: torch.Tensor  # scalar: average KL(q||p) (nats / image), without free bits
    kl_per_dim: torch.Tensor  # (d,) batch-average KL per dimension


def vae_loss(logits, x, mu, logvar, beta: float = 1.0, free_bits: float = 0.0,
             likelihood: str = "bernoulli") -> LossTerms:
    """Negative β-ELBO averaged over the batch, with optional free bits.

    loss = E[-log p(x|z)] + beta * KL   (beta = 1 is the plain -ELBO)
    """
    n = x.shape[0]
    if likelihood == "bernoulli":
        recon = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / n
    else:
        recon = neg_log_likelihood(logits, x, likelihood).sum() / n
    kl_per_dim = gaussian_kl_per_dim(mu, logvar).mean(dim=0)
    kl = kl_per_dim.sum()
    penalty = free_bits_penalty(kl_per_dim, free_bits) if free_bits > 0 else kl
    return LossTerms(recon + beta * penalty, recon, kl, kl_per_dim)


# ------------------------------------------------------------ evaluation
@torch.no_grad()
def elbo_terms(model, x: torch.Tensor, y: torch.Tensor | None = None, n_samples: int = 1,
               generator: torch.Generator | None = None, likelihood: str = "bernoulli") -> dict[str, torch.Tensor]:
    """Per-example ELBO pieces with ``n_samples`` reparameterised draws.

    Returns ``recon`` (-E_q log p(x|z)), ``kl`` (closed form), ``kl_per_dim``,
    ``neg_elbo`` = recon + kl, all in nats per image.
    """
    y = model.condition(y)
    mu, logvar = model.encode(x, y)
    recon = torch.zeros(x.shape[0])
    for _ in range(n_samples):
        z = model.reparameterize(mu, logvar, generator)
        logits = model.decode_logits(z, y)
        recon += neg_log_likelihood(logits, x, likelihood)
    recon /= n_samples
    kl_dims = gaussian_kl_per_dim(mu, logvar)
    kl = kl_dims.sum(1)
    return {"recon": recon, "kl": kl, "kl_per_dim": kl_dims, "neg_elbo": recon + kl, "mu": mu, "logvar": logvar}


@torch.no_grad()
def iwae_log_weights(model, x: torch.Tensor, k: int, y: torch.Tensor | None = None,
                     generator: torch.Generator | None = None, likelihood: str = "bernoulli",
                     mu_logvar: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
    """log w_i = log p(x, z_i) - log q(z_i|x) for k draws z_i ~ q(z|x); shape (k, N).

    THE importance weights of every IWAE figure (:func:`iwae_bound`, the test evaluation's chunked
    :func:`vae_core.digits.evaluate.iwae_chunked`, the theory pages' :mod:`vae_core.theory.bounds`);
    ``mu_logvar`` reuses an encoding of ``x`` already made."""
    y = model.condition(y)
    mu, logvar = mu_logvar if mu_logvar is not None else model.encode(x, y)
    n, d = mu.shape
    eps = torch.randn(k, n, d, generator=generator)
    z = mu + eps * torch.exp(0.5 * logvar)  # (k, N, d)
    flat = z.reshape(k * n, d)
    logits = model.decode_logits(flat, None if y is None else model.check_labels(y, n).repeat(k))
    log_px_z = -neg_log_likelihood(logits, x.repeat(k, 1), likelihood).reshape(k, n)
    log_pz = standard_normal_log_density(z)
    log_qz = gaussian_log_density(z, mu, logvar)
    return log_px_z + log_pz - log_qz


@torch.no_grad()
def iwae_bound(model, x: torch.Tensor, k: int, y: torch.Tensor | None = None,
               generator: torch.Generator | None = None, chunk: int = 0,
               likelihood: str = "bernoulli") -> torch.Tensor:
    """Importance-weighted bound L_k = E[log 1/k sum_i w_i] <= log p(x) (Burda et al. 2016).

    k = 1 is a one-sample ELBO; L_k rises with k towards log p(x).  Returns (N,)
    nats per image (a *log-likelihood*, so negative).  ``chunk`` limits memory by
    processing that many importance samples at a time (0 = all at once).
    """
    if k < 1:
        raise ValueError("k must be >= 1")
    chunk = chunk or k
    parts = []
    done = 0
    while done < k:
        m = min(chunk, k - done)
        parts.append(iwae_log_weights(model, x, m, y, generator, likelihood))
        done += m
    lw = torch.cat(parts, 0)
    return torch.logsumexp(lw, dim=0) - math.log(k)


def mc_kl(mu: torch.Tensor, logvar: torch.Tensor, n_samples: int,
          generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Monte-Carlo estimate of KL(q||p) = E_q[log q(z) - log p(z)] and its standard error.

    Returns (estimate, standard_error), each (N,).
    """
    eps = torch.randn(n_samples, *mu.shape, generator=generator)
    z = mu + eps * torch.exp(0.5 * logvar)
    f = gaussian_log_density(z, mu, logvar) - standard_normal_log_density(z)  # (S, N)
    return f.mean(0), f.std(0, unbiased=True) / math.sqrt(n_samples)


@torch.no_grad()
def evaluate(model, x: torch.Tensor, y: torch.Tensor | None = None, batch_size: int = 2000,
             iwae_k: int = 0, seed: int = 0, likelihood: str = "bernoulli") -> dict[str, float]:
    """Dataset averages in nats per image: neg_elbo, recon, kl (and iwae_nll with iwae_k > 0).

    For long or memory-bounded evaluations with progress see :func:`vae_core.digits.evaluate.evaluate_likelihood`.
    """
    model.eval()
    g = torch.Generator().manual_seed(seed)
    tot = {"neg_elbo": 0.0, "recon": 0.0, "kl": 0.0}
    iw = 0.0
    n = x.shape[0]
    for s in range(0, n, batch_size):
        xb = x[s:s + batch_size]
        yb = None if y is None else y[s:s + batch_size]
        t = elbo_terms(model, xb, yb, generator=g, likelihood=likelihood)
        for key in tot:
            tot[key] += float(t[key].sum())
        if iwae_k:
            iw += float(iwae_bound(model, xb, iwae_k, yb, generator=g, chunk=min(iwae_k, 100),
                                   likelihood=likelihood).sum())
    out = {k: v / n for k, v in tot.items()}
    if iwae_k:
        out["iwae_nll"] = -iw / n
        out["iwae_k"] = iwae_k
    return out

