"""ui/live_assets/ split by idea (#17 item 6): the files ui/live.py joins, one definition of the page's MLP for
every family, no outside URL, and the output head / renderer taken from the family registry."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
import torch

from ui import live
from ui.items_export import export_items_model
from ui.live_export import PAGE_HEADS, PAGE_RENDERERS, LiveUnsupported, export_model, family_view
from vae_core import families
from vae_core.digits.model import VAE
from vae_core.recommender.model import MultVAE

JS = "\n".join((live.ASSETS / f).read_text(encoding="utf-8") for f in live.LIVE_JS)


def test_every_asset_is_joined_once_and_the_entry_point_is_last():
    on_disk = sorted(str(p.relative_to(live.ASSETS)) for p in live.ASSETS.rglob("*.js"))
    assert sorted(live.LIVE_JS) == on_disk and len(set(live.LIVE_JS)) == len(live.LIVE_JS)
    assert sorted(live.LIVE_CSS) == sorted(str(p.relative_to(live.ASSETS)) for p in live.ASSETS.rglob("*.css"))
    assert live.LIVE_JS[0] == "base.js" and live.LIVE_JS[-1] == "main.js"
    assert len(re.findall(r"^export default", JS, re.M)) == 1
    assert re.search(r"^export default", (live.ASSETS / "main.js").read_text(), re.M)


@pytest.mark.parametrize("name", ["buildModel", "dense", "mlp", "encode", "decode", "decodeLogits", "activate",
                                  "softmaxOf", "topItems", "preprocessGrey", "slerpAt", "planeOf", "ellipsePts"])
def test_one_definition_of_each_numeric_function(name):
    assert len(re.findall(rf"\bfunction {name}\(", JS)) == 1
    where = [f for f in live.LIVE_JS if re.search(rf"\bfunction {name}\(", (live.ASSETS / f).read_text())]
    assert where[0] in ("mlp.js", "preprocess.js", "latent.js")


def test_no_outside_url_and_no_import():
    assert not re.search(r"\b(https?|wss?|ftp):|//[a-z0-9-]+\.[a-z]{2,}/", JS, re.I)
    assert not re.search(r"^\s*import\b|\bimport\(|\bfetch\(|XMLHttpRequest|WebSocket", JS, re.M)


def test_heads_and_renderers_of_the_page_are_the_ones_python_accepts():
    assert set(re.findall(r"^HEADS\.(\w+) =", JS, re.M)) == set(PAGE_HEADS)
    assert set(re.findall(r"^RENDERERS\.(\w+) =", JS, re.M)) == set(PAGE_RENDERERS)


@pytest.mark.parametrize("name", families.names())
def test_family_view_is_the_registrys(name):
    fam = families.get(name)
    if fam.head in PAGE_HEADS and fam.renderer in PAGE_RENDERERS:
        assert family_view(name) == {"family": name, "head": fam.head, "renderer": fam.renderer}
    else:
        with pytest.raises(LiveUnsupported):
            family_view(name)


def test_exports_carry_the_head_and_renderer_of_their_family():
    torch.manual_seed(0)
    digit = export_model(VAE(latent_dim=2, hidden_dims=(8,)).eval(), "d", check=False)
    fam = families.get(families.DEFAULT_FAMILY)
    assert (digit["family"], digit["head"], digit["renderer"]) == (fam.name, fam.head, fam.renderer)
    p = export_items_model(MultVAE(n_items=12, hidden=8, latent_dim=2).eval(), [f"t{i}" for i in range(12)], "r",
                           family="mult-vae")
    mult = families.get("mult-vae")
    assert (p["family"], p["head"], p["renderer"]) == (mult.name, mult.head, mult.renderer)
    with pytest.raises(LiveUnsupported, match="not a softmax over items"):  # an image family is no item list
        export_items_model(MultVAE(n_items=12, hidden=8, latent_dim=2).eval(), [f"t{i}" for i in range(12)], "r",
                           family="mlp-vae")
    with pytest.raises(LiveUnsupported, match="text"):
        export_model(VAE(latent_dim=2, hidden_dims=(8,)).eval(), "d", family="seq-vae")
    with pytest.raises(LiveUnsupported, match="unknown model family"):
        export_model(VAE(latent_dim=2, hidden_dims=(8,)).eval(), "d", family="no-such-family")


def test_the_live_views_read_the_family_from_the_active_models_json():
    assert live._family_of(SimpleNamespace(model=None, meta={"family": "mult-vae"})) == "mult-vae"
    assert live._family_of(SimpleNamespace(model=None, meta={})) is None
    assert live._family_of(VAE(latent_dim=2, hidden_dims=(8,))) is None
