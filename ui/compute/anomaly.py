"""Anomaly Detection: the threshold choices, the rates and ROC curves at a threshold, and the most anomalous
items of a pool, from the scores of every input set (vae_core's anomaly scores, nats per image)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vae_core.digits.applications import roc_auc, roc_curve, threshold_rates, top_k

NORMAL = "MNIST test digits"
DRAWING = "your drawing"


def threshold_options(scores: dict[str, np.ndarray], extra: float | None = None) -> tuple[list[float], float]:
    """Log-spaced thresholds (0.1-nat steps) over every score (and ``extra``), and the default: the option
    nearest the 99th percentile of the normal digits (1 % false alarms)."""
    allv = np.concatenate(list(scores.values()) + ([np.array([extra])] if extra is not None else []))
    opts = np.unique(np.round(np.geomspace(max(allv.min() * 0.95, 1e-3), allv.max() * 1.05, 241), 1))
    default = float(opts[np.abs(opts - np.percentile(scores[NORMAL], 99)).argmin()])
    return [float(o) for o in opts], default


@dataclass
class Separation:
    threshold: float
    false_positive_rate: float  # normal digits with score ≥ τ
    detection_rate: dict[str, float]  # per odd set: items with score ≥ τ
    auc: dict[str, float]  # per odd set: ROC AUC against the normal digits
    roc: dict[str, tuple[np.ndarray, np.ndarray]]  # per odd set: (false-positive rates, detection rates)


def separation(scores: dict[str, np.ndarray], threshold: float) -> Separation:
    """How well each odd set separates from the normal digits: rates at ``threshold``, ROC curve and AUC."""
    odd = [k for k in scores if k != NORMAL]
    rates = threshold_rates(scores[NORMAL], {k: scores[k] for k in odd}, threshold)
    roc = {}
    for k in odd:
        fpr, tpr, _ = roc_curve(scores[NORMAL], scores[k])
        roc[k] = (fpr, tpr)
    return Separation(float(threshold), float(rates["false_positive_rate"]),
                      {k: float(v) for k, v in rates["detection_rate"].items()},
                      {k: float(roc_auc(scores[NORMAL], scores[k])) for k in odd}, roc)


def most_anomalous(scores: dict[str, np.ndarray], pool: str, k: int,
                   drawing: float | None = None) -> list[tuple[str, int, float]]:
    """The k highest-scoring items, (set, index in the set, score), of one set or of "all sets" (then with the
    drawing's score, when there is one), highest first."""
    items = [(name, i, float(s)) for name in (scores if pool == "all sets" else [pool])
             for i, s in enumerate(scores[name])]
    if drawing is not None and pool == "all sets":
        items.append((DRAWING, 0, float(drawing)))
    order = top_k(np.array([it[2] for it in items]), k)
    return [items[j] for j in order]
