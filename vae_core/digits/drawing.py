"""Turn a free-hand drawing into an MNIST-style 28x28 digit.

MNIST's own recipe (LeCun et al.): the writer's digit was size-normalised to fit
a 20x20 box *preserving its aspect ratio* (anti-aliased, hence grey levels), then
placed in a 28x28 field so that its *centre of mass* sits at the centre of the
field.  :func:`fit_to_mnist` does exactly that to any 2-D ink map, and
:func:`preprocess_drawing` first turns a canvas image into such an ink map.

Conventions: ink is bright (1 = full ink, 0 = background), as in MNIST; pixel
coordinates are (row, col) array indices, so the centre of the 28x28 field is
(13.5, 13.5) -- the point midway between pixels 13 and 14.
"""

from __future__ import annotations

import math
import re

import numpy as np
from PIL import Image, UnidentifiedImageError
from scipy import ndimage

SIDE = 28  # MNIST field
BOX = 20  # the digit's bounding box is scaled to fit BOX x BOX
CENTER = (SIDE - 1) / 2.0  # 13.5: centre of the field in index coordinates


# ------------------------------------------------------------------ helpers
def _as_2d(x) -> np.ndarray:
    a = np.asarray(x.detach().cpu() if hasattr(x, "detach") else x, dtype=np.float64)
    if a.ndim == 1:
        side = math.isqrt(a.size)
        if side * side != a.size:
            raise ValueError(f"a flat image must have a square number of pixels, got {a.size}")
        a = a.reshape(side, side)
    if a.ndim != 2:
        raise ValueError(f"expected a (784,) vector or a 2-D image, got shape {a.shape}")
    return a


def center_of_mass(img) -> tuple[float, float]:
    """Intensity-weighted centre (row, col) of a (784,) or (H, W) image; (nan, nan) if it has no ink."""
    a = np.clip(_as_2d(img), 0.0, None)
    total = a.sum()
    if total <= 0:
        return (math.nan, math.nan)
    rows = np.arange(a.shape[0], dtype=np.float64)
    cols = np.arange(a.shape[1], dtype=np.float64)
    return (float((a.sum(1) * rows).sum() / total), float((a.sum(0) * cols).sum() / total))


def bounding_box(img, threshold: float = 0.1) -> tuple[int, int, int, int] | None:
    """(top, left, bottom, right) of the pixels above ``threshold``, bottom/right *exclusive*; None if none."""
    a = _as_2d(img)
    on = a > threshold
    if not on.any():
        return None
    rows = np.flatnonzero(on.any(1))
    cols = np.flatnonzero(on.any(0))
    return int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1


def ink_stats(x, threshold: float = 0.1) -> dict:
    """Summary of one image (784,) / (H, W) in [0, 1].

    ``ink`` = sum of intensities (pixel units), ``mean`` = mean intensity,
    ``bbox`` = (top, left, bottom, right) exclusive or None, ``height``/``width``
    of that box in pixels, ``center_of_mass`` = (row, col).
    """
    a = _as_2d(x)
    box = bounding_box(a, threshold)
    h, w = (box[2] - box[0], box[3] - box[1]) if box else (0, 0)
    return {"ink": float(a.sum()), "mean": float(a.mean()), "bbox": box, "height": h, "width": w,
            "center_of_mass": center_of_mass(a)}


# --------------------------------------------------------- canvas -> ink
def ink_map(img, invert: bool | str = "auto") -> np.ndarray:
    """Ink intensity in [0, 1] (bright = ink) from a canvas image.

    Accepts (H, W) grey, (H, W, 1), (H, W, 3) RGB or (H, W, 4) RGBA, uint8
    (0..255) or float (0..1).  For RGBA:

    * an *opaque* canvas (alpha everywhere ~ 255, e.g. white strokes on a black
      ``background_color``): ink = brightness;
    * a canvas with a *transparent* background (some pixels alpha ~ 0, i.e.
      ``background_color=""``): the alpha channel carries the stroke, so
      ink = alpha -- whatever the stroke colour.

    ``invert="auto"`` flips dark-ink-on-light drawings (median brightness > 0.5)
    so that ink is bright as in MNIST; pass True / False to force.
    """
    a = np.asarray(img)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (3, 4)):
        raise ValueError(f"expected an (H, W), (H, W, 3) or (H, W, 4) image, got shape {a.shape}")
    scale = 255.0 if (a.dtype == np.uint8 or (a.size and float(np.nanmax(a)) > 1.0)) else 1.0
    a = np.nan_to_num(a.astype(np.float64) / scale, nan=0.0)
    transparent = False
    if a.ndim == 2:
        ink = a
    else:
        grey = a[..., :3].mean(axis=2)
        if a.shape[2] == 4:
            alpha = a[..., 3]
            transparent = bool(alpha.min() < 0.5)  # some background is see-through
            ink = alpha if transparent else grey * alpha
        else:
            ink = grey
    if not transparent:
        flip = (float(np.median(ink)) > 0.5) if invert == "auto" else bool(invert)
        if flip:
            ink = 1.0 - ink
    return np.clip(ink, 0.0, 1.0)


# --------------------------------------------------------- ink -> MNIST
def fit_to_mnist(ink, box: int = BOX, side: int = SIDE, threshold: float = 0.05, subpixel: bool = False,
                 normalize: bool = True, resample: str = "lanczos") -> np.ndarray | None:
    """Crop ``ink`` (2-D, [0, 1], bright = ink) to its bounding box, scale it to fit ``box`` x ``box``
    keeping the aspect ratio, and place it in a ``side`` x ``side`` field with its centre of mass at
    the field's centre.  Returns (side, side) float32 in [0, 1], or None when there is no ink.

    ``subpixel=False`` shifts by whole pixels (crisp strokes, centre of mass within 0.5 px of the
    centre on each axis); ``subpixel=True`` adds a bilinear sub-pixel shift (exact centre, slightly
    blurred).  No ink is ever shifted out of the field: if centring would need that (an extremely
    lopsided glyph), the shift stops at the border.  ``normalize`` rescales so that the brightest
    pixel is 1 (MNIST strokes saturate).
    """
    a = np.clip(_as_2d(ink), 0.0, None)
    bb = bounding_box(a, threshold * (a.max() if a.size else 0.0))
    if bb is None or a.max() <= 0:
        return None
    top, left, bottom, right = bb
    crop = a[top:bottom, left:right].astype(np.float32)
    h, w = crop.shape
    s = box / max(h, w)
    nh, nw = max(1, round(h * s)), max(1, round(w * s))
    filt = {"lanczos": Image.Resampling.LANCZOS, "bilinear": Image.Resampling.BILINEAR,
            "bicubic": Image.Resampling.BICUBIC, "box": Image.Resampling.BOX}[resample]
    small = np.asarray(Image.fromarray(crop).resize((nw, nh), filt), dtype=np.float64)
    small = np.clip(small, 0.0, None)  # LANCZOS rings slightly below 0
    if small.max() <= 0:
        return None
    # Paste so that the centre of mass lands on the centre (nearest whole pixel) -- but never push
    # ink off the field: for a lopsided glyph (a "7"'s heavy top bar) the offset is clamped so the
    # whole box stays inside, and the centre of mass then sits as close to the centre as allowed.
    cy, cx = center_of_mass(small)
    oy = min(max(int(round(CENTER - cy)), 0), side - nh)
    ox = min(max(int(round(CENTER - cx)), 0), side - nw)
    out = np.zeros((side, side))
    out[oy:oy + nh, ox:ox + nw] = small
    if subpixel:
        ry, rx = center_of_mass(out)
        t, lft, b, rgt = bounding_box(out, 0.0)
        dy = min(max(CENTER - ry, -t), side - b)
        dx = min(max(CENTER - rx, -lft), side - rgt)
        out = ndimage.shift(out, (dy, dx), order=1, mode="constant", cval=0.0)
    out = np.clip(out, 0.0, None)
    if normalize and out.max() > 0:
        out = out / out.max()
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def preprocess_drawing(img, min_ink: float = 5e-4, invert: bool | str = "auto", subpixel: bool = False,
                       resample: str = "lanczos") -> np.ndarray | None:
    """Canvas image -> MNIST-style (784,) float32 vector in [0, 1], or None for an (almost) empty canvas.

    ``img`` is what ``st_canvas(..., return_image_data=True).image_data`` gives (H x W x 4 uint8
    RGBA; white strokes on black or on a transparent background), or an (H, W) / (H, W, 3) array.
    ``None`` input (nothing drawn yet) also returns None.  ``min_ink`` is the least total ink, as a
    fraction of the canvas area, that counts as a drawing (5e-4 of 280 x 280 = 39 full pixels,
    well below one dot of a 10-px brush).  See :func:`ink_map` and :func:`fit_to_mnist`.
    """
    if img is None:
        return None
    ink = ink_map(img, invert=invert)
    if ink.size == 0 or ink.sum() < max(min_ink * ink.size, 1e-6):
        return None
    out = fit_to_mnist(ink, subpixel=subpixel, resample=resample)
    return None if out is None else out.reshape(-1)


# --------------------------------------------------------- uploaded files
MAX_UPLOAD_BYTES = 10 * 1024 * 1024  # 10 MB
MAX_UPLOAD_PIXELS = 25_000_000  # refuse "decompression bombs" before decoding
MAX_SIDE = 560  # large photos are shrunk to at most this many pixels a side before preprocessing


def _no_repr(exc: BaseException) -> str:
    """Pillow's messages name the in-memory file object ('<_io.BytesIO object at 0x…>'): say 'the file'."""
    return re.sub(r"<_io\.BytesIO object at 0x[0-9a-fA-F]+>", "the file", str(exc))[:300]


def _to_8bit_grey(im: Image.Image) -> Image.Image:
    """A 16-bit (``I;16*``, or ``I`` as Pillow opens 16-bit PNGs) or 32-bit float grey image scaled, not
    clipped, to 8 bits: 16-bit values by 255/65535, others by their own maximum (Pillow's
    ``convert("L")`` clips everything above 255 to white, which blanks a 16-bit drawing)."""
    a = np.asarray(im, dtype=np.float64)
    a = np.nan_to_num(a, nan=0.0, posinf=0.0, neginf=0.0)
    a = np.clip(a, 0.0, None)
    top = 65535.0 if (im.mode.startswith("I") and a.max(initial=0.0) <= 65535) else max(a.max(initial=0.0), 1e-12)
    return Image.fromarray(np.round(a * (255.0 / top)).clip(0, 255).astype(np.uint8), "L")


def read_image_bytes(raw: bytes, max_side: int = MAX_SIDE) -> np.ndarray:
    """Decode an uploaded PNG / JPEG file into an (H, W) or (H, W, 4) uint8 array for
    :func:`preprocess_drawing`.  Only Pillow's image decoders are used (never pickle).

    Transparent images keep their alpha channel (RGBA); all others become grey levels (L).
    Images larger than ``max_side`` are shrunk (aspect kept).  Raises ValueError with a
    plain-words message for anything that is not a readable PNG / JPEG image.
    """
    import io

    if not raw:
        raise ValueError("the file is empty")
    if len(raw) > MAX_UPLOAD_BYTES:
        raise ValueError(f"the file is {len(raw) / 1e6:.1f} MB; the limit is {MAX_UPLOAD_BYTES // 2**20} MB")
    try:
        with Image.open(io.BytesIO(raw)) as im:
            if im.format not in ("PNG", "JPEG", "MPO"):
                raise ValueError(f"expected a PNG or JPEG image, got {im.format or 'an unknown format'}")
            w, h = im.size
            if w * h > MAX_UPLOAD_PIXELS:
                raise ValueError(f"the image is {w}×{h} pixels; at most {MAX_UPLOAD_PIXELS:,} pixels are accepted")
            if w < 1 or h < 1:
                raise ValueError("the image has no pixels")
            im.load()
            has_alpha = im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info)
            im = _to_8bit_grey(im) if im.mode in ("I", "F") or im.mode.startswith("I;16") else \
                im.convert("RGBA" if has_alpha else "L")
    except ValueError:
        raise
    except UnidentifiedImageError:
        raise ValueError("this file could not be read as an image: it is not a PNG or JPEG file") from None
    except (OSError, SyntaxError, Image.DecompressionBombError) as exc:
        raise ValueError(f"this file could not be read as an image ({type(exc).__name__}: {_no_repr(exc)})") from None
    if max(im.size) > max_side:
        s = max_side / max(im.size)
        im = im.resize((max(1, round(im.size[0] * s)), max(1, round(im.size[1] * s))), Image.Resampling.LANCZOS)
    a = np.asarray(im, dtype=np.uint8).copy()
    if a.ndim == 3 and a[..., 3].min() >= 250:  # "RGBA" but fully opaque: grey levels are what matter
        a = np.asarray(Image.fromarray(a, "RGBA").convert("L"), dtype=np.uint8).copy()
    return a
