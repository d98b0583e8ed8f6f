"""Out-of-distribution test sets for the anomaly scores (seed §3), each (n, 784) float32 in [0, 1].

Far from MNIST: uniform noise, photographic negatives, rotated digits; near: scikit-learn's 8x8
digits upscaled to MNIST's layout.  :func:`ood_sets` builds the named collection the Anomaly
Detection page and the tests compare against the test digits.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import torch

from ...images import PIXELS, SIDE, as_image_rows
from ..drawing import fit_to_mnist

__all__ = ["inverted", "ood_sets", "rotated", "sklearn_digits_upscaled", "uniform_noise"]


def uniform_noise(n: int, seed: int = 0) -> torch.Tensor:
    """(n, 784) i.i.d. U(0, 1) pixels."""
    return torch.rand(n, PIXELS, generator=torch.Generator().manual_seed(seed))


def inverted(x) -> torch.Tensor:
    """Photographic negative 1 - x (dark digits on a white background)."""
    return 1.0 - as_image_rows(x).float()


def rotated(x, degrees: float) -> torch.Tensor:
    """Rotate each 28x28 image anticlockwise by ``degrees`` about its centre (bilinear, zero fill)."""
    from scipy import ndimage

    x = as_image_rows(x).float()
    if float(degrees) % 360.0 == 0.0:
        return x.clone()
    imgs = x.reshape(-1, SIDE, SIDE).numpy()
    out = ndimage.rotate(imgs, float(degrees), axes=(2, 1), reshape=False, order=1, mode="constant", cval=0.0)
    return torch.from_numpy(np.clip(out, 0.0, 1.0).reshape(-1, PIXELS).astype(np.float32))


def sklearn_digits_upscaled(n: int | None = None, seed: int = 0, return_labels: bool = False):
    """scikit-learn's 8x8 digits (UCI, 1,797 images, values 0..16) made MNIST-like.

    Each digit is scaled to [0, 1], its ink cropped and resized to fit 20x20 (aspect kept) and placed
    in a 28x28 field with its centre of mass at the centre (:func:`vae_core.digits.drawing.fit_to_mnist`).
    Same digits, different writers and a blocky resampling: a "near" OOD set.  ``n`` draws a seeded
    random subset.  Returns (n, 784) float32, plus (n,) labels with ``return_labels``.
    """
    from sklearn.datasets import load_digits

    d = load_digits()
    images = d.images.astype(np.float64) / 16.0
    labels = d.target.astype(np.int64)
    idx = np.arange(len(images))
    if n is not None and n < len(images):
        idx = np.sort(np.random.default_rng(seed).choice(len(images), size=n, replace=False))
    rows = []
    for i in idx:
        img = fit_to_mnist(images[i], resample="bilinear")
        rows.append(np.zeros(PIXELS, np.float32) if img is None else img.reshape(-1))
    x = torch.from_numpy(np.stack(rows)) if rows else torch.zeros(0, PIXELS)
    return (x, torch.from_numpy(labels[idx])) if return_labels else x


def ood_sets(test_images, n: int = 500, seed: int = 0, angles=(90, 180)) -> OrderedDict[str, torch.Tensor]:
    """Named out-of-distribution sets, each (<= n, 784) float32 in [0, 1], for the ROC comparison.

    Built from a seeded random subset of at most ``n`` of ``test_images`` (in-distribution digits)
    where relevant: uniform noise, inverted digits, the digits rotated by each of ``angles`` degrees,
    scikit-learn's upscaled 8x8 digits.  Names: "uniform noise", "inverted", "rotated 90°", …,
    "sklearn 8×8 digits, upscaled".
    """
    x = as_image_rows(test_images)
    g = torch.Generator().manual_seed(seed)
    sub = x[torch.randperm(x.shape[0], generator=g)[:n]]
    sets = [("uniform noise", uniform_noise(n, seed)), ("inverted", inverted(sub))]
    sets += [(f"rotated {float(a):g}°", rotated(sub, a)) for a in angles]
    sets.append(("sklearn 8×8 digits, upscaled", sklearn_digits_upscaled(n, seed)))
    return OrderedDict(sets)
