"""Disentanglement scores: the Mutual Information Gap (MIG, Chen et al. 2018, "Isolating Sources of
Disentanglement in VAEs").

For latent dimensions z_j (here: the posterior means, each discretised into equal-width histogram bins,
as in Chen et al.'s and disentanglement_lib's discrete estimator) and known discrete factors v_k:

    I(z_j; v_k) = sum_{a,b} p(a, b) log( p(a, b) / (p(a) p(b)) )          (nats, empirical plug-in)
    MIG = 1/K sum_k ( I(z_{j(k)}; v_k) - max_{j != j(k)} I(z_j; v_k) ) / H(v_k),   j(k) = argmax_j I(z_j; v_k)

MIG is 1 when every factor is captured by exactly one latent that determines it and no other latent
carries any information about it, and 0 when the two most informative latents are equally informative.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DEFAULT_BINS = 20


def discretize(values: np.ndarray, bins: int = DEFAULT_BINS) -> np.ndarray:
    """Each column of ``values`` (N, D) mapped to equal-width bin indices 0..bins-1 over its own range."""
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 1:
        values = values[:, None]
    out = np.zeros(values.shape, dtype=np.int64)
    for j in range(values.shape[1]):
        col = values[:, j]
        lo, hi = float(col.min()), float(col.max())
        if hi > lo:
            edges = np.linspace(lo, hi, bins + 1)
            out[:, j] = np.clip(np.digitize(col, edges[1:-1], right=False), 0, bins - 1)
    return out


def entropy(labels: np.ndarray) -> float:
    """Plug-in entropy H(v) in nats of a discrete sample."""
    _, counts = np.unique(np.asarray(labels), return_counts=True)
    p = counts / counts.sum()
    return float(-(p * np.log(p)).sum())


def mutual_information(a: np.ndarray, b: np.ndarray) -> float:
    """Plug-in mutual information I(a; b) in nats of two discrete samples of equal length."""
    a, b = np.asarray(a).reshape(-1), np.asarray(b).reshape(-1)
    if a.shape != b.shape:
        raise ValueError("both samples must have the same length")
    _, ai = np.unique(a, return_inverse=True)
    _, bi = np.unique(b, return_inverse=True)
    joint = np.zeros((ai.max() + 1, bi.max() + 1))
    np.add.at(joint, (ai, bi), 1.0)
    joint /= joint.sum()
    pa, pb = joint.sum(1, keepdims=True), joint.sum(0, keepdims=True)
    nz = joint > 0
    return float(max((joint[nz] * np.log(joint[nz] / (pa @ pb)[nz])).sum(), 0.0))


@dataclass(frozen=True)
class MIGResult:
    mig: float  # mean normalised gap over factors, in [0, 1]
    per_factor: np.ndarray  # (K,) normalised gap per factor
    mi: np.ndarray  # (D, K) I(z_j; v_k) in nats
    factor_entropy: np.ndarray  # (K,) H(v_k) in nats
    best_latent: np.ndarray  # (K,) j(k), the most informative latent of each factor

    @property
    def normalised_mi(self) -> np.ndarray:
        """(D, K) I(z_j; v_k) / H(v_k): the fraction of each factor's entropy each latent holds."""
        return self.mi / self.factor_entropy[None, :]


def mig(latents: np.ndarray, factors: np.ndarray, bins: int = DEFAULT_BINS) -> MIGResult:
    """MIG of latent codes ``latents`` (N, D) (e.g. posterior means) against discrete ``factors`` (N, K)."""
    latents = np.asarray(latents, dtype=np.float64)
    factors = np.asarray(factors)
    if latents.ndim != 2 or factors.ndim != 2 or latents.shape[0] != factors.shape[0]:
        raise ValueError("latents (N, D) and factors (N, K) must have the same number of rows")
    if latents.shape[1] < 2:
        raise ValueError("MIG needs at least two latent dimensions (it is a gap between the top two)")
    codes = discretize(latents, bins)
    d, k = latents.shape[1], factors.shape[1]
    mi = np.array([[mutual_information(codes[:, j], factors[:, f]) for f in range(k)] for j in range(d)])
    h = np.array([entropy(factors[:, f]) for f in range(k)])
    if np.any(h <= 0):
        raise ValueError("every factor must take at least two values (zero entropy otherwise)")
    top2 = np.sort(mi, axis=0)[::-1][:2]
    per = (top2[0] - top2[1]) / h
    return MIGResult(float(per.mean()), per, mi, h, np.argmax(mi, axis=0))
