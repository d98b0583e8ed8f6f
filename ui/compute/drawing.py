"""Drawing Board: what the VAE makes of one drawn digit — its posterior, reconstruction, draws from q(z|x),
codes sampled near μ, the nearest test digits in latent space, and the σ outlines in map coordinates."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from vae_core.digits.applications import best_class, posterior_samples, sample_near
from vae_core.latent import PCA, ellipse_points, nearest, pca_head, projected_ellipse


@dataclass
class DrawingAnalysis:
    label: int | None  # the class a CVAE decoded with (None for a VAE)
    mu: np.ndarray  # (d,)
    logvar: np.ndarray  # (d,)
    sigma: np.ndarray  # (d,)
    recon: np.ndarray  # (784,) decode(μ)
    z: np.ndarray  # (k, d) draws from q(z|x)
    samples: np.ndarray  # (k, 784) decode(z)
    near_z: np.ndarray  # (k, d) draws from N(μ, radius² I)
    near: np.ndarray  # (k, 784) their decodings
    radius: float
    nearest: np.ndarray  # (n_near,) test indices whose μ is closest to this μ
    nearest_dist: np.ndarray  # (n_near,) their Euclidean distances, latent units


def best_label(model, x: np.ndarray) -> int:
    """The class with the lowest −ELBO for ``x`` (a CVAE's best reading of the drawing)."""
    return int(best_class(model, x[None])[0])


def analyse_drawing(model, x: np.ndarray, mu_all: np.ndarray, k: int = 6, radius: float = 0.5, seed: int = 0,
                    y: int | None = None, n_near: int = 6) -> DrawingAnalysis:
    """Encode the preprocessed digit ``x`` (784,) and gather what the page shows. ``seed`` fixes the draws from
    q(z|x) (seed) and near μ (seed + 1); ``mu_all`` are the test means the nearest digits come from."""
    post = posterior_samples(model, x, k, y=y, generator=torch.Generator().manual_seed(int(seed)))
    mu = post["mu"].numpy()
    near_z, near = sample_near(model, mu, radius, k, y=y, generator=torch.Generator().manual_seed(int(seed) + 1))
    nn_idx, nn_dist = nearest(mu_all, mu, k=n_near)
    return DrawingAnalysis(
        label=y, mu=mu, logvar=post["logvar"].numpy(), sigma=post["sigma"].numpy(), recon=post["recon"].numpy(),
        z=post["z"].numpy(), samples=post["samples"].numpy(), near_z=near_z.numpy(), near=near.numpy(),
        radius=float(radius), nearest=np.asarray(nn_idx), nearest_dist=np.asarray(nn_dist))


def posterior_outlines(mu: np.ndarray, logvar: np.ndarray, pca: PCA | None) -> list[np.ndarray]:
    """The 1σ and 2σ outlines of q(z|x) in map coordinates (projected through the PCA for d > 2)."""
    if len(mu) == 2:
        sigma = np.exp(0.5 * logvar)
        return [ellipse_points(mu, sigma, n_std) for n_std in (1.0, 2.0)]
    p2 = pca_head(pca, 2)
    return [projected_ellipse(mu.astype(np.float64), logvar.astype(np.float64), p2, n_std) for n_std in (1.0, 2.0)]


def zoom_box(points: np.ndarray, centre: np.ndarray, radius: float) -> tuple[np.ndarray, np.ndarray]:
    """(lower-left, upper-right) of a square view around ``centre`` holding ``points`` and the radius circle."""
    half = max(float(np.abs(points - centre).max()) * 1.15, radius * 1.15, 0.25)
    return centre - half, centre + half


def full_box(coords: np.ndarray, centre: np.ndarray, radius: float) -> tuple[np.ndarray, np.ndarray]:
    """(lower-left, upper-right) of the whole map (0.5–99.5 percentiles of the dots) widened to hold the circle."""
    lo, hi = np.percentile(coords, 0.5, axis=0), np.percentile(coords, 99.5, axis=0)
    lo, hi = np.minimum(lo, centre - radius), np.maximum(hi, centre + radius)
    return lo - 0.3, hi + 0.3
