"""Conditional VAE: rows of latent codes, each decoded with every class (the "same z, all ten classes" grid)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vae_core.digits.applications import class_swap
from vae_core.images import tile
from vae_core.latent import encode_dataset

GAP = 1.0  # white separator between a source digit and its decodings


@dataclass(frozen=True)
class SwapRows:
    z: np.ndarray  # (n_z, d) the codes, one per row
    images: np.ndarray  # (n_z, K, 28, 28) each code decoded with each class 0..K-1
    indices: np.ndarray | None  # (n_z,) the test digits whose posterior means are the codes; None for prior draws


def swap_rows(model, n_z: int, seed: int, images=None, labels=None, first: int | None = None) -> SwapRows:
    """``n_z`` codes decoded with every class.  With ``images``/``labels`` (a test set): the posterior means
    μ(x, y) of test digit ``first`` and n_z − 1 more drawn without replacement with ``seed``; without: n_z draws
    z ~ N(0, I) from ``seed``."""
    rng = np.random.default_rng(int(seed))
    if images is None:
        z = rng.standard_normal((n_z, model.latent_dim)).astype(np.float32)
        idx = None
    else:
        others = rng.choice(len(images), size=n_z - 1, replace=False) if n_z > 1 else np.array([], int)
        idx = np.r_[int(first), others].astype(int)
        z, _ = encode_dataset(model, images[idx], labels[idx])
    swap = class_swap(model, z).numpy().reshape(n_z, model.num_classes, 28, 28)
    return SwapRows(z=np.asarray(z, dtype=np.float32), images=swap, indices=idx)


def swap_grid(rows: SwapRows, sources: np.ndarray | None, fill: float, pad: int = 2, gap: int = 6) -> np.ndarray:
    """One picture of the rows: each row's K decodings side by side (``pad`` px of ``fill`` between them), after
    its source digit and ``gap`` white columns when ``sources`` (n_z, 28, 28) are given; rows ``pad`` px apart."""
    out = []
    for j, decoded in enumerate(rows.images):
        row = tile(decoded, len(decoded), pad=pad, fill=fill)
        if sources is not None:
            src = np.asarray(sources[j], dtype=np.float32).reshape(28, 28)
            row = np.concatenate([src, np.full((28, gap), GAP, np.float32), row], 1)
        out.append(row)
    return tile(np.stack(out), 1, pad=pad, fill=fill)
