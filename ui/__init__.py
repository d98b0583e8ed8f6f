"""Shared UI helpers for every page: cached models, data and encodings, the
model picker in the sidebar, and image / plot helpers.

Pages stay thin: they lay out widgets, call ``vae_core`` and render with these.
No model maths lives here.
"""

from __future__ import annotations

import io
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import streamlit as st
import torch
from PIL import Image

from vae_core import CheckpointError, DataUnavailable, load_checkpoint, load_dataset
from vae_core.checkpoints import (
    checkpoint_bytes,
    list_checkpoints,
    load_checkpoint_bytes,
    save_checkpoint,
    validate_name,
)
from vae_core.latent import PCA, decode_np, encode_dataset, project_2d

ROOT = Path(__file__).resolve().parent.parent
SHIPPED_DIR = Path(os.environ.get("VAE_CHECKPOINT_DIR", ROOT / "checkpoints"))
USER_DIR = Path(os.environ.get("VAE_USER_MODELS", ROOT / "user_models"))
DEFAULT_MODEL = "shipped/mnist-z2"
DIGIT_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]
PX = 140  # default display size of one digit, px (>= 112 to be readable)

torch.set_grad_enabled(False)


# ----------------------------------------------------------------- caching
@st.cache_resource(show_spinner="Loading model…")
def _load_file_model(path: str, mtime: float):
    return load_checkpoint(path)


@st.cache_resource(show_spinner="Loading digits…")
def get_data(split: str = "test", name: str = "mnist"):
    """The dataset split as a vae_core.DigitData (cached for the whole server)."""
    return load_dataset(name, split)


@st.cache_resource(show_spinner="Encoding the test set…", max_entries=32)
def _encodings(key: str, _model, split: str, name: str):
    data = get_data(split, name)
    mu, logvar = encode_dataset(_model, data.images, data.labels)
    return mu, logvar


@st.cache_resource(show_spinner="Projecting…", max_entries=32)
def _projection(key: str, method: str, n: int, _mu: np.ndarray):
    coords, axes, proj = project_2d(_mu[:n], method)
    return coords, axes, proj


@dataclass
class ActiveModel:
    key: str
    name: str
    model: torch.nn.Module
    meta: dict

    @property
    def latent_dim(self) -> int:
        return self.model.latent_dim

    @property
    def conditional(self) -> bool:
        return self.model.conditional

    @property
    def dataset_name(self) -> str:
        return (self.meta.get("dataset") or {}).get("name", "mnist")

    def encodings(self, split: str = "test") -> tuple[np.ndarray, np.ndarray]:
        """(mu, logvar) of every image of the split: cached per model."""
        return _encodings(self.key, self.model, split, self.dataset_name)

    def data(self, split: str = "test"):
        return get_data(split, self.dataset_name)

    def projection(self, method: str = "pca", n: int | None = None):
        """2-D coordinates of the first n test means, axis labels and the projector (PCA or None)."""
        mu, _ = self.encodings()
        n = n or len(mu)
        return _projection(self.key, method, n, mu)

    def pca(self) -> PCA:
        """Principal axes of all test posterior means (for projecting d > 2 latents)."""
        return _pca(self.key, self.encodings()[0])

    def to_2d(self, z: np.ndarray) -> np.ndarray:
        z = np.atleast_2d(z)
        if self.latent_dim == 2:
            return z
        return self.pca().transform(z)[:, :2]

    def decode(self, z, y=None) -> np.ndarray:
        return decode_np(self.model, z, y)


@st.cache_resource(max_entries=32)
def _pca(key: str, _mu: np.ndarray) -> PCA:
    return PCA(_mu)


# ------------------------------------------------------------ model registry
def _session_models() -> dict:
    return st.session_state.setdefault("session_models", {})


def available_models() -> dict[str, str]:
    """key -> label of every model the picker offers."""
    out = {}
    for p in list_checkpoints(SHIPPED_DIR):
        out[f"shipped/{p.name}"] = f"{p.name} (shipped)"
    for p in list_checkpoints(USER_DIR):
        out[f"saved/{p.name}"] = f"{p.name} (saved)"
    for name in _session_models():
        out[f"session/{name}"] = f"{name} (this session)"
    return out


def get_model(key: str) -> ActiveModel:
    kind, _, name = key.partition("/")
    if kind == "session":
        model, meta = _session_models()[name]
        return ActiveModel(key + f"#{id(model)}", name, model, meta)
    folder = SHIPPED_DIR if kind == "shipped" else USER_DIR
    path = folder / name
    # not path.with_suffix: a name such as "mnist-z2-beta0.5" has a dot of its own
    mtime = path.with_name(path.name + ".safetensors").stat().st_mtime
    model, meta = _load_file_model(str(path), mtime)
    return ActiveModel(f"{key}@{mtime}", name, model, meta)


def session_model(name: str):
    """The (model, meta) registered in this session under ``name``, or None."""
    return _session_models().get(name)


def add_session_model(name: str, model, meta: dict) -> str:
    _session_models()[name] = (model, meta)
    return f"session/{name}"


def save_user_model(name: str, model, meta: dict, overwrite: bool = False) -> Path:
    """Save to the shared user-model folder under a validated name (atomic)."""
    name = validate_name(name)
    if (SHIPPED_DIR / f"{name}.safetensors").exists():
        raise CheckpointError(f"'{name}' is the name of a shipped model; choose another")
    if not overwrite and (USER_DIR / f"{name}.safetensors").exists():
        raise CheckpointError(f"a model called '{name}' is already saved on this server; choose another name "
                              "(models saved by other sessions are never overwritten silently)")
    meta = dict(meta, name=name)
    wpath, _ = save_checkpoint(USER_DIR / name, model, meta)
    return wpath


@st.cache_data(max_entries=8, show_spinner=False)
def checkpoint_files(key: str, _model, _meta: dict) -> tuple[bytes, bytes]:
    """The (safetensors, json) bytes of a model for download, serialised once per model key."""
    return checkpoint_bytes(_model, _meta)


def load_uploaded(weights: bytes, meta: bytes):
    return load_checkpoint_bytes(weights, meta)


def session_id() -> str:
    return st.session_state.setdefault("session_id", uuid.uuid4().hex[:8])


# ------------------------------------------------------------------ sidebar
def fmt(v, nd: int = 2, unit: str = "") -> str:
    if v is None:
        return "—"
    return f"{v:.{nd}f}{unit}"


def sidebar() -> ActiveModel | None:
    """Model picker and key facts; stores the choice in session_state['model_key']."""
    models = available_models()
    if not models:
        st.sidebar.error("No models found: train one on the *Train & Models* page, or add checkpoints to "
                         f"`{SHIPPED_DIR}`.")
        return None
    keys = list(models)
    cur = st.session_state.get("model_key")
    if cur not in models:
        cur = DEFAULT_MODEL if DEFAULT_MODEL in models else keys[0]
        st.session_state["model_key"] = cur
    st.sidebar.selectbox("Active model", keys, format_func=models.get, key="model_key",
                         help="Shipped checkpoints, models saved on this server, and models trained or "
                              "uploaded in this session.")
    try:
        am = get_model(st.session_state["model_key"])
    except (CheckpointError, FileNotFoundError, KeyError) as exc:
        st.sidebar.error(f"Could not load this model: {exc}")
        return None
    meta = am.meta
    tm = meta.get("test_metrics") or {}
    kind = "CVAE" if am.conditional else "VAE"
    arch = "-".join(str(h) for h in [am.model.input_dim, *am.model.hidden_dims, am.latent_dim])
    c1, c2 = st.sidebar.columns(2)
    c1.metric("latent size", am.latent_dim)
    c2.metric("β", f"{meta.get('beta', 1.0):g}")
    c1.metric("test −ELBO", fmt(tm.get("neg_elbo"), 1), help="nats per image on the test split "
              "(BCE summed over 784 pixels + KL), measured when the model was saved")
    c2.metric("−log p(x) ≤", fmt(tm.get("iwae_nll"), 1),
              help=f"−log p(x) ≤ this many nats per image (k={tm.get('iwae_k', '—')} importance samples)")
    n_train = (meta.get("dataset") or {}).get("n_train")
    n_txt = f"{n_train:,}" if isinstance(n_train, int) else "?"
    st.sidebar.caption(f"{kind} {arch} · trained {meta.get('epochs', '?')} epochs on {n_txt} images")
    try:
        data = am.data("test")
    except DataUnavailable as exc:
        st.sidebar.error(str(exc))
        return am
    if data.is_sample:
        st.sidebar.warning("**Offline sample data.** " + data.description)
    else:
        st.sidebar.caption(f"Data: {data.description}")
    return am


def require_model() -> ActiveModel:
    am = st.session_state.get("_active")
    if am is None:
        st.info("Pick or train a model first (sidebar).")
        st.stop()
    return am


def require_data(am: ActiveModel, split: str = "test"):
    try:
        return am.data(split)
    except DataUnavailable as exc:
        st.error(str(exc))
        st.stop()


# ------------------------------------------------------------------- images
def to_image(img: np.ndarray, size: int = PX) -> Image.Image:
    """A [0,1] array (784,), (28,28) or a tiled grid, as a nearest-neighbour upscaled PIL image."""
    a = np.asarray(img, dtype=np.float32)
    if a.ndim == 1:
        side = int(round(a.size**0.5))
        a = a.reshape(side, side)
    a8 = (np.clip(a, 0, 1) * 255).round().astype(np.uint8)
    im = Image.fromarray(a8, mode="L")
    scale = max(1, round(size / 28)) if a.shape[0] <= 28 else max(1, round(size / a.shape[0]))
    return im.resize((a.shape[1] * scale, a.shape[0] * scale), Image.NEAREST)


def png_bytes(img: np.ndarray, size: int = PX) -> bytes:
    buf = io.BytesIO()
    to_image(img, size).save(buf, format="PNG")
    return buf.getvalue()


def gif_bytes(frames: np.ndarray, size: int = PX, ms: int = 80, bounce: bool = True) -> bytes:
    ims = [to_image(f, size).convert("P") for f in frames]
    if bounce:
        ims = ims + ims[-2:0:-1]
    buf = io.BytesIO()
    ims[0].save(buf, format="GIF", save_all=True, append_images=ims[1:], duration=ms, loop=0)
    return buf.getvalue()


def strip(images: np.ndarray, pad: int = 2) -> np.ndarray:
    """Images (N, 28, 28) side by side with a thin grey separator."""
    images = np.asarray(images).reshape(-1, 28, 28)
    n = len(images)
    out = np.full((28, n * 28 + (n - 1) * pad), 0.35, dtype=np.float32)
    for i, im in enumerate(images):
        out[:, i * (28 + pad): i * (28 + pad) + 28] = im
    return out


def show_digits(images, captions=None, size: int = PX, per_row: int | None = None) -> None:
    """A row (or rows) of digits, each at least ``size`` px."""
    images = np.asarray(images).reshape(-1, 28, 28)
    per_row = per_row or len(images)
    for s in range(0, len(images), per_row):
        cols = st.columns(per_row)
        for i, col in enumerate(cols):
            if s + i < len(images):
                col.image(to_image(images[s + i], size), caption=None if captions is None else captions[s + i])


# -------------------------------------------------------------------- plots
def latent_scatter(coords: np.ndarray, labels: np.ndarray, axes: list[str], title: str = "",
                   customdata: np.ndarray | None = None, height: int = 560, class_names=None,
                   webgl: bool = True) -> go.Figure:
    """Posterior means coloured by digit, one trace per class (so the legend toggles classes).

    ``webgl=False`` draws SVG markers: slower for many thousands of points, but much cheaper to redraw a
    small map many times a second (no WebGL context per redraw), as the live Decoder Sliders map does."""
    fig = go.Figure()
    trace = go.Scattergl if webgl else go.Scatter
    idx_all = np.arange(len(coords)) if customdata is None else customdata
    for c in range(10):
        m = labels == c
        if not m.any():
            continue
        name = class_names[c] if class_names else str(c)
        fig.add_trace(trace(
            x=coords[m, 0], y=coords[m, 1], mode="markers", name=name,
            marker=dict(size=5, color=DIGIT_COLORS[c], opacity=0.7),
            customdata=idx_all[m],
            hovertemplate=f"digit {name}<br>test #%{{customdata}}<br>({axes[0]}, {axes[1]}) = "
                          "(%{x:.2f}, %{y:.2f})<extra></extra>",
        ))
    fig.update_layout(
        title=title or None, height=height, margin=dict(l=10, r=10, t=40 if title else 10, b=10),
        xaxis_title=axes[0], yaxis_title=axes[1], legend_title_text="digit",
        dragmode="select", uirevision="latent-map",
    )
    return fig


def add_marker(fig: go.Figure, xy, name: str, color: str = "black", symbol: str = "x", size: int = 16) -> None:
    xy = np.atleast_2d(xy)
    fig.add_trace(go.Scatter(x=xy[:, 0], y=xy[:, 1], mode="markers", name=name,
                             marker=dict(symbol=symbol, size=size, color=color, line=dict(width=2, color="white")),
                             hoverinfo="name"))


def add_path(fig: go.Figure, xy: np.ndarray, name: str, color: str = "black") -> None:
    fig.add_trace(go.Scatter(x=xy[:, 0], y=xy[:, 1], mode="lines+markers", name=name,
                             line=dict(color=color, width=3), marker=dict(size=7, color=color)))


def digit_picker(data, key: str, label: str = "Test digit", default_class: int = 0) -> int:
    """Choose a test image by class + occurrence, or by index; returns its index."""
    mode = st.radio(f"{label}: choose by", ["class", "index"], horizontal=True, key=f"{key}_mode")
    if mode == "class":
        c1, c2 = st.columns(2)
        cls = c1.selectbox("class", list(range(10)), index=default_class, key=f"{key}_cls")
        idxs = np.flatnonzero(data.labels.numpy() == cls)
        if len(idxs) == 0:
            st.warning(f"No test digit of class {cls} in this data.")
            return 0
        k = c2.number_input("which one", 0, len(idxs) - 1, 0, key=f"{key}_k",
                            help=f"the k-th test digit of class {cls} ({len(idxs)} in all)")
        return int(idxs[int(k)])
    return int(st.number_input("test index", 0, len(data) - 1, 0, key=f"{key}_idx"))


# ------------------------------------------- explore-page helpers (map frame, selections, strips)
def to_map(am: ActiveModel, z: np.ndarray) -> np.ndarray:
    """Latent point(s) -> (N, 2) coordinates on the latent map: z itself for d = 2, the first two
    principal coordinates of the test means (am.pca()) for d > 2, (z, 0) for d = 1."""
    z = np.atleast_2d(np.asarray(z, dtype=np.float64))
    if am.latent_dim == 1:
        return np.c_[z[:, 0], np.zeros(len(z))]
    return am.to_2d(z)


def pca_axis_labels(am: ActiveModel) -> list[str]:
    r = am.pca().explained_ratio
    return [f"PC1 of μ ({r[0]:.0%} of variance)", f"PC2 of μ ({r[1]:.0%} of variance)"]


def map_coords(am: ActiveModel, n: int | None = None, method: str = "pca") -> tuple[np.ndarray, list[str]]:
    """2-D coordinates of the first n test posterior means and the axis labels.

    For d > 2 "pca" uses am.pca() (fitted on all test means), so ``to_map(am, z)`` of any latent point
    lands in the same frame (markers, paths, ellipses); "tsne" is the cached am.projection (no frame
    for new points)."""
    mu, _ = am.encodings()
    n = min(n or len(mu), len(mu))
    if am.latent_dim <= 2:
        coords, axes, _ = am.projection("pca", n)
        return coords, axes
    if method == "pca":
        return to_map(am, mu[:n]), pca_axis_labels(am)
    coords, axes, _ = am.projection(method, n)
    return coords, axes


def selected_indices(event) -> list[int]:
    """Test indices (the points' customdata) selected in an ``st.plotly_chart(on_select=...)`` event or
    its session_state value, in selection order, without duplicates; points without customdata
    (markers, paths, outlines) are ignored."""
    if not event:
        return []
    sel = event.get("selection") if hasattr(event, "get") else getattr(event, "selection", None)
    points = (sel or {}).get("points") or []
    out: list[int] = []
    for p in points:
        cd = p.get("customdata")
        if isinstance(cd, list | tuple):
            cd = cd[0] if cd else None
        if cd is None:
            continue
        i = int(cd)
        if i not in out:
            out.append(i)
    return out


def add_curves(fig: go.Figure, curves: list[np.ndarray], name: str, color: str = "black", width: float = 1.0,
               dash: str | None = None, legendgroup: str | None = None, showlegend: bool = True,
               opacity: float = 1.0) -> None:
    """Several (k, 2) polylines (e.g. ellipses) as ONE trace, separated by gaps (cheap to draw)."""
    if not curves:
        return
    xs, ys = [], []
    for c in curves:
        xs += [*c[:, 0].tolist(), None]
        ys += [*c[:, 1].tolist(), None]
    fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name=name, line=dict(color=color, width=width, dash=dash),
                             legendgroup=legendgroup, showlegend=showlegend, opacity=opacity, hoverinfo="skip"))


def to_image_cell(img: np.ndarray, cell: int = PX) -> Image.Image:
    """Any image made of 28-px digit cells (a digit, a strip, a lattice) upscaled by the integer factor
    that makes each cell about ``cell`` px (nearest neighbour, crisp)."""
    a = np.asarray(img, dtype=np.float32)
    if a.ndim == 1:
        side = int(round(a.size**0.5))
        a = a.reshape(side, side)
    scale = max(1, round(cell / 28))
    return to_image(a, scale * a.shape[0])


def wrap_strip(images: np.ndarray, per_line: int, pad: int = 2) -> np.ndarray:
    """Like :func:`strip`, wrapped onto several lines of at most ``per_line`` images (grey padding)."""
    images = np.asarray(images).reshape(-1, 28, 28)
    per_line = max(1, min(per_line, len(images)))
    lines = []
    for s in range(0, len(images), per_line):
        chunk = images[s:s + per_line]
        if len(chunk) < per_line:
            chunk = np.concatenate([chunk, np.full((per_line - len(chunk), 28, 28), 0.35, np.float32)])
        lines.append(strip(chunk, pad))
    sep = np.full((pad, lines[0].shape[1]), 0.35, dtype=np.float32)
    out = [lines[0]]
    for ln in lines[1:]:
        out += [sep, ln]
    return np.concatenate(out)


def overlays_on_top(fig: go.Figure) -> go.Figure:
    """Turn every SVG ``Scatter`` trace (markers, paths, outlines added with add_marker / add_path /
    add_curves) into ``Scattergl``: plotly draws WebGL traces above SVG ones, so over a latent_scatter
    (Scattergl points) SVG overlays would otherwise be hidden under the dots."""
    traces = []
    for t in fig.data:
        if t.type == "scatter":
            spec = t.to_plotly_json()
            spec.pop("type", None)
            t = go.Scattergl(spec)
        traces.append(t)
    fig.data = ()
    fig.add_traces(traces)
    return fig


# ------------------------------------------- apply-page helpers (Drawing Board digit, digit source)
DRAWING_KEY = "drawing_input"  # the Drawing Board's preprocessed digit, (784,) float32 in [0, 1], or None


def drawing_digit() -> np.ndarray | None:
    """The digit last drawn / uploaded on the Drawing Board as a (784,) float32 array, or None."""
    v = st.session_state.get(DRAWING_KEY)
    if v is None:
        return None
    a = np.asarray(v, dtype=np.float32).reshape(-1)
    return a if a.size == 784 else None


def digit_source(data, key: str, label: str = "Digit", default_class: int = 0) -> tuple[np.ndarray, int | None, str]:
    """Pick a test digit (class + occurrence, or index) or, when there is one, the Drawing Board's digit.

    Returns (x (784,) float32, test index or None for the drawing, a short description)."""
    drawn = drawing_digit()
    src = "test"
    if drawn is not None:
        src = st.radio(f"{label}: from", ["test", "drawing"], horizontal=True, key=f"{key}_src",
                       format_func={"test": "a test digit", "drawing": "your Drawing Board digit"}.get)
    if src == "drawing" and drawn is not None:
        return drawn, None, "your drawing"
    idx = digit_picker(data, key, label=label, default_class=default_class)
    names = data.class_names or [str(c) for c in range(10)]
    return data.images[idx].numpy().astype(np.float32), idx, f"test #{idx} (a {names[int(data.labels[idx])]})"

