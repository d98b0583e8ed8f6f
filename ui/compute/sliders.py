"""Decoder Sliders: latent code <-> slider positions (z itself, or coordinates along the principal axes of the
test means in units of each axis' std), with the clipping to the sliders' range made explicit."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vae_core.latent import PCA, from_pca_units, to_pca_units


@dataclass
class SliderSetting:
    values: np.ndarray  # (d,) slider positions, within ±lim
    n_clipped: int  # how many coordinates lay beyond ±lim
    target: np.ndarray  # (d,) the code asked for (before clipping)


def slider_setting(z: np.ndarray, lim: float, pca: PCA | None = None) -> SliderSetting:
    """Slider positions that show the code ``z``: z itself, or (with ``pca``) its principal coordinates."""
    z = np.asarray(z, dtype=np.float64).reshape(-1)
    vals = to_pca_units(pca, z)[0] if pca is not None else z
    return SliderSetting(np.clip(vals, -lim, lim), int(np.sum(np.abs(vals) > lim)), z)


def code_from_sliders(values: np.ndarray, pca: PCA | None = None) -> np.ndarray:
    """The latent code the slider positions stand for (inverse of :func:`slider_setting` inside ±lim)."""
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    return from_pca_units(pca, values)[0] if pca is not None else values


def pct(r: float) -> str:
    """A share of variance with as many decimals as it needs: 42%, 3.1%, 0.05%, <0.01%."""
    p = 100 * r
    return f"{p:.0f}%" if p >= 9.5 else f"{p:.1f}%" if p >= 0.1 else f"{p:.2f}%" if p >= 0.01 else "<0.01%"
