"""Ranking metrics, the paper's definitions (Liang et al. 2018, sec. 4.2), numpy.

Recall@K = |top-K ∩ held-out| / min(K, |held-out|);
NDCG@K = DCG@K / IDCG@K with DCG@K = sum_{i<K} [item_i held out] / log2(i + 2).
Fold-in items are excluded from the ranking (score -inf).  Users with no held-out item are skipped.
Equal scores are ranked by column (the lower column first), so a score with ties (popularity's click
counts) gives one number, not one that depends on the sorting algorithm.
"""

from __future__ import annotations

import numpy as np


def _rank(scores: np.ndarray, fold_in: np.ndarray, k: int) -> np.ndarray:
    s = np.array(scores, dtype=np.float64, copy=True)
    s[np.asarray(fold_in) > 0] = -np.inf
    col = np.broadcast_to(np.arange(s.shape[1]), s.shape)
    return np.lexsort((col, -s), axis=-1)[:, :k]  # descending score, ties by column


def recall_at_k(scores, fold_in, held_out, k: int) -> np.ndarray:
    held_out = np.asarray(held_out) > 0
    keep = held_out.sum(1) > 0
    top = _rank(np.asarray(scores)[keep], np.asarray(fold_in)[keep], k)
    hits = np.take_along_axis(held_out[keep], top, axis=1).sum(1)
    return hits / np.minimum(k, held_out[keep].sum(1))


def ndcg_at_k(scores, fold_in, held_out, k: int = 100) -> np.ndarray:
    held_out = np.asarray(held_out) > 0
    keep = held_out.sum(1) > 0
    top = _rank(np.asarray(scores)[keep], np.asarray(fold_in)[keep], k)
    disc = 1.0 / np.log2(np.arange(2, k + 2))[: top.shape[1]]  # fewer than k items: all of them
    dcg = (np.take_along_axis(held_out[keep], top, axis=1) * disc).sum(1)
    n = np.minimum(held_out[keep].sum(1), k)
    idcg = np.array([disc[:m].sum() for m in n])
    return dcg / idcg


def all_metrics(scores, fold_in, held_out) -> dict:
    return {"recall@20": float(recall_at_k(scores, fold_in, held_out, 20).mean()),
            "recall@50": float(recall_at_k(scores, fold_in, held_out, 50).mean()),
            "ndcg@100": float(ndcg_at_k(scores, fold_in, held_out, 100).mean())}
