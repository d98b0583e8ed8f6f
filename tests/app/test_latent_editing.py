"""AppTest of Latent Editing: it renders with each kind of shipped model, the strength and the direction are
wired, and the Drawing Board's digit can be edited. The edit's numbers are checked on ui.compute.editing in
tests/ui/test_compute_lab_apply.py."""

from __future__ import annotations

import pytest
from apptest_helpers import ok, open_page

from vae_core import load_dataset

PAGE = "app_pages/latent_editing.py"


def _captions(at) -> list[str]:
    return [c for im in at.get("image") for c in im.captions]


@pytest.mark.parametrize("name", ["mnist-z2", "mnist-z20", "mnist-cvae-z2"])
def test_latent_editing_renders(name):
    at = open_page(PAGE, name)
    assert len(at.get("image")) == 3 + 5  # original, α = 0, the edit; the row of strengths
    before = _captions(at)
    at.slider(key="le_alpha").set_value(-1.0).run()
    ok(at)
    assert _captions(at) != before  # another strength, other images and measured slants


def test_class_direction_and_the_drawing():
    at = open_page(PAGE, "mnist-z2")
    images = [im.value for im in at.get("image")]
    at.radio(key="le_kind").set_value("class")
    at.selectbox(key="le_feat").set_value("ink").run()
    ok(at)
    assert at.slider(key="le_alpha_class").value == 1.0  # the class step's own strength slider
    assert [im.value for im in at.get("image")][2:] != images[2:]  # another direction, other edits
    digit = load_dataset("mnist", "test").images[3].numpy()  # a 0, while the picker starts on a 7
    at = open_page(PAGE, "mnist-z2", drawing_input=digit)
    first = [im.value for im in at.get("image")]
    at.radio(key="le_src").set_value("drawing").run()
    ok(at)
    assert [im.value for im in at.get("image")][0] != first[0]  # the drawing is now the digit edited
