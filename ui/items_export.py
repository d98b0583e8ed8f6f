"""The in-page model of the recommender family (softmax items head): weight export and its numpy replay.

Pure torch / numpy, no Streamlit. A Mult-VAE (``vae_core.recommender.model.MultVAE``) is exported in the same
payload layout as the digit MLP (``ui.live_export``: base64 little-endian W.T and b per layer, float16 only
when every weight is exactly a float16 number) so ``live_assets/mlp.js``'s ``buildModel`` / ``dense`` run it, plus

* ``head: "softmax"``, ``renderer: "items"`` -- from the family registry (``vae_core.families``, the checkpoint
  JSON's ``family``): the decoder's output is one logit per item, π = softmax(logits) (``mlp.js`` HEADS), shown
  as a ranked list (``render/items.js``);
* ``input_norm: "l2"`` -- the encoder reads x / ‖x‖₂ (``MultVAE.encode``; dropout is off at inference);
* ``titles`` -- the item labels in column order (the list renderer shows them);
* ``points`` (optional) -- the map's users: ``{"n", "ids", "mu": base64 float32 (n, d)}``, so hovering a
  user decodes that user's own μ (all d dimensions), not only the point of the map's plane.

:func:`reference_item_logits` / :func:`reference_item_encode` run the payload in float64 numpy; the export is
checked against the model's own ``decode_logits`` / ``encode`` (:class:`ui.live_export.LiveUnsupported` if not).
"""

from __future__ import annotations

import base64
import hashlib
import weakref

import numpy as np
import torch
from torch import nn

from ui.live_export import LiveUnsupported, _fingerprint, _layer, _params, _run, family_view

FAMILY = "mult-vae"  # the registry entry this module exports when the caller names none (its JSON's family)

TANH = {"name": "tanh"}
IDENTITY = {"name": "identity"}


def _points(mu, ids) -> dict:
    mu = np.ascontiguousarray(np.asarray(mu, dtype="<f4"))
    return {"n": int(mu.shape[0]), "ids": [int(i) for i in ids],
            "mu": base64.b64encode(mu.tobytes()).decode()}


def export_items_model(model, titles, name: str = "model", check: bool = True, points=None, ids=None,
                       family: str | None = None) -> dict:
    view = family_view(family or FAMILY)
    if view["head"] != "softmax" or view["renderer"] != "items":
        raise LiveUnsupported(f"family {view['family']} has a {view['head']} head and a {view['renderer']} "
                              "renderer, not a softmax over items")
    need = ("enc", "enc_mu", "enc_logvar", "dec", "dec_out", "latent_dim", "n_items")
    missing = [a for a in need if not hasattr(model, a)]
    if missing:
        raise LiveUnsupported(f"{type(model).__name__} is not a Mult-VAE (no {', '.join(missing)})")
    for a in ("enc", "enc_mu", "enc_logvar", "dec", "dec_out"):
        if not isinstance(getattr(model, a), nn.Linear):
            raise LiveUnsupported(f"{a} is not a linear layer")
    titles = [str(t) for t in titles]
    if len(titles) != int(model.n_items):
        raise LiveUnsupported(f"{len(titles)} titles for a model of {model.n_items} items")
    params = _params(model)
    f16 = all(torch.equal(p.to(torch.float32).half().to(torch.float32), p.to(torch.float32)) for p in params)
    dtype = "float16" if f16 else "float32"
    payload = {
        "key": f"{name}:{_fingerprint(model)}", "dtype": dtype, "latent_dim": int(model.latent_dim),
        "num_classes": 0, "input_dim": int(model.n_items), "n_items": int(model.n_items),
        **view, "input_norm": "l2", "titles": titles,
        "encoder": [_layer(model.enc, TANH, dtype)],
        "mu": _layer(model.enc_mu, IDENTITY, dtype), "logvar": _layer(model.enc_logvar, IDENTITY, dtype),
        "decoder": [_layer(model.dec, TANH, dtype)],
        "out": _layer(model.dec_out, IDENTITY, dtype),
    }
    if points is not None:
        points = np.asarray(points)
        if points.ndim != 2 or points.shape[1] != int(model.latent_dim) or ids is None or len(ids) != len(points):
            raise ValueError("points must be (n, latent_dim) with one id each")
        payload["points"] = _points(points, ids)
    if check:
        _check(model, payload)
    return payload


def reference_item_logits(payload: dict, z) -> np.ndarray:
    """(N, n_items) logits of the payload in float64 numpy."""
    z = np.atleast_2d(np.asarray(z, dtype=np.float64))
    return _run([*payload["decoder"], payload["out"]], z, payload["dtype"])


def reference_item_encode(payload: dict, x) -> tuple[np.ndarray, np.ndarray]:
    """(mu, logvar) of 0/1 rows x: x / ‖x‖₂ through the payload's encoder, float64 numpy."""
    x = np.atleast_2d(np.asarray(x, dtype=np.float64))
    n = np.linalg.norm(x, axis=1, keepdims=True)
    h = _run(payload["encoder"], x / np.maximum(n, 1e-12), payload["dtype"])
    return _run([payload["mu"]], h, payload["dtype"]), _run([payload["logvar"]], h, payload["dtype"])


def _check(model, payload: dict) -> None:
    g = torch.Generator().manual_seed(0)
    z = torch.randn(8, payload["latent_dim"], generator=g) * 2
    x = (torch.rand(4, payload["n_items"], generator=g) < 0.02).float()
    x[:, 0] = 1.0
    was = model.training
    model.eval()
    with torch.no_grad():
        ref = model.decode_logits(z).double().numpy()
        mu, _ = model.encode(x)
    model.train(was)
    err = float(np.abs(reference_item_logits(payload, z.numpy()) - ref).max())
    if not err < 1e-3:
        raise LiveUnsupported(f"the page's MLP does not reproduce this model's item logits (max error {err:.2g})")
    mu_p, _ = reference_item_encode(payload, x.numpy())
    err = float(np.abs(mu_p - mu.double().numpy()).max())
    if not err < 1e-3:
        raise LiveUnsupported(f"the page's MLP does not reproduce this model's encoder (max error {err:.2g})")


_EXPORTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def items_payload(model, titles, name: str = "model", points=None, ids=None, family: str | None = None) -> dict:
    """:func:`export_items_model`, cached per model object (redone if its weights change in place or other
    titles / points are given)."""
    digest = hashlib.sha256("\n".join(map(str, titles)).encode())
    if points is not None:
        digest.update(np.ascontiguousarray(points, dtype="<f4").tobytes())
        digest.update(np.asarray(ids, dtype="<i8").tobytes())
    version = (name, tuple(p._version for p in model.parameters()), digest.hexdigest(), family)
    hit = _EXPORTS.get(model)
    if hit is not None and hit[0] == version:
        return hit[1]
    out = export_items_model(model, titles, name, points=points, ids=ids, family=family)
    _EXPORTS[model] = (version, out)
    return out
