"""The procedural sprites (vae_core.sprites.data): deterministic, every factor visible, disjoint split."""

import numpy as np
import pytest

from vae_core.sprites import data as sp


def test_sizes_and_factor_grid():
    assert sp.FACTOR_SIZES == (3, 6, 6, 16, 16)
    assert sp.N_COMBINATIONS == 27648
    f = sp.all_factors()
    assert f.shape == (27648, 5)
    assert len({tuple(r) for r in f}) == 27648


def test_deterministic_and_binary():
    a, b = sp.make_sprites(50, seed=3), sp.make_sprites(50, seed=3)
    np.testing.assert_array_equal(a.images, b.images)
    np.testing.assert_array_equal(a.factors, b.factors)
    assert a.images.shape == (50, 64, 64) and set(np.unique(a.images)) <= {0, 1}
    assert not np.array_equal(sp.make_sprites(50, seed=4).factors, a.factors)
    x = a.flat()
    assert tuple(x.shape) == (50, 4096) and x.dtype.is_floating_point


def test_small_request_renders_the_same_images_as_the_full_set():
    small = sp.make_sprites(30, seed=7)
    full = sp.make_sprites()
    idx = np.ravel_multi_index(small.factors.T, sp.FACTOR_SIZES)
    np.testing.assert_array_equal(full.images[idx], small.images)
    np.testing.assert_array_equal(full.factors[idx], small.factors)


def test_each_factor_changes_the_image_as_described():
    base = dict(shape=0, scale=0.8, rotation_deg=30.0, x=32.0, y=32.0)
    img = sp.render(**base)
    ys, xs = np.nonzero(img)
    assert abs(xs.mean() - 32) < 1 and abs(ys.mean() - 32) < 1  # centred where asked
    moved = sp.render(**{**base, "x": 40.0})
    assert np.nonzero(moved)[1].mean() == pytest.approx(xs.mean() + 8, abs=0.6)
    lowered = sp.render(**{**base, "y": 44.0})  # y is the row: larger y is lower in the image
    assert np.nonzero(lowered)[0].mean() == pytest.approx(ys.mean() + 12, abs=0.6)
    big = sp.render(**{**base, "scale": 1.0})
    small = sp.render(**{**base, "scale": 0.5})
    assert big.sum() / small.sum() == pytest.approx(4.0, rel=0.15)  # area grows as scale^2
    # square area (2 * 0.8 * half)^2 = 2.56 half^2, ellipse pi * 0.5 half^2
    assert img.sum() / (0.8 * 11) ** 2 == pytest.approx(2.56, rel=0.1)
    ell = sp.render(**{**base, "shape": 1})
    assert ell.sum() / (0.8 * 11) ** 2 == pytest.approx(np.pi * 0.5, rel=0.1)
    assert not np.array_equal(sp.render(**{**base, "rotation_deg": 45.0}), img)
    heart = sp.render(**{**base, "shape": 2, "rotation_deg": 0.0})
    rows = np.nonzero(heart)[0]
    # the heart's point is at the bottom: its lowest rows are narrower than its highest rows
    top_width = heart[rows.min() + 2].sum()
    bottom_width = heart[rows.max() - 2].sum()
    assert bottom_width < top_width


def test_images_are_almost_all_distinct():
    s = sp.make_sprites()
    flat = s.images.reshape(len(s), -1)
    distinct = len({row.tobytes() for row in np.packbits(flat, axis=1)})
    assert distinct >= 0.999 * len(s)  # a few tiny squares coincide after pixel rounding


def test_split_is_disjoint_and_covers_everything():
    tr, te = sp.split_sprites(0.1, seed=0)
    assert len(tr) + len(te) == sp.N_COMBINATIONS and len(te) == 2765
    a = set(np.ravel_multi_index(tr.factors.T, sp.FACTOR_SIZES))
    b = set(np.ravel_multi_index(te.factors.T, sp.FACTOR_SIZES))
    assert not a & b
    assert te.factor_values("rotation").max() == 75.0
