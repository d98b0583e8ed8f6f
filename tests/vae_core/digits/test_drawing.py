"""Canvas drawing -> MNIST-style 28x28 preprocessing."""

import math

import numpy as np
import pytest
from PIL import Image, ImageDraw

from vae_core.digits.drawing import (
    CENTER,
    bounding_box,
    center_of_mass,
    fit_to_mnist,
    ink_map,
    ink_stats,
    preprocess_drawing,
)

SIZE = 280


def canvas(shape: str, corner: str, transparent: bool = False, width: int = 18) -> np.ndarray:
    """A 280x280 RGBA canvas like st_canvas's image_data: white strokes on black (or on transparent)."""
    bg = (0, 0, 0, 0) if transparent else (0, 0, 0, 255)
    im = Image.new("RGBA", (SIZE, SIZE), bg)
    d = ImageDraw.Draw(im)
    ox = {"tl": 10, "tr": 150, "bl": 10, "br": 150, "c": 80}[corner]
    oy = {"tl": 10, "tr": 10, "bl": 150, "br": 150, "c": 80}[corner]
    white = (255, 255, 255, 255)
    if shape == "line":  # a slanted "1"
        d.line([(ox + 80, oy + 5), (ox + 40, oy + 115)], fill=white, width=width)
    elif shape == "circle":  # a "0"
        d.ellipse([ox + 20, oy + 5, ox + 100, oy + 115], outline=white, width=width)
    elif shape == "seven":  # an asymmetric glyph: mass off-centre of its bounding box
        d.line([(ox, oy), (ox + 110, oy)], fill=white, width=width)
        d.line([(ox + 110, oy), (ox + 50, oy + 120)], fill=white, width=width)
    elif shape == "hline":  # wide and flat: aspect ratio must be kept
        d.line([(ox, oy + 60), (ox + 120, oy + 60)], fill=white, width=width)
    return np.asarray(im).copy()


def check_mnist_like(v):
    assert v is not None
    assert v.shape == (784,) and v.dtype == np.float32
    assert v.min() >= 0.0 and v.max() <= 1.0
    assert v.max() == pytest.approx(1.0)
    r, c = center_of_mass(v)
    assert math.hypot(r - CENTER, c - CENTER) <= 1.0, (r, c)
    top, left, bottom, right = bounding_box(v, threshold=0.05)
    assert bottom - top <= 22 and right - left <= 22
    return top, left, bottom, right


@pytest.mark.parametrize("shape", ["line", "circle", "seven"])
@pytest.mark.parametrize("corner", ["tl", "tr", "bl", "br", "c"])
def test_strokes_anywhere_are_centred_and_fit_20x20(shape, corner):
    top, left, bottom, right = check_mnist_like(preprocess_drawing(canvas(shape, corner)))
    # the longer side of the digit is scaled to ~20 px
    assert max(bottom - top, right - left) >= 18


def test_position_on_canvas_does_not_matter():
    a = preprocess_drawing(canvas("circle", "tl"))
    b = preprocess_drawing(canvas("circle", "br"))
    np.testing.assert_allclose(a, b, atol=1e-5)


def test_transparent_background_alpha_carries_the_stroke():
    rgba = canvas("line", "tr", transparent=True)
    assert rgba[..., 3].min() == 0
    v = preprocess_drawing(rgba)
    check_mnist_like(v)
    np.testing.assert_allclose(v, preprocess_drawing(canvas("line", "tr")), atol=1e-5)
    # a black stroke on a transparent canvas (st_canvas's default colours) is still ink
    black = rgba.copy()
    black[..., :3] = 0
    np.testing.assert_allclose(preprocess_drawing(black), v, atol=1e-5)


def test_grey_rgb_and_inverted_inputs():
    rgba = canvas("seven", "c")
    ref = preprocess_drawing(rgba)
    grey = rgba[..., 0]
    np.testing.assert_allclose(preprocess_drawing(grey), ref, atol=1e-5)
    np.testing.assert_allclose(preprocess_drawing(rgba[..., :3]), ref, atol=1e-5)
    np.testing.assert_allclose(preprocess_drawing(grey.astype(np.float64) / 255.0), ref, atol=1e-5)
    # black ink on white paper is recognised and flipped
    np.testing.assert_allclose(preprocess_drawing(255 - grey), ref, atol=1e-5)


def test_aspect_ratio_kept():
    v = preprocess_drawing(canvas("hline", "bl"))
    top, left, bottom, right = check_mnist_like(v)
    assert right - left >= 19  # the long side is ~20 px
    assert bottom - top <= 6  # a flat stroke stays flat (not stretched to 20 px tall)


def _blank(alpha: int) -> np.ndarray:
    img = np.zeros((SIZE, SIZE, 4), np.uint8)
    img[..., 3] = alpha
    return img


@pytest.mark.parametrize("img", [
    _blank(255),  # opaque black canvas, nothing drawn (what st_canvas returns after "reset")
    _blank(0),  # transparent canvas
    np.zeros((SIZE, SIZE)),  # grey
    None,  # st_canvas gives image_data None before the first stroke
], ids=["opaque", "transparent", "grey", "none"])
def test_empty_canvas_returns_none(img):
    assert preprocess_drawing(img) is None


def test_near_empty_canvas_returns_none():
    img = np.zeros((SIZE, SIZE, 4), np.uint8)
    img[..., 3] = 255
    img[100:103, 100:103, :3] = 255  # a 3x3 speck: 9 pixels < 5e-4 * 280^2
    assert preprocess_drawing(img) is None
    img[100:130, 100:110, :3] = 255  # a real dot
    assert preprocess_drawing(img) is not None


@pytest.mark.parametrize("shape", ["line", "circle"])
def test_subpixel_centering_is_exact(shape):
    v = fit_to_mnist(ink_map(canvas(shape, "tr")), subpixel=True).reshape(-1)
    r, c = center_of_mass(v)
    assert abs(r - CENTER) < 0.05 and abs(c - CENTER) < 0.05


def test_lopsided_glyph_is_not_cut_at_the_border():
    ink = np.zeros((100, 100))
    ink[0:10, :] = 1.0  # a heavy top bar ...
    ink[:, 45:47] = 0.3  # ... and a faint long stem: centre of mass near the top of the box
    for subpixel in (False, True):
        v = fit_to_mnist(ink, subpixel=subpixel)
        top, left, bottom, right = bounding_box(v, threshold=0.01)
        assert bottom - top >= 20 and right - left >= 20  # the whole 20x20 box survived
        assert top >= 0 and bottom <= 28


def test_helpers():
    img = np.zeros((28, 28), np.float32)
    img[2:5, 10:20] = 1.0
    s = ink_stats(img.reshape(-1))
    assert s["ink"] == pytest.approx(30.0)
    assert s["bbox"] == (2, 10, 5, 20) and s["height"] == 3 and s["width"] == 10
    assert s["center_of_mass"] == pytest.approx((3.0, 14.5))
    assert all(math.isnan(t) for t in center_of_mass(np.zeros(784)))
    assert ink_stats(np.zeros(784))["bbox"] is None
    with pytest.raises(ValueError):
        preprocess_drawing(np.zeros((10, 10, 5)))


# ------------------------------------------------------------------ odd uploaded images (attack suite, #13)
def _encode(im: Image.Image, fmt: str = "PNG") -> bytes:
    import io

    buf = io.BytesIO()
    im.save(buf, format=fmt)
    return buf.getvalue()


def _sixteen_bit_seven(dark_ink: bool) -> Image.Image:
    """A 16-bit greyscale PNG of a '7': full-range 16-bit values (paper 60000, ink 3000, or the reverse)."""
    a = np.full((200, 200), 3000 if not dark_ink else 60000, dtype=np.uint16)
    ink = 60000 if not dark_ink else 3000
    a[40:56, 40:160] = ink
    for r in range(56, 170):
        c = 160 - (r - 56) * 60 // 114
        a[r, c - 8:c + 8] = ink
    return Image.fromarray(a)  # mode I;16


@pytest.mark.parametrize("dark_ink", [True, False])
def test_sixteen_bit_png_is_scaled_not_clipped(dark_ink):
    from vae_core.digits.drawing import read_image_bytes

    im = _sixteen_bit_seven(dark_ink)
    raw = _encode(im)
    assert Image.open(__import__("io").BytesIO(raw)).mode.startswith("I")  # really a 16-bit PNG
    a = read_image_bytes(raw)
    assert a.dtype == np.uint8 and a.ndim == 2
    expected_ink, expected_paper = (round(3000 * 255 / 65535), round(60000 * 255 / 65535))
    if not dark_ink:
        expected_ink, expected_paper = expected_paper, expected_ink
    assert a[48, 100] == expected_ink and a[5, 5] == expected_paper  # values scaled by 255/65535
    v = preprocess_drawing(a)
    assert v is not None, "the 16-bit drawing came out blank"
    r, c = center_of_mass(v)
    assert math.hypot(r - CENTER, c - CENTER) <= 1.0
    assert (v > 0.5).sum() > 25  # a real stroke, not a few stray pixels


@pytest.mark.parametrize(("raw", "words"), [
    (b"GIF89a" + b"\0" * 30, "could not be read"),
    (b"hello, not an image", "not a PNG or JPEG file"),
    (b"\x89PNG\r\n\x1a\n" + b"\0" * 100, "could not be read"),
    (b"\xff\xd8\xff\xe0" + b"\0" * 100, "could not be read"),  # a truncated JPEG
])
def test_image_errors_never_print_the_in_memory_file_object(raw, words):
    from vae_core.digits.drawing import read_image_bytes

    with pytest.raises(ValueError, match=words) as e:
        read_image_bytes(raw)
    assert "BytesIO" not in str(e.value) and "0x" not in str(e.value)


def test_float_tiff_style_modes_scaled_by_their_maximum():
    from vae_core.digits.drawing import _to_8bit_grey

    im = Image.fromarray(np.array([[0.0, 0.5], [1.0, 2.0]], dtype=np.float32))  # mode F
    assert np.asarray(_to_8bit_grey(im)).tolist() == [[0, 64], [128, 255]]
