"""vae_core.digits.applications.inpainting: masks, the encode-decode chains and their measurements."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from tiny_models import fake_images, images, tiny_cvae, tiny_vae

from vae_core.digits.applications import (
    MASKS,
    completion_spread,
    inpaint,
    known_pixel_change,
    make_mask,
    mask_from_canvas,
    mask_overlay,
    missing_pixel_error,
)


@pytest.mark.parametrize("kind", list(MASKS) + ["user"])
def test_inpainting_never_changes_known_pixels(kind):
    model = tiny_vae()
    x = fake_images(1, seed=3)[0]
    if kind == "user":
        user = np.zeros((28, 28))
        user[5:9, 3:25] = 1
        mask = make_mask(user)
    else:
        mask = make_mask(kind, seed=4)
    assert mask.shape == (784,) and set(mask.unique().tolist()) <= {0.0, 1.0} and mask.sum() > 0
    res = inpaint(model, x, mask, n_iter=12, n_samples=5, generator=torch.Generator().manual_seed(0))
    comp = res["completions"]
    assert comp.shape == (5, 784) and comp.dtype == x.dtype
    known = mask == 0
    for row in comp:
        assert torch.equal(row[known], x[known])
    assert comp.min() >= 0 and comp.max() <= 1
    assert res["iterations"].shape == (5,) and (res["iterations"] >= 1).all() and (res["iterations"] <= 12).all()
    assert res["trace"].shape[0] == int(res["iterations"].max())
    assert torch.equal(res["mask"], mask.bool())


def test_inpainting_diversity_convergence_and_one_shot():
    model = tiny_vae()
    x = fake_images(1, seed=5)[0].double()  # known pixels survive bit-for-bit in float64 too
    mask = make_mask("bottom")
    miss = mask.bool()
    # default: every step samples z, each chain its own draws -> diverse completions
    res = inpaint(model, x, mask, n_iter=20, n_samples=4, generator=torch.Generator().manual_seed(1))
    assert torch.equal(res["completions"][:, ~miss], x[~miss].expand(4, -1))
    assert res["completions"][:, miss].std(0).max() > 1e-5  # (an untrained decoder barely depends on z)
    same = inpaint(model, x, mask, n_iter=5, n_samples=3, stochastic_steps=0)
    assert same["completions"][:, miss].std(0).max() < 1e-6  # z = mu from one start: identical chains
    # deterministic fixed-point iteration (z = mu) settles and stops early
    det = inpaint(model, x, mask, n_iter=200, n_samples=2, tol=1e-5, stochastic_steps=0, fill="random",
                  generator=torch.Generator().manual_seed(2))
    assert det["converged"].all() and (det["iterations"] < 200).all()
    assert det["trace"][-1] < det["trace"][0] and det["chain_trace"].shape == (det["iterations"].max(), 2)
    assert torch.equal(det["completions"][:, ~miss], x[~miss].expand(2, -1))
    # n_iter=1, final="sample": the seed's one-shot ImageInpaintingVAE.inpaint
    one = inpaint(model, x, mask, n_iter=1, n_samples=3, final="sample")
    assert (one["iterations"] == 1).all() and one["trace"].shape == (1,)
    cvae = tiny_cvae()
    rc = inpaint(cvae, x.float(), mask, n_iter=5, n_samples=2, y=7)
    assert rc["completions"].shape == (2, 784)
    with pytest.raises(ValueError):
        inpaint(cvae, x.float(), mask, n_iter=5)


def test_make_mask_kinds():
    top = make_mask("top").reshape(28, 28)
    assert top[:14].eq(1).all() and top[14:].eq(0).all()
    assert make_mask("left").reshape(28, 28)[:, :14].eq(1).all()
    torch.testing.assert_close(make_mask("random box", seed=3), make_mask("random box", seed=3))
    b = make_mask("random box", box=(2, 3, 4, 5)).reshape(28, 28)
    assert b.sum() == 20 and b[2:6, 3:8].eq(1).all()
    assert 300 < make_mask("random pixels", seed=0).sum() < 484
    with pytest.raises(ValueError):
        make_mask("nope")
    with pytest.raises(ValueError):
        make_mask(np.ones((5, 5)))


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
