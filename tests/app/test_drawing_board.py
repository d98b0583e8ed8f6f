"""AppTest of the Drawing Board on mnist-z2, mnist-z20 and mnist-cvae-z2: empty canvas, a drawing, an upload,
and the digit handed to the other pages. AppTest cannot draw on the canvas component, so the picture comes from
``session_state["drawing_rgba"]`` (what the canvas sent last) or an uploaded file. The numbers are checked on
ui.compute.drawing in tests/ui/test_compute_explore.py."""

from __future__ import annotations

import io

import numpy as np
import pytest
from apptest_helpers import ok, open_page
from PIL import Image, ImageDraw

from ui.pickers import DRAWING_KEY
from vae_core.digits.drawing import preprocess_drawing

MODELS = ["mnist-z2", "mnist-z20", "mnist-cvae-z2"]
DB = "app_pages/drawing_board.py"


def canvas_seven(at=(40, 30)) -> np.ndarray:
    """A 280x280 RGBA canvas as st_canvas sends it: a white "7" on the opaque black background."""
    im = Image.new("RGBA", (280, 280), (0, 0, 0, 255))
    d = ImageDraw.Draw(im)
    ox, oy = at
    d.line([(ox, oy), (ox + 120, oy)], fill=(255, 255, 255, 255), width=20)
    d.line([(ox + 120, oy), (ox + 50, oy + 170)], fill=(255, 255, 255, 255), width=20)
    return np.asarray(im).copy()


def test_empty_canvas_prompts():
    at = open_page(DB, "mnist-z2")
    assert at.info and len(at.get("plotly_chart")) == 0  # a prompt, nothing analysed
    assert at.session_state[DRAWING_KEY] is None
    at.session_state["drawing_rgba"] = np.dstack([np.zeros((280, 280, 3), np.uint8), np.full((280, 280), 255,
                                                                                           np.uint8)])
    at.run()  # an all-black canvas (what "reset" sends) is still empty
    ok(at)
    assert at.info and len(at.get("plotly_chart")) == 0


@pytest.mark.parametrize("name", MODELS)
def test_a_drawing_is_analysed(name):
    rgba = canvas_seven()
    at = open_page(DB, name, drawing_rgba=rgba)
    assert len(at.get("plotly_chart")) == 1
    np.testing.assert_allclose(at.session_state[DRAWING_KEY], preprocess_drawing(rgba), atol=1e-6)
    assert len(at.get("plotly_chart")) == 1
    images = [im.value for im in at.get("image")]
    at.slider(key="db_k").set_value(9).run()
    ok(at)
    assert [im.value for im in at.get("image")] != images  # nine samples instead of six
    if name == "mnist-cvae-z2":
        assert at.selectbox(key="db_label").value == "auto"
        at.selectbox(key="db_label").set_value(3).run()
        ok(at)


def test_upload():
    at = open_page(DB, "mnist-z2")
    at.radio(key="db_source").set_value("upload").run()
    ok(at)
    assert at.info and len(at.get("plotly_chart")) == 0
    im = Image.fromarray(255 - canvas_seven((100, 60))[..., 0])  # dark ink on white paper
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    at.file_uploader(key="db_upload").set_value(("seven.png", buf.getvalue(), "image/png")).run()
    ok(at)
    assert at.session_state[DRAWING_KEY] is not None and len(at.get("plotly_chart")) == 1
    at.file_uploader(key="db_upload").set_value(("evil.png", b"\x80\x04\x95 not a png", "image/png")).run()
    ok(at)
    assert at.error  # said plainly, and nothing is analysed
    assert at.session_state[DRAWING_KEY] is None
