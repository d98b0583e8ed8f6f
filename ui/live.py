"""The live view: the VAE runs in the browser page, the server stays the reference.

One Streamlit component (``st.components.v2.component`` with the inline JavaScript and CSS of
``ui/live_assets/``) runs the model's MLP in the page -- a hand-written matmul + bias + activation
on Float32Array -- so hovering the latent map, dragging a slider, scrubbing an interpolation or
drawing a digit decodes (or encodes) every animation frame without a round trip. Four views:

* :func:`live_latent_map`   hover to decode, click to keep a z (returned to Python);
* :func:`live_decoder`      one slider per latent dimension and a 2-D pad, decoding on input;
* :func:`live_interpolation` scrub lerp / slerp between two codes;
* :func:`live_drawing`      encode while drawing; the finished canvas goes to Python, whose
  ``vae_core.digits.drawing`` + ``model.encode`` result stays the reference.

(A fifth mode, ``"items"``, is the recommender's: :func:`ui.live_items.live_items_map`.) The JavaScript is
split by idea in ``live_assets/`` (``mlp.js``, ``preprocess.js``, ``latent.js``, ``mapview.js``, ``render/*.js``,
``modes/*.js``; :data:`LIVE_JS` is the order they are joined in). The decoder's output head and its renderer
come from the model's family (``vae_core.families``: ``Family.head`` / ``Family.renderer``, put in the payload
by the export), so a family whose output is a list of items runs in the same views as a digit model.

Weights travel once per model and browser session: :func:`export_model` serialises them (float16 when
every weight is exactly a float16 number -- the shipped checkpoints are stored that way, so nothing is
lost -- else float32), and the page caches them by the model's key (name + weight checksum). Later
mounts send only the key; a page that lacks the weights asks for them with the ``need`` trigger.

A model the page cannot run (a layer or activation the JavaScript does not implement, or an export
that does not reproduce the model's own outputs) raises :class:`LiveUnsupported`; every ``live_*``
function then says so on the page and returns ``Live(ok=False)`` so the caller uses the server path.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import streamlit as st

from ui.component_values import class_index, floats, is_number, strict_int
from ui.live_export import (
    LiveUnsupported,
    export_model,
    live_support,
    model_payload,
    reference_decode,
    reference_encode,
)

__all__ = [
    "COMPONENT_NAME", "MAX_CANVAS", "SENT_KEY", "Live", "LiveUnsupported", "decode_ink", "explore_args",
    "export_model", "live_decoder", "live_drawing", "live_interpolation", "live_latent_map", "live_support",
    "map_data", "map_extent", "model_payload", "plane_data", "reference_decode", "reference_encode",
]

ASSETS = Path(__file__).resolve().with_name("live_assets")
COMPONENT_NAME = "vae_live"
SENT_KEY = "_vae_live_sent"  # session_state: keys of the models whose weights this session was sent
MAX_CANVAS = 1024  # the drawing canvas the page may send, px a side

# The in-page model, one file per idea, joined in this order into the component's one JavaScript module (no build
# step): registries and helpers first, then the numerics that must match Python (the MLP and its heads, the
# drawing's preprocessing, latent paths), the views (map, renderers of a family's output, one file per mode),
# and the entry point last.
LIVE_JS = ("base.js", "mlp.js", "preprocess.js", "latent.js", "mapview.js", "render/image.js", "render/items.js",
           "modes/map.js", "modes/sliders.js", "modes/interpolate.js", "modes/draw.js", "modes/recommender.js",
           "main.js")
LIVE_CSS = ("live.css", "render/items.css")


def _joined(files: tuple[str, ...]) -> str:
    return "\n".join(f"/* ui/live_assets/{f} */\n" + (ASSETS / f).read_text(encoding="utf-8") for f in files)


LIVE_COMPONENT = st.components.v2.component(
    COMPONENT_NAME,
    css=_joined(LIVE_CSS),
    js=_joined(LIVE_JS),
    isolate_styles=False,  # plain DOM, so outside checks find data-testid="live-latent-map" directly
)


@dataclass
class Live:
    """What a live view reports back to Python in this run."""

    ok: bool  # the model runs in the page
    reason: str = ""  # why not, when ok is False
    click: dict | None = None  # map: {"z": (d,) array, "xy": (a, b), "y": class or None} of a click this run
    z: np.ndarray | None = None  # decoder: the z last released (slider / pad), else None
    y: int | None = None  # the class picked in the component (CVAE)
    t: float | None = None  # interpolation: the scrub position last released
    method: str | None = None  # interpolation: "lerp" or "slerp"
    ink: np.ndarray | None = None  # drawing: the canvas after the last stroke, (H, W) uint8 grey (ink bright)
    cleared: bool = False  # drawing: the page's canvas was emptied (Clear, or Undo of the last stroke)


# ------------------------------------------------------------------ mounting
def _unwrap(model_or_am, name: str | None) -> tuple[object, str]:
    model = getattr(model_or_am, "model", model_or_am)
    return model, name or str(getattr(model_or_am, "key", None) or getattr(model_or_am, "name", None) or "model")


def _need_weights() -> None:
    st.session_state.pop(SENT_KEY, None)  # the page lost or never got them: send them again


def _noop() -> None:
    pass


def _model_field(payload: dict) -> dict:
    sent = st.session_state.setdefault(SENT_KEY, set())
    if payload["key"] in sent:
        return {"key": payload["key"]}
    sent.add(payload["key"])
    return {"key": payload["key"], "weights": payload}


def _fallback(reason: str, show: bool) -> Live:
    if show:
        st.info(f"The live view cannot run this model in the page ({reason}), so this page uses the server: "
                "every change is computed there.")
    return Live(ok=False, reason=reason)


def _family_of(model_or_am) -> str | None:
    """The ``family`` of the checkpoint JSON behind an ``ui.state.ActiveModel`` (None for a bare model: the
    registry's default); the export takes the page's output head and renderer from that family."""
    meta = getattr(model_or_am, "meta", None)
    return meta.get("family") if isinstance(meta, dict) else None


def _payload_or_fallback(model, name: str, show: bool, family: str | None = None) -> dict | Live:
    try:
        return model_payload(model, name, family)
    except LiveUnsupported as exc:
        return _fallback(str(exc), show)


def _mount(key: str, data: dict, height="content", **callbacks):
    cbs = {f"on_{k}_change": callbacks.get(k) or _noop for k in ("click", "z", "scrub", "ink")}
    return LIVE_COMPONENT(key=key, data=data, height=height, on_need_change=_need_weights, **cbs)


def _state(key: str, name: str):
    """A value the page set on the component mounted under ``key`` (read inside its callbacks)."""
    v = st.session_state.get(key)
    if v is None:
        return None
    try:
        return v.get(name)
    except AttributeError:
        return getattr(v, name, None)


def _floats(v, n: int | None = None) -> np.ndarray | None:
    return floats(v, n)  # strictly a list of n finite numbers, bools refused, length checked first (#21)


def _class(v, c: int) -> int | None:
    return class_index(v, c)  # an int, not a bool (#21)


def map_extent(coords: np.ndarray, pad: float = 0.08, q: float = 0.5) -> list[float]:
    """[x0, x1, y0, y1] covering the central (100 - 2q)% of the points on each axis, padded by ``pad``."""
    c = np.asarray(coords, dtype=np.float64)
    if len(c) == 0:
        return [-3.0, 3.0, -3.0, 3.0]
    lo, hi = np.percentile(c, q, axis=0), np.percentile(c, 100 - q, axis=0)
    span = np.maximum(hi - lo, 1e-6)
    lo, hi = lo - pad * span, hi + pad * span
    return [float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1])]


def map_data(coords, labels=None, axes=("z₁", "z₂"), extent=None, label_names=None) -> dict:
    """The scatter the page draws: rounded coordinates, integer labels (and their names for the legend),
    extent and axis titles."""
    c = np.asarray(coords, dtype=np.float64).reshape(-1, 2)
    out = {"x": np.round(c[:, 0], 4).tolist(), "y": np.round(c[:, 1], 4).tolist(),
           "extent": list(extent) if extent is not None else map_extent(c), "axes": [str(a) for a in axes]}
    if labels is not None:
        out["labels"] = np.asarray(labels).astype(int).reshape(-1).tolist()
    if label_names is not None:
        out["label_names"] = [str(n) for n in label_names]
    return out


def plane_data(pca) -> dict:
    """z = mean + a·u + b·v with u, v the first two principal directions (unit vectors) of ``pca``: the
    plane a d > 2 map shows (its coordinates are ``pca.transform(z)[:, :2]``)."""
    return {"mean": np.asarray(pca.mean, dtype=np.float64).tolist(),
            "u": np.asarray(pca.components[0], dtype=np.float64).tolist(),
            "v": np.asarray(pca.components[1], dtype=np.float64).tolist()}


def _common(model, payload: dict, mode: str, plane, y, class_names) -> dict:
    d = int(model.latent_dim)
    if d > 2 and plane is None:
        raise ValueError("a latent map of a model with more than 2 latent dimensions needs plane=plane_data(pca)")
    c = int(getattr(model, "num_classes", 0) or 0)
    return {"mode": mode, "model": _model_field(payload), "plane": plane if d > 2 else None,
            "y": (int(y) if y is not None else 0) if c else None,
            "class_names": [str(n) for n in class_names] if class_names is not None else None}


def _start(model_or_am, name: str | None, show_fallback: bool, mode: str, plane, y,
           class_names) -> tuple[object, dict] | Live:
    """(model, the view's common data) of a live view, or the fallback ``Live`` when the page cannot run it."""
    model, name = _unwrap(model_or_am, name)
    payload = _payload_or_fallback(model, name, show_fallback, _family_of(model_or_am))
    if isinstance(payload, Live):
        return payload
    return model, _common(model, payload, mode, plane, y, class_names)


def _zlist(z, d: int, digits: int | None = None) -> list[float]:
    """The first ``d`` components of ``z`` as floats for the page (rounded to ``digits`` when given)."""
    v = np.asarray(z, dtype=np.float64).reshape(-1)[:int(d)]
    return (v.round(digits) if digits is not None else v).tolist()


def live_latent_map(model_or_am, coords, labels=None, axes=("z₁", "z₂"), *, key: str, plane: dict | None = None,
                    overlays: list | None = None, y: int | None = None, class_names=None, extent=None,
                    size: int = 460, name: str | None = None, click_hint: str = "",
                    show_fallback: bool = True) -> Live:
    """Hover-to-decode latent map: the scatter of ``coords`` (N, 2) and, beside it, the digit decoded
    under the pointer every animation frame (z = the map point for d = 2, z = mean + a·u + b·v on
    ``plane`` for d > 2). ``Live.click`` holds a click of this run ({"z", "xy", "y"}).
    ``overlays``: [{"type": "marker", "xy": [a, b], "color", "cross"} | {"type": "path", "xy": [[a, b], …]}]."""
    started = _start(model_or_am, name, show_fallback, "map", plane, y, class_names)
    if isinstance(started, Live):
        return started
    model, common = started
    data = {**common,
            "map": map_data(coords, labels, axes, extent, label_names=class_names),
            "overlays": overlays or [], "size": int(size), "click_hint": click_hint}
    res = _mount(key, data)
    out = Live(ok=True)
    click = res.get("click") if res is not None else None
    if isinstance(click, dict):
        z = _floats(click.get("z"), int(model.latent_dim))
        xy = _floats(click.get("xy"), 2)
        if z is not None and xy is not None:
            out.click = {"z": z, "xy": (float(xy[0]), float(xy[1])),
                         "y": _class(click.get("y"), int(getattr(model, "num_classes", 0) or 0))}
    return out


def live_decoder(model_or_am, z0, *, key: str, coords=None, labels=None, axes=("z₁", "z₂"), plane: dict | None = None,
                 y: int | None = None, class_names=None, limit: float = 4.0, overlays: list | None = None,
                 extent=None, size: int = 380, name: str | None = None, report: bool = True,
                 on_release=None, show_fallback: bool = True) -> Live:
    """One slider per latent dimension (input events, so every drag position decodes) and, when
    ``coords`` are given, a 2-D pad on the latent map (z₁, z₂ for d = 2; PC1, PC2 of ``plane`` for d > 2:
    dragging it moves z within that plane and keeps its other components). ``z0`` starts the view; pass a
    new ``z0`` to move it (a rerun with the same ``z0`` keeps what the user did). ``Live.z`` / ``Live.y``:
    the z (and class) last released, reported once per release when ``report``; ``on_release(z, y)`` is
    called with them before the script reruns (a Streamlit callback: it may set other widgets' state)."""
    started = _start(model_or_am, name, show_fallback, "decoder", plane, y, class_names)
    if isinstance(started, Live):
        return started
    model, common = started
    d = int(model.latent_dim)
    data = {**common, "z0": _zlist(z0, d, digits=6), "limit": float(limit),
            "overlays": overlays or [], "size": int(size), "report": bool(report)}
    if coords is not None:
        data["map"] = map_data(coords, labels, axes, extent, label_names=class_names)
    c = int(getattr(model, "num_classes", 0) or 0)

    def parse(v) -> tuple[np.ndarray | None, int | None]:
        return (_floats(v.get("z"), d), _class(v.get("y"), c)) if isinstance(v, dict) else (None, None)

    def released() -> None:
        z, y = parse(_state(key, "z"))
        if z is not None:
            on_release(z, y)

    res = _mount(key, data, z=released if on_release is not None else None)
    z, y = parse(res.get("z") if res is not None else None)
    return Live(ok=True, z=z, y=y)


def live_interpolation(model_or_am, z0, z1, *, key: str, method: str = "lerp", t: float = 0.5, steps: int = 10,
                       y: int | None = None, class_names=None, coords=None, labels=None, axes=("z₁", "z₂"),
                       plane: dict | None = None, extent=None, size: int = 340, name: str | None = None,
                       report: bool = True, show_fallback: bool = True) -> Live:
    """Scrub along the path from z0 to z1 (a range input or a drag along the strip of ``steps`` frames);
    lerp z(t) = (1-t) z0 + t z1 and slerp as vae_core.latent.slerp, both computed in the page.
    ``Live.t`` / ``Live.method``: the position and method last released."""
    started = _start(model_or_am, name, show_fallback, "interp", plane, y, class_names)
    if isinstance(started, Live):
        return started
    model, common = started
    data = {**common, "z0": _zlist(z0, model.latent_dim), "z1": _zlist(z1, model.latent_dim),
            "method": "slerp" if method in ("slerp", "spherical") else "lerp", "t": float(t), "steps": int(steps),
            "size": int(size), "report": bool(report)}
    if coords is not None:
        data["map"] = map_data(coords, labels, axes, extent, label_names=class_names)
    res = _mount(key, data)
    out = Live(ok=True)
    sc = res.get("scrub") if res is not None else None
    if isinstance(sc, dict):
        tt = sc.get("t")
        if is_number(tt) and 0 <= tt <= 1:
            out.t = float(tt)
        if sc.get("method") in ("lerp", "slerp"):
            out.method = sc["method"]
    return out


def decode_ink(value) -> tuple[np.ndarray | None, int | None]:
    """The drawing canvas the page sent ({"w", "h", "grey": base64 uint8, "y"}) -> ((H, W) uint8, class).
    Types are strict (a bool is not a size: #21) and the string's length is checked before it is decoded."""
    if not isinstance(value, dict):
        return None, None
    w, h, s = value.get("w"), value.get("h"), value.get("grey")
    if not (strict_int(w) and strict_int(h) and isinstance(s, str)):
        return None, None
    if not (0 < w <= MAX_CANVAS and 0 < h <= MAX_CANVAS) or len(s) != 4 * -(-w * h // 3):
        return None, None
    try:
        raw = base64.b64decode(s, validate=True)
    except ValueError:
        return None, None
    if len(raw) != w * h:
        return None, None
    y = value.get("y")
    return np.frombuffer(raw, np.uint8).reshape(h, w).copy(), (y if strict_int(y) else None)


def live_drawing(model_or_am, *, key: str, coords=None, labels=None, axes=("z₁", "z₂"), plane: dict | None = None,
                 y: int | None = None, class_names=None, extent=None, overlays: list | None = None, size: int = 340,
                 brush: int = 20, canvas: int = 280, name: str | None = None, show_fallback: bool = True) -> Live:
    """Draw a digit: while the stroke is drawn the page preprocesses the canvas exactly as
    ``vae_core.digits.drawing.preprocess_drawing`` and runs the encoder (μ and the 1σ / 2σ ellipses move on the
    map, the reconstruction decode(μ) updates). When a stroke ends, the canvas goes to Python:
    ``Live.ink`` is the (H, W) uint8 grey picture (white ink on black) for the server's reference path,
    ``Live.y`` the class picked (CVAE). ``Live.ink`` is None before the first stroke and after Clear
    (``Live.cleared`` tells the two apart)."""
    started = _start(model_or_am, name, show_fallback, "draw", plane, y, class_names)
    if isinstance(started, Live):
        return started
    model, common = started
    data = {**common, "overlays": overlays or [],
            "size": int(size), "brush": int(brush), "canvas": int(canvas)}
    if coords is not None:
        data["map"] = map_data(coords, labels, axes, extent, label_names=class_names)
    res = _mount(key, data)
    raw = res.get("ink") if res is not None else None
    ink, yy = decode_ink(raw)
    c = int(getattr(model, "num_classes", 0) or 0)
    return Live(ok=True, ink=ink, y=yy if (c and yy is not None and 0 <= yy < c) else None,
                cleared=isinstance(raw, dict) and raw.get("cleared") is True)


def explore_args(am, n: int | None = None) -> dict:
    """The arguments the live views of the app's pages share for an ``ui.state.ActiveModel``: the first n
    test means on the map (ui.plots.map_coords: z itself for d <= 2, the PCA of all test means for d > 2),
    their labels and class names, the plane a d > 2 map shows, and the model's key as its name."""
    from ui.plots import map_coords

    coords, axes = map_coords(am, n, "pca")
    data = am.data()
    names = data.label_names
    return {"coords": coords, "labels": data.labels.numpy()[: len(coords)], "axes": axes,
            "plane": plane_data(am.pca()) if am.latent_dim > 2 else None, "class_names": names, "name": am.key}
