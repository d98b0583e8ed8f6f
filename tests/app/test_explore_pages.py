"""AppTest of the Explore pages (Latent Map, Decoder Sliders, Interpolation) with the shipped mnist-z2 and
mnist-z20: they render, and their widgets are wired (a slider moves the picture, buttons set the sliders, the
model picker resizes the page). The numbers are checked on the pure functions in tests/ui/test_compute_explore.py."""

from __future__ import annotations

import numpy as np
import pytest
from apptest_helpers import SHIPPED, ok, open_page
from streamlit.testing.v1 import AppTest

from vae_core import load_checkpoint, load_dataset
from vae_core.latent import encode_dataset

MODELS = ["mnist-z2", "mnist-z20"]
LM, DS, IP = "app_pages/latent_map.py", "app_pages/decoder_sliders.py", "app_pages/interpolation.py"


def _sliders(at: AppTest, prefix: str) -> list:
    """The sliders ds_z_0, ds_z_1, … in the order of their index (the page lays them out in columns)."""
    found = [s for s in at.slider if (s.key or "").startswith(prefix)]
    return sorted(found, key=lambda s: int(s.key.rsplit("_", 1)[1]))


def _images(at: AppTest) -> list[str]:
    return [im.value for im in at.get("image")]


def _first_mu(name: str, cls: int) -> np.ndarray:
    data = load_dataset("mnist", "test")
    i = int(np.flatnonzero(data.labels.numpy() == cls)[0])
    model, _ = load_checkpoint(SHIPPED / name)
    return encode_dataset(model, data.images[i:i + 1])[0][0]


@pytest.mark.parametrize("name", MODELS)
def test_latent_map_controls(name):
    at = open_page(LM, name)
    assert len(at.get("plotly_chart")) == 1
    lattice = _images(at)
    at.toggle(key="lm_ell").set_value(True)
    at.slider(key="lm_grid").set_value(5)
    at.run()
    ok(at)
    assert at.slider(key="lm_n_ell").value == 50  # the ellipse count appears with the ellipses
    assert _images(at) != lattice  # a 5×5 lattice replaced the 10×10 one
    if name == "mnist-z20":
        assert at.radio(key="lm_proj").value == "PCA"


@pytest.mark.parametrize("name", MODELS)
def test_decoder_sliders_wiring(name):
    at = open_page(DS, name)
    d = 2 if name == "mnist-z2" else 20
    assert len(_sliders(at, "ds_z_")) == d
    before = _images(at)
    at.slider(key="ds_z_0").set_value(2.0).run()
    ok(at)
    assert _images(at) != before  # the decoded digit sent to the browser changed
    next(b for b in at.button if b.label == "Start from this digit").click().run()
    ok(at)
    mu = _first_mu(name, 3)  # the picker's default: the first test '3'
    np.testing.assert_allclose([s.value for s in _sliders(at, "ds_z_")], np.clip(mu, -4, 4), atol=1e-5)
    next(b for b in at.button if "Reset" in b.label).click().run()
    assert all(s.value == 0 for s in _sliders(at, "ds_z_"))


def test_decoder_sliders_principal_directions():
    at = open_page(DS, "mnist-z20")
    at.toggle(key="ds_pca").set_value(True).run()
    ok(at)
    assert len(_sliders(at, "ds_pc_")) == 20
    before = _images(at)
    at.slider(key="ds_pc_0").set_value(2.0).run()
    ok(at)
    assert _images(at) != before


def test_model_switch_resizes_the_sliders():
    at = open_page(DS, "mnist-z2")
    assert len(_sliders(at, "ds_z_")) == 2
    at.slider(key="ds_z_1").set_value(1.0).run()
    at.sidebar.selectbox[0].set_value("shipped/mnist-z20").run()  # the picker app.py runs around every page
    ok(at)
    assert len(_sliders(at, "ds_z_")) == 20
    assert all(s.value == 0 for s in _sliders(at, "ds_z_"))  # a new model starts at z = 0
    for page in (IP, LM):
        at.switch_page(page).run()
        ok(at)


@pytest.mark.parametrize("name", MODELS)
def test_interpolation_controls(name):
    at = open_page(IP, name)
    assert len(at.get("download_button")) == 3
    assert len(at.get("plotly_chart")) == 2  # the path on the map, ‖z‖ along the paths
    rows = _images(at)
    at.slider(key="ip_steps").set_value(12)
    at.radio(key="ip_method").set_value("spherical")
    at.run()
    ok(at)
    assert _images(at) != rows
    at.radio(key="ip_A_src").set_value("random").run()
    ok(at)
    assert any(b.key == "ip_A_rbtn" for b in at.button)
