"""Unit tests for the latent-space helpers the Explore pages use (plane lattices, PCA units)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tiny_models import images, tiny_cvae, tiny_vae

from vae_core.latent import (
    PCA,
    decode_np,
    encode_dataset,
    from_pca_units,
    interpolate,
    manifold_grid,
    pca_plane,
    pixel_crossfade,
    plane_grid,
    to_pca_units,
)


def _model(d: int):
    return tiny_vae(0, latent_dim=d, hidden_dims=(16,)).eval()


def test_encode_dataset_batches_and_uses_labels_only_for_a_cvae():
    x, y = images(7), torch.arange(7) % 10
    v = tiny_vae()
    mu, lv = encode_dataset(v, x, y, batch_size=3)  # a plain VAE ignores the data set's labels
    with torch.no_grad():
        want_mu, want_lv = v.encode(x)
    assert mu.dtype == np.float32 and mu.shape == lv.shape == (7, 2)
    np.testing.assert_allclose(mu, want_mu.numpy(), atol=1e-6)
    np.testing.assert_allclose(lv, want_lv.numpy(), atol=1e-6)
    c = tiny_cvae()
    mu_c, _ = encode_dataset(c, x, y, batch_size=3)
    with torch.no_grad():
        np.testing.assert_allclose(mu_c, c.encode(x, y)[0].numpy(), atol=1e-6)
    with pytest.raises(ValueError):
        encode_dataset(c, x)  # a CVAE needs the labels


def test_decode_np_shapes_and_labels():
    z = np.array([[0.0, 0.0], [1.0, -1.0], [2.0, 0.5]])
    v, c = tiny_vae(), tiny_cvae()
    out = decode_np(v, z, y=4)  # a label given to a plain VAE is ignored
    assert out.shape == (3, 28, 28) and out.min() >= 0 and out.max() <= 1
    np.testing.assert_allclose(out, decode_np(v, z), atol=0)
    one = decode_np(c, z, 4)  # one class for every point
    with torch.no_grad():
        want = c.decode(torch.as_tensor(z, dtype=torch.float32), torch.full((3,), 4)).numpy().reshape(3, 28, 28)
    np.testing.assert_allclose(one, want, atol=1e-6)
    per_row = decode_np(c, z, np.array([4, 5, 6]))
    np.testing.assert_allclose(per_row[0], one[0], atol=1e-6)
    assert not np.allclose(per_row[1], one[1])
    with pytest.raises(ValueError):
        decode_np(c, z)  # a CVAE needs a class


def test_plane_grid_with_unit_axes_is_manifold_grid():
    m = _model(3)
    base = np.array([0.0, 0.0, 0.7])
    e0, e1 = np.eye(3)[0], np.eye(3)[1]
    a = plane_grid(m, base, e0, e1, (-2, 2), (-1, 1), n=5)
    b = manifold_grid(m, (-2, 2), (-1, 1), n=5, base=base)
    assert a.shape == (5 * 28, 5 * 28)
    np.testing.assert_allclose(a, b, atol=1e-6)


def test_plane_grid_layout_top_left_is_min_x_max_y():
    m = _model(2)
    img = plane_grid(m, np.zeros(2), np.array([1.0, 0.0]), np.array([0.0, 1.0]), (-3, 3), (-2, 2), n=4)
    top_left = decode_np(m, np.array([[-3.0, 2.0]]))[0]
    bottom_right = decode_np(m, np.array([[3.0, -2.0]]))[0]
    np.testing.assert_allclose(img[:28, :28], top_left, atol=1e-6)
    np.testing.assert_allclose(img[-28:, -28:], bottom_right, atol=1e-6)


def test_pca_plane_centre_decodes_the_mean():
    rng = np.random.default_rng(0)
    mu = rng.normal(size=(200, 5)) * np.array([3.0, 1.0, 0.5, 0.1, 0.01]) + 1.0
    p = PCA(mu)
    origin, u, v = pca_plane(p)
    np.testing.assert_allclose(origin, mu.mean(0))
    np.testing.assert_allclose(np.linalg.norm(u), p.std[0])
    np.testing.assert_allclose(np.linalg.norm(v), p.std[1])
    m = _model(5)
    img = plane_grid(m, origin, u, v, (-1, 1), (-1, 1), n=3)  # centre tile = (0, 0) = the mean
    np.testing.assert_allclose(img[28:56, 28:56], decode_np(m, origin[None])[0], atol=1e-6)


def test_pca_units_round_trip_and_scale():
    rng = np.random.default_rng(1)
    mu = rng.normal(size=(500, 4)) * np.array([2.0, 1.0, 0.5, 0.25])
    p = PCA(mu)
    c = to_pca_units(p, mu)
    np.testing.assert_allclose(c.std(0, ddof=1), np.ones(4), rtol=1e-6)  # unit std along every axis
    np.testing.assert_allclose(from_pca_units(p, c), mu, atol=1e-9)
    np.testing.assert_allclose(from_pca_units(p, np.zeros(4))[0], p.mean)


def test_interpolation_ends_are_the_endpoints_and_crossfade_blends():
    m = _model(4)
    z0, z1 = np.array([1.0, 0, 0, 2.0]), np.array([-1.0, 0.5, 0, 0])
    for method in ("linear", "spherical"):
        path, frames = interpolate(m, z0, z1, 7, method)
        assert path.shape == (7, 4) and frames.shape == (7, 28, 28)
        np.testing.assert_allclose(path[[0, -1]], np.stack([z0, z1]), atol=1e-12)
        np.testing.assert_allclose(frames[[0, -1]], decode_np(m, np.stack([z0, z1])), atol=1e-6)
    x0, x1 = np.zeros(784), np.ones(784)
    cf = pixel_crossfade(x0, x1, 5)
    np.testing.assert_allclose(cf[:, 0], [0, 0.25, 0.5, 0.75, 1.0])


def test_projected_ellipse_through_full_pca_head():
    from vae_core.latent import pca_head, projected_ellipse

    rng = np.random.default_rng(2)
    mu_all = rng.normal(size=(300, 6)) * np.array([3.0, 2.0, 1.0, 0.5, 0.2, 0.1])
    p = PCA(mu_all)
    p2 = pca_head(p, 2)
    assert p2.components.shape == (2, 6) and p.components.shape == (6, 6)
    np.testing.assert_allclose(p2.transform(mu_all[:5]), p.transform(mu_all[:5])[:, :2])
    # isotropic posterior: the projected 1-sigma ellipse is a circle of radius sigma around the projected mean
    mu, sigma = mu_all[0], 0.3
    e = projected_ellipse(mu, np.full(6, 2 * np.log(sigma)), p2, n=64)
    centre = p2.transform(mu[None])[0]
    np.testing.assert_allclose(np.linalg.norm(e - centre, axis=1), sigma, rtol=1e-9)


def test_projected_std_axis_aligned_and_rotated():
    from vae_core.latent import projected_std

    logvar = np.log(np.array([[4.0, 1.0, 0.25]]))
    np.testing.assert_allclose(projected_std(logvar, np.eye(3)[:2]), [[2.0, 1.0]])
    r = np.array([[1.0, 1.0, 0.0]]) / np.sqrt(2)  # variance along (e1+e2)/√2 = (4+1)/2
    np.testing.assert_allclose(projected_std(logvar, r), [[np.sqrt(2.5)]])


def test_neighbour_agreement_clusters_vs_noise():
    from vae_core.latent import neighbour_agreement

    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(10), 50)
    centres = rng.normal(size=(10, 2)) * 20
    clustered = centres[labels] + rng.normal(size=(500, 2))
    assert neighbour_agreement(clustered, labels) > 0.95
    assert neighbour_agreement(rng.normal(size=(500, 2)), labels) < 0.25


def test_active_units_mask_of_the_pages_is_the_analysis_definition():
    import vae_core.latent
    from vae_core.digits import analysis
    from vae_core.digits.analysis import active_mask

    rng = np.random.default_rng(3)
    mu = np.c_[rng.normal(size=(1000, 3)), 0.01 * rng.normal(size=(1000, 2))]
    np.testing.assert_array_equal(active_mask(mu), [True, True, True, False, False])
    # one definition, shared by every family (latent), which the β/KL Lab's module re-exports: the same objects
    for name in ("AU_THRESHOLD", "active_mask", "active_units", "latent_variance"):
        assert getattr(analysis, name) is getattr(vae_core.latent, name)
