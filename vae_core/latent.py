"""Latent-space utilities: encoding a data set, projections (PCA, t-SNE), lattices and decoded grids,
interpolation paths, posterior ellipses, neighbours, and the one definition of an active unit (Burda et al. 2016:
Cov_x(E_q[z_j]) > 0.01, ddof = 1; the β/KL Lab explains it in :mod:`vae_core.digits.analysis`).  Image tiling is in
:mod:`vae_core.images`."""

from __future__ import annotations

import math

import numpy as np
import torch

from .images import tile
from .objectives import gaussian_kl

__all__ = [
    "AU_THRESHOLD", "PCA", "active_mask", "active_units", "latent_variance",
    "decode_np", "ellipse_points", "encode_dataset", "from_pca_units", "grid_points",
    "interpolate", "lattice", "lerp", "manifold_grid", "nearest", "neighbour_agreement", "pca_head", "pca_plane",
    "pixel_crossfade", "plane_grid", "project_2d", "projected_ellipse", "projected_std", "rate_nats", "slerp", "tile",
    "to_pca_units",
]


@torch.no_grad()
def encode_dataset(model, images: torch.Tensor, labels: torch.Tensor | None = None,
                   batch_size: int = 2000) -> tuple[np.ndarray, np.ndarray]:
    """Posterior means and log-variances of every image: two (N, d) float32 arrays."""
    model.eval()
    mus, lvs = [], []
    for s in range(0, images.shape[0], batch_size):
        xb = images[s:s + batch_size]
        mu, lv = model.encode(xb, model.condition(None if labels is None else labels[s:s + batch_size]))
        mus.append(mu)
        lvs.append(lv)
    return torch.cat(mus).numpy(), torch.cat(lvs).numpy()


@torch.no_grad()
def decode_np(model, z: np.ndarray, y: np.ndarray | int | None = None) -> np.ndarray:
    """Decode latent points (N, d) to (N, H, W) pixel means in [0, 1]: the model's ``image_shape`` when it has one
    (a model of a user's data set, #19), else square (28×28 digits)."""
    zt = torch.as_tensor(np.asarray(z, dtype=np.float32)).reshape(-1, model.latent_dim)
    y = model.condition(y)
    out = model.decode(zt, None if y is None else model.check_labels(np.asarray(y).reshape(-1), zt.shape[0]))
    shape = getattr(model, "image_shape", None)
    if shape is None:
        side = int(math.isqrt(out.shape[1]))
        shape = (side, side)
    return out.reshape(-1, *shape).numpy()


AU_THRESHOLD = 0.01  # Burda et al. 2016


def latent_variance(mu) -> np.ndarray:
    """Cov_x(E_q[z_j]) for each dimension j: the variance of the posterior means ``mu`` (N, d) (numpy or
    torch) over the data set, ddof = 1; zeros for fewer than two rows.  (d,) float64."""
    mu = np.asarray(mu.detach().cpu() if hasattr(mu, "detach") else mu, dtype=np.float64)
    mu = mu.reshape(mu.shape[0], -1) if mu.ndim else mu.reshape(1, 1)
    return np.var(mu, axis=0, ddof=1) if len(mu) > 1 else np.zeros(mu.shape[1])


def active_mask(mu, threshold: float = AU_THRESHOLD) -> np.ndarray:
    """Burda et al. 2016: which dimensions are active, Cov_x(E_q[z_j]) > ``threshold``; (d,) bool."""
    return latent_variance(mu) > threshold


def active_units(mu, threshold: float = AU_THRESHOLD) -> tuple[int, np.ndarray]:
    """Burda et al. 2016: the number of dimensions with Cov_x(E_q[z_j]) > threshold, and those variances.

    ``mu`` is the (N, d) matrix of posterior means over a data set (numpy or torch)."""
    var = latent_variance(mu)
    return int((var > threshold).sum()), var


class PCA:
    """Principal axes of posterior means (numpy SVD), for projecting d > 2 latents to 2-D."""

    def __init__(self, data: np.ndarray, n_components: int | None = None) -> None:
        data = np.asarray(data, dtype=np.float64)
        self.mean = data.mean(0)
        _, s, vt = np.linalg.svd(data - self.mean, full_matrices=False)
        k = n_components or vt.shape[0]
        self.components = vt[:k]  # (k, d), orthonormal rows
        var = s**2 / max(len(data) - 1, 1)
        self.explained_variance = var[:k]
        self.explained_ratio = var[:k] / var.sum() if var.sum() > 0 else var[:k]

    @property
    def std(self) -> np.ndarray:
        return np.sqrt(self.explained_variance)

    def transform(self, z: np.ndarray) -> np.ndarray:
        return (np.asarray(z, dtype=np.float64) - self.mean) @ self.components.T

    def inverse(self, coords: np.ndarray) -> np.ndarray:
        coords = np.atleast_2d(np.asarray(coords, dtype=np.float64))
        return coords @ self.components[: coords.shape[1]] + self.mean


def project_2d(mu: np.ndarray, method: str = "pca", seed: int = 0) -> tuple[np.ndarray, list[str], object]:
    """2-D coordinates for plotting: identity for d = 2, PCA or t-SNE otherwise.

    Returns (coords (N, 2), axis labels, the fitted projector or None).
    """
    d = mu.shape[1]
    if d == 1:
        return np.c_[mu[:, 0], np.zeros(len(mu))], ["z₁", "(none)"], None
    if d == 2:
        return np.asarray(mu, dtype=np.float64), ["z₁", "z₂"], None
    if method == "pca":
        p = PCA(mu, 2)
        r = p.explained_ratio
        return p.transform(mu), [f"PC1 of μ ({r[0]:.0%} of variance)", f"PC2 of μ ({r[1]:.0%} of variance)"], p
    if method == "tsne":
        from sklearn.manifold import TSNE

        perplexity = min(30.0, max(5.0, (len(mu) - 1) / 3))
        coords = TSNE(n_components=2, init="pca", random_state=seed, perplexity=perplexity).fit_transform(mu)
        return coords, ["t-SNE 1 (no units)", "t-SNE 2 (no units)"], None
    raise ValueError(f"unknown projection {method!r}")


def lattice(lo: float, hi: float, n: int) -> np.ndarray:
    """n evenly spaced values from lo to hi inclusive."""
    return np.linspace(lo, hi, n)


def grid_points(x_range: tuple[float, float], y_range: tuple[float, float], n: int) -> np.ndarray:
    """(n*n, 2) latent points, row-major with y decreasing down the rows (image layout)."""
    xs = lattice(*x_range, n)
    ys = lattice(*y_range, n)[::-1]
    gx, gy = np.meshgrid(xs, ys)
    return np.c_[gx.ravel(), gy.ravel()]


def manifold_grid(model, x_range=(-3.0, 3.0), y_range=(-3.0, 3.0), n: int = 15, y=None,
                  base: np.ndarray | None = None, axes: tuple[int, int] = (0, 1)) -> np.ndarray:
    """Decoded lattice (Kingma & Welling Fig. 4) as one (n*28, n*28) image.

    For d > 2 the lattice varies ``axes`` of ``base`` (default: zeros).
    """
    pts = grid_points(x_range, y_range, n)
    d = model.latent_dim
    z = np.tile(np.zeros(d) if base is None else np.asarray(base, dtype=np.float64), (len(pts), 1))
    z[:, axes[0]] = pts[:, 0]
    if d > 1:
        z[:, axes[1]] = pts[:, 1]
    imgs = decode_np(model, z, y)
    return tile(imgs, n)


def lerp(z0: np.ndarray, z1: np.ndarray, steps: int) -> np.ndarray:
    """Linear interpolation: (steps, d) points from z0 to z1 inclusive."""
    t = np.linspace(0.0, 1.0, steps)[:, None]
    return (1 - t) * np.asarray(z0, dtype=np.float64) + t * np.asarray(z1, dtype=np.float64)


def slerp(z0: np.ndarray, z1: np.ndarray, steps: int) -> np.ndarray:
    """Spherical interpolation (White 2016) about the prior's centre; falls back to lerp
    when the two vectors are (anti)parallel or one is zero."""
    z0 = np.asarray(z0, dtype=np.float64)
    z1 = np.asarray(z1, dtype=np.float64)
    n0, n1 = np.linalg.norm(z0), np.linalg.norm(z1)
    if n0 < 1e-12 or n1 < 1e-12:
        return lerp(z0, z1, steps)
    cos = np.clip(np.dot(z0, z1) / (n0 * n1), -1.0, 1.0)
    omega = math.acos(cos)
    if abs(math.sin(omega)) < 1e-6:
        return lerp(z0, z1, steps)
    t = np.linspace(0.0, 1.0, steps)[:, None]
    return (np.sin((1 - t) * omega) * z0 + np.sin(t * omega) * z1) / math.sin(omega)


def pixel_crossfade(x0: np.ndarray, x1: np.ndarray, steps: int) -> np.ndarray:
    """The baseline: blend the two images pixel by pixel, (steps, 784)."""
    t = np.linspace(0.0, 1.0, steps)[:, None]
    return (1 - t) * np.asarray(x0).reshape(1, -1) + t * np.asarray(x1).reshape(1, -1)


def interpolate(model, z0, z1, steps: int, method: str = "linear", y=None) -> tuple[np.ndarray, np.ndarray]:
    """Latent path and its decoded frames: ((steps, d), (steps, 28, 28))."""
    if steps < 2:
        raise ValueError("steps must be >= 2")
    path = slerp(z0, z1, steps) if method == "spherical" else lerp(z0, z1, steps)
    return path, decode_np(model, path, y)


def ellipse_points(mu: np.ndarray, sigma: np.ndarray, n_std: float = 1.0, n: int = 40) -> np.ndarray:
    """Outline of the axis-aligned n_std-sigma ellipse of q(z|x) in 2-D: (n+1, 2)."""
    t = np.linspace(0, 2 * np.pi, n + 1)
    return np.c_[mu[0] + n_std * sigma[0] * np.cos(t), mu[1] + n_std * sigma[1] * np.sin(t)]


def projected_ellipse(mu: np.ndarray, logvar: np.ndarray, projector: PCA, n_std: float = 1.0,
                      n: int = 40) -> np.ndarray:
    """A d-dim diagonal Gaussian pushed through a linear 2-D projection: its n_std ellipse."""
    c = projector.components[:2]
    cov = c @ np.diag(np.exp(logvar)) @ c.T
    vals, vecs = np.linalg.eigh(cov)
    t = np.linspace(0, 2 * np.pi, n + 1)
    circle = np.c_[np.cos(t), np.sin(t)] * (n_std * np.sqrt(np.maximum(vals, 0)))
    return projector.transform(mu[None])[0] + circle @ vecs.T


def nearest(mu_all: np.ndarray, query: np.ndarray, k: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Indices and Euclidean distances of the k nearest posterior means to ``query``."""
    d = np.linalg.norm(mu_all - np.asarray(query)[None], axis=1)
    idx = np.argsort(d)[:k]
    return idx, d[idx]


def rate_nats(mu: np.ndarray, logvar: np.ndarray) -> np.ndarray:
    """Per-image KL(q(z|x)||p(z)) in nats from stored encodings."""
    return gaussian_kl(torch.as_tensor(mu), torch.as_tensor(logvar)).numpy()


def plane_grid(model, origin: np.ndarray, u: np.ndarray, v: np.ndarray, x_range=(-3.0, 3.0),
               y_range=(-3.0, 3.0), n: int = 15, y=None) -> np.ndarray:
    """Decoded lattice on the plane ``origin + a*u + b*v`` of latent space, one (n*28, n*28) image.

    ``a`` runs over x_range left to right and ``b`` over y_range bottom to top (the layout of
    :func:`grid_points`).  With ``origin = 0`` and ``u, v`` the first two unit axes this is
    :func:`manifold_grid`; with the mean and the first two principal axes (scaled by their std) it is
    the 2-D manifold view of a d > 2 model.
    """
    pts = grid_points(x_range, y_range, n)
    origin = np.asarray(origin, dtype=np.float64).reshape(1, -1)
    u = np.asarray(u, dtype=np.float64).reshape(1, -1)
    v = np.asarray(v, dtype=np.float64).reshape(1, -1)
    z = origin + pts[:, :1] * u + pts[:, 1:] * v
    return tile(decode_np(model, z, y), n)


def pca_plane(pca: PCA) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(origin, u, v) of the plane through the mean of ``pca`` spanned by its first two principal axes,
    each scaled by its component's standard deviation (so lattice coordinates are in std units)."""
    return pca.mean, pca.components[0] * pca.std[0], pca.components[1] * pca.std[1]


def to_pca_units(pca: PCA, z: np.ndarray) -> np.ndarray:
    """Latent points (N, d) -> coordinates along every principal axis in units of that axis' std."""
    std = np.where(pca.std > 0, pca.std, 1.0)
    return pca.transform(np.atleast_2d(z)) / std


def from_pca_units(pca: PCA, coords: np.ndarray) -> np.ndarray:
    """Inverse of :func:`to_pca_units`: coordinates in std units (N, k <= d) -> latent points (N, d)."""
    coords = np.atleast_2d(np.asarray(coords, dtype=np.float64))
    std = np.where(pca.std > 0, pca.std, 1.0)
    return pca.inverse(coords * std[: coords.shape[1]])


def pca_head(pca: PCA, k: int = 2) -> PCA:
    """A copy of ``pca`` keeping only its first k axes, e.g. to hand a full PCA to
    :func:`projected_ellipse` (which expects a 2-component projector)."""
    out = PCA.__new__(PCA)
    out.mean = pca.mean
    out.components = pca.components[:k]
    out.explained_variance = pca.explained_variance[:k]
    out.explained_ratio = pca.explained_ratio[:k]
    return out


def projected_std(logvar: np.ndarray, components: np.ndarray) -> np.ndarray:
    """Standard deviations of diagonal Gaussians q(z|x) = N(mu, exp(logvar)) along each of the given
    orthonormal directions (rows of ``components``, e.g. the first two PCA axes): (N, k)."""
    var = np.exp(np.atleast_2d(np.asarray(logvar, dtype=np.float64)))
    return np.sqrt(var @ (np.asarray(components, dtype=np.float64) ** 2).T)


def neighbour_agreement(coords: np.ndarray, labels: np.ndarray) -> float:
    """Share of points whose nearest other point (Euclidean, in ``coords``) has the same label: how well a
    map separates the classes (about 1/#classes for a map that ignores them, 1 for clean clusters)."""
    from sklearn.neighbors import NearestNeighbors

    coords = np.asarray(coords, dtype=np.float64)
    labels = np.asarray(labels)
    if len(coords) < 2:
        return float("nan")
    _, idx = NearestNeighbors(n_neighbors=2).fit(coords).kneighbors(coords)
    return float(np.mean(labels[idx[:, 1]] == labels))

