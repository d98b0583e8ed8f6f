"""ui.compute for the Explore pages and the Drawing Board, against independent computations on the shipped
mnist-z2 / mnist-z20 / mnist-cvae-z2 and the test split."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ui.compute.drawing import analyse_drawing, best_label, posterior_outlines
from ui.compute.interpolation import frame_layout, walks
from ui.compute.latent_map import manifold_square, map_note, select_digits, sigma_outlines, unused_dimensions
from ui.compute.sliders import code_from_sliders, pct, slider_setting
from ui.state import SHIPPED_DIR
from vae_core import load_checkpoint, load_dataset
from vae_core.latent import PCA, decode_np, encode_dataset, rate_nats


@pytest.fixture(scope="module")
def test_data():
    return load_dataset("mnist", "test")


def _model(name):
    return load_checkpoint(SHIPPED_DIR / name)[0]


def _enc(model, data, n=2000):
    return encode_dataset(model, data.images[:n], data.labels[:n])


# ------------------------------------------------------------------------------------- sliders
def test_slider_setting_clips_and_round_trips():
    rng = np.random.default_rng(0)
    mu = rng.standard_normal((500, 5)) * np.array([3.0, 1.0, 0.5, 0.01, 0.001])
    pca = PCA(mu)
    z = mu[7]
    s = slider_setting(z, 4.0, pca)
    coords = pca.transform(z[None])[0] / pca.std
    np.testing.assert_allclose(s.values, np.clip(coords, -4, 4))
    assert s.n_clipped == int(np.sum(np.abs(coords) > 4))
    inside = np.clip(coords, -3.9, 3.9)
    np.testing.assert_allclose(code_from_sliders(slider_setting(code_from_sliders(inside, pca), 4, pca).values, pca),
                               code_from_sliders(inside, pca), atol=1e-9)
    # one principal slider moves z along that principal axis only, by that many of its standard deviations
    step = code_from_sliders(inside + np.eye(5)[0], pca) - code_from_sliders(inside, pca)
    np.testing.assert_allclose(step, pca.components[0] * pca.std[0], atol=1e-9)
    plain = slider_setting(np.array([5.0, -1.0]), 4.0)
    assert plain.n_clipped == 1 and list(plain.values) == [4.0, -1.0] and list(plain.target) == [5.0, -1.0]
    assert [pct(r) for r in (0.42, 0.031, 0.0005, 0.00001)] == ["42%", "3.1%", "0.05%", "<0.01%"]


# ------------------------------------------------------------------------------------- interpolation
@pytest.mark.parametrize("name", ["mnist-z2", "mnist-z20", "mnist-cvae-z2"])
def test_walks_end_on_the_reconstructions(name, test_data):
    model = _model(name)
    x = test_data.images[:2]
    mu = encode_dataset(model, x, test_data.labels[:2])[0]
    y = 4 if model.conditional else None
    w = walks(model, mu[0], mu[1], x[0].numpy(), x[1].numpy(), 7, y=y)
    for m in ("linear", "spherical"):
        assert w.frames[m].shape == (7, 28, 28) and w.paths[m].shape == (7, model.latent_dim)
        np.testing.assert_allclose(w.frames[m][0], decode_np(model, mu[:1], y)[0].reshape(28, 28), atol=1e-5)
        np.testing.assert_allclose(w.frames[m][-1], decode_np(model, mu[1:], y)[0].reshape(28, 28), atol=1e-5)
        np.testing.assert_allclose(w.norms[m], np.linalg.norm(w.paths[m], axis=1))
    np.testing.assert_allclose(w.paths["linear"][3], (mu[0] + mu[1]) / 2, atol=1e-6)
    np.testing.assert_allclose(w.fade[3].reshape(-1), (x[0].numpy() + x[1].numpy()) / 2, atol=1e-6)
    assert frame_layout(6, 810) == (112, 1, 6)  # 810 px hold six 112-px frames (+ padding)
    assert frame_layout(10, 810) == (112, 2, 5) and frame_layout(20, 810) == (56, 2, 10)


# ------------------------------------------------------------------------------------- latent map
def test_select_digits(test_data):
    model = _model("mnist-z2")
    mu, logvar = _enc(model, test_data)
    labels = test_data.labels.numpy()[:2000]
    sel = list(range(40, 60))
    v = select_digits(model, sel, mu, logvar, labels, show_max=8)
    assert v.n_selected == 20 and len(v.shown) == 8 and set(v.shown) <= set(sel)
    assert [labels[i] for i in v.shown] == sorted(labels[i] for i in v.shown)
    assert v.counts.sum() == 20 and v.counts[labels[40]] >= 1
    np.testing.assert_allclose(v.kl, rate_nats(mu[v.shown], logvar[v.shown]))
    np.testing.assert_allclose(v.recon, decode_np(model, mu[v.shown]), atol=1e-6)
    assert select_digits(model, [5, 3], mu, logvar, labels).shown == [5, 3]
    cvae = _model("mnist-cvae-z2")
    mu_c, lv_c = _enc(cvae, test_data, 50)
    vc = select_digits(cvae, [1, 2], mu_c, lv_c, test_data.labels.numpy()[:50])
    np.testing.assert_allclose(vc.recon, decode_np(cvae, mu_c[[1, 2]], test_data.labels.numpy()[[1, 2]]), atol=1e-6)


def test_outlines_square_and_unused_dimensions(test_data):
    z20 = _model("mnist-z20")
    mu, logvar = _enc(z20, test_data)
    pca = PCA(mu)
    (ell,) = sigma_outlines(mu, logvar, np.array([0]), pca)
    centre = pca.transform(mu[:1])[0, :2]
    assert np.allclose(ell.mean(0), centre, atol=0.05)  # an outline around the projected mean
    sq = manifold_square(20, 2.0, pca)
    np.testing.assert_allclose(pca.transform(sq)[:, :2] / pca.std[:2], [[-2, -2], [2, -2], [2, 2], [-2, 2], [-2, -2]],
                               atol=1e-6)
    np.testing.assert_allclose(manifold_square(2, 3.0, None)[2], [3.0, 3.0])
    n_off = unused_dimensions(mu)
    assert n_off == int(np.sum(np.var(mu, axis=0, ddof=1) <= 0.01))  # Burda et al.: Cov_x μ_j ≤ 0.01
    assert 0 < n_off < 20  # the shipped z = 20 model leaves some dimensions at the prior (README)
    assert "collapse" in map_note(2, False, 0.9, "pca", 1.2) and "clusters" in map_note(2, False, 0.9, "pca", None)


# ------------------------------------------------------------------------------------- drawing board
@pytest.mark.parametrize("name", ["mnist-z2", "mnist-z20", "mnist-cvae-z2"])
def test_analyse_drawing(name, test_data):
    model = _model(name)
    mu_all, _ = _enc(model, test_data)
    x = test_data.images[0].numpy()  # a 7
    y = best_label(model, x) if model.conditional else None
    a = analyse_drawing(model, x, mu_all, k=5, radius=0.7, seed=3, y=y)
    mu, logvar = encode_dataset(model, test_data.images[:1], None if y is None else torch.tensor([y]))
    np.testing.assert_allclose(a.mu, mu[0], atol=1e-5)
    np.testing.assert_allclose(a.sigma, np.exp(0.5 * logvar[0]), atol=1e-5)
    np.testing.assert_allclose(a.recon.reshape(-1), decode_np(model, mu, y)[0].reshape(-1), atol=1e-5)
    np.testing.assert_allclose(a.samples, decode_np(model, a.z, y).reshape(5, 784), atol=1e-5)
    assert a.z.shape == (5, model.latent_dim) and a.near.shape == (5, 784) and a.radius == 0.7
    dist = np.linalg.norm(mu_all - a.mu, axis=1)
    np.testing.assert_allclose(a.nearest_dist, np.sort(dist)[:6], atol=1e-6)
    assert a.nearest[0] == 0  # the digit itself is its own nearest test mean
    again = analyse_drawing(model, x, mu_all, k=5, radius=0.7, seed=3, y=y)
    np.testing.assert_array_equal(again.z, a.z)  # the seed fixes the draws
    if name == "mnist-z2":
        assert np.mean(test_data.labels.numpy()[a.nearest] == 7) >= 0.5
        o1, o2 = posterior_outlines(a.mu, a.logvar, None)
        assert np.allclose(np.abs(o2 - a.mu).max(0), 2 * np.abs(o1 - a.mu).max(0), rtol=1e-6)
    if name == "mnist-cvae-z2":
        assert a.label == 7  # the lowest −ELBO reading of a 7
