"""vae_core helpers behind the Drawing Board, Latent Editing and Compression pages."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from vae_core.applications import (
    compression_report,
    edit,
    edit_sweep,
    encode_one,
    feature_std,
    format_feature,
    image_features,
    posterior_samples,
    rate_summary,
    sample_near,
    trend,
)
from vae_core.drawing import CENTER, bounding_box, center_of_mass, preprocess_drawing, read_image_bytes
from vae_core.models import CVAE, VAE


@pytest.fixture(scope="module")
def vae():
    torch.manual_seed(0)
    return VAE(latent_dim=3, hidden_dims=(32,)).eval()


@pytest.fixture(scope="module")
def cvae():
    torch.manual_seed(0)
    return CVAE(latent_dim=2, hidden_dims=(32,)).eval()


def _digit(seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(784, generator=g) > 0.8).float()


def _png(im: Image.Image, fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    im.save(buf, format=fmt)
    return buf.getvalue()


def _stroke_picture(mode: str, size=(300, 200), at=(30, 20), ink=0, paper=255) -> Image.Image:
    """A "7" drawn with a thick pen somewhere on a picture (dark on light by default)."""
    im = Image.new(mode, size, paper if mode == "L" else (paper,) * len(mode))
    d = ImageDraw.Draw(im)
    ox, oy = at
    col = ink if mode == "L" else (ink,) * len(mode)
    if mode == "RGBA":
        col = (ink, ink, ink, 255)
    d.line([(ox, oy), (ox + 90, oy)], fill=col, width=12)
    d.line([(ox + 90, oy), (ox + 40, oy + 120)], fill=col, width=12)
    return im


# ------------------------------------------------------------------------------------------ uploads
@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
@pytest.mark.parametrize("at", [(10, 10), (180, 60), (100, 40)])
def test_uploaded_picture_becomes_a_centred_digit(fmt, at):
    raw = _png(_stroke_picture("RGB" if fmt == "JPEG" else "L", at=at), fmt)
    a = read_image_bytes(raw)
    assert a.dtype == np.uint8 and a.ndim == 2
    v = preprocess_drawing(a)
    assert v is not None and v.shape == (784,)
    r, c = center_of_mass(v)
    assert math.hypot(r - CENTER, c - CENTER) <= 1.0
    top, left, bottom, right = bounding_box(v, 0.05)
    assert max(bottom - top, right - left) in range(18, 23)


def test_transparent_png_keeps_alpha():
    im = Image.new("RGBA", (200, 200), (0, 0, 0, 0))
    ImageDraw.Draw(im).line([(100, 20), (90, 180)], fill=(0, 0, 0, 255), width=14)
    a = read_image_bytes(_png(im))
    assert a.shape == (200, 200, 4)
    v = preprocess_drawing(a)
    assert v is not None
    r, c = center_of_mass(v)
    assert math.hypot(r - CENTER, c - CENTER) <= 1.0


def test_large_picture_is_shrunk():
    a = read_image_bytes(_png(_stroke_picture("L", size=(2000, 1200), at=(500, 300))))
    assert max(a.shape) == 560


@pytest.mark.parametrize("raw, msg", [
    (b"", "empty"),
    (b"not an image at all", "could not be read"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "could not be read"),  # a truncated PNG
    (b"\x80\x04\x95" + b"\x00" * 20, "could not be read"),  # pickle bytes: never unpickled
])
def test_bad_files_give_a_clear_error(raw, msg):
    with pytest.raises(ValueError, match=msg):
        read_image_bytes(raw)


def test_other_formats_are_refused():
    with pytest.raises(ValueError, match="PNG or JPEG"):
        read_image_bytes(_png(_stroke_picture("L"), "GIF"))


def test_blank_upload_preprocesses_to_none():
    assert preprocess_drawing(read_image_bytes(_png(Image.new("L", (100, 100), 255)))) is None


# ------------------------------------------------------------------------------------------ posterior
def test_encode_one_matches_the_encoder(vae, cvae):
    x = _digit()
    mu, lv = encode_one(vae, x)
    m2, l2 = vae.encode(x[None])
    torch.testing.assert_close(mu, m2[0])
    torch.testing.assert_close(lv, l2[0])
    mu, lv = encode_one(cvae, x.reshape(28, 28), y=4)
    m2, l2 = cvae.encode(x[None], torch.tensor([4]))
    torch.testing.assert_close(mu, m2[0])
    with pytest.raises(ValueError):
        encode_one(cvae, x)


def test_posterior_samples_are_reparameterised(vae):
    x = _digit(1)
    out = posterior_samples(vae, x, 5, generator=torch.Generator().manual_seed(0))
    assert out["z"].shape == (5, 3) and out["samples"].shape == (5, 784)
    eps = torch.randn(5, 3, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(out["z"], out["mu"] + out["sigma"] * eps)
    torch.testing.assert_close(out["sigma"], torch.exp(0.5 * out["logvar"]))
    torch.testing.assert_close(out["recon"], vae.decode(out["mu"][None])[0])
    torch.testing.assert_close(out["samples"], vae.decode(out["z"]))
    assert float(out["samples"].min()) >= 0 and float(out["samples"].max()) <= 1


def test_sample_near(vae, cvae):
    c = np.array([0.5, -1.0, 2.0])
    z, imgs = sample_near(vae, c, 0.0, 3)
    torch.testing.assert_close(z, torch.tensor(c, dtype=torch.float32).expand(3, 3))
    torch.testing.assert_close(imgs, vae.decode(z))
    z, _ = sample_near(vae, c, 0.5, 4000, generator=torch.Generator().manual_seed(0))
    assert np.allclose(z.std(0).numpy(), 0.5, atol=0.03) and np.allclose(z.mean(0).numpy(), c, atol=0.05)
    z, imgs = sample_near(cvae, [0.0, 0.0], 1.0, 2, y=3)
    torch.testing.assert_close(imgs, cvae.decode(z, torch.tensor([3, 3])))
    with pytest.raises(ValueError):
        sample_near(vae, c, -1.0, 2)
    with pytest.raises(ValueError):
        sample_near(vae, [0.0, 0.0], 1.0, 2)  # wrong latent size


# ------------------------------------------------------------------------------------------ editing
def test_edit_sweep_measures_the_edits(vae):
    z, v = torch.zeros(3), torch.tensor([1.0, 0.0, -1.0])
    out = edit_sweep(vae, z, v, [-1.0, 0.0, 2.0])
    torch.testing.assert_close(out["images"], edit(vae, z, v, [-1.0, 0.0, 2.0]))
    feats = image_features(out["images"])
    for k in feats:
        torch.testing.assert_close(out["features"][k], feats[k])
    assert out["strengths"].tolist() == [-1.0, 0.0, 2.0]


def test_feature_std_and_format():
    assert feature_std({"ink": torch.tensor([1.0, 3.0])}) == {"ink": pytest.approx(1.0)}
    assert format_feature("ink", 112.4) == "ink: 112 px"
    assert format_feature("slant", 0.214) == "slant: +0.21 (shear)"
    assert format_feature("thickness", 2.04) == "thickness: 2.0 px"
    assert format_feature("width", 15.2) == "width: 15 px"


def test_trend():
    a = np.linspace(-1, 1, 9)
    assert trend(a, a**3) == pytest.approx(1.0)
    assert trend(a, -a) == pytest.approx(-1.0)
    assert abs(trend(a, np.cos(np.pi * a))) < 0.2
    assert math.isnan(trend(a, np.ones_like(a)))
    with pytest.raises(ValueError):
        trend(a, a[:3])


# ------------------------------------------------------------------------------------------ compression
def test_rate_summary_matches_compression_report(vae):
    x = torch.stack([_digit(s) for s in range(6)])
    rep = compression_report(vae, x)
    s = rate_summary(rep["rate_nats"])
    assert s["n"] == 6
    assert s["mean_nats"] == pytest.approx(float(rep["rate_nats"].mean()), rel=1e-6)
    assert s["mean_bits"] == pytest.approx(float(rep["rate_bits"].mean()), rel=1e-5)
    assert s["mean_bits"] == pytest.approx(s["mean_nats"] / math.log(2))
    assert s["pixel_bits"] == 6272 and s["ratio"] == pytest.approx(6272 / s["mean_bits"])
    assert s["p10_bits"] <= s["median_bits"] <= s["p90_bits"]
    with pytest.raises(ValueError):
        rate_summary([])
