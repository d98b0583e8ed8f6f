"""A small app that mounts each live view of ui/live.py on its own, for tests/browser/test_live.py,
bench/live_fps.py and scripts/make_screenshots.py:

    streamlit run tests/browser/live_harness_app.py   then open  /?model=mnist-z20&mode=map&n=5000

Query parameters: model (a shipped checkpoint name), mode (map | decoder | interp | draw), n (points on
the map). It shows the number of script runs and, after a stroke, the server's μ for the same canvas.
"""

import json
import os
import sys
from pathlib import Path

import numpy as np
import streamlit as st
import torch

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from ui.live import live_decoder, live_drawing, live_interpolation, live_latent_map, plane_data  # noqa: E402
from vae_core import load_checkpoint  # noqa: E402
from vae_core.digits.drawing import preprocess_drawing  # noqa: E402
from vae_core.latent import PCA  # noqa: E402

st.set_page_config(page_title="live harness", layout="wide")
torch.set_grad_enabled(False)
CKPT = Path(os.environ.get("VAE_CHECKPOINT_DIR", ROOT / "checkpoints"))


@st.cache_resource
def model_of(name: str):
    return load_checkpoint(CKPT / name)[0]


@st.cache_resource
def points(name: str, n: int):
    """Posterior means of n test digits (the full MNIST test split if VAE_DATA_DIR has it, else the
    offline sample), their labels and a PCA of them."""
    from vae_core import load_dataset

    model = model_of(name)
    data = load_dataset("mnist", "test")
    x, y = data.images[:n].reshape(-1, 784).float(), data.labels[:n]
    mu, _ = model.encode(x, y) if model.conditional else model.encode(x)
    mu = mu.numpy().astype(np.float64)
    return mu, y.numpy(), PCA(mu)


qp = st.query_params
name = qp.get("model", "mnist-z2")
mode = qp.get("mode", "map")
n = int(qp.get("n", "2000"))
model = model_of(name)
st.session_state["runs"] = st.session_state.get("runs", 0) + 1
mu, labels, pca = points(name, n)
d = model.latent_dim
plane = plane_data(pca) if d > 2 else None
coords = mu[:, :2] if d == 2 else pca.transform(mu)[:, :2]
axes = ("z₁", "z₂") if d == 2 else ("PC1", "PC2")

if mode == "map":
    res = live_latent_map(model, coords, labels, axes, key="h_map", plane=plane, name=name)
    if res.click is not None:
        st.session_state["clicked"] = res.click["z"].tolist()
elif mode == "decoder":
    def on_release(z, y):
        st.session_state["callback_z"] = z.tolist()

    res = live_decoder(model, np.zeros(d), key="h_dec", coords=coords, labels=labels, axes=axes, plane=plane, name=name,
                       on_release=on_release)
    if res.z is not None:
        st.session_state["released"] = res.z.tolist()
elif mode == "interp":
    res = live_interpolation(model, mu[0], mu[1], key="h_int", coords=coords, labels=labels, axes=axes, plane=plane,
                             y=int(labels[0]) if model.conditional else None, name=name)
elif mode == "draw":
    res = live_drawing(model, key="h_draw", coords=coords, labels=labels, axes=axes, plane=plane, name=name)
    if res.ink is not None:
        x = preprocess_drawing(res.ink)
        if x is not None:
            xt = torch.as_tensor(x).reshape(1, -1)
            m, lv = model.encode(xt, torch.tensor([res.y or 0])) if model.conditional else model.encode(xt)
            st.session_state["server_mu"] = m[0].tolist()
            st.session_state["server_logvar"] = lv[0].tolist()
    else:
        st.session_state.pop("server_mu", None)

st.html("<div data-testid='harness-state'></div>")
st.code(json.dumps({"runs": st.session_state["runs"], "clicked": st.session_state.get("clicked"),
                    "released": st.session_state.get("released"),
                    "callback_z": st.session_state.get("callback_z"), "server_mu": st.session_state.get("server_mu"),
                    "ok": res.ok, "reason": res.reason}), language=None)
