"""ui/live.py, the Python side of the in-page VAE: the weight export and its numpy replay against
PyTorch, the fallback for models the page cannot run, what travels to the page (weights once per
model and session), and the validation of what the page sends back."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest
from torch import nn

from ui import live
from vae_core import load_checkpoint
from vae_core.digits.model import CVAE, VAE
from vae_core.latent import PCA

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ["mnist-z2", "mnist-z20", "mnist-cvae-z2"]


def _decode(model, z, y=None):
    with torch.no_grad():
        zt = torch.as_tensor(z, dtype=torch.float32)
        return (model.decode(zt, torch.as_tensor(y)) if y is not None else model.decode(zt)).double().numpy()


def _encode(model, x, y=None):
    with torch.no_grad():
        xt = torch.as_tensor(x, dtype=torch.float32)
        mu, lv = model.encode(xt, torch.as_tensor(y)) if y is not None else model.encode(xt)
        return mu.double().numpy(), lv.double().numpy()


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_export_round_trip_equals_torch(name):
    model, _ = load_checkpoint(ROOT / "checkpoints" / name)
    p = live.export_model(model, name)
    assert p["dtype"] == "float16"  # the shipped weights are float16 numbers: sent losslessly at half the size
    assert p["key"].startswith(name + ":") and p["latent_dim"] == model.latent_dim
    assert p["num_classes"] == model.num_classes
    assert len(p["encoder"]) == len(model.hidden_dims) == len(p["decoder"])
    rng = np.random.default_rng(1)
    z = rng.normal(size=(20, model.latent_dim)) * 1.5
    y = rng.integers(0, 10, 20) if model.conditional else None
    assert np.abs(live.reference_decode(p, z, y) - _decode(model, z, y)).max() < 1e-5
    x = rng.random((5, 784))
    ye = y[:5] if y is not None else None
    mu_p, lv_p = live.reference_encode(p, x, ye)
    mu_t, lv_t = _encode(model, x, ye)
    assert np.abs(mu_p - mu_t).max() < 1e-4 and np.abs(lv_p - lv_t).max() < 1e-4


@pytest.mark.parametrize("activation", ["relu", "elu", "softplus", "tanh", "gelu"])
def test_float32_models_and_every_activation_round_trip(activation):
    torch.manual_seed(0)
    model = VAE(latent_dim=3, hidden_dims=(32, 16), activation=activation).eval()
    p = live.export_model(model, "m")
    assert p["dtype"] == "float32"  # random float32 weights are not float16 numbers
    acts = {layer["act"]["name"] for layer in p["encoder"] + p["decoder"]}
    assert acts == {activation}
    z = np.random.default_rng(0).normal(size=(10, 3))
    assert np.abs(live.reference_decode(p, z) - _decode(model, z)).max() < 1e-6
    # the raw bytes are W transposed, little-endian float32
    wt = np.frombuffer(base64.b64decode(p["decoder"][0]["wt"]), "<f4").reshape(3, 16)
    assert np.array_equal(wt, model.decoder[0].weight.detach().numpy().T)


def test_cvae_one_hot_is_appended_after_z():
    torch.manual_seed(0)
    model = CVAE(latent_dim=2, hidden_dims=(16,), num_classes=4).eval()
    p = live.export_model(model, "c")
    assert p["decoder"][0]["in"] == 2 + 4 and p["encoder"][0]["in"] == 784 + 4
    z = np.random.default_rng(0).normal(size=(8, 2))
    y = np.arange(8) % 4
    assert np.abs(live.reference_decode(p, z, y) - _decode(model, z, y)).max() < 1e-6


def test_unknown_activation_falls_back_with_a_reason():
    torch.manual_seed(0)
    model = VAE(latent_dim=2, hidden_dims=(16,))
    model.decoder[1] = nn.SiLU()
    ok, reason = live.live_support(model)
    assert not ok and "SiLU" in reason
    with pytest.raises(live.LiveUnsupported, match="SiLU"):
        live.export_model(model)


def test_a_model_whose_decode_is_not_the_mlp_falls_back():
    class Shifted(VAE):
        def decode(self, z, y=None):  # not sigmoid(fc_out(decoder(z))): the page would draw something else
            return super().decode(z + 1.0, y)

    torch.manual_seed(0)
    ok, reason = live.live_support(Shifted(latent_dim=2, hidden_dims=(16,)))
    assert not ok and "decoder" in reason
    ok, reason = live.live_support(nn.Linear(2, 2))
    assert not ok and "not an MLP VAE" in reason


def test_export_is_cached_per_model_and_redone_after_an_in_place_change():
    torch.manual_seed(0)
    model = VAE(latent_dim=2, hidden_dims=(8,))
    a = live.model_payload(model, "m")
    assert live.model_payload(model, "m") is a
    with torch.no_grad():
        model.fc_out.bias.add_(1.0)
    b = live.model_payload(model, "m")
    assert b is not a and b["key"] != a["key"]


def test_plane_data_is_the_pca_frame_of_the_map():
    mu = np.random.default_rng(0).normal(size=(200, 6)) * np.arange(1, 7)
    pca = PCA(mu)
    plane = live.plane_data(pca)
    a, b = 0.7, -1.3
    z = np.asarray(plane["mean"]) + a * np.asarray(plane["u"]) + b * np.asarray(plane["v"])
    assert np.allclose(pca.transform(z[None])[0, :2], [a, b])


def test_decode_ink_accepts_only_well_formed_canvases():
    g = np.zeros((280, 280), np.uint8)
    g[100:180, 130:150] = 255
    ok = {"w": 280, "h": 280, "grey": base64.b64encode(g.tobytes()).decode(), "y": 3}
    ink, y = live.decode_ink(ok)
    assert np.array_equal(ink, g) and y == 3
    for bad in (None, "x", {**ok, "w": 279}, {**ok, "grey": "%%%"}, {**ok, "w": 5000, "h": 1},
                {**ok, "w": "280"}, {**ok, "grey": base64.b64encode(b"\0" * 10).decode()}):
        assert live.decode_ink(bad) == (None, None)


def test_map_extent_and_data():
    c = np.c_[np.linspace(-2, 2, 101), np.linspace(0, 10, 101)]
    x0, x1, y0, y1 = live.map_extent(c, pad=0.0, q=0.0)
    assert (x0, x1, y0, y1) == pytest.approx((-2, 2, 0, 10))
    d = live.map_data(c, np.arange(101) % 10, ("a", "b"), label_names=list("0123456789"))
    assert len(d["x"]) == 101 and d["labels"][:3] == [0, 1, 2] and d["axes"] == ["a", "b"]


# ------------------------------------------------------------------ in a Streamlit run
def _tiny_app():
    import numpy as np
    import streamlit as st
    import torch
    from torch import nn

    from ui.live import SENT_KEY, _need_weights, live_latent_map
    from vae_core.digits.model import VAE

    torch.manual_seed(0)
    model = st.session_state.setdefault("tiny_model", VAE(2, (16,)))
    if st.session_state.get("break_it"):
        model = VAE(2, (16,))
        model.decoder[1] = nn.SiLU()
    if st.session_state.pop("simulate_need", False):
        _need_weights()  # the callback of the page's "need" trigger (it runs before the script)
    r = live_latent_map(model, np.random.default_rng(0).normal(size=(50, 2)), np.arange(50) % 10, key="k", name="tiny")
    st.session_state["result_ok"] = r.ok
    st.session_state["sent"] = sorted(st.session_state.get(SENT_KEY, []))


def _component_data(at) -> dict:
    els = [e for e in at.main if type(e).__name__ == "UnknownElement" and e.proto.DESCRIPTOR.name == "BidiComponent"]
    assert len(els) == 1
    return json.loads(els[0].proto.json)


def test_weights_go_to_the_page_once_per_session_and_again_on_request():
    at = AppTest.from_function(_tiny_app, default_timeout=60).run()
    assert not at.exception
    first = _component_data(at)
    assert first["mode"] == "map" and "weights" in first["model"] and at.session_state["result_ok"]
    key = first["model"]["key"]
    assert at.session_state["sent"] == [key]
    at.run()
    second = _component_data(at)
    assert second["model"] == {"key": key}  # only the key: the page has the weights
    at.session_state["simulate_need"] = True
    at.run()
    assert "weights" in _component_data(at)["model"]


def test_unsupported_model_says_so_and_mounts_nothing():
    at = AppTest.from_function(_tiny_app, default_timeout=60)
    at.session_state["break_it"] = True
    at.run()
    assert not at.exception
    assert at.session_state["result_ok"] is False
    assert any("cannot run this model in the page" in i.value and "SiLU" in i.value for i in at.info)
    assert not [e for e in at.main if type(e).__name__ == "UnknownElement"]


def test_pages_fall_back_to_the_server_for_a_model_the_page_cannot_run():
    """A session model with an activation the page lacks: every page with a live view says so and keeps its
    server path (maps, sliders, frames, analysis)."""
    import copy

    from apptest_helpers import APP, ok

    model, meta = load_checkpoint(ROOT / "checkpoints" / "mnist-z2")
    model = copy.deepcopy(model)
    model.decoder[1] = nn.SiLU()
    at = AppTest.from_file(APP, default_timeout=180)
    at.session_state["session_models"] = {"silu-decoder": (model, meta)}
    at.session_state["model_key"] = "session/silu-decoder"
    at.run()
    ok(at)
    for page, server_part in (("app_pages/latent_map.py", "plotly_chart"), ("app_pages/decoder_sliders.py", "slider"),
                              ("app_pages/interpolation.py", "image"), ("app_pages/drawing_board.py", "radio")):
        at.switch_page(page).run()
        ok(at)
        assert any("cannot run this model in the page" in i.value and "SiLU" in i.value for i in at.info), page
        assert not [e for e in at.main if type(e).__name__ == "UnknownElement"
                    and getattr(e.proto, "component_name", None) == live.COMPONENT_NAME], page
        assert len(at.get(server_part)) >= 1, page


def test_a_bounded_logit_model_round_trips_with_its_range():
    """A model with models.LogitRange on its logits exports the map as the out layer's 'range' activation; the
    page's maths (numpy here, live.js in the browser tests) reproduces torch's decode, saturated pixels included."""
    torch.manual_seed(0)
    model = VAE(latent_dim=3, hidden_dims=(32, 16), logit_range=(-80.0, 15.0)).eval()
    with torch.no_grad():
        model.fc_out.weight.mul_(300.0)  # push many pixels far past the bounds
    p = live.export_model(model, "m")
    assert p["out"]["act"] == {"name": "range", "c": -32.5, "h": 47.5}
    z = np.random.default_rng(0).normal(size=(10, 3)) * 3
    ref = _decode(model, z)
    assert (ref < 1e-20).mean() > 0.05 and (ref > 1 - 1e-6).mean() > 0.05
    assert np.abs(live.reference_decode(p, z) - ref).max() < 1e-5  # float32 torch against float64 numpy, |eta| ~ 1e3
