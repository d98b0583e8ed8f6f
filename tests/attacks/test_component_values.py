"""Attack suite (#21): hostile values sent back by in-page components (the live views of ui/live.py and the
drawable canvas of the Drawing Board and Inpainting) are refused by strict type, shape and size checks: never a
traceback, and nothing huge is converted or decoded before its size is checked."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from PIL import Image

from ui import component_values as cv
from ui.live import decode_ink

GOOD_INK = {"w": 2, "h": 2, "grey": base64.b64encode(bytes([0, 255, 128, 7])).decode(), "y": 3}


def test_the_reported_payload_is_ignored_not_a_traceback():
    assert decode_ink({"w": True, "h": True, "grey": "/w=="}) == (None, None)  # TypeError before #21


@pytest.mark.parametrize("bad", [
    None, [], "ink", 7, {"w": 2.0, "h": 2, "grey": GOOD_INK["grey"]}, {"w": 2, "h": False, "grey": GOOD_INK["grey"]},
    {"w": 2, "h": 2, "grey": 1234}, {"w": 2, "h": 2, "grey": ["AP+ABw=="]}, {"w": 2, "h": 2, "grey": "not base64!"},
    {"w": 2, "h": 2, "grey": base64.b64encode(b"\0" * 5).decode()}, {"w": 0, "h": 0, "grey": ""},
    {"w": -2, "h": -2, "grey": GOOD_INK["grey"]}, {"w": 10**30, "h": 1, "grey": "AA=="},
    {"w": 2, "h": 2}, {"grey": GOOD_INK["grey"]},
])
def test_decode_ink_refuses_every_wrong_type_shape_and_size(bad):
    assert decode_ink(bad) == (None, None)


def test_decode_ink_reads_a_good_canvas_and_refuses_a_bool_class():
    ink, y = decode_ink(GOOD_INK)
    assert ink.tolist() == [[0, 255], [128, 7]] and y == 3
    assert decode_ink(dict(GOOD_INK, y=True))[1] is None


def test_a_40_mb_string_is_refused_before_it_is_decoded(monkeypatch):
    def no(*a, **k):
        raise AssertionError("decoded before its size was checked")

    monkeypatch.setattr(base64, "b64decode", no)
    huge = "A" * (40 * 2**20)
    assert decode_ink({"w": 1024, "h": 1024, "grey": huge}) == (None, None)
    fake = type("R", (), {"_image_data_url": "data:image/png;base64," + huge})()
    img, msg = cv.canvas_rgba(fake, 1120)
    assert img is None and "not a canvas picture" in msg


@pytest.mark.parametrize(("value", "n", "ok"), [
    ([0.5, -1], 2, True), ([True, 1.0], 2, False), ([1, False], 2, False), ([1.0], 2, False),
    ([1.0, 2.0, 3.0], 2, False), ([float("nan"), 1.0], 2, False), ([float("inf"), 1.0], 2, False),
    (["1", 2], 2, False), ([[1, 2]], 1, False),
    ({"0": 1, "1": 2}, 2, False), ("12", 2, False), (None, 2, False), ([None, None], 2, False),
])
def test_latent_vectors_are_strict(value, n, ok):
    got = cv.floats(value, n)
    assert (got is not None) == ok
    if ok:
        assert got.dtype == np.float64 and got.tolist() == [float(v) for v in value]


def test_a_four_million_element_array_is_refused_by_its_length(monkeypatch):
    big = [0.0] * 4_000_000
    monkeypatch.setattr(cv, "is_number", lambda v: pytest.fail("looked at the elements before the length"))
    monkeypatch.setattr(cv.np, "asarray", lambda *a, **k: pytest.fail("converted before the length was checked"))
    assert cv.floats(big, 2) is None and cv.floats(big) is None


def test_classes_and_positions_are_strict():
    assert cv.class_index(3, 10) == 3
    for bad in (True, False, 3.0, "3", -1, 10, None, [3]):
        assert cv.class_index(bad, 10) is None
    assert all(cv.is_number(v) for v in (0, 1, 0.5, -2))
    assert not any(cv.is_number(v) for v in (True, False, None, "0.5", float("nan"), float("inf"), [0.5]))


def _png(w: int, h: int) -> str:
    buf = io.BytesIO()
    Image.new("RGBA", (w, h), (255, 255, 255, 255)).save(buf, "PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _canvas(url):
    return type("R", (), {"_image_data_url": url})()


def test_canvas_pictures_are_checked_before_their_pixels_are_decoded(monkeypatch):
    img, msg = cv.canvas_rgba(_canvas(_png(280, 280)), 1120)
    assert msg is None and img.shape == (280, 280, 4)
    assert cv.canvas_rgba(_canvas(None), 1120) == (None, None)  # nothing drawn yet
    for side in (1121, 12_000):  # 12,000²: 576 MB of RGBA if decoded
        big = _canvas(_png(side, 64 if side < 2000 else side))
        with monkeypatch.context() as m:
            m.setattr(Image.Image, "load", lambda self: pytest.fail("decoded before its size was checked"))
            img, msg = cv.canvas_rgba(big, 1120)
        assert img is None and "wrong size" in msg
    buf = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buf, "JPEG")
    jpeg_as_png = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
    for bad in (True, 7, ["x"], {"a": 1}, "data:image/svg+xml;base64,PHN2Zz4=", "data:image/png;base64,!!!",
                "data:image/png;base64," + base64.b64encode(b"not a png").decode(), jpeg_as_png):
        img, msg = cv.canvas_rgba(_canvas(bad), 1120)
        assert img is None and msg, bad
