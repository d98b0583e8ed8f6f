"""What q(z|x) says about one image: its mean and variance, draws from it decoded, prior draws near
a point, and the mean reconstruction decode(mu(x)).
"""

from __future__ import annotations

import numpy as np
import torch

from ...images import as_image_rows
from .conditional import best_class

__all__ = ["encode_one", "mean_reconstruction", "posterior_samples", "sample_near"]


@torch.no_grad()
def encode_one(model, x, y=None) -> tuple[torch.Tensor, torch.Tensor]:
    """Posterior q(z|x) of ONE image (784,) / (28, 28): its mean and log-variance, each (d,)."""
    model.eval()
    xx = as_image_rows(x)[:1]
    mu, logvar = model.encode(xx, model.check_labels(y, 1))
    return mu[0], logvar[0]


@torch.no_grad()
def posterior_samples(model, x, k: int, y=None, generator: torch.Generator | None = None) -> dict:
    """What q(z|x) says about one image: ``mu``, ``logvar`` (d,), ``sigma`` (d,), ``recon`` (784,) =
    decode(mu), ``z`` (k, d) draws z = mu + sigma * eps (reparameterisation, eps ~ N(0, I)) and ``samples``
    (k, 784) = decode(z), Bernoulli means in [0, 1]."""
    if k < 1:
        raise ValueError("k must be >= 1")
    model.eval()
    mu, logvar = encode_one(model, x, y)
    sigma = torch.exp(0.5 * logvar)
    eps = torch.randn(int(k), mu.numel(), generator=generator)
    z = mu.unsqueeze(0) + sigma.unsqueeze(0) * eps
    yk = model.check_labels(y, int(k))
    y1 = model.check_labels(y, 1)
    return {"mu": mu, "logvar": logvar, "sigma": sigma, "recon": model.decode(mu.unsqueeze(0), y1)[0],
            "z": z, "samples": model.decode(z, yk)}


@torch.no_grad()
def sample_near(model, center, radius: float, k: int, y=None,
                generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Decode k draws z ~ N(center, radius^2 I): "sample the prior near here".  Returns (z (k, d),
    images (k, 784)).  ``radius = 0`` decodes ``center`` k times; radius 1 around 0 is the prior itself."""
    if radius < 0:
        raise ValueError("radius must be >= 0")
    if k < 1:
        raise ValueError("k must be >= 1")
    model.eval()
    c = torch.as_tensor(np.asarray(center, dtype=np.float32)).reshape(1, -1)
    if c.shape[1] != model.latent_dim:
        raise ValueError(f"center has {c.shape[1]} coordinates, the model's latent space {model.latent_dim}")
    z = c + float(radius) * torch.randn(int(k), c.shape[1], generator=generator)
    return z, model.decode(z, model.check_labels(y, int(k)))


@torch.no_grad()
def mean_reconstruction(model, x, y=None) -> torch.Tensor:
    """decode(mu(x)) for (N, 784) images, (N, 784) in [0, 1].

    A CVAE without ``y`` uses, per image, the class with the lowest one-sample -ELBO (the ``label``
    that :func:`~vae_core.digits.applications.conditional.best_class` returns; pass that as ``y`` to reuse it)."""
    model.eval()
    x = as_image_rows(x)
    if model.conditional and y is None:
        y = best_class(model, x)
    yy = model.check_labels(y, x.shape[0])
    mu, _ = model.encode(x, yy)
    return model.decode(mu, yy)
