"""Latent Map sections: the map figure of the test means and the panel of the selected digits.

The numbers come from ui.compute.latent_map (selection, σ outlines, the decoded square, unused dimensions);
app_pages/latent_map.py lays the sections out in its tabs.
"""

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from ui.compute.latent_map import manifold_square, select_digits, sigma_outlines, unused_dimensions
from ui.fmt import example_noun
from ui.images import strip, to_image_cell
from ui.plots import DIGIT_COLORS, add_curves, latent_scatter, map_coords, overlays_on_top, to_map
from ui.state import BY_MODEL_KEY, ActiveModel
from vae_core.latent import manifold_grid, neighbour_agreement, pca_plane, plane_grid

SHOW_MAX = 8  # selected digits shown in detail
SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def zname(i: int) -> str:
    return f"z{str(i + 1).translate(SUB)}"


@st.cache_data(show_spinner="Decoding the lattice…", max_entries=64, hash_funcs=BY_MODEL_KEY)
def lattice_image(am: ActiveModel, r: float, n: int, y: int | None) -> np.ndarray:
    """Decoded n×n lattice (cached per model/range/size/class): z itself for d = 2, else the PCA plane."""
    if am.latent_dim == 2:
        return manifold_grid(am.model, (-r, r), (-r, r), n, y=y)
    origin, u, v = pca_plane(am.pca())
    return plane_grid(am.model, origin, u, v, (-r, r), (-r, r), n, y=y)


@st.cache_data(show_spinner=False, max_entries=64, hash_funcs=BY_MODEL_KEY)
def class_agreement(am: ActiveModel, method: str, n: int) -> float:
    coords, _ = map_coords(am, n, method)
    return neighbour_agreement(coords, am.data().labels.numpy()[:n])


def map_figure(am: ActiveModel, coords, axes, labels, names, linear: bool, show_prior: bool,
               ell_idx: np.ndarray | None, m_range: float) -> go.Figure:
    """The test means by label; with a linear map the prior's 1σ/2σ circles, σ outlines of q(z|x) and the
    square the manifold tab decodes."""
    d = am.latent_dim
    fig = latent_scatter(coords, labels, axes, customdata=np.arange(len(coords)), height=620, class_names=names)
    for tr in fig.data:
        tr.legendgroup = tr.name
    if linear:
        fig.update_yaxes(scaleanchor="x", scaleratio=1)  # same latent units on both axes: circles stay round
        centre = to_map(am, np.zeros(d))[0]
        if show_prior:
            t = np.linspace(0, 2 * np.pi, 73)
            circ = [centre + r * np.c_[np.cos(t), np.sin(t)] for r in (1.0, 2.0)]
            add_curves(fig, circ, "prior N(0, I): 1σ, 2σ", color="#555", width=1.5, dash="dash")
        if ell_idx is not None:
            mu, logvar = am.encodings()
            for c in range(10):
                idx = ell_idx[labels[ell_idx] == c]
                if len(idx):
                    add_curves(fig, sigma_outlines(mu, logvar, idx, am.pca() if d > 2 else None),
                               f"1σ of q(z|x), digit {names[c]}", color=DIGIT_COLORS[c], width=1.2,
                               legendgroup=names[c], showlegend=False, opacity=0.9)
        if d >= 2:
            box = manifold_square(d, m_range, am.pca() if d > 2 else None)
            add_curves(fig, [to_map(am, box)], "area of the decoded manifold", color="#999", width=1, dash="dot")
    overlays_on_top(fig)
    fig.update_layout(legend=dict(itemsizing="constant"), margin=dict(t=36))  # room for the chart's toolbar
    return fig


def selection_panel(am: ActiveModel, data, sel: list[int], names: list[str]) -> None:
    """The selected digits: originals next to decode(μ), and their posteriors μ ± σ with the KL of each."""
    st.subheader(f"Selected {example_noun(am.dataset_name)}s")
    if not sel:
        st.info("Nothing selected yet: click a dot, or drag a box or lasso around a few.")
        return
    mu, logvar = am.encodings()
    labels = data.labels.numpy()
    v = select_digits(am.model, sel, mu, logvar, labels, SHOW_MAX)
    comp = ", ".join(f"{names[c]}: {k}" for c, k in enumerate(v.counts) if k)
    st.markdown(f"**{v.n_selected:,}** selected (by label — {comp})."
                + (f" Showing {SHOW_MAX} of them, picked at random." if v.n_selected > SHOW_MAX else ""))
    per_row = 3
    for s in range(0, len(v.shown), per_row):
        cols = st.columns(per_row)
        for col, j in zip(cols, range(s, min(s + per_row, len(v.shown))), strict=False):  # the last row may be short
            i = v.shown[j]
            orig = data.images[i].numpy().reshape(am.image_shape)
            col.image(to_image_cell(strip(np.stack([orig, v.recon[j].reshape(am.image_shape)])), 112),
                      caption=f"test #{i} · label {names[labels[i]]} — original | decode(μ)")
    d = am.latent_dim
    table = {"": [zname(k) for k in range(d)] + ["‖μ‖", "KL(q‖p) [nats]"]}
    for j, i in enumerate(v.shown):
        table[f"#{i} ({names[labels[i]]})"] = (
            [f"{v.mu[j, k]:+.2f} ± {v.sigma[j, k]:.2f}" for k in range(d)]
            + [f"{np.linalg.norm(v.mu[j]):.2f}", f"{v.kl[j]:.1f}"])
    st.markdown("**Posterior q(z|x) per dimension: μ ± σ** (latent units = prior standard deviations)")
    st.dataframe(table, hide_index=True, width="stretch", height=min(38 + 35 * (d + 2), 800))
    msg = ("σ is the encoder's uncertainty: a small σ means the image pins its code down tightly. "
           "KL(q‖p) is the 'rate': how many nats this code costs against the prior.")
    n_off = unused_dimensions(mu) if d > 2 else 0
    if n_off:
        msg += (f" {n_off} of the {d} dimensions are inactive units: their μ barely varies over the test set "
                "(variance ≤ 0.01), so the KL term switched them off and they just copy the prior.")
    st.caption(msg)
