"""Procedurally generated sprites in the spirit of dSprites (Matthey et al. 2017), made here, no download.

Every 64x64 binary image shows one white shape on black, fully determined by five known, discrete,
independent factors of variation:

============  ======================================================  =======
factor        values                                                  count
============  ======================================================  =======
``shape``     square, ellipse, heart                                  3
``scale``     0.5, 0.6, ..., 1.0 (the shape's half-size is 11 px x scale)  6
``rotation``  0, 15, ..., 75 degrees (counter-clockwise)              6
``x``         sprite centre column 14, 16.4, ..., 50 px (16 positions)   16
``y``         sprite centre row 14, ..., 50 px (16 positions)           16
============  ======================================================  =======

so the full product is 3 x 6 x 6 x 16 x 16 = 27,648 images.  Rotations stop below 90 degrees because a
square turned by 90 degrees is the same square: within 0-75 degrees every factor combination gives a
different image for every shape, so each factor is recoverable from the pixels.

A pixel is white when its centre lies inside the shape: square max(|u|, |v|) <= 0.8, ellipse
u^2 + (v / 0.5)^2 <= 1, heart (u^2 + v^2 - 1)^3 - u^2 v^3 <= 0 (the classic implicit heart, scaled into the
same box), where (u, v) are the pixel's coordinates relative to the sprite centre, turned by -rotation and
divided by the half-size.  Nothing is random except which factor combinations :func:`make_sprites` picks.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

IMAGE_SIZE = 64
BASE_HALF_SIZE = 11.0  # pixels, at scale 1
SHAPES = ("square", "ellipse", "heart")
FACTOR_NAMES = ("shape", "scale", "rotation", "x", "y")
FACTOR_VALUES: dict[str, np.ndarray] = {
    "shape": np.arange(len(SHAPES)),  # index into SHAPES
    "scale": np.round(np.linspace(0.5, 1.0, 6), 6),
    "rotation": np.arange(0, 90, 15).astype(float),  # degrees
    "x": np.linspace(14.0, 50.0, 16),  # pixel column of the centre
    "y": np.linspace(14.0, 50.0, 16),  # pixel row of the centre
}
FACTOR_SIZES = tuple(len(FACTOR_VALUES[f]) for f in FACTOR_NAMES)
N_COMBINATIONS = int(np.prod(FACTOR_SIZES))


@dataclass(frozen=True)
class Sprites:
    images: np.ndarray  # (N, 64, 64) uint8 in {0, 1}
    factors: np.ndarray  # (N, 5) int64 indices into FACTOR_VALUES, columns in FACTOR_NAMES order

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def flat(self):
        """The images as a float32 torch tensor (N, 4096) in {0, 1} (what the models take)."""
        import torch

        return torch.from_numpy(self.images.reshape(len(self), -1).astype(np.float32))

    def factor_values(self, name: str) -> np.ndarray:
        """Physical values (scale, degrees, pixels; shape index) of one factor for every image."""
        return FACTOR_VALUES[name][self.factors[:, FACTOR_NAMES.index(name)]]


def shape_mask(shape: str, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Inside test in normalised, unrotated coordinates (the unit box is the shape's extent)."""
    if shape == "square":
        return np.maximum(np.abs(u), np.abs(v)) <= 0.8
    if shape == "ellipse":
        return u * u + (v / 0.5) ** 2 <= 1.0
    if shape == "heart":
        hu, hv = u * 1.15, v * 1.15 + 0.125  # v points up: the heart's point is at the bottom
        return (hu * hu + hv * hv - 1.0) ** 3 - hu * hu * hv ** 3 <= 0.0
    raise ValueError(f"unknown shape {shape!r}; use one of {SHAPES}")


def render(shape: int | str, scale: float, rotation_deg: float, x, y, size: int = IMAGE_SIZE) -> np.ndarray:
    """One sprite as a (size, size) uint8 {0, 1} image; (x, y) = centre column and row in pixels.

    ``x`` and ``y`` may also be broadcastable arrays (e.g. shapes (16, 1) and (1, 16)): the result then has
    their broadcast shape followed by (size, size)."""
    name = SHAPES[shape] if not isinstance(shape, str) else shape
    rows, cols = _grid(size)
    x = np.asarray(x, dtype=np.float64)[..., None, None]
    y = np.asarray(y, dtype=np.float64)[..., None, None]
    dx, dy = cols - x, -(rows - y)  # dy points up, so positive angles turn counter-clockwise on screen
    t = np.deg2rad(rotation_deg)
    c, s = np.cos(t), np.sin(t)
    half = BASE_HALF_SIZE * scale
    u = (c * dx + s * dy) / half
    v = (-s * dx + c * dy) / half
    return shape_mask(name, u, v).astype(np.uint8)


@lru_cache(maxsize=2)
def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    rows, cols = np.mgrid[0:size, 0:size].astype(np.float64)
    return rows, cols


@lru_cache(maxsize=1)
def _all_images() -> np.ndarray:
    """Every factor combination, in C order of FACTOR_NAMES (read-only; ~113 MB as uint8)."""
    out = np.empty((*FACTOR_SIZES, IMAGE_SIZE, IMAGE_SIZE), dtype=np.uint8)
    xs, ys = FACTOR_VALUES["x"][:, None], FACTOR_VALUES["y"][None, :]
    for si, shape in enumerate(SHAPES):
        for ci, scale in enumerate(FACTOR_VALUES["scale"]):
            for ri, rot in enumerate(FACTOR_VALUES["rotation"]):
                out[si, ci, ri] = render(shape, scale, rot, xs, ys)
    out = out.reshape(N_COMBINATIONS, IMAGE_SIZE, IMAGE_SIZE)
    out.setflags(write=False)
    return out


def all_factors() -> np.ndarray:
    """(27648, 5) factor indices of every combination, in the order of :func:`_all_images`."""
    grids = np.meshgrid(*[np.arange(k) for k in FACTOR_SIZES], indexing="ij")
    return np.stack([g.reshape(-1) for g in grids], axis=1).astype(np.int64)


def make_sprites(n: int | None = None, seed: int = 0) -> Sprites:
    """``n`` sprites with factor combinations drawn uniformly without replacement under ``seed``
    (``n=None``: all 27,648, in factor order).  The same ``(n, seed)`` always gives the same images."""
    factors = all_factors()
    if n is None:
        idx = np.arange(N_COMBINATIONS)
    else:
        if not 1 <= n <= N_COMBINATIONS:
            raise ValueError(f"n must be between 1 and {N_COMBINATIONS}")
        idx = np.sort(np.random.default_rng(seed).choice(N_COMBINATIONS, size=n, replace=False))
    if n is not None and n < 2000:  # small requests: render just those, not the whole set
        imgs = np.stack([render(*(FACTOR_VALUES[f][factors[i, j]] for j, f in enumerate(FACTOR_NAMES)))
                         for i in idx]) if len(idx) else np.zeros((0, IMAGE_SIZE, IMAGE_SIZE), np.uint8)
        return Sprites(imgs, factors[idx])
    return Sprites(_all_images()[idx], factors[idx])


def split_sprites(test_fraction: float = 0.1, seed: int = 0) -> tuple[Sprites, Sprites]:
    """A fixed train/test split of all combinations (disjoint, test drawn uniformly under ``seed``)."""
    rng = np.random.default_rng(seed)
    perm = rng.permutation(N_COMBINATIONS)
    n_test = int(round(test_fraction * N_COMBINATIONS))
    test_idx, train_idx = np.sort(perm[:n_test]), np.sort(perm[n_test:])
    imgs, factors = _all_images(), all_factors()
    return Sprites(imgs[train_idx], factors[train_idx]), Sprites(imgs[test_idx], factors[test_idx])
