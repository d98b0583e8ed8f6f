"""AppTest checks of the Explore pages (Latent Map, Decoder Sliders, Interpolation) on the shipped
mnist-z2 and mnist-z20 checkpoints.

The pages leave what they computed in session_state for these tests:
  Decoder Sliders: ``sliders_z`` (current code, (d,)), ``sliders_decoded`` (the image shown, (28, 28));
  Interpolation:   ``interp_mu`` ((2, d) endpoint means), ``interp_frames`` ((steps, 28, 28) chosen method),
                   ``interp_y`` (CVAE class or None).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
MODELS = ["mnist-z2", "mnist-z20"]
PAGES = ["app_pages/latent_map.py", "app_pages/decoder_sliders.py", "app_pages/interpolation.py"]


def _shipped_dir() -> Path:
    import ui

    return ui.SHIPPED_DIR


def _need(name: str) -> Path:
    path = _shipped_dir() / name
    assert path.with_suffix(".safetensors").exists(), f"shipped checkpoint {name} missing"
    return path


def _open(page: str, name: str) -> AppTest:
    _need(name)
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["model_key"] = f"shipped/{name}"
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    at.switch_page(page).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def _model(name: str):
    from vae_core import load_checkpoint

    model, _ = load_checkpoint(str(_need(name)))
    return model.eval()


def _decode(model, z, y=None) -> np.ndarray:
    from vae_core.latent import decode_np

    return decode_np(model, np.atleast_2d(z), y)


def _sliders(at: AppTest, prefix: str) -> list:
    return [s for s in at.slider if (s.key or "").startswith(prefix)]


@pytest.mark.parametrize("name", MODELS)
def test_latent_map_runs(name):
    at = _open("app_pages/latent_map.py", name)
    assert len(at.get("plotly_chart")) >= 1
    assert at.slider(key="lm_n").value == 5000
    if name == "mnist-z20":
        assert at.radio(key="lm_proj").value == "PCA"
    # ellipses on and a smaller lattice: still no exception
    at.toggle(key="lm_ell").set_value(True)
    at.slider(key="lm_grid").set_value(5)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert len(at.get("image")) >= 1  # the manifold lattice


@pytest.mark.parametrize("name", MODELS)
def test_decoder_sliders_move_changes_image(name):
    at = _open("app_pages/decoder_sliders.py", name)
    d = 2 if name == "mnist-z2" else 20
    model = _model(name)
    assert len(_sliders(at, "ds_z_")) == d
    img0 = np.array(at.session_state["sliders_decoded"])
    url0 = [im.value for im in at.get("image")]
    np.testing.assert_allclose(img0, _decode(model, np.zeros(d))[0], atol=1e-5)

    at.slider(key="ds_z_0").set_value(2.0).run()
    assert not at.exception, [e.message for e in at.exception]
    z1 = np.array(at.session_state["sliders_z"])
    img1 = np.array(at.session_state["sliders_decoded"])
    assert z1[0] == pytest.approx(2.0) and np.allclose(z1[1:], 0)
    assert np.abs(img1 - img0).max() > 1e-3  # the decoded digit changed …
    np.testing.assert_allclose(img1, _decode(model, z1)[0], atol=1e-5)  # … to decode(z)
    assert [im.value for im in at.get("image")] != url0  # and so did the image sent to the browser

    # "Start from this test digit" sets z to the digit's posterior mean
    start = next(b for b in at.button if "Start from" in b.label)
    start.click().run()
    from vae_core import load_dataset

    data = load_dataset("mnist", "test")
    i3 = int(np.flatnonzero(data.labels.numpy() == 3)[0])  # the picker's default: the first test '3'
    with torch.no_grad():
        mu = model.encode(data.images[i3:i3 + 1])[0][0].numpy()
    np.testing.assert_allclose(at.session_state["sliders_z"], np.clip(mu, -4, 4), atol=1e-5)
    reset = next(b for b in at.button if "Reset" in b.label)
    reset.click().run()
    np.testing.assert_allclose(at.session_state["sliders_z"], 0)


def test_decoder_sliders_pca_steering():
    at = _open("app_pages/decoder_sliders.py", "mnist-z20")
    model = _model("mnist-z20")
    next(b for b in at.button if "Start from" in b.label).click().run()
    z0 = np.array(at.session_state["sliders_z"])
    at.toggle(key="ds_pca").set_value(True).run()
    assert not at.exception, [e.message for e in at.exception]
    assert len(_sliders(at, "ds_pc_")) == 20
    assert "PC1" in _sliders(at, "ds_pc_")[0].label
    z1 = np.array(at.session_state["sliders_z"])
    assert np.linalg.norm(z1 - z0) < 0.5  # same code (up to clipping along near-constant directions)
    pc0 = at.slider(key="ds_pc_0").value
    at.slider(key="ds_pc_0").set_value(float(np.clip(pc0 + 2.0, -4, 4)) if pc0 < 2 else pc0 - 2.0).run()
    z2 = np.array(at.session_state["sliders_z"])
    step = z2 - z1
    # the move is along the first principal direction only
    from vae_core.latent import PCA

    mu = np.array(at.session_state["_active"].encodings()[0])
    pc1 = PCA(mu).components[0]
    assert abs(abs(step @ pc1) - np.linalg.norm(step)) < 1e-6 * max(1.0, np.linalg.norm(step))
    np.testing.assert_allclose(at.session_state["sliders_decoded"], _decode(model, z2)[0], atol=1e-5)


@pytest.mark.parametrize("name", MODELS)
def test_interpolation_frames_end_on_the_means(name):
    at = _open("app_pages/interpolation.py", name)
    model = _model(name)
    for steps, method in ((7, "linear"), (12, "spherical")):
        at.slider(key="ip_steps").set_value(steps)
        at.radio(key="ip_method").set_value(method)
        at.run()
        assert not at.exception, [e.message for e in at.exception]
        frames = np.array(at.session_state["interp_frames"])
        mu = np.array(at.session_state["interp_mu"])
        assert frames.shape == (steps, 28, 28)
        np.testing.assert_allclose(frames[0], _decode(model, mu[0])[0], atol=1e-5)
        np.testing.assert_allclose(frames[-1], _decode(model, mu[1])[0], atol=1e-5)
    # the endpoints really are the chosen test digits' posterior means (defaults: first '3' and first '7')
    from vae_core import load_dataset

    data = load_dataset("mnist", "test")
    lab = data.labels.numpy()
    ia, ib = int(np.flatnonzero(lab == 3)[0]), int(np.flatnonzero(lab == 7)[0])
    with torch.no_grad():
        enc = model.encode(data.images[[ia, ib]])[0].numpy()
    np.testing.assert_allclose(mu, enc, atol=1e-5)
    assert len(at.get("download_button")) == 3


def test_model_switch_changes_slider_count():
    at = _open("app_pages/decoder_sliders.py", "mnist-z2")
    _need("mnist-z20")
    assert len(_sliders(at, "ds_z_")) == 2
    at.slider(key="ds_z_1").set_value(1.0).run()
    # switch the model through the sidebar's picker (app.py runs around every page)
    at.sidebar.selectbox[0].set_value("shipped/mnist-z20").run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.session_state["_active"].latent_dim == 20
    assert not at.exception, [e.message for e in at.exception]
    assert len(_sliders(at, "ds_z_")) == 20
    np.testing.assert_allclose(at.session_state["sliders_z"], np.zeros(20))  # a new model starts at z = 0
    for page in ("app_pages/interpolation.py", "app_pages/latent_map.py"):
        at.switch_page(page).run()
        assert not at.exception, [e.message for e in at.exception]
    assert np.array(at.session_state["interp_mu"]).shape == (2, 20)
