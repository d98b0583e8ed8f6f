"""Latent editing z' = z + alpha * dz (seed §5) and the handwriting features that measure an edit.

Directions come from the data: the difference of two class means of the posterior means
(:func:`class_mean_direction`) or the least-squares slope of the means on a standardised style
feature (:func:`style_direction`) from :func:`image_features` (ink, stroke thickness, slant, width,
height).  :func:`edit` / :func:`edit_sweep` decode along a direction; :func:`trend` says whether a
feature really rises with the strength.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ...images import SIDE, as_image_rows
from ._checks import _finite_1d

__all__ = [
    "FEATURES", "class_mean_direction", "edit", "edit_sweep", "feature_std", "image_features", "style_direction",
    "trend"
]


def class_mean_direction(mu, labels, src, dst) -> torch.Tensor:
    """dz = mean posterior mean of class ``dst`` - that of class ``src``, shape (d,)."""
    mu = torch.as_tensor(mu).float()
    labels = torch.as_tensor(labels).reshape(-1)
    a, b = labels == int(src), labels == int(dst)
    if not a.any() or not b.any():
        missing = [c for c, m in ((src, a), (dst, b)) if not m.any()]
        raise ValueError(f"no examples of class {missing} among the labels")
    return mu[b].mean(0) - mu[a].mean(0)


FEATURES = ("ink", "thickness", "slant", "width", "height")


def image_features(x, threshold: float = 0.5, box_threshold: float = 0.1) -> dict[str, torch.Tensor]:
    """Simple handwriting-style measurements of (N, 784) images in [0, 1], each an (N,) float tensor.

    * ``ink``       -- sum of pixel intensities (pixels' worth of ink);
    * ``thickness`` -- stroke-width proxy 2 * area / perimeter of the binarised (> ``threshold``)
      strokes (a stroke of length L >> w has area L w and perimeter ~ 2 L); 0 for no stroke;
    * ``slant``     -- shear of the ink distribution from its second central moments,
      -mu11 / mu02 with mu11 = cov(row, col) and mu02 = var(row): > 0 for a digit leaning right
      ("/" like italics), < 0 leaning left;
    * ``width`` / ``height`` -- the bounding box (> ``box_threshold``) in pixels.
    """
    x = as_image_rows(x).double().clamp(0, 1)
    n = x.shape[0]
    img = x.reshape(n, SIDE, SIDE)
    ink = img.sum((1, 2))
    rows = torch.arange(SIDE, dtype=torch.float64).reshape(1, SIDE, 1)
    cols = torch.arange(SIDE, dtype=torch.float64).reshape(1, 1, SIDE)
    w = ink.clamp_min(1e-12)
    r0 = (img * rows).sum((1, 2)) / w
    c0 = (img * cols).sum((1, 2)) / w
    dr, dc = rows - r0.reshape(-1, 1, 1), cols - c0.reshape(-1, 1, 1)
    mu02 = (img * dr * dr).sum((1, 2)) / w
    mu11 = (img * dr * dc).sum((1, 2)) / w
    slant = torch.where(mu02 > 1e-9, -mu11 / mu02.clamp_min(1e-9), torch.zeros_like(mu02))
    on = F.pad((img > threshold).double(), (1, 1, 1, 1))
    area = on.sum((1, 2))
    perim = (on[:, 1:, :] != on[:, :-1, :]).sum((1, 2)) + (on[:, :, 1:] != on[:, :, :-1]).sum((1, 2))
    thickness = torch.where(perim > 0, 2 * area / perim.clamp_min(1), torch.zeros_like(area))
    box = img > box_threshold
    anyr, anyc = box.any(2), box.any(1)
    idx = torch.arange(SIDE)

    def extent(m):
        first = torch.where(m, idx, SIDE).min(1).values
        last = torch.where(m, idx, -1).max(1).values
        return (last - first + 1).clamp_min(0).double()

    return {k: v.float() for k, v in {"ink": ink, "thickness": thickness, "slant": slant,
                                      "width": extent(anyc), "height": extent(anyr)}.items()}


def style_direction(mu, features, feature_name: str | None = None) -> torch.Tensor:
    """Latent direction of a style feature by least squares, shape (d,).

    Standardise the feature, s = (f - mean f) / std f, and regress each latent coordinate on it,
    mu_j ~ a_j + b_j s.  The slope vector b is returned: moving z by ``strength * b`` is the change
    in posterior mean that accompanies a ``strength``-standard-deviation increase of the feature.
    ``features`` is a dict from :func:`image_features` (pick with ``feature_name``) or an (N,) array.
    """
    mu = torch.as_tensor(mu).double()
    if isinstance(features, dict):
        if feature_name is None:
            raise ValueError(f"pass feature_name, one of {sorted(features)}")
        f = features[feature_name]
    else:
        f = features
    f = torch.as_tensor(f).double().reshape(-1)
    if f.numel() != mu.shape[0]:
        raise ValueError(f"{f.numel()} feature values for {mu.shape[0]} latent codes")
    sd = f.std(unbiased=False)
    if not torch.isfinite(sd) or sd <= 0:
        raise ValueError("the feature is constant: no direction to estimate")
    s = (f - f.mean()) / sd
    b = ((mu - mu.mean(0)) * s.unsqueeze(1)).sum(0) / (s * s).sum()
    return b.float()


@torch.no_grad()
def edit(model, z, direction, strengths, y=None) -> torch.Tensor:
    """Decode z + alpha * direction for every alpha in ``strengths``: (len(strengths), 784) in [0, 1]."""
    model.eval()
    z = torch.as_tensor(z).float().reshape(1, -1)
    d = torch.as_tensor(direction).float().reshape(1, -1)
    a = torch.as_tensor(list(strengths) if not torch.is_tensor(strengths) else strengths).float().reshape(-1, 1)
    zs = z + a * d
    return model.decode(zs, model.check_labels(y, zs.shape[0]))


@torch.no_grad()
def edit_sweep(model, z, direction, strengths, y=None) -> dict:
    """:func:`edit` plus the measured features of every edited image: ``strengths`` (n,),
    ``images`` (n, 784) and ``features`` {name: (n,) tensor} from :func:`image_features`."""
    a = torch.as_tensor(np.asarray(list(strengths), dtype=np.float32)).reshape(-1)
    imgs = edit(model, z, direction, a, y=y)
    return {"strengths": a, "images": imgs, "features": image_features(imgs)}


def feature_std(features: dict) -> dict[str, float]:
    """Standard deviation (population) of every feature over the data: the unit of a
    :func:`style_direction` strength (strength 1 = one standard deviation)."""
    return {k: float(torch.as_tensor(v).double().std(unbiased=False)) for k, v in features.items()}


def trend(strengths, values) -> float:
    """Spearman rank correlation between edit strengths and a measured feature, in [-1, 1]: +1 when the feature
    rises steadily with the strength, near 0 when it wanders (NaN if either is constant)."""
    a = _finite_1d(strengths, "strengths")
    b = _finite_1d(values, "values")
    if a.size != b.size:
        raise ValueError("strengths and values differ in length")
    ra = np.argsort(np.argsort(a, kind="mergesort"), kind="mergesort").astype(np.float64)
    rb = np.argsort(np.argsort(b, kind="mergesort"), kind="mergesort").astype(np.float64)
    if ra.std() == 0 or rb.std() == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(np.corrcoef(ra, rb)[0, 1])
