"""Why a low "reconstruction error" is not a sign of a normal digit (the Anomaly Detection page).

The seed's anomaly score is the Bernoulli cross-entropy of x against its reconstruction λ = decode(μ(x)),
H(x, λ) = -Σ_i [x_i log λ_i + (1 - x_i) log(1 - λ_i)].  For every λ,

    H(x, λ) = Σ_i H_b(x_i) + Σ_i KL(Bern(x_i) ‖ Bern(λ_i)) >= Σ_i H_b(x_i),

so an image's score can never fall below its own pixels' entropy Σ_i H_b(x_i) (0 for black/white pixels,
up to ln 2 = 0.69 nats for a pixel at 0.5).  Digits with many grey (anti-aliased) pixels score high whatever
the model does, and an image with no grey pixels and little structure -- an all-black page -- can score lower
than almost every real digit (the "simple inputs look likely" failure of likelihood-based detectors,
Nalisnick et al. 2019, "Do deep generative models know what they don't know?").
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.stats import spearmanr

from ..digits.applications import anomaly_scores
from ..images import PIXELS
from ..likelihoods import pixel_entropy

__all__ = ["constant_image_scores", "entropy_floor_report"]


def constant_image_scores(model, normal_scores: dict[str, np.ndarray], values=(0.0, 1.0), seed: int = 0) -> dict:
    """Scores of constant images (all pixels = v) and where they fall among the normal digits' scores.

    ``normal_scores``: {"recon_bce": (N,), "neg_elbo": (N,)} of real test digits.  Returns {v: {"recon_bce",
    "neg_elbo", "pct_recon_bce", "pct_neg_elbo"}} with pct = % of real digits scoring *higher* (more anomalous)
    than the constant image.  A CVAE is scored with every class tried (as the Anomaly page does)."""
    x = torch.tensor([[float(v)] * PIXELS for v in values], dtype=torch.float32)
    s = anomaly_scores(model, x, generator=torch.Generator().manual_seed(seed))
    out = {}
    for i, v in enumerate(values):
        row = {}
        for k in ("recon_bce", "neg_elbo"):
            val = float(s[k][i])
            row[k] = val
            row[f"pct_{k}"] = 100.0 * float(np.mean(np.asarray(normal_scores[k]) > val))
        out[float(v)] = row
    return out


def entropy_floor_report(model, x, scores: np.ndarray | None = None, seed: int = 0) -> dict:
    """For images ``x`` (N, 784): ``floor`` = Σ_i H_b(x_i) (nats), ``recon_bce`` (the score), ``excess`` =
    recon_bce - floor (>= 0; the part the model could still improve), the fraction ``grey`` of pixels strictly
    between 0 and 1, and the Spearman rank correlations of the score with the floor (``rho_floor``) and with
    the number of grey pixels (``rho_grey``)."""
    x = torch.as_tensor(x, dtype=torch.float32).reshape(-1, PIXELS)
    if scores is None:
        scores = anomaly_scores(model, x, generator=torch.Generator().manual_seed(seed))["recon_bce"].numpy()
    scores = np.asarray(scores, dtype=np.float64)
    floor = pixel_entropy(x).double().numpy()
    grey = ((x > 0) & (x < 1)).float().mean(1).numpy()
    return {"floor": floor, "recon_bce": scores, "excess": scores - floor, "grey": grey,
            "rho_floor": float(spearmanr(scores, floor).statistic),
            "rho_grey": float(spearmanr(scores, grey).statistic)}
