"""vae_core.images: images as model rows, tiling."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vae_core.images import as_image_rows, tile


def test_as_image_rows_shapes_and_clipping():
    assert as_image_rows(np.zeros(784)).shape == (1, 784)
    assert as_image_rows(np.zeros((28, 28))).shape == (1, 784)
    assert as_image_rows(np.zeros((3, 28, 28))).shape == (3, 784)
    r = as_image_rows(np.full(784, 2.0))
    assert r.dtype == torch.float32 and float(r.max()) == 1.0
    with pytest.raises(ValueError):
        as_image_rows(np.zeros(100))
    t = torch.linspace(-1, 2, 784, dtype=torch.float64).reshape(28, 28).requires_grad_(True)
    r = as_image_rows(t)  # a tensor that needs grad, float64: detached, float32, clamped
    assert r.shape == (1, 784) and r.dtype == torch.float32 and not r.requires_grad
    assert float(r.min()) == 0.0 and float(r.max()) == 1.0
    torch.testing.assert_close(r[0, 400], t.detach().reshape(-1)[400].float().clamp(0, 1))


def test_tile_places_every_image_row_by_row_with_padding_and_fill():
    imgs = np.arange(5 * 2 * 3, dtype=np.float32).reshape(5, 2, 3) + 1  # no zeros: every cell is visible
    out = tile(imgs, 3, pad=1, fill=-1.0)
    assert out.shape == (2 * 2 + 1, 3 * 3 + 2)  # 2 rows of 2 px + 1 gap, 3 columns of 3 px + 2 gaps
    for i in range(5):
        r, c = divmod(i, 3)
        np.testing.assert_array_equal(out[r * 3:r * 3 + 2, c * 4:c * 4 + 3], imgs[i])
    assert (out[2, :] == -1).all() and (out[:, 3] == -1).all()  # the gaps
    assert (out[3:, 8:] == -1).all()  # the empty sixth cell
    plain = tile(imgs, 5)  # one row, no padding: the images side by side
    np.testing.assert_array_equal(plain, np.concatenate(list(imgs), axis=1))
    rows = tile(imgs.reshape(5, 6)[:, :4], 2)  # flat rows of square images are reshaped
    assert rows.shape == (3 * 2, 2 * 2)
