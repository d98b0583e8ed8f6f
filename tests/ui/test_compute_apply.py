"""ui.compute for the Conditional VAE and Inpainting pages, against independent computations on the shipped
mnist-cvae-z2 / mnist-z2 and the test split."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ui.compute.conditional import GAP, swap_grid, swap_rows
from ui.compute.inpainting import complete, random_steps
from ui.state import SHIPPED_DIR
from vae_core import load_checkpoint, load_dataset
from vae_core.digits.applications import make_mask


@pytest.fixture(scope="module")
def test_data():
    return load_dataset("mnist", "test")


@pytest.fixture(scope="module")
def cvae():
    return load_checkpoint(SHIPPED_DIR / "mnist-cvae-z2")[0]


# ------------------------------------------------------------------------------------- conditional
def _decode_all_classes(model, z):
    with torch.no_grad():
        zz = torch.as_tensor(z, dtype=torch.float32)
        return np.stack([model.decode(zz, torch.full((len(zz),), c)).numpy() for c in range(10)], 1)


def test_swap_rows_of_test_digits_are_their_posterior_means_under_every_class(cvae, test_data):
    rows = swap_rows(cvae, 4, seed=3, images=test_data.images, labels=test_data.labels, first=17)
    assert rows.indices[0] == 17 and len(rows.indices) == 4
    want_idx = np.random.default_rng(3).choice(len(test_data.images), size=3, replace=False)
    np.testing.assert_array_equal(rows.indices[1:], want_idx)
    with torch.no_grad():
        mu, _ = cvae.encode(test_data.images[rows.indices].reshape(4, -1).float(), test_data.labels[rows.indices])
    np.testing.assert_allclose(rows.z, mu.numpy(), atol=1e-6)
    np.testing.assert_allclose(rows.images.reshape(4, 10, 784), _decode_all_classes(cvae, mu), atol=1e-6)


def test_swap_rows_from_the_prior(cvae):
    rows = swap_rows(cvae, 2, seed=5)
    assert rows.indices is None
    np.testing.assert_array_equal(rows.z, np.random.default_rng(5).standard_normal((2, 2)).astype(np.float32))
    np.testing.assert_allclose(rows.images.reshape(2, 10, 784), _decode_all_classes(cvae, rows.z), atol=1e-6)


def test_swap_grid_places_sources_gap_and_decodings(cvae, test_data):
    rows = swap_rows(cvae, 3, seed=0, images=test_data.images, labels=test_data.labels, first=0)
    src = test_data.images[rows.indices].numpy().reshape(3, 28, 28)
    g = swap_grid(rows, src, fill=0.35)
    width = 28 + 6 + 10 * 28 + 9 * 2
    assert g.shape == (3 * 28 + 2 * 2, width)
    r1 = 28 + 2  # the second row starts after one row and one separator
    np.testing.assert_array_equal(g[r1:r1 + 28, :28], src[1])
    assert (g[r1:r1 + 28, 28:34] == GAP).all()
    c7 = 34 + 7 * 30  # class 7's column
    np.testing.assert_array_equal(g[r1:r1 + 28, c7:c7 + 28], rows.images[1, 7])
    assert (g[28:30] == np.float32(0.35)).all()
    assert swap_grid(rows, None, fill=0.35).shape == (3 * 28 + 4, 10 * 28 + 18)


# ------------------------------------------------------------------------------------- inpainting
def test_random_steps_never_exceed_the_limit():
    assert random_steps(20, 60) == 20 and random_steps(200, 60) == 60 and random_steps(0, 5) == 0


def test_complete_keeps_known_pixels_and_measures_the_hole(test_data):
    model = load_checkpoint(SHIPPED_DIR / "mnist-z2")[0]
    x = test_data.images[0]
    mask = make_mask("bottom")
    c = complete(model, x, mask, n_iter=15, n_samples=3, stochastic_steps=5, fill="noise", seed=1)
    miss = mask.numpy().astype(bool)
    np.testing.assert_array_equal(c.mask, miss)
    assert c.n_hole == int(miss.sum()) == 392
    xs = x.numpy().reshape(-1)
    np.testing.assert_array_equal(c.completions[:, ~miss], np.broadcast_to(xs[~miss], (3, 392)))
    assert c.known_change == 0.0
    assert c.hole_error == pytest.approx(np.abs(c.completions[:, miss] - xs[miss]).mean(), rel=1e-6)
    assert c.spread == pytest.approx(c.completions[:, miss].std(0).mean(), rel=1e-6)
    assert c.random_steps == 5 and (c.iterations >= 5).all() and (c.iterations <= 15).all()
    assert c.chain_trace.shape == (int(c.iterations.max()), 3)
    np.testing.assert_allclose(c.trace, np.nanmean(c.chain_trace, 1))
    again = complete(model, x, mask, n_iter=15, n_samples=3, stochastic_steps=5, fill="noise", seed=1)
    np.testing.assert_array_equal(again.completions, c.completions)  # the seed fixes every draw
    capped = complete(model, x, mask, n_iter=4, n_samples=2, stochastic_steps=50, fill="black", seed=0)
    assert capped.random_steps == 4 and (capped.iterations == 4).all() and not capped.converged.any()
