"""ui/items_export.py: the recommender's in-page payload replayed in float64 numpy against PyTorch's
decode_logits / encode on the shipped Mult-VAE checkpoints (the maths items.js runs), and the models it refuses."""

from __future__ import annotations

import base64
from pathlib import Path

import numpy as np
import pytest
import torch

from ui.items_export import export_items_model, items_payload, reference_item_encode, reference_item_logits
from ui.live_export import LiveUnsupported
from vae_core import families
from vae_core.digits.model import VAE
from vae_core.recommender.explore import softmax, top_k
from vae_core.recommender.model import MultVAE

CK = Path(__file__).resolve().parents[2] / "checkpoints"
SHIPPED = ["movielens-multvae-z2", "movielens-multvae-z200", "movielens-bernoulli-z200"]


@pytest.mark.parametrize("name", SHIPPED)
def test_payload_replays_decode_logits_and_encode(name):
    model, meta = families.load(CK / name)
    titles = [f"item {i}" for i in meta["item_ids"]]
    p = export_items_model(model, titles, name)
    assert p["dtype"] == "float32" and p["head"] == "softmax" and p["input_norm"] == "l2"
    assert p["key"].startswith(name + ":") and p["titles"] == titles
    wt = np.frombuffer(base64.b64decode(p["out"]["wt"]), "<f4").reshape(p["out"]["in"], p["out"]["out"])
    assert np.array_equal(wt, model.dec_out.weight.detach().numpy().T)  # sent exactly
    rng = np.random.default_rng(3)
    z = rng.normal(size=(20, model.latent_dim)) * 1.5
    with torch.no_grad():
        ref = model.decode_logits(torch.as_tensor(z, dtype=torch.float32)).double().numpy()
    got = reference_item_logits(p, z)
    assert np.abs(got - ref).max() < 1e-4
    for k in range(20):  # the ranking the page shows = torch's ranking (and softmax keeps it)
        want = torch.topk(torch.as_tensor(ref[k]), 10).indices.tolist()
        assert top_k(got[k], 10) == want == top_k(softmax(got[k]), 10)
    x = (rng.random((5, model.n_items)) < 0.03).astype(np.float32)
    with torch.no_grad():
        mu, lv = model.encode(torch.from_numpy(x))
    mu_p, lv_p = reference_item_encode(p, x)
    assert np.abs(mu_p - mu.double().numpy()).max() < 1e-4 and np.abs(lv_p - lv.double().numpy()).max() < 1e-4


def test_refuses_what_it_cannot_run():
    with pytest.raises(LiveUnsupported, match="not a Mult-VAE"):
        export_items_model(VAE(2, (8,)), ["a"] * 784)
    with pytest.raises(LiveUnsupported, match="3 titles for a model of 10 items"):
        export_items_model(MultVAE(10, 8, 2), ["a", "b", "c"])


def test_payload_is_cached_per_model_and_redone_when_weights_change():
    m = MultVAE(10, 8, 2).eval()
    t = [str(i) for i in range(10)]
    a = items_payload(m, t, "m")
    assert items_payload(m, t, "m") is a
    with torch.no_grad():
        m.dec_out.bias.add_(1.0)
    b = items_payload(m, t, "m")
    assert b is not a and b["key"] != a["key"]


def test_points_travel_as_float32_rows_with_their_ids():
    m = MultVAE(10, 8, 3).eval()
    mu = np.random.default_rng(0).normal(size=(4, 3))
    p = export_items_model(m, [str(i) for i in range(10)], "m", points=mu, ids=[5, 6, 7, 9])
    got = np.frombuffer(base64.b64decode(p["points"]["mu"]), "<f4").reshape(4, 3)
    assert np.array_equal(got, mu.astype(np.float32)) and p["points"]["ids"] == [5, 6, 7, 9] and p["points"]["n"] == 4
    with pytest.raises(ValueError, match="one id each"):
        export_items_model(m, [str(i) for i in range(10)], "m", points=mu[:, :2], ids=[1, 2, 3, 4])
    a = items_payload(m, [str(i) for i in range(10)], "m", points=mu, ids=[5, 6, 7, 9])
    assert items_payload(m, [str(i) for i in range(10)], "m", points=mu + 1, ids=[5, 6, 7, 9]) is not a
