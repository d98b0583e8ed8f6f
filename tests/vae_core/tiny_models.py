"""Small untrained models and synthetic digits for the unit tests of vae_core (built under a forked RNG, so the
weights depend only on the seed and no test changes torch's global random state)."""

from __future__ import annotations

import torch

from vae_core.digits.model import CVAE, VAE


def tiny_vae(seed: int = 0, latent_dim: int = 2, hidden_dims: tuple[int, ...] = (32,)) -> VAE:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return VAE(latent_dim=latent_dim, hidden_dims=hidden_dims)


def tiny_cvae(seed: int = 0, latent_dim: int = 2, hidden_dims: tuple[int, ...] = (32,)) -> CVAE:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return CVAE(latent_dim=latent_dim, hidden_dims=hidden_dims, num_classes=10)


def fake_images(n: int = 20, seed: int = 0) -> torch.Tensor:
    """(n, 784) digit-like images: one bright vertical bar of 10 x 3 pixels at a random place each."""
    g = torch.Generator().manual_seed(seed)
    x = torch.zeros(n, 28, 28)
    for i in range(n):
        r, c = torch.randint(4, 14, (2,), generator=g).tolist()
        x[i, r:r + 10, c:c + 3] = torch.rand(1, generator=g).item() * 0.5 + 0.5
    return x.reshape(n, 784)


def images(n: int = 6, seed: int = 0) -> torch.Tensor:
    """(n, 784) i.i.d. U(0, 1) pixels."""
    return torch.rand(n, 784, generator=torch.Generator().manual_seed(seed))
