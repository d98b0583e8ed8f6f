"""Attack suite (#13), odd images uploaded on the Drawing Board, in one session: each either becomes a digit or is
refused with a message naming the problem (never '<_io.BytesIO …>'), and the page keeps working."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
PAGE = "app_pages/drawing_board.py"


def _enc(im: Image.Image, fmt: str = "PNG", **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format=fmt, **kw)
    return buf.getvalue()


def _seven(mode: str = "L", size=(200, 200), ink=0, paper=255) -> Image.Image:
    im = Image.new(mode, size, paper)
    d = ImageDraw.Draw(im)
    w, h = size
    d.line([(w * 0.25, h * 0.2), (w * 0.75, h * 0.2)], fill=ink, width=max(2, w // 14))
    d.line([(w * 0.75, h * 0.2), (w * 0.45, h * 0.85)], fill=ink, width=max(2, w // 14))
    return im


def _sixteen_bit() -> bytes:
    a = np.full((120, 120), 60000, np.uint16)
    a[20:32, 25:95] = 2000
    for r in range(32, 105):
        c = 95 - (r - 32) * 40 // 73
        a[r, c - 5:c + 5] = 2000
    return _enc(Image.fromarray(a))


def _png_bomb() -> bytes:
    """A valid PNG header claiming 30,000 x 30,000 pixels (900 M) with almost no data."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", 30_000, 30_000, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 100)) + \
        chunk(b"IEND", b"")


# (case, bytes, file name, None = becomes a digit, else words of the error)
CASES = [
    ("dark ink PNG", _enc(_seven()), "seven.png", None),
    ("light ink JPEG", _enc(_seven("RGB", ink=(255, 255, 255), paper=(0, 0, 0)), "JPEG"), "seven.jpg", None),
    ("16-bit PNG", _sixteen_bit(), "sixteen.png", None),
    ("transparent PNG", _enc(_seven("RGBA", ink=(0, 0, 0, 255), paper=(0, 0, 0, 0))), "alpha.png", None),
    ("palette PNG", _enc(_seven().convert("P")), "palette.png", None),
    ("1x1 PNG", _enc(Image.new("L", (1, 1), 0)), "dot.png", "Nothing to look at|no ink|blank"),
    ("tall thin PNG", _enc(_seven(size=(8, 2000))), "thin.png", None),
    ("huge photo", _enc(_seven(size=(3000, 2000)), "JPEG", quality=50), "photo.jpg", None),
    ("blank page", _enc(Image.new("L", (100, 100), 255)), "blank.png", "Nothing to look at|no ink|blank"),
    ("PNG bomb", _png_bomb(), "bomb.png", "pixels"),
    ("truncated PNG", _enc(_seven())[:300], "cut.png", "could not be read"),
    ("text file", b"just some text", "notes.png", "could not be read"),
    ("GIF renamed", _enc(_seven(), "GIF"), "anim.png", "PNG or JPEG"),
    ("pickle renamed", b"\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00\x8c\x02os\x94.", "evil.png", "could not be read"),
    ("empty file", b"", "empty.png", None),  # an empty upload is ignored or refused; either way no traceback
]


@pytest.fixture(scope="module")
def board():
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.switch_page(PAGE).run()
    at.radio(key="db_source").set_value("upload").run()
    assert not at.exception, [e.message for e in at.exception]
    return at


@pytest.mark.parametrize(("case", "raw", "fname", "words"), CASES, ids=[c[0] for c in CASES])
def test_odd_image(board, case, raw, fname, words):
    import re

    board.file_uploader(key="db_upload").set_value((fname, raw, "image/png"))
    board.run()
    assert not board.exception, (case, [e.message for e in board.exception])
    texts = [str(e.value) for e in list(board.error) + list(board.warning) + list(board.info)]
    assert not any("BytesIO" in t or " at 0x" in t for t in texts), texts
    if case == "empty file":
        return
    if words is None:
        assert not board.error, (case, [e.value for e in board.error])
        assert board.session_state["drawing_input"] is not None, case
        assert np.asarray(board.session_state["drawing_input"]).shape == (784,)
    else:
        assert board.session_state["drawing_input"] is None, case
        assert any(re.search(words, t, re.I) for t in texts), (case, texts)
