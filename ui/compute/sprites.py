"""Disentangled Sprites: the β sweep's summary, one model's dimensions, and a traversal from one example sprite."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from vae_core.sprites import data as sp
from vae_core.sprites.model import (
    DimFactor,
    SweepRow,
    dominant_factors,
    posterior_params,
    single_factor_dims,
    traversal,
)


@dataclass(frozen=True)
class Sweep:
    rows: list[SweepRow]  # one per model, by β
    best: SweepRow  # highest MIG
    base: SweepRow  # smallest β

    @property
    def betas(self) -> list[float]:
        return [r.beta for r in self.rows]


def sweep_summary(rows: list[SweepRow]) -> Sweep:
    """The sweep's rows with the model of highest MIG and the one of smallest β."""
    if not rows:
        raise ValueError("no sprite models")
    return Sweep(rows=rows, best=max(rows, key=lambda r: r.mig), base=min(rows, key=lambda r: r.beta))


@dataclass(frozen=True)
class ModelDims:
    mi: np.ndarray  # (latent, factor) I(z_j; v_k) / H(v_k), stored in the checkpoint
    dims: list[DimFactor]  # every dimension, largest KL first
    clean: list[DimFactor]  # the active ones holding >= 2x as much of one factor as of any other

    @property
    def n_active(self) -> int:
        return sum(r.active for r in self.dims)


def model_dims(meta: dict) -> ModelDims:
    """One sprite model's dimensions from the test metrics stored in its JSON."""
    tm = meta["test_metrics"]
    mi = np.asarray(tm["mi_normalised"], dtype=np.float64)
    dims = dominant_factors(mi, np.asarray(tm["kl_per_dim"], dtype=np.float64))
    return ModelDims(mi=mi, dims=dims, clean=single_factor_dims(dims))


def central_example(ex: sp.Sprites) -> int:
    """The index of the sprite nearest the centre of the 64x64 canvas."""
    return int(np.argmin(np.hypot(ex.factor_values("x") - 32, ex.factor_values("y") - 32)))


@dataclass(frozen=True)
class Traversal:
    dims: list[DimFactor]  # the rows shown, in the order of ModelDims.dims
    values: np.ndarray  # (steps,) the z_j of the columns, in prior standard deviations
    images: np.ndarray  # (len(dims), steps, 64, 64) decoder means


def sprite_traversal(model, image: np.ndarray, dims: list[DimFactor], span: float, steps: int,
                     show_all: bool) -> Traversal | None:
    """Encode ``image`` (its posterior mean z0) and decode z0 with one coordinate swept over [-span, span], for
    every active dimension (every dimension with ``show_all``); None when no dimension is chosen."""
    chosen = [r for r in dims if r.active or show_all]
    if not chosen:
        return None
    mu, _ = posterior_params(model, torch.as_tensor(np.asarray(image, dtype=np.float32)).reshape(1, -1))
    values = np.linspace(-span, span, steps)
    return Traversal(dims=chosen, values=values, images=traversal(model, mu[0], [r.dim for r in chosen], values))


def factor_text(ex: sp.Sprites, k: int, f: str) -> str:
    """Sprite ``k``'s value of factor ``f`` with its unit (shape by name, rotation in degrees, x/y in px)."""
    v = ex.factor_values(f)[k]
    if f == "shape":
        return sp.SHAPES[int(v)]
    return f"{v:g}°" if f == "rotation" else (f"{v:.1f} px" if f in ("x", "y") else f"{v:g}")
