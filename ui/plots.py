"""Plotly helpers for latent maps: the class-coloured scatter of posterior means, markers, paths and outlines
drawn over it, the map's frame (z itself for d = 2, the test means' principal axes for d > 2) and the test
indices a box / click selection picked."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from ui.state import ActiveModel

DIGIT_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]


def latent_scatter(coords: np.ndarray, labels: np.ndarray, axes: list[str], title: str = "",
                   customdata: np.ndarray | None = None, height: int = 560, class_names=None,
                   webgl: bool = True) -> go.Figure:
    """Posterior means coloured by digit, one trace per class (so the legend toggles classes).

    ``webgl=False`` draws SVG markers: slower for many thousands of points, but much cheaper to redraw a
    small map many times a second (no WebGL context per redraw), as the live Decoder Sliders map does."""
    fig = go.Figure()
    trace = go.Scattergl if webgl else go.Scatter
    idx_all = np.arange(len(coords)) if customdata is None else customdata
    for c in range(max(10, int(labels.max()) + 1) if len(labels) else 10):  # a user's data set may have more (#19)
        m = labels == c
        if not m.any():
            continue
        name = class_names[c] if class_names else str(c)
        fig.add_trace(trace(
            x=coords[m, 0], y=coords[m, 1], mode="markers", name=name,
            marker=dict(size=5, color=DIGIT_COLORS[c % len(DIGIT_COLORS)], opacity=0.7),
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


# ------------------------------------------------------------------ the map's frame
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


def chart_beside(fig: go.Figure, key: str, widths: tuple[float, float] = (1.6, 1)):
    """Draw ``fig`` in a wide left column (no Plotly logo) and return the right column, for what the figure
    shows: ``with chart_beside(fig, "key"): st.markdown(...)``."""
    left, right = st.columns(list(widths), gap="large")
    with left:
        st.plotly_chart(fig, key=key, config={"displaylogo": False})
    return right
