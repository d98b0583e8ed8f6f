"""Baselines: popularity (click counts among training users) and EASE (Steck 2019).

EASE: B = argmin ||X - XB||^2 + lambda ||B||^2 s.t. diag(B) = 0; closed form P = (X^T X + lambda I)^-1,
B_ij = -P_ij / P_jj (i != j), B_jj = 0.  Scores = X_fold_in B.
"""

from __future__ import annotations

import numpy as np

from .metrics import ndcg_at_k


def popularity_scores(train: np.ndarray, fold_in: np.ndarray) -> np.ndarray:
    pop = np.asarray(train, np.float64).sum(0)
    return np.tile(pop, (len(fold_in), 1))


def ease_weights(train: np.ndarray, lam: float) -> np.ndarray:
    x = np.asarray(train, np.float64)
    g = x.T @ x
    g[np.diag_indices_from(g)] += lam
    p = np.linalg.inv(g)
    b = -p / np.diag(p)[None, :]
    b[np.diag_indices_from(b)] = 0.0
    return b


def tune_ease(train, vad_in, vad_out, lambdas=(10, 30, 100, 200, 300, 500, 1000, 2000, 5000)):
    """(best lambda, {lambda: validation NDCG@100})."""
    curve = {}
    for lam in lambdas:
        b = ease_weights(train, lam)
        curve[float(lam)] = float(ndcg_at_k(np.asarray(vad_in, np.float64) @ b, vad_in, vad_out, 100).mean())
    best = max(curve, key=curve.get)
    return best, curve
