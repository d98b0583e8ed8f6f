"""Interpolation: the linear and spherical latent walks between two codes, decoded, and the pixel cross-fade."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vae_core.latent import interpolate, pixel_crossfade

METHODS = ("linear", "spherical")


@dataclass
class Walks:
    paths: dict[str, np.ndarray]  # method -> (steps, d) latent path from μ_A to μ_B
    frames: dict[str, np.ndarray]  # method -> (steps, 28, 28) decoded frames
    fade: np.ndarray  # (steps, 28, 28) pixel cross-fade of the two images
    norms: dict[str, np.ndarray]  # method -> (steps,) ‖z‖ along the path


def walks(model, mu_a: np.ndarray, mu_b: np.ndarray, x_a: np.ndarray, x_b: np.ndarray, steps: int,
          y: int | None = None) -> Walks:
    """Both latent walks (ends included) and the cross-fade; a CVAE decodes every frame as class ``y``."""
    paths, frames = {}, {}
    for m in METHODS:
        paths[m], frames[m] = interpolate(model, mu_a, mu_b, steps, m, y=y)
    fade = pixel_crossfade(x_a, x_b, steps).reshape(-1, *frames["linear"].shape[1:])  # (H, W) of the model
    return Walks(paths, frames, fade, {m: np.linalg.norm(p, axis=1) for m, p in paths.items()})


def frame_layout(steps: int, content_px: int) -> tuple[int, int, int]:
    """(px per frame, lines, frames per line): 112 px up to 10 steps, else 56 px; wrapped to the page width."""
    px = 112 if steps <= 10 else 56
    max_line = content_px // (px + px // 28)
    lines = -(-steps // max_line)
    return px, lines, -(-steps // lines)
