"""Latent Editing: an edit z' = z + α·Δz of one digit, the strengths shown in a row, and the measured feature
of every decoded image."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vae_core.digits.applications import edit_sweep, encode_one, image_features


def row_strengths(kind: str, alpha: float, n: int) -> np.ndarray:
    """The α of the row of edits: symmetric ±|α| for a style direction; from 0 to α (or α to 0) for a class step."""
    if kind == "style":
        return abs(alpha) * np.linspace(-1.0, 1.0, n)
    return np.linspace(0.0, 1.0, n) * alpha if alpha >= 0 else np.linspace(alpha, 0.0, n)


@dataclass
class Edit:
    z: np.ndarray  # (d,) the digit's posterior mean
    strengths: np.ndarray  # (n,) α of the row
    row: np.ndarray  # (n, 784) decode(z + α·Δz) for each
    row_values: np.ndarray  # (n,) the feature measured on each
    edited: np.ndarray  # (784,) the image at the chosen α
    recon: np.ndarray  # (784,) decode(z), α = 0
    edited_value: float
    recon_value: float  # the feature of decode(z), α = 0
    original_value: float  # the feature of the input itself


def edit(model, x: np.ndarray, direction: np.ndarray, alpha: float, strengths: np.ndarray, feature: str,
         y: int | None = None) -> Edit:
    """Encode ``x`` (its μ; a CVAE with label ``y``), decode it moved by each strength and by ``alpha`` along
    ``direction``, and measure ``feature`` on every image."""
    z = encode_one(model, x, y)[0].numpy()
    n = len(strengths)
    sweep = edit_sweep(model, z, direction, [*strengths, alpha, 0.0], y=y)
    imgs = sweep["images"].numpy()
    vals = sweep["features"][feature].numpy()
    return Edit(z=z, strengths=np.asarray(strengths), row=imgs[:n], row_values=vals[:n], edited=imgs[n],
                recon=imgs[n + 1], edited_value=float(vals[n]), recon_value=float(vals[n + 1]),
                original_value=float(image_features(x)[feature][0]))
