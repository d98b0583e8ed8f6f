"""Prior samples of image models as a PNG grid (the image branch of ``python -m vae_core sample``).

    python -m vae_core sample checkpoints/mnist-z20 --n 64 --seed 0 --out samples.png
    python -m vae_core sample checkpoints/sprites-beta4 --n 36 --out sprites.png

Digit models (family ``mlp-vae``; a CVAE's samples cycle through the ten classes) and sprite models
(``sprites-vae``): z ~ N(0, I), decoded to Bernoulli means, tiled row by row with a 1-pixel grey border.
"""

from __future__ import annotations

import argparse
import io
import math
import sys
from pathlib import Path

import numpy as np
import torch


def grid_png(images: np.ndarray, ncols: int | None = None, scale: int = 1) -> bytes:
    """(N, H, W) values in [0, 1] -> PNG bytes of a grid (row-major, 1-pixel mid-grey lines between cells)."""
    from PIL import Image

    imgs = np.clip(np.asarray(images, dtype=np.float64), 0, 1)
    n, h, w = imgs.shape
    ncols = ncols or max(1, math.ceil(math.sqrt(n)))
    nrows = math.ceil(n / ncols)
    canvas = np.full((nrows * (h + 1) + 1, ncols * (w + 1) + 1), 0.5)
    for i in range(n):
        r, c = divmod(i, ncols)
        canvas[1 + r * (h + 1):1 + r * (h + 1) + h, 1 + c * (w + 1):1 + c * (w + 1) + w] = imgs[i]
    img = Image.fromarray(np.round(canvas * 255).astype(np.uint8), mode="L")
    if scale > 1:
        img = img.resize((img.width * scale, img.height * scale), Image.NEAREST)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def load_image_model(path: str, family: str):
    """(model, metadata, side) of a checkpoint of an image family (digits, sprites)."""
    from ..families import get

    fam = get(family)
    model, meta = fam.load(path)
    return model, meta, fam.shape[0]


@torch.no_grad()
def sample_images(path: str, args: argparse.Namespace, family: str = "mlp-vae") -> int:
    if not getattr(args, "out", None):
        print("error: image models write their samples as a PNG grid: give --out FILE.png", file=sys.stderr)
        return 2
    from ..pair_io import atomic_write_bytes
    from .quality import prior_samples

    model, meta, side = load_image_model(path, family)
    h, w = getattr(model, "image_shape", None) or (side, side)  # a user's data set's H×W (#19)
    x = prior_samples(model, args.n, seed=args.seed).reshape(args.n, h, w).numpy()
    out = Path(args.out)
    atomic_write_bytes(out, grid_png(x, scale=2 if max(h, w) <= 28 else 1))
    print(f"wrote {args.n} prior samples of {meta.get('name') or Path(path).name} ({h}x{w} pixels, "
          f"Bernoulli means) to {out}")
    return 0


def sample_digits(path: str, args: argparse.Namespace) -> int:
    return sample_images(path, args, "mlp-vae")
