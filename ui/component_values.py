"""Values that in-page components send back, checked strictly before use (#21).

Anything a component returns comes from the browser, so from whoever drives it: JSON of any type, shape and size.
Every reader here accepts exactly the type it expects (``bool`` is not a number: ``isinstance(True, int)`` is true
in Python), refuses before converting anything that is longer than a real value can be (so a 4-million-element
array is not turned into a 4-million-element numpy array, and a 40 MB string is not base64-decoded), and returns
None for anything else; the caller then shows a message or ignores it, never a traceback.
"""

from __future__ import annotations

import base64
import binascii
import io
import math
import warnings

import numpy as np

MAX_ITEMS = 4096  # a latent vector or a point: far more than any model here has dimensions
MAX_CANVAS_PNG_CHARS = 8 * 2**20  # a canvas image as a data URL (a 280-px canvas PNG is a few tens of kB)


def is_number(v) -> bool:
    """A real JSON number: int or float, not bool, finite."""
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def strict_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def floats(v, n: int | None = None) -> np.ndarray | None:
    """A list of exactly ``n`` (at most MAX_ITEMS) finite numbers -> float64 array; anything else None."""
    if not isinstance(v, list) or len(v) > MAX_ITEMS or (n is not None and len(v) != n):
        return None
    if not all(is_number(x) for x in v):
        return None
    return np.asarray(v, dtype=np.float64)


def class_index(v, c: int) -> int | None:
    return v if strict_int(v) and 0 <= v < c else None


def canvas_rgba(result, max_side: int) -> tuple[np.ndarray | None, str | None]:
    """The RGBA pixels of a ``streamlit_drawable_canvas`` result: (array or None, message or None).
    The image must be a PNG data URL of at most MAX_CANVAS_PNG_CHARS characters and ``max_side`` pixels a side,
    checked before the pixels are decoded."""
    url = getattr(result, "_image_data_url", None)
    if url is None:
        return None, None
    prefix = "data:image/png;base64,"
    if not isinstance(url, str) or not url.startswith(prefix) or len(url) > MAX_CANVAS_PNG_CHARS:
        return None, "The canvas sent something that is not a canvas picture; it was ignored."
    from PIL import Image, UnidentifiedImageError

    try:
        raw = base64.b64decode(url[len(prefix):], validate=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # the size is checked below
            img = Image.open(io.BytesIO(raw))  # reads the header only
        with img:
            if img.format != "PNG" or not (0 < img.width <= max_side and 0 < img.height <= max_side):
                return None, "The canvas sent a picture of the wrong size or kind; it was ignored."
            return np.asarray(img.convert("RGBA")), None
    except (binascii.Error, ValueError, OSError, UnidentifiedImageError, Image.DecompressionBombError):
        return None, "The canvas sent a picture that could not be read; it was ignored."
