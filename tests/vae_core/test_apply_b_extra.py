"""Helpers behind the Conditional VAE / Anomaly Detection / Inpainting pages (vae_core.applications)."""

import math

import numpy as np
import pytest
import torch

from vae_core.applications import (
    MASKS,
    anomaly_scores,
    as_image_rows,
    class_samples,
    class_swap,
    completion_spread,
    inpaint,
    known_pixel_change,
    make_mask,
    mask_from_canvas,
    mask_overlay,
    mean_reconstruction,
    missing_pixel_error,
    score_bins,
    score_histograms,
    threshold_rates,
    top_k,
)
from vae_core.models import CVAE, VAE


@pytest.fixture(autouse=True)
def _no_grad():
    """Run each test without autograd, and leave the global grad mode as it was."""
    with torch.no_grad():
        yield


def tiny_vae(seed=0):
    torch.manual_seed(seed)
    return VAE(latent_dim=2, hidden_dims=(32,))


def tiny_cvae(seed=0):
    torch.manual_seed(seed)
    return CVAE(latent_dim=2, hidden_dims=(32,), num_classes=10)


def images(n=6, seed=0):
    return torch.rand(n, 784, generator=torch.Generator().manual_seed(seed))


def test_as_image_rows_shapes_and_clipping():
    assert as_image_rows(np.zeros(784)).shape == (1, 784)
    assert as_image_rows(np.zeros((28, 28))).shape == (1, 784)
    assert as_image_rows(np.zeros((3, 28, 28))).shape == (3, 784)
    r = as_image_rows(np.full(784, 2.0))
    assert r.dtype == torch.float32 and float(r.max()) == 1.0
    with pytest.raises(ValueError):
        as_image_rows(np.zeros(100))


def test_threshold_rates_match_counts():
    normal = np.array([1.0, 2.0, 3.0, 4.0])
    sets = {"a": np.array([3.0, 5.0]), "b": np.array([0.5, 0.5, 0.5, 10.0])}
    r = threshold_rates(normal, sets, 3.0)
    assert r["false_positive_rate"] == 0.5  # 3 and 4 (>= threshold)
    assert r["detection_rate"] == {"a": 1.0, "b": 0.25}
    assert threshold_rates(normal, sets, math.inf)["false_positive_rate"] == 0.0
    assert threshold_rates(normal, sets, -math.inf)["detection_rate"]["b"] == 1.0


def test_top_k_order_and_bounds():
    s = np.array([0.1, 5.0, 3.0, 5.0, -1.0])
    assert top_k(s, 3).tolist() == [1, 3, 2]
    assert top_k(s, 99).tolist() == [1, 3, 2, 0, 4]
    assert top_k(s, 0).tolist() == []


def test_score_bins_and_histograms():
    sets = {"n": np.array([100.0, 120.0, 150.0]), "o": np.array([2000.0, 4000.0])}
    e = score_bins(sets, 10, log=True)
    assert e.shape == (11,) and e[0] <= 100 and e[-1] >= 4000
    assert np.allclose(np.diff(np.log(e)), np.diff(np.log(e))[0])  # geometric
    h = score_histograms(sets, e)
    for v in h.values():
        assert v.sum() == pytest.approx(1.0)
    lin = score_bins({"x": np.array([-1.0, 1.0])}, 4, log=False)
    assert lin[0] == -1.0 and lin[-1] >= 1.0
    with pytest.raises(ValueError):
        score_bins({"x": np.array([-1.0, 1.0])}, 4, log=True)
    # a constant set still gets bins
    assert np.all(np.diff(score_bins({"c": np.array([5.0, 5.0])}, 3)) > 0)


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


def test_class_swap_rows_are_one_z_decoded_per_class():
    c = tiny_cvae()
    z = torch.randn(3, 2, generator=torch.Generator().manual_seed(1))
    out = class_swap(c, z)
    assert out.shape == (3, 10, 784)
    for i in range(3):
        for k in (0, 7):
            assert torch.allclose(out[i, k], c.decode(z[i:i + 1], torch.tensor([k]))[0], atol=1e-6)
    assert class_swap(c, z[0], classes=[2, 5]).shape == (1, 2, 784)
    with pytest.raises(ValueError):
        class_swap(tiny_vae(), z)


def test_class_samples_reproducible():
    c = tiny_cvae()
    a, b = class_samples(c, 3, 5, seed=7), class_samples(c, 3, 5, seed=7)
    assert a.shape == (5, 784) and torch.equal(a, b)
    assert not torch.equal(a, class_samples(c, 3, 5, seed=8))


def test_mask_from_canvas_cells():
    rgba = np.zeros((280, 280, 4), np.uint8)
    rgba[:140, :, 3] = 255  # top half painted
    m = mask_from_canvas(rgba)
    assert torch.equal(m, make_mask("top"))
    rgba2 = np.zeros((280, 280, 4), np.uint8)
    rgba2[0:10, 0:3, 3] = 255  # 30 % of the first cell
    assert mask_from_canvas(rgba2).sum() == 1
    assert mask_from_canvas(rgba2, coverage=0.5).sum() == 0
    assert mask_from_canvas(np.zeros((56, 56))).sum() == 0  # no alpha: brightness, none
    with pytest.raises(ValueError):
        mask_from_canvas(np.zeros((10, 10, 4)))


def test_inpainting_keeps_known_pixels_and_helpers():
    m = tiny_vae()
    x = images(1)[0]
    for kind in MASKS:
        mask = make_mask(kind, seed=3)
        r = inpaint(m, x, mask, n_iter=5, n_samples=3, generator=torch.Generator().manual_seed(0),
                    stochastic_steps=2)
        assert known_pixel_change(r["completions"], x, mask) == 0.0
        err = missing_pixel_error(r["completions"], x, mask)
        assert err.shape == (3,) and torch.all(err >= 0)
        assert completion_spread(r["completions"], mask) >= 0.0
    c = torch.stack([x, x])
    c[1, 0] += 0.5
    assert known_pixel_change(c, x, torch.zeros(784)) == pytest.approx(0.5)
    assert known_pixel_change(c, x, torch.ones(784)) == 0.0
    assert math.isnan(completion_spread(c, torch.zeros(784)))
    assert completion_spread(c[:1], torch.ones(784)) == 0.0


def test_mask_overlay_paints_only_missing():
    x = np.linspace(0, 1, 784)
    mask = make_mask("left")
    rgb = mask_overlay(x, mask, color=(1.0, 0.0, 0.0))
    assert rgb.shape == (28, 28, 3)
    miss = mask.reshape(28, 28).numpy() != 0
    assert np.all(rgb[miss] == np.array([1.0, 0.0, 0.0], np.float32))
    g = x.reshape(28, 28)[~miss].astype(np.float32)
    for ch in range(3):
        assert np.allclose(rgb[~miss][:, ch], g)
