"""AppTest checks of the Drawing Board, Latent Editing and Compression pages on the shipped mnist-z2,
mnist-z20 and mnist-cvae-z2 checkpoints (a missing one fails: they are part of the repo).

AppTest cannot draw on the canvas component, so the Drawing Board takes its picture from one place a test can
set: ``st.session_state["drawing_rgba"]`` (what the canvas sent last), or an uploaded file in "upload" mode.
The pages leave what they computed in session_state: ``drawing_input`` / ``drawing_result``, ``edit_result``
and ``compression_result``.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from apptest_helpers import SHIPPED
from apptest_helpers import ok as _ok
from apptest_helpers import open_page as _open
from PIL import Image, ImageDraw
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
MODELS = ["mnist-z2", "mnist-z20", "mnist-cvae-z2"]
DB, LE, CP = "app_pages/drawing_board.py", "app_pages/latent_editing.py", "app_pages/compression.py"


def _model(name: str):
    from vae_core import load_checkpoint

    return load_checkpoint(SHIPPED / name)[0]


def _canvas_seven(at=(40, 30)) -> np.ndarray:
    """A 280x280 RGBA canvas as st_canvas sends it: a white "7" on the opaque black background."""
    im = Image.new("RGBA", (280, 280), (0, 0, 0, 255))
    d = ImageDraw.Draw(im)
    ox, oy = at
    d.line([(ox, oy), (ox + 120, oy)], fill=(255, 255, 255, 255), width=20)
    d.line([(ox + 120, oy), (ox + 50, oy + 170)], fill=(255, 255, 255, 255), width=20)
    return np.asarray(im).copy()


def _texts(at: AppTest) -> str:
    return "\n".join(e.value for e in [*at.markdown, *at.caption, *at.info, *at.error, *at.warning])


# ------------------------------------------------------------------------------------------ Latent Editing
@pytest.mark.parametrize("name", MODELS)
def test_latent_editing(name):
    at = _open(LE, name)
    r = at.session_state["edit_result"]
    assert r["kind"] == "style" and r["images"].shape == (5, 784)
    assert r["direction"].shape == (_model(name).latent_dim,)
    assert "slant:" in _texts(at) or any("slant:" in (c or "") for c in _captions(at))
    before = r["edited"].copy()
    at.slider(key="le_alpha").set_value(-1.0).run()
    _ok(at)
    r2 = at.session_state["edit_result"]
    assert r2["alpha"] == -1.0
    assert np.abs(r2["edited"] - before).max() > 1e-3  # the strength changes the output image
    # the measured value under each image really is the feature of that image
    from vae_core.applications import image_features

    np.testing.assert_allclose(r2["values"], image_features(r2["images"])[r2["feature"]].numpy(), atol=1e-5)
    if name == "mnist-z20":  # slant edits of a 20-D model change the slant steadily
        assert np.all(np.diff(r2["strengths"]) > 0) and np.all(np.diff(r2["values"]) > 0)
    if name == "mnist-z2":
        at.radio(key="le_kind").set_value("class")
        at.selectbox(key="le_feat").set_value("ink").run()
        _ok(at)
        r3 = at.session_state["edit_result"]
        assert r3["kind"] == "class" and r3["feature"] == "ink"
        assert any("ink:" in c and "px" in c for c in _captions(at))


def test_latent_editing_uses_the_drawing():
    from vae_core import load_dataset

    x = load_dataset("mnist", "test").images[0].numpy()  # a 7
    at = _open(LE, "mnist-z2", drawing_input=x)
    at.radio(key="le_src").set_value("drawing").run()
    _ok(at)
    from vae_core.applications import encode_one

    np.testing.assert_allclose(at.session_state["edit_result"]["z"], encode_one(_model("mnist-z2"), x)[0].numpy(),
                               atol=1e-5)


def _captions(at: AppTest) -> list[str]:
    return [c for im in at.get("image") for c in im.captions]


# ------------------------------------------------------------------------------------------ Compression
@pytest.mark.parametrize("name", MODELS)
def test_compression_numbers_equal_vae_core(name):
    from vae_core import load_dataset
    from vae_core.applications import compression_report, rate_summary
    from vae_core.latent import encode_dataset, rate_nats

    at = _open(CP, name)
    r = at.session_state["compression_result"]
    data = load_dataset("mnist", "test")
    model = _model(name)
    i = r["index"]
    assert int(data.labels[i]) == 2  # the default: the first test "2"
    y = int(data.labels[i]) if model.conditional else None
    rep = compression_report(model, data.images[i][None], y=y)
    assert r["latent_dim"] == model.latent_dim and r["pixel_bytes"] == 784 and r["pixel_bits"] == 6272
    assert r["rate_nats"] == pytest.approx(float(rep["rate_nats"][0]), rel=1e-5)
    assert r["rate_bits"] == pytest.approx(r["rate_nats"] / math.log(2), rel=1e-6)
    assert r["ratio"] == pytest.approx(float(rep["ratio"][0]), rel=1e-5)
    assert r["total_bits"] == pytest.approx(float(rep["total_bits"][0]), rel=1e-5)
    np.testing.assert_allclose(r["recon"], rep["recon"][0].numpy(), atol=1e-6)
    mu, lv = encode_dataset(model, data.images, data.labels)
    s = rate_summary(rate_nats(mu, lv))
    assert r["test_mean_bits"] == pytest.approx(s["mean_bits"], rel=1e-5)
    assert r["test_mean_nats"] == pytest.approx(s["mean_nats"], rel=1e-5)
    shown = _texts(at) + " ".join(m.value for m in at.metric)
    assert f"{r['rate_bits']:.2f} bits" in shown and "784 bytes" in shown
    assert f"{s['mean_bits']:.1f}" in shown
    if name == "mnist-z2":  # another digit
        at.number_input(key="cp_k").set_value(3).run()
        _ok(at)
        assert at.session_state["compression_result"]["index"] != i
