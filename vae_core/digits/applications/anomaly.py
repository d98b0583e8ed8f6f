"""Anomaly / out-of-distribution scores and how to read them (seed §3).

Scores of a trained VAE per image (-ELBO, KL, reconstruction error), the ROC of the rule
"anomalous if score >= threshold" (numpy, ties counted 1/2), and the summaries the Anomaly
Detection page shows: rates at a threshold, the most anomalous items, common histogram bins.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from ...images import as_image_rows
from ...objectives import gaussian_kl
from ._checks import _finite_1d

__all__ = ["anomaly_scores", "roc_auc", "roc_curve", "score_bins", "score_histograms", "threshold_rates", "top_k"]


@torch.no_grad()
def _scores_given_labels(model, x, y, generator):
    mu, logvar = model.encode(x, y)
    kl = gaussian_kl(mu, logvar)
    z = model.reparameterize(mu, logvar, generator)
    nll = F.binary_cross_entropy_with_logits(model.decode_logits(z, y), x, reduction="none").sum(1)
    mean_logits = model.decode_logits(mu, y)
    recon_bce = F.binary_cross_entropy_with_logits(mean_logits, x, reduction="none").sum(1)
    recon_mse = (torch.sigmoid(mean_logits) - x).pow(2).mean(1)
    return {"neg_elbo": nll + kl, "kl": kl, "recon_bce": recon_bce, "recon_mse": recon_mse}


@torch.no_grad()
def anomaly_scores(model, x, y=None, batch_size: int = 1000,
                   generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
    """Per-image anomaly scores (higher = more anomalous), each an (N,) float tensor.

    * ``neg_elbo``  -- one-sample -ELBO = -E_q log p(x|z) + KL, nats / image (an upper bound on -log p(x));
    * ``kl``        -- KL(q(z|x) || p(z)), nats;
    * ``recon_bce`` -- BCE of the *mean* reconstruction decode(mu) against x, **summed** over the
      784 pixels (nats / image; deterministic);
    * ``recon_mse`` -- squared error of decode(mu), **averaged** over the 784 pixels.

    For a CVAE without ``y`` (an OOD image has no label) every class is tried: ``neg_elbo`` is the
    bound on -log p(x) under a uniform label prior, -log(1/K sum_c exp(ELBO_c)), and the other scores
    come from the class with the best ELBO, returned as ``label``.
    """
    model.eval()
    x = as_image_rows(x).float()
    n = x.shape[0]
    keys = ("neg_elbo", "kl", "recon_bce", "recon_mse")
    out: dict[str, list] = {k: [] for k in keys}
    marginal = model.conditional and y is None
    if marginal:
        out["label"] = []
    else:
        y = model.check_labels(y, n)
    for s in range(0, n, batch_size):
        xb = x[s:s + batch_size]
        if not marginal:
            t = _scores_given_labels(model, xb, None if y is None else y[s:s + batch_size], generator)
            for k in keys:
                out[k].append(t[k])
            continue
        per = [_scores_given_labels(model, xb, torch.full((xb.shape[0],), c, dtype=torch.long), generator)
               for c in range(model.num_classes)]
        ne = torch.stack([p["neg_elbo"] for p in per])  # (K, B)
        best = ne.argmin(0)
        cols = torch.arange(xb.shape[0])
        out["neg_elbo"].append(-(torch.logsumexp(-ne, 0) - math.log(model.num_classes)))
        for k in ("kl", "recon_bce", "recon_mse"):
            out[k].append(torch.stack([p[k] for p in per])[best, cols])
        out["label"].append(best)
    return {k: torch.cat(v) if v else torch.empty(0) for k, v in out.items()}


def roc_curve(scores_normal, scores_anomalous) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ROC of the rule "anomalous if score >= threshold" (anomalies are the positive class).

    Returns ``(fpr, tpr, thresholds)``: one point per distinct score, thresholds decreasing, with a
    first point (0, 0) at threshold +inf and a last point (1, 1).  Tied scores form one point, so the
    trapezoidal area counts a normal/anomalous tie as 1/2 (the Mann-Whitney convention).
    """
    neg = _finite_1d(scores_normal, "scores_normal")
    pos = _finite_1d(scores_anomalous, "scores_anomalous")
    scores = np.concatenate([pos, neg])
    is_pos = np.concatenate([np.ones(pos.size), np.zeros(neg.size)])
    order = np.argsort(-scores, kind="mergesort")
    scores, is_pos = scores[order], is_pos[order]
    last = np.r_[np.flatnonzero(np.diff(scores) != 0), scores.size - 1]  # end of each tie group
    tps = np.cumsum(is_pos)[last]
    fps = (last + 1) - tps
    tpr = np.r_[0.0, tps / pos.size]
    fpr = np.r_[0.0, fps / neg.size]
    thresholds = np.r_[np.inf, scores[last]]
    return fpr, tpr, thresholds


def roc_auc(scores_normal, scores_anomalous) -> float:
    """Area under :func:`roc_curve` = P(score_anomalous > score_normal) + 1/2 P(tie)."""
    fpr, tpr, _ = roc_curve(scores_normal, scores_anomalous)
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2.0))


def threshold_rates(scores_normal, scores_sets: dict, threshold: float) -> dict:
    """Rates of the rule "anomalous if score >= threshold" (the rule of :func:`roc_curve`).

    Returns ``{"false_positive_rate": fraction of normal scores flagged, "detection_rate": {name:
    fraction of that set flagged}}``, fractions in [0, 1].
    """
    neg = _finite_1d(scores_normal, "scores_normal")
    out = {"false_positive_rate": float(np.mean(neg >= threshold)), "detection_rate": {}}
    for name, s in scores_sets.items():
        a = _finite_1d(s, name)
        out["detection_rate"][name] = float(np.mean(a >= threshold))
    return out


def top_k(scores, k: int) -> np.ndarray:
    """Indices of the ``k`` highest scores, highest first (ties: lower index first)."""
    a = _finite_1d(scores, "scores")
    k = max(0, min(int(k), a.size))
    return np.argsort(-a, kind="mergesort")[:k]


def score_bins(scores_sets: dict, n_bins: int = 60, log: bool = True) -> np.ndarray:
    """Common histogram bin edges (n_bins + 1,) spanning every set's scores.

    ``log=True`` spaces them geometrically (scores must then be > 0): -ELBO of noise or inverted
    digits is 10-30x that of a normal digit, so linear bins would squash the normal digits into one bar.
    """
    allv = np.concatenate([_finite_1d(s, name) for name, s in scores_sets.items()])
    lo, hi = float(allv.min()), float(allv.max())
    if log:
        if lo <= 0:
            raise ValueError("log-spaced bins need positive scores")
        if hi <= lo:
            lo, hi = lo / 1.01, hi * 1.01
        return np.geomspace(lo, hi * (1 + 1e-9), n_bins + 1)
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    return np.linspace(lo, hi + 1e-9 * max(1.0, abs(hi)), n_bins + 1)


def score_histograms(scores_sets: dict, edges) -> dict[str, np.ndarray]:
    """Fraction of each set's scores per bin (each sums to 1 over the bins) for overlaid histograms of
    sets of different sizes."""
    edges = np.asarray(edges, dtype=np.float64)
    out = {}
    for name, s in scores_sets.items():
        a = _finite_1d(s, name)
        counts, _ = np.histogram(a, bins=edges)
        out[name] = counts / a.size
    return out
