"""Digits as images: upscaled PIL images, PNG / GIF bytes, strips and wrapped strips, rows of digits."""

from __future__ import annotations

import io

import numpy as np
import streamlit as st
from PIL import Image

from vae_core.images import tile

PX = 140  # default display size of one digit, px (>= 112 to be readable)
GREY = 0.35  # separators and empty cells of strips


def to_image(img: np.ndarray, size: int = PX, shape: tuple[int, int] | None = None) -> Image.Image:
    """A [0,1] array (784,), (28,28) or a tiled grid, as a nearest-neighbour upscaled PIL image (a flat row is
    square unless ``shape`` (H, W) is given: a user's data set, #19)."""
    a = np.asarray(img, dtype=np.float32)
    if a.ndim == 1:
        side = int(round(a.size**0.5))
        a = a.reshape(shape or (side, side))
    a8 = (np.clip(a, 0, 1) * 255).round().astype(np.uint8)
    im = Image.fromarray(a8, mode="L")
    scale = max(1, round(size / 28)) if a.shape[0] <= 28 else max(1, round(size / a.shape[0]))
    return im.resize((a.shape[1] * scale, a.shape[0] * scale), Image.NEAREST)


def to_image_cell(img: np.ndarray, cell: int = PX) -> Image.Image:
    """Any image made of 28-px digit cells (a digit, a strip, a lattice) upscaled by the integer factor
    that makes each cell about ``cell`` px (nearest neighbour, crisp)."""
    a = np.asarray(img, dtype=np.float32)
    if a.ndim == 1:
        side = int(round(a.size**0.5))
        a = a.reshape(side, side)
    scale = max(1, round(cell / 28))
    return to_image(a, scale * a.shape[0])


def png_bytes(img: np.ndarray, size: int = PX) -> bytes:
    buf = io.BytesIO()
    to_image(img, size).save(buf, format="PNG")
    return buf.getvalue()


def gif_bytes(frames: np.ndarray, size: int = PX, ms: int = 80, bounce: bool = True) -> bytes:
    ims = [to_image(f, size).convert("P") for f in frames]
    if bounce:
        ims = ims + ims[-2:0:-1]
    buf = io.BytesIO()
    ims[0].save(buf, format="GIF", save_all=True, append_images=ims[1:], duration=ms, loop=0)
    return buf.getvalue()


def strip(images: np.ndarray, pad: int = 2) -> np.ndarray:
    """Images (N, 28, 28) side by side with a thin grey separator (vae_core.images.tile on one line)."""
    images = _stack(images)
    return tile(images, len(images), pad=pad, fill=GREY)


def wrap_strip(images: np.ndarray, per_line: int, pad: int = 2) -> np.ndarray:
    """Like :func:`strip`, wrapped onto several lines of at most ``per_line`` images (grey padding)."""
    images = _stack(images)
    return tile(images, max(1, min(per_line, len(images))), pad=pad, fill=GREY)


def _stack(images) -> np.ndarray:
    """(N, H, W) as given, or flat rows as 28×28 digits."""
    images = np.asarray(images, dtype=np.float32)
    return images if images.ndim == 3 else images.reshape(-1, 28, 28)


def show_digits(images, captions=None, size: int = PX, per_row: int | None = None) -> None:
    """A row (or rows) of digits, each at least ``size`` px."""
    images = np.asarray(images).reshape(-1, 28, 28)
    per_row = per_row or len(images)
    for s in range(0, len(images), per_row):
        cols = st.columns(per_row)
        for i, col in enumerate(cols):
            if s + i < len(images):
                col.image(to_image(images[s + i], size), caption=None if captions is None else captions[s + i])
