"""The image branch of python -m vae_core sample: PNG grids of prior samples (vae_core.digits.sample)."""

import io
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from vae_core.command import sample as main
from vae_core.digits.sample import grid_png

ROOT = Path(__file__).resolve().parents[3]


def test_grid_png_places_each_image():
    imgs = np.zeros((5, 3, 4))
    imgs[4] = 1.0  # the fifth image: row 1, column 1 of a 3-column grid
    png = np.asarray(Image.open(io.BytesIO(grid_png(imgs, ncols=3))))
    assert png.shape == (2 * (3 + 1) + 1, 3 * (4 + 1) + 1)  # 1-pixel lines around every cell
    np.testing.assert_array_equal(png[5:8, 6:10], 255)
    assert png.sum() == 255 * 12 + 128 * (png.size - 5 * 12)  # four black cells; lines and the empty slot grey
    assert png[0, 0] == 128 and png[1:4, 1:5].max() == 0


def test_cli_writes_digit_and_sprite_grids(tmp_path, capsys):
    out = tmp_path / "digits.png"
    assert main([str(ROOT / "checkpoints" / "mnist-z2"), "--n", "16", "--seed", "3", "--out", str(out)]) == 0
    im = np.asarray(Image.open(out))
    assert im.shape == (2 * (4 * 29 + 1), 2 * (4 * 29 + 1))  # 4x4 cells of 28 px + 1 px lines, doubled
    from vae_core import load_checkpoint
    from vae_core.digits.quality import prior_samples

    model, _ = load_checkpoint(ROOT / "checkpoints" / "mnist-z2")
    first = prior_samples(model, 16, seed=3)[0].reshape(28, 28).numpy()
    np.testing.assert_allclose(im[2:58:2, 2:58:2] / 255.0, first, atol=1 / 255 + 1e-6)
    sp_out = tmp_path / "sprites.png"
    assert main([str(ROOT / "checkpoints" / "sprites-beta1"), "--n", "4", "--out", str(sp_out)]) == 0
    assert np.asarray(Image.open(sp_out)).shape == (2 * 65 + 1, 2 * 65 + 1)
    assert "wrote 4 prior samples of sprites-beta1" in capsys.readouterr().out
    assert main([str(ROOT / "checkpoints" / "mnist-z2"), "--n", "4"]) == 2  # images need --out
    assert torch.is_grad_enabled()
