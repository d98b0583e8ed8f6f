"""vae_core.digits.applications.posterior: q(z|x) of one image, its draws, prior samples nearby, decode(mu)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tiny_models import images, tiny_cvae, tiny_vae

from vae_core.digits.applications import (
    anomaly_scores,
    encode_one,
    mean_reconstruction,
    posterior_samples,
    sample_near,
)
from vae_core.digits.model import CVAE, VAE


@pytest.fixture(scope="module")
def vae():
    torch.manual_seed(0)
    return VAE(latent_dim=3, hidden_dims=(32,)).eval()


@pytest.fixture(scope="module")
def cvae():
    torch.manual_seed(0)
    return CVAE(latent_dim=2, hidden_dims=(32,)).eval()


def _digit(seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(784, generator=g) > 0.8).float()


def test_encode_one_matches_the_encoder(vae, cvae):
    x = _digit()
    mu, lv = encode_one(vae, x)
    m2, l2 = vae.encode(x[None])
    torch.testing.assert_close(mu, m2[0])
    torch.testing.assert_close(lv, l2[0])
    mu, lv = encode_one(cvae, x.reshape(28, 28), y=4)
    m2, l2 = cvae.encode(x[None], torch.tensor([4]))
    torch.testing.assert_close(mu, m2[0])
    with pytest.raises(ValueError):
        encode_one(cvae, x)


def test_posterior_samples_are_reparameterised(vae):
    x = _digit(1)
    out = posterior_samples(vae, x, 5, generator=torch.Generator().manual_seed(0))
    assert out["z"].shape == (5, 3) and out["samples"].shape == (5, 784)
    eps = torch.randn(5, 3, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(out["z"], out["mu"] + out["sigma"] * eps)
    torch.testing.assert_close(out["sigma"], torch.exp(0.5 * out["logvar"]))
    torch.testing.assert_close(out["recon"], vae.decode(out["mu"][None])[0])
    torch.testing.assert_close(out["samples"], vae.decode(out["z"]))
    assert float(out["samples"].min()) >= 0 and float(out["samples"].max()) <= 1


def test_sample_near(vae, cvae):
    c = np.array([0.5, -1.0, 2.0])
    z, imgs = sample_near(vae, c, 0.0, 3)
    torch.testing.assert_close(z, torch.tensor(c, dtype=torch.float32).expand(3, 3))
    torch.testing.assert_close(imgs, vae.decode(z))
    z, _ = sample_near(vae, c, 0.5, 4000, generator=torch.Generator().manual_seed(0))
    assert np.allclose(z.std(0).numpy(), 0.5, atol=0.03) and np.allclose(z.mean(0).numpy(), c, atol=0.05)
    z, imgs = sample_near(cvae, [0.0, 0.0], 1.0, 2, y=3)
    torch.testing.assert_close(imgs, cvae.decode(z, torch.tensor([3, 3])))
    with pytest.raises(ValueError):
        sample_near(vae, c, -1.0, 2)
    with pytest.raises(ValueError):
        sample_near(vae, [0.0, 0.0], 1.0, 2)  # wrong latent size


def test_mean_reconstruction_vae_and_cvae():
    x = images(4)
    m = tiny_vae()
    r = mean_reconstruction(m, x)
    mu, _ = m.encode(x)
    assert torch.allclose(r, m.decode(mu))
    c = tiny_cvae()
    lab = anomaly_scores(c, x, generator=torch.Generator().manual_seed(0))["label"]
    r2 = mean_reconstruction(c, x, lab)
    mu2, _ = c.encode(x, lab)
    assert torch.allclose(r2, c.decode(mu2, lab))
    assert torch.allclose(mean_reconstruction(c, x), r2)  # y=None -> best class, same rule
