"""AppTest of the Conditional VAE page: with the shipped CVAE, and with a plain VAE active (it borrows the CVAE)."""

from __future__ import annotations

import pytest
from apptest_helpers import ok, open_page

PAGE = "app_pages/conditional.py"


def _images(at) -> list[str]:
    return [im.value for im in at.get("image")]


@pytest.mark.parametrize("name", ["mnist-z2", "mnist-z20", "mnist-cvae-z2"])
def test_conditional_renders(name):
    at = open_page(PAGE, name)
    assert len(at.get("image")) >= 3  # samples of one class, one z across all classes, a class's lattice
    assert bool(at.info) == (name != "mnist-cvae-z2")  # a plain VAE is active: the page says it borrows the CVAE


def test_conditional_controls():
    at = open_page(PAGE, "mnist-cvae-z2")
    before = _images(at)
    at.radio(key="cv_cls").set_value(5)
    at.button(key="cv_resample").click().run()
    ok(at)
    after = _images(at)
    assert after[0] != before[0]  # other samples
    at.radio(key="cv_src").set_value("prior")
    at.slider(key="cv_nz").set_value(2).run()
    ok(at)
    assert _images(at) != after
