"""vae_core.models: shapes, the label rules (check_labels, condition) and the reparameterised forward pass."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tiny_models import images, tiny_cvae, tiny_vae

from vae_core.models import CVAE, VAE, build_model


def test_check_labels_rules():
    v, c = tiny_vae(), tiny_cvae()
    assert v.check_labels(None, 4) is None
    with pytest.raises(ValueError, match="not conditional"):
        v.check_labels(torch.zeros(4, dtype=torch.long), 4)
    with pytest.raises(ValueError, match="needs class labels"):
        c.check_labels(None, 4)
    assert c.check_labels(3, 4).tolist() == [3, 3, 3, 3]  # one label serves every row
    assert c.check_labels(np.array([1, 2]), 2).tolist() == [1, 2]
    assert c.check_labels(torch.tensor([[5.0]]), 2).dtype == torch.long
    with pytest.raises(ValueError, match="3 labels for 2 rows"):
        c.check_labels([1, 2, 3], 2)


def test_condition_passes_labels_only_to_a_cvae():
    v, c = tiny_vae(), tiny_cvae()
    y = torch.arange(6) % 10
    assert v.condition(y) is None and c.condition(y) is y
    x = images(6)
    with torch.no_grad():
        mu_v, _ = v.encode(x, v.condition(y))
        torch.testing.assert_close(mu_v, v.encode(x)[0])
        mu_c, _ = c.encode(x, c.condition(y))
        assert not torch.allclose(mu_c, c.encode(x, (y + 1) % 10)[0])  # the CVAE really reads the label


@pytest.mark.parametrize("make", [tiny_vae, tiny_cvae], ids=["vae", "cvae"])
def test_forward_draws_its_noise_from_the_given_generator(make):
    m = make()
    x = images(5)
    y = torch.arange(5) if m.conditional else None
    with torch.no_grad():
        a = m(x, y, generator=torch.Generator().manual_seed(1))
        b = m(x, y, generator=torch.Generator().manual_seed(1))
        c = m(x, y, generator=torch.Generator().manual_seed(2))
        mu, logvar = m.encode(x, y)
        eps = torch.randn(mu.shape, generator=torch.Generator().manual_seed(1))
    assert torch.equal(a.z, b.z) and not torch.equal(a.z, c.z)
    torch.testing.assert_close(a.z, mu + eps * torch.exp(0.5 * logvar))  # Thm 2.1: z = mu + sigma * eps
    torch.testing.assert_close(torch.sigmoid(a.logits), m.decode(a.z, y))
    assert a.logits.shape == (5, 784) and a.mu.shape == a.logvar.shape == a.z.shape == (5, 2)


def test_build_model_round_trips_the_config():
    for m in (VAE(3, (16, 8), activation="elu"), CVAE(2, (12,), num_classes=4)):
        again = build_model(m.config())
        assert type(again) is type(m) and again.config() == m.config()
    with pytest.raises(ValueError):
        build_model({"kind": "gan", "latent_dim": 2, "hidden_dims": [8]})
    with pytest.raises(ValueError):
        VAE(0, (8,))
    with pytest.raises(ValueError):
        CVAE(2, (8,), num_classes=1)
