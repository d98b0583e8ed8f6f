"""Pure computations behind the text and molecule pages (no Streamlit).

Everything returns plain numbers, arrays or strings; the pages only draw.
"""

from __future__ import annotations

import re

import numpy as np
import torch

from ..objectives import gaussian_kl_per_dim
from .model import SeqVAE
from .train import decode_all, encode_all, trim

WORD_INPUT_RE = re.compile(r"^[a-z]{1,16}$")


def clean_word(text: str) -> str | None:
    """A user's word made lowercase and stripped, or None unless it is 1–16 letters a–z."""
    w = (text or "").strip().lower()
    return w if WORD_INPUT_RE.match(w) else None


@torch.no_grad()
def posterior(model: SeqVAE, strings: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(μ, σ) of q(z|x) for each string, as float64 arrays (N, d)."""
    mu, logvar = encode_all(model, model.vocab.batch(strings, None))
    return mu.double().numpy(), (0.5 * logvar).exp().double().numpy()


@torch.no_grad()
def decode_point(model: SeqVAE, z, n_samples: int = 5, temperature: float = 1.0, seed: int = 0) -> dict:
    """At one latent point: the greedy decoding and ``n_samples`` sampled decodings (seeded)."""
    zt = torch.as_tensor(np.asarray(z, dtype=np.float32)).reshape(1, -1)
    greedy = model.decode(zt)[0]
    g = torch.Generator().manual_seed(seed)
    sampled = model.decode(zt.expand(n_samples, -1).contiguous(), "sample", temperature, g) if n_samples else []
    return {"greedy": greedy, "sampled": sampled}


PATHS = {"linear": "straight line (homotopy)", "spherical": "great circle (slerp)"}


def homotopy(za, zb, steps: int, method: str = "linear") -> np.ndarray:
    """``steps`` points from z_a to z_b inclusive: the straight line z_t = (1 − t)·z_a + t·z_b (Bowman et al.
    2016's homotopy; ``method="linear"``) or the great circle about the prior's centre (White 2016;
    ``"spherical"``), both from :mod:`vae_core.latent` (one definition of each path)."""
    from ..latent import lerp, slerp

    if steps < 2:
        raise ValueError("an interpolation needs at least 2 steps")
    if method not in PATHS:
        raise ValueError(f"method must be one of {', '.join(PATHS)}")
    return (slerp if method == "spherical" else lerp)(za, zb, steps)


@torch.no_grad()
def decode_path(model: SeqVAE, path: np.ndarray, require_end: bool = False) -> list[str]:
    """Greedy decoding of every point of a path (K, d) ("" for an unfinished one with ``require_end``)."""
    return decode_all(model, torch.as_tensor(path, dtype=torch.float32), require_end=require_end)


def pca_2d(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Project rows of x on their first two principal axes (:class:`vae_core.latent.PCA`).

    Returns (coordinates (N, 2), mean (d,), axes (2, d), explained-variance fractions (2,))."""
    from ..latent import PCA

    p = PCA(x, 2)
    axes, frac = p.components, p.explained_ratio
    if axes.shape[0] < 2:  # 1-D latent: pad with a zero axis
        axes = np.vstack([axes, np.zeros_like(axes)])
        frac = np.append(frac, 0.0)
    return (np.asarray(x, dtype=np.float64) - p.mean) @ axes.T, p.mean, axes, frac


def nearest(points: np.ndarray, z) -> int:
    """Index of the row of ``points`` closest (Euclidean) to z."""
    return int(np.argmin(((np.asarray(points) - np.asarray(z)[None]) ** 2).sum(axis=1)))


@torch.no_grad()
def collapse_report(model: SeqVAE, test: list[str], n_prior: int = 200, seed: int = 0,
                    active_threshold: float = 0.01) -> dict:
    """What a model does with z on the test words.

    ``kl`` (rate, nats per word, closed form, mean over the test words), ``kl_per_dim`` (nats),
    ``active_units`` (dimensions whose Cov_x(E_q[z_j]) exceeds ``active_threshold``; Burda et al. 2016),
    ``word_accuracy`` (greedy decoding of μ equals the word), ``recon`` (summed token cross-entropy
    at z = μ, nats per word) and ``distinct_prior`` (distinct greedy decodings of ``n_prior`` prior
    draws, divided by ``n_prior``: near 0 when the decoder ignores z)."""
    ids = model.vocab.batch(test, None)
    mu, logvar = encode_all(model, ids)
    kld = gaussian_kl_per_dim(mu, logvar)
    decoded = decode_all(model, mu)
    acc = sum(a == b for a, b in zip(decoded, test, strict=True)) / max(len(test), 1)
    recon = 0.0
    for i in range(0, len(test), 1000):
        recon += float(model.loss(trim(ids[i:i + 1000]), sample_z=False).recon.sum())
    g = torch.Generator().manual_seed(seed)
    prior = decode_all(model, torch.randn((n_prior, model.latent_dim), generator=g))
    from ..latent import active_units

    n_active, _ = active_units(mu.double().numpy(), active_threshold)
    return {"kl": float(kld.sum(1).mean()), "kl_per_dim": kld.mean(0).double().numpy(),
            "active_units": n_active, "word_accuracy": acc, "recon": recon / max(len(test), 1),
            "distinct_prior": len(set(prior)) / max(n_prior, 1), "prior_examples": prior[:12],
            "decoded": decoded}


def molecule_table(smiles: list[str]) -> dict[str, np.ndarray]:
    """RDKit properties of valid SMILES as arrays (NaN for an invalid string)."""
    from .smiles import PROPERTIES, properties

    cols: dict[str, list[float]] = {k: [] for k in PROPERTIES}
    for s in smiles:
        p = properties(s)
        for k in cols:
            cols[k].append(np.nan if p is None else p[k])
    return {k: np.asarray(v, dtype=np.float64) for k, v in cols.items()}
