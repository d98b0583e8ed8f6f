"""The recommender's live view: users' μ on a map, hover -> the top-10 items decoded in the page, and "You"
(the picked items encoded in the page: μ, the 1σ / 2σ ellipses and the top-10 among the items not picked).

It mounts the one live component of :mod:`ui.live` in mode ``"items"`` (``ui/live_assets/modes/recommender.js``
on the shared ``mlp.js`` and ``mapview.js``, the list drawn by ``render/items.js``) with the payload of
:mod:`ui.items_export`, whose output head and renderer come from the model's family (``family``). The server
hears nothing per pointer move; a change of the picks is a rerun (the multiselect) and the page encodes them
again.
"""

from __future__ import annotations

import numpy as np

from ui.items_export import items_payload
from ui.live import Live, LiveUnsupported, _fallback, _model_field, _mount, map_data


def live_items_map(model, coords, labels, *, key: str, titles, picks=(), plane: dict | None = None,
                   label_names=None, axes=("z₁", "z₂"), extent=None, k: int = 10, size: int = 400,
                   name: str = "model", points=None, ids=None, family: str | None = None,
                   show_fallback: bool = True) -> Live:
    """Mount the items view. ``coords`` (N, 2) the users' map positions (z for d = 2, PCA coordinates for
    d > 2 with ``plane`` = ui.live.plane_data(pca)); ``labels`` their colour class (index into
    ``label_names``); ``picks`` the columns the visitor picked; ``points`` / ``ids`` the users' μ (N, d) and
    ids, in the order of ``coords`` (hovering within a few pixels of a user decodes that user's μ).
    Returns ``Live(ok=False)`` when the page
    cannot run the model (the caller then shows the server's lists)."""
    if int(model.latent_dim) > 2 and plane is None:
        raise ValueError("a map of a model with more than 2 latent dimensions needs plane=plane_data(pca)")
    try:
        payload = items_payload(model, titles, name, points=points, ids=ids, family=family)
    except LiveUnsupported as exc:
        return _fallback(str(exc), show_fallback)
    n = int(model.n_items)
    data = {"mode": "items", "model": _model_field(payload),
            "plane": plane if int(model.latent_dim) > 2 else None, "y": None, "class_names": None,
            "map": map_data(coords, labels, axes, extent, label_names=label_names),
            "picks": sorted({int(p) for p in picks if 0 <= int(p) < n}), "k": int(k), "size": int(size),
            "overlays": []}
    _mount(key, data)
    return Live(ok=True)


def coords_and_plane(mu: np.ndarray, pca) -> tuple[np.ndarray, tuple[str, str], dict | None]:
    """The map's coordinates, axis names and plane: z itself for d = 2, the first two principal components
    of the users' μ otherwise."""
    from ui.live import plane_data

    if mu.shape[1] == 2:
        return mu, ("z₁", "z₂"), None
    return pca.transform(mu)[:, :2], ("PC1", "PC2"), plane_data(pca)
