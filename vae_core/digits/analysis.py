"""Analysis behind the β/KL Lab: the rate–distortion plane, active units and posterior collapse
(seed §VAE变体 β-VAE, §后验坍缩问题: KL退火 and Free bits).

Vocabulary (Alemi et al. 2018, "Fixing a Broken ELBO"): for a data set,

* **rate** R = E_x KL(q(z|x) ‖ p(z)), nats per image — how much information the code carries;
* **distortion** D = E_x E_q[−log p(x|z)], nats per image — the reconstruction term;
* −ELBO = D + R, so lines of equal ELBO in the (R, D) plane have slope −1; the β-VAE minimises D + β·R,
  so a trained β model sits where the achievable R–D frontier has slope −β.

A latent dimension j is **active** (Burda et al. 2016) when its posterior mean moves with the input:
Cov_x(E_q[z_j]) > 0.01, the variance over the data set of μ_j(x) taken with ddof = 1 (the unbiased sample
variance; with 10,000 test digits the choice moves the figure by 0.01 %).  The one definition
(:func:`latent_variance`, :func:`active_mask`, :func:`active_units`) lives in :mod:`vae_core.latent`, shared by every
family, and is re-exported here.  A dimension whose KL_j ≈ 0 has
q(z_j|x) ≈ p(z_j) for every x: it is collapsed.

Everything here is plain numpy / torch (no Streamlit) and never switches a model between train and eval
mode, so it can read a model that a background thread is still training.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ..latent import AU_THRESHOLD, active_mask, active_units, latent_variance  # noqa: F401  (re-exported)
from ..objectives import KLSchedule, bernoulli_nll, gaussian_kl_per_dim
from ..objectives import free_bits_penalty as _free_bits_penalty

# ------------------------------------------------------------ lab defaults
LAB_BETAS = (0.0, 0.5, 1.0, 4.0, 16.0)
# encoder 784-256-z, decoder mirrors: smaller than the shipped 784-512-256-z so that five models train side by
# side at an interactive pace (python -m bench.lab_epoch measures seconds per model-epoch)
LAB_HIDDEN = (256,)
LAB_EPOCHS = 10
LAB_LOG_EVERY = 5  # steps between step reports: every model's first point after 5 steps
# posterior collapse preset: a 20-d latent under a heavy KL weight (3 epochs on 10k digits: ~0.15 nats of KL in all)
COLLAPSE_LATENT = 20
COLLAPSE_BETA = 16.0
COLLAPSE_FREE_BITS = 0.5  # λ, nats per dimension
COLLAPSE_WARMUP_FRACTION = 0.5  # linear warm-up over this share of all steps (one cycle for "cyclical")


# ------------------------------------------------------------ evaluating a model
@dataclass
class ModelStats:
    """Rate, distortion and per-dimension KL of one model on a set of images."""

    rate: float  # mean KL(q(z|x) || p(z)), nats / image
    distortion: float  # mean -log p(x|z) with one z ~ q(z|x), nats / image
    kl_per_dim: np.ndarray  # (d,) mean KL_j over the images; sums to ``rate``
    mu: np.ndarray  # (N, d) posterior means
    logvar: np.ndarray  # (N, d)
    threshold: float = AU_THRESHOLD

    @property
    def neg_elbo(self) -> float:
        return self.distortion + self.rate

    def beta_loss(self, beta: float) -> float:
        """The β-VAE objective D + β·R (nats / image) this model was trained to minimise."""
        return beta_elbo(self.distortion, self.rate, beta)

    @property
    def latent_var(self) -> np.ndarray:
        """Cov_x(E_q[z_j]) of each dimension (:func:`latent_variance`)."""
        return latent_variance(self.mu)

    @property
    def active(self) -> np.ndarray:
        return active_mask(self.mu, self.threshold)

    @property
    def n_active(self) -> int:
        return int(self.active.sum())


@torch.no_grad()
def model_stats(model, images: torch.Tensor, labels: torch.Tensor | None = None, batch_size: int = 1000,
                seed: int = 0, threshold: float = AU_THRESHOLD) -> ModelStats:
    """Evaluate ``model`` on ``images`` (N, 784) in [0, 1]: rate, distortion (one seeded reparameterised draw
    per image, as in the training objective), per-dimension KL and the posterior means.

    Does not call ``model.eval()`` (the lab reads models that are still training; they have no dropout or
    batch norm, so the mode does not matter)."""
    if images.shape[0] == 0:
        raise ValueError("no images to evaluate on")
    x_all = images.reshape(images.shape[0], -1).to(torch.float32)
    g = torch.Generator().manual_seed(seed)
    if model.conditional and labels is None:
        raise ValueError("a conditional model needs labels")
    rec_sum, kl_sum = 0.0, None
    mus, lvs = [], []
    for s in range(0, x_all.shape[0], batch_size):
        x = x_all[s:s + batch_size]
        y = model.condition(None if labels is None else labels[s:s + batch_size].long())
        mu, logvar = model.encode(x, y)
        z = mu + torch.randn(mu.shape, generator=g) * torch.exp(0.5 * logvar)
        logits = model.decode_logits(z, y)
        rec_sum += float(bernoulli_nll(logits, x).sum())
        kd = gaussian_kl_per_dim(mu, logvar).sum(0).double()
        kl_sum = kd if kl_sum is None else kl_sum + kd
        mus.append(mu)
        lvs.append(logvar)
    n = x_all.shape[0]
    kl_per_dim = (kl_sum / n).numpy()
    return ModelStats(float(kl_per_dim.sum()), rec_sum / n, kl_per_dim, torch.cat(mus).numpy(),
                      torch.cat(lvs).numpy(), threshold)


def kl_per_dim(model, images: torch.Tensor, labels: torch.Tensor | None = None) -> np.ndarray:
    """Mean KL(q(z_j|x) || N(0, 1)) of each latent dimension over ``images``, (d,) nats."""
    return model_stats(model, images, labels).kl_per_dim


# ------------------------------------------------------------ the rate–distortion plane
def beta_elbo(distortion, rate, beta: float):
    """The β-VAE loss D + β·R (= −L_β, seed §β-VAE), nats / image."""
    if np.ndim(distortion) or np.ndim(rate):
        return np.asarray(distortion, dtype=np.float64) + beta * np.asarray(rate, dtype=np.float64)
    return float(distortion) + beta * float(rate)


def rd_point(report) -> tuple[float, float]:
    """(rate, distortion) of one training report (batch averages since the previous report)."""
    return float(report.kl), float(report.recon)


def rd_trajectory(reports: Sequence, kind: str = "step") -> np.ndarray:
    """The path of a training run in the R–D plane: (n, 3) rows of (step, rate, distortion) from the reports of
    the given kind ("step", "epoch" or "all")."""
    rows = [(r.step, r.kl, r.recon) for r in reports if kind == "all" or r.kind == kind]
    return np.asarray(rows, dtype=np.float64).reshape(-1, 3)


def ema(values: Sequence[float], alpha: float = 0.3) -> np.ndarray:
    """Exponential moving average (alpha = weight of the newest value); smooths noisy batch estimates."""
    v = np.asarray(values, dtype=np.float64)
    out = np.empty_like(v)
    acc = None
    for i, x in enumerate(v):
        acc = x if acc is None else alpha * x + (1 - alpha) * acc
        out[i] = acc
    return out


def nice_step(span: float, n: int = 6) -> float:
    """A 1-2-5 step that cuts ``span`` into about ``n`` pieces."""
    if not (span > 0 and math.isfinite(span)):
        return 1.0
    raw = span / max(n, 1)
    mag = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if raw <= m * mag:
            return m * mag
    return 10 * mag


def equal_elbo_lines(rate_range: tuple[float, float], dist_range: tuple[float, float],
                     n: int = 6) -> list[tuple[float, np.ndarray]]:
    """Lines of equal ELBO, R + D = c (slope −1), crossing the box rate_range × dist_range.

    Returns [(c, (2, 2) array of the segment's end points (rate, distortion)), ...] at round values of c
    (−ELBO in nats), clipped to the box, in increasing c."""
    r0, r1 = map(float, rate_range)
    d0, d1 = map(float, dist_range)
    if not (r1 > r0 and d1 > d0):
        raise ValueError("ranges must be (low, high) with high > low")
    lo, hi = r0 + d0, r1 + d1
    step = nice_step(hi - lo, n)
    out = []
    c = math.ceil(lo / step) * step
    while c < hi:
        if c > lo:
            # enter through the left or bottom edge, leave through the top or right edge
            a = (r0, c - r0) if c - r0 <= d1 else (c - d1, d1)
            b = (c - d0, d0) if c - d0 <= r1 else (r1, c - r1)
            a = (max(a[0], r0), min(a[1], d1))
            b = (min(b[0], r1), max(b[1], d0))
            seg = np.array([a, b], dtype=np.float64)
            if np.linalg.norm(seg[1] - seg[0]) > 1e-9:
                out.append((round(c, 10), seg))
        c += step
    return out


def focus_range(series: Sequence[np.ndarray], tail: float = 0.7, pad: float = 0.08,
                floor: float | None = None) -> tuple[float, float]:
    """An axis range around the last ``tail`` share of each series (the start of training, e.g. the
    ~540-nat distortion of an untrained decoder, would squash the interesting end), padded by ``pad``."""
    vals = []
    for s in series:
        s = np.asarray(s, dtype=np.float64).ravel()
        s = s[np.isfinite(s)]
        if len(s):
            vals.append(s[int(len(s) * (1 - tail)) if len(s) > 3 else 0:])
    if not vals:
        return (0.0, 1.0)
    v = np.concatenate(vals)
    lo, hi = float(v.min()), float(v.max())
    span = max(hi - lo, 1e-6 + 0.05 * abs(hi))
    lo, hi = lo - pad * span, hi + pad * span
    if floor is not None:
        lo = max(lo, floor)
    return lo, hi


def is_monotone(values: Sequence[float], increasing: bool = True, strict: bool = True) -> bool:
    v = np.diff(np.asarray(values, dtype=np.float64))
    if not increasing:
        v = -v
    return bool(np.all(v > 0) if strict else np.all(v >= 0))


def sweep_trend(betas: Sequence[float], rates: Sequence[float], distortions: Sequence[float]) -> dict:
    """Do rate fall and distortion rise as β grows?  (Sorted by β; ties in β are not expected.)"""
    order = np.argsort(np.asarray(betas, dtype=np.float64))
    r = np.asarray(rates, dtype=np.float64)[order]
    d = np.asarray(distortions, dtype=np.float64)[order]
    return {"rate_falls": is_monotone(r, increasing=False), "distortion_rises": is_monotone(d, increasing=True)}


# ------------------------------------------------------------ the seed's two fixes
def free_bits_penalty(kl_per_dim: Sequence[float], lam: float) -> float:
    """Free bits (seed §后验坍缩问题 2): Σ_j max(λ, KL_j) — each dimension's first λ nats are free.  The
    training loss's own :func:`vae_core.objectives.free_bits_penalty` on a list of per-dimension KLs."""
    return float(_free_bits_penalty(torch.as_tensor(np.asarray(kl_per_dim, dtype=np.float64)), lam))


def kl_weight(kind: str, step: int, beta: float, warmup_steps: int) -> float:
    """The KL weight β_t at optimisation step t (seed §后验坍缩问题 1, KL退火): constant β; linear
    β·min(1, t/T); cyclical β·min(1, (t mod T)/(T/2))."""
    return KLSchedule(kind, beta, warmup_steps).weight(step)


def kl_weight_curve(kind: str, beta: float, warmup_steps: int, total_steps: int,
                    n: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """(steps, weights) of the schedule over a run, for plotting."""
    steps = np.unique(np.linspace(0, max(total_steps, 1), n).round().astype(int))
    sched = KLSchedule(kind, beta, warmup_steps)
    return steps, np.array([sched.weight(int(s)) for s in steps])


# ------------------------------------------------------------ posterior collapse
@dataclass
class CollapseDiagnosis:
    n_dims: int
    n_active: int
    active: np.ndarray  # (d,) bool
    kl_per_dim: np.ndarray  # (d,)
    rate: float
    verdict: str  # "collapsed" | "partial" | "healthy"
    message: str

    @property
    def inactive_dims(self) -> list[int]:
        return [int(j) for j in np.flatnonzero(~self.active)]


def diagnose_collapse(kl_dims: Sequence[float], mu: np.ndarray | None = None, threshold: float = AU_THRESHOLD,
                      kl_floor: float = 0.05, rate_floor: float = 0.5) -> CollapseDiagnosis:
    """How much of the latent code the model uses.

    A dimension is active when Cov_x(E_q[z_j]) > ``threshold`` (needs ``mu``, the (N, d) posterior means);
    without ``mu`` it falls back to KL_j > ``kl_floor`` nats.  Verdict: "collapsed" when no dimension is active or
    the total KL (rate) is below ``rate_floor`` nats — q(z|x) ≈ p(z), the decoder ignores z; "partial" when some
    dimensions are switched off; "healthy" when all are in use."""
    k = np.asarray(kl_dims, dtype=np.float64).ravel()
    d = len(k)
    if mu is not None:
        n_act, var = active_units(mu, threshold)
        act = var > threshold
    else:
        act = k > kl_floor
        n_act = int(act.sum())
    rate = float(k.sum())
    if n_act == 0 or rate < rate_floor:
        verdict = "collapsed"
        msg = (f"Posterior collapse: {n_act} of {d} dimensions active and only {rate:.2f} nats of KL in all — "
               "q(z|x) ≈ p(z) for every image, so the decoder cannot tell the digits apart.")
    elif n_act < d:
        verdict = "partial"
        msg = (f"Partial collapse: {n_act} of {d} dimensions carry information ({rate:.1f} nats of KL); "
               f"the other {d - n_act} have KL ≈ 0 and are ignored by the decoder.")
    else:
        verdict = "healthy"
        msg = f"All {d} dimensions are active ({rate:.1f} nats of KL in all)."
    return CollapseDiagnosis(d, n_act, act, k, rate, verdict, msg)
