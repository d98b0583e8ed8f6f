"""vae_core.digits.applications.compression: the latent rate in nats and bits against 8-bit pixels."""

from __future__ import annotations

import math

import pytest
import torch
from tiny_models import fake_images, tiny_cvae, tiny_vae

from vae_core.digits.applications import (
    compression_report,
    rate_summary,
)
from vae_core.digits.model import VAE


def test_compression_report():
    model = tiny_vae()
    x = fake_images(8)
    rep = compression_report(model, x)
    assert rep["latent_dim"] == 2 and rep["pixel_bits"] == 6272 and rep["pixel_bytes"] == 784
    assert rep["dim_ratio"] == 392.0 and rep["float32_ratio"] == 6272 / 64
    torch.testing.assert_close(rep["rate_bits"], rep["rate_nats"] / math.log(2))
    mu, logvar = model.encode(x)
    kl = 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1).sum(1)
    torch.testing.assert_close(rep["rate_nats"], kl.detach())
    torch.testing.assert_close(rep["ratio"], 6272 / rep["rate_bits"])
    assert rep["recon"].shape == (8, 784) and rep["recon_bce"].shape == (8,) and rep["recon_mse"].shape == (8,)
    torch.testing.assert_close(rep["total_bits"], (rep["rate_nats"] + rep["recon_bce"]) / math.log(2))
    rc = compression_report(tiny_cvae(), x, y=torch.arange(8))
    assert rc["rate_bits"].shape == (8,)


@pytest.fixture(scope="module")
def vae():
    torch.manual_seed(0)
    return VAE(latent_dim=3, hidden_dims=(32,)).eval()


def _digit(seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(784, generator=g) > 0.8).float()


def test_rate_summary_matches_compression_report(vae):
    x = torch.stack([_digit(s) for s in range(6)])
    rep = compression_report(vae, x)
    s = rate_summary(rep["rate_nats"])
    assert s["n"] == 6
    assert s["mean_nats"] == pytest.approx(float(rep["rate_nats"].mean()), rel=1e-6)
    assert s["mean_bits"] == pytest.approx(float(rep["rate_bits"].mean()), rel=1e-5)
    assert s["mean_bits"] == pytest.approx(s["mean_nats"] / math.log(2))
    assert s["pixel_bits"] == 6272 and s["ratio"] == pytest.approx(6272 / s["mean_bits"])
    assert s["p10_bits"] <= s["median_bits"] <= s["p90_bits"]
    with pytest.raises(ValueError):
        rate_summary([])
