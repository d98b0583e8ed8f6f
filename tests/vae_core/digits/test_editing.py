"""vae_core.digits.applications.editing: latent directions, edits and the handwriting features that measure them."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from tiny_models import tiny_cvae, tiny_vae

from vae_core.digits.applications import (
    FEATURES,
    class_mean_direction,
    edit,
    edit_sweep,
    feature_std,
    image_features,
    style_direction,
    trend,
)
from vae_core.digits.model import VAE


def test_class_mean_direction_on_synthetic_mu():
    mu = torch.tensor([[0.0, 0.0], [2.0, 0.0], [1.0, 5.0], [1.0, 7.0], [9.0, 9.0]])
    labels = torch.tensor([3, 3, 8, 8, 1])
    torch.testing.assert_close(class_mean_direction(mu, labels, 3, 8), torch.tensor([0.0, 6.0]))
    with pytest.raises(ValueError):
        class_mean_direction(mu, labels, 3, 4)


def test_style_direction_recovers_planted_direction():
    g = torch.Generator().manual_seed(0)
    n, d = 2000, 4
    f = 3.0 + 2.0 * torch.randn(n, generator=g)  # feature with std 2
    v = torch.tensor([1.0, -0.5, 0.0, 2.0])
    mu = 0.7 + f[:, None] * v[None, :] + 0.05 * torch.randn(n, d, generator=g)
    b = style_direction(mu, {"slant": f}, "slant")
    torch.testing.assert_close(b, 2.0 * v, atol=0.05, rtol=0.03)  # +1 std of f moves z by 2 v
    torch.testing.assert_close(style_direction(mu, f.numpy()), b)
    with pytest.raises(ValueError):
        style_direction(mu, torch.ones(n))


def test_image_features():
    img = torch.zeros(3, 28, 28)
    img[0, 4:24, 13:16] = 1  # upright bar: 20 tall, 3 wide
    for r in range(4, 24):  # bar leaning right: top is further right than bottom
        c = 10 + (24 - r) // 3
        img[1, r, c:c + 3] = 1
    feats = image_features(img.reshape(3, 784))
    assert set(feats) == set(FEATURES)
    assert feats["ink"][0] == pytest.approx(60.0)
    assert feats["height"][0] == 20 and feats["width"][0] == 3
    assert 2.5 <= feats["thickness"][0] <= 3.5
    assert abs(feats["slant"][0]) < 1e-6 and feats["slant"][1] > 0.2
    assert feats["ink"][2] == 0 and feats["thickness"][2] == 0 and feats["width"][2] == 0


def test_edit_decodes_each_strength():
    model = tiny_vae()
    out = edit(model, torch.zeros(2), torch.tensor([1.0, 0.0]), [-2, 0, 2])
    assert out.shape == (3, 784) and out.min() >= 0 and out.max() <= 1
    torch.testing.assert_close(out[1], model.decode(torch.zeros(1, 2))[0])
    cv = edit(tiny_cvae(), torch.zeros(1, 2), torch.ones(2), torch.tensor([0.0, 1.0]), y=4)
    assert cv.shape == (2, 784)


@pytest.fixture(scope="module")
def vae():
    torch.manual_seed(0)
    return VAE(latent_dim=3, hidden_dims=(32,)).eval()


def test_edit_sweep_measures_the_edits(vae):
    z, v = torch.zeros(3), torch.tensor([1.0, 0.0, -1.0])
    out = edit_sweep(vae, z, v, [-1.0, 0.0, 2.0])
    torch.testing.assert_close(out["images"], edit(vae, z, v, [-1.0, 0.0, 2.0]))
    feats = image_features(out["images"])
    for k in feats:
        torch.testing.assert_close(out["features"][k], feats[k])
    assert out["strengths"].tolist() == [-1.0, 0.0, 2.0]


def test_feature_std_is_the_population_std():
    # the formatting of features is a UI matter: tests/ui/test_fmt.py checks ui.fmt.format_feature
    assert feature_std({"ink": torch.tensor([1.0, 3.0])}) == {"ink": pytest.approx(1.0)}
    f = {"ink": torch.tensor([1.0, 2.0, 4.0, 9.0]), "slant": torch.tensor([0.1, -0.1, 0.3, 0.0])}
    got = feature_std(f)
    assert set(got) == {"ink", "slant"}
    for k, v in f.items():
        assert got[k] == pytest.approx(float(np.std(v.numpy().astype(np.float64))), rel=1e-12)


def test_trend():
    a = np.linspace(-1, 1, 9)
    assert trend(a, a**3) == pytest.approx(1.0)
    assert trend(a, -a) == pytest.approx(-1.0)
    assert abs(trend(a, np.cos(np.pi * a))) < 0.2
    assert math.isnan(trend(a, np.ones_like(a)))
    with pytest.raises(ValueError):
        trend(a, a[:3])
