"""Digits as arrays: the one place that turns images into model rows and rows back into a picture.

* :func:`as_image_rows` -- one image (784,) / (28, 28) or a batch (N, 784) / (N, 28, 28), as a tensor
  or an array, to the (N, 784) float32 rows in [0, 1] that every model takes;
* :func:`tile` -- (N, h, w) images laid out in a grid with optional padding (lattices, strips).
"""

from __future__ import annotations

import math

import numpy as np
import torch

__all__ = ["PIXELS", "SIDE", "as_image_rows", "tile"]

SIDE = 28
PIXELS = SIDE * SIDE


def as_image_rows(x, pixels: int = PIXELS) -> torch.Tensor:
    """Images as (N, ``pixels``) float32 rows clamped to [0, 1].

    Accepts one image ((784,) or (28, 28)) or a batch ((N, 784), (N, 28, 28), …), as a torch tensor
    (any dtype or device; detached and moved to the CPU) or anything numpy can convert."""
    a = torch.as_tensor(np.asarray(x.detach().cpu() if hasattr(x, "detach") else x, dtype=np.float32))
    if a.numel() % pixels:
        side = math.isqrt(pixels)
        raise ValueError(f"expected images of {pixels} pixels ({side} x {side}), got shape {tuple(a.shape)}")
    return a.reshape(-1, pixels).clamp(0.0, 1.0)


def tile(images: np.ndarray, ncols: int, pad: int = 0, fill: float = 0.0) -> np.ndarray:
    """Arrange (N, h, w) images into one grid image with ``ncols`` columns, row by row.

    ``pad`` pixels of ``fill`` separate neighbouring cells; cells after the last image are ``fill`` too.
    The result has shape (rows * (h + pad) - pad, ncols * (w + pad) - pad), rows = ceil(N / ncols)."""
    images = np.asarray(images)
    if images.ndim == 2:  # (N, h * w) rows of square images
        side = math.isqrt(images.shape[1])
        images = images.reshape(-1, side, side)
    n, h, w = images.shape
    ncols = max(1, int(ncols))
    nrows = max(1, math.ceil(n / ncols))
    out = np.full((nrows * (h + pad) - pad, ncols * (w + pad) - pad), fill, dtype=images.dtype)
    for i in range(n):
        r, c = divmod(i, ncols)
        out[r * (h + pad): r * (h + pad) + h, c * (w + pad): c * (w + pad) + w] = images[i]
    return out
