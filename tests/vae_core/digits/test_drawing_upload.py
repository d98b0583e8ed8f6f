"""vae_core.digits.drawing on uploaded pictures: any picture becomes a centred MNIST-style digit, bad files are
refused."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
from PIL import Image, ImageDraw

from vae_core.digits.drawing import CENTER, bounding_box, center_of_mass, preprocess_drawing, read_image_bytes


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
