"""AppTest of Inpainting: it renders with each kind of shipped model and every mask and start can be chosen.
That known pixels are kept bit for bit is checked on vae_core's inpainting in tests/vae_core."""

from __future__ import annotations

import pytest
from apptest_helpers import ok, open_page

PAGE = "app_pages/inpainting.py"


@pytest.mark.parametrize("name", ["mnist-z2", "mnist-z20", "mnist-cvae-z2"])
def test_inpainting_renders(name):
    at = open_page(PAGE, name, inp_iter=30, inp_n=4)
    assert len(at.get("image")) >= 1 + 4  # the masked digit and four completions
    assert len(at.get("plotly_chart")) == 1  # the chains' step sizes


def test_inpainting_controls():
    at = open_page(PAGE, "mnist-z2", inp_iter=30, inp_n=4)
    before = [im.value for im in at.get("image")]
    at.selectbox(key="inp_mask").set_value("random pixels")
    at.slider(key="inp_stoch").set_value(0)
    at.radio(key="inp_fill").set_value("noise").run()
    ok(at)
    assert [im.value for im in at.get("image")] != before
    at.selectbox(key="inp_mask").set_value("centre").run()
    ok(at)
    at.selectbox(key="inp_mask").set_value("drawn").run()  # canvas (or a notice without a server)
    ok(at)
