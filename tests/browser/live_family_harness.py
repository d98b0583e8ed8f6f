"""A small app for tests/browser/test_live_family.py: the Latent Map's live view (ui/live.py, mode "map") of a
model whose family the registry declares, so the page's output head and renderer come from the family.

    streamlit run tests/browser/live_family_harness.py   then open  /?family=test-items-vae&classes=30

Query parameters: family (``mlp-vae`` or ``test-items-vae``, registered here: a digit-layout VAE whose decoder
output the page shows as a ranked list of its 784 outputs, softmax head), classes (labels of the map's points).
The model is a fixed-seed VAE(latent_dim=2, hidden_dims=(16,)), the same one the test builds.
"""

import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import streamlit as st
import torch

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from ui.live import live_latent_map  # noqa: E402
from vae_core import families  # noqa: E402
from vae_core.digits.model import VAE  # noqa: E402

ITEMS_FAMILY = families.Family(name="test-items-vae", title="test: outputs shown as a ranked list",
                               package="tests.browser", loader="vae_core.digits.checkpoint:load_checkpoint",
                               head="softmax", renderer="items")


def model() -> VAE:
    torch.manual_seed(0)
    return VAE(latent_dim=2, hidden_dims=(16,)).eval()


def points(classes: int, n: int = 600) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, 2)), np.arange(n) % classes


if __name__ == "__main__":
    families.register(ITEMS_FAMILY)
    st.set_page_config(page_title="live family harness", layout="wide")
    family = st.query_params.get("family", "mlp-vae")
    classes = int(st.query_params.get("classes", "10"))
    coords, labels = points(classes)
    am = SimpleNamespace(model=model(), meta={"family": family}, key=f"fam-{family}")
    res = live_latent_map(am, coords, labels, key="f_map", class_names=[f"c{k}" for k in range(classes)])
    st.code(f"ok={res.ok} reason={res.reason}", language=None)
