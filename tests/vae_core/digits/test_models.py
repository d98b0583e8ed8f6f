"""vae_core.digits.model: shapes, the label rules (check_labels, condition) and the reparameterised forward pass."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tiny_models import images, tiny_cvae, tiny_vae

from vae_core.digits.model import CVAE, VAE, build_model


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


def test_logit_range_keeps_lambda_strictly_inside_0_1_for_any_z():
    """#11: decode(z) returns the likelihood's parameter lambda in the open interval (0, 1).  A model with a
    logit_range maps eta onto (lo, hi) by c + h tanh((eta - c)/h); the bounds are reached only in the limit, the
    slope at the centre is 1, and the config round-trips through build_model."""
    from vae_core.digits.model import LOGIT_RANGE_LIMITS, LogitRange

    torch.manual_seed(0)
    m = VAE(3, (16, 8), logit_range=(-80.0, 15.0)).eval()
    assert build_model(m.config()).config() == m.config() and m.config()["logit_range"] == [-80.0, 15.0]
    with torch.no_grad():
        m.fc_out.weight.mul_(1e4)  # a decoder that wants eta of order +-1e6
        z = torch.randn(200, 3) * 50
        eta, lam = m.decode_logits(z), m.decode(z)
    assert float(eta.min()) >= -80 and float(eta.max()) <= 15 and float(eta.abs().max()) > 14
    assert bool((lam > 0).all() and (lam < 1).all())
    torch.testing.assert_close(lam, torch.sigmoid(eta))
    r = LogitRange(-80, 15)
    t = torch.tensor([-1e9, -32.5, 0.0, 1e9], dtype=torch.float64)
    want = -32.5 + 47.5 * np.tanh((t.numpy() + 32.5) / 47.5)  # independent: numpy's tanh
    assert np.allclose(r(t).numpy(), want) and r(t)[0] == -80 and r(t)[-1] == 15
    g = torch.tensor([-32.5], requires_grad=True)
    r(g).backward()
    assert abs(float(g.grad) - 1.0) < 1e-6
    for bad in ((-90.0, 0.0), (0.0, 17.0), (5.0, 5.0)):
        with pytest.raises(ValueError, match="logit_range"):
            VAE(2, (8,), logit_range=bad)
    assert LOGIT_RANGE_LIMITS == (-87.0, 16.0)
    assert float(torch.sigmoid(torch.tensor(-87.0))) > 0 and float(torch.sigmoid(torch.tensor(16.0))) < 1


def test_decode_of_an_unbounded_model_is_moved_inside_0_1_not_to_0_or_1():
    """Models without a logit_range: where sigmoid(eta) rounds to exactly 0 or 1 in float32, decode returns the
    nearest normal float32 number inside (0, 1); elsewhere it is the sigmoid itself."""
    torch.manual_seed(0)
    m = VAE(2, (8,)).eval()
    with torch.no_grad():
        m.fc_out.bias.copy_(torch.linspace(-200, 200, 784))
        m.fc_out.weight.zero_()
        eta, lam = m.decode_logits(torch.zeros(1, 2)), m.decode(torch.zeros(1, 2))
    raw = torch.sigmoid(eta)
    assert bool((raw == 0).any() and (raw == 1).any())  # the float32 sigmoid does round
    assert bool((lam > 0).all() and (lam < 1).all())
    tiny = torch.finfo(torch.float32).tiny  # subnormal values are moved up to the smallest normal one too
    inside = (raw >= tiny) & (raw < 1)
    assert torch.equal(lam[inside], raw[inside]) and float(lam.min()) == tiny
    assert float(lam.max()) == 1 - torch.finfo(torch.float32).eps / 2  # the largest float32 below 1
