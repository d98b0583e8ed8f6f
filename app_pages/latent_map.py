"""Latent Map: where the encoder puts each test digit, how sure it is, and what the decoder draws there.
The numbers come from ui.compute.latent_map (selection, σ outlines, the decoded square, unused dimensions)."""

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from ui.compute.latent_map import (
    ellipse_sample,
    manifold_square,
    map_note,
    select_digits,
    sigma_outlines,
    unused_dimensions,
)
from ui.images import png_bytes, strip, to_image, to_image_cell
from ui.live import explore_args, live_latent_map
from ui.plots import DIGIT_COLORS, add_curves, latent_scatter, map_coords, overlays_on_top, selected_indices, to_map
from ui.state import BY_MODEL_KEY, ActiveModel, require_data, require_model
from vae_core.latent import manifold_grid, neighbour_agreement, pca_plane, plane_grid, projected_std

SHOW_MAX = 8  # selected digits shown in detail
LIVE_POINTS = 5000  # test means on the live (in-browser) map
TSNE_MAX = 3000  # t-SNE is run on at most this many points (cached)
RANGE_DEFAULT, N_DEFAULT = 3.0, 10
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
    st.subheader("Selected digits")
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
        for col, j in zip(cols, range(s, min(s + per_row, len(v.shown)))):
            i = v.shown[j]
            orig = data.images[i].numpy().reshape(28, 28)
            col.image(to_image_cell(strip(np.stack([orig, v.recon[j].reshape(28, 28)])), 112),
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


def map_tab(am: ActiveModel, data, names: list[str]) -> None:
    mu, logvar = am.encodings()
    d, n_all = am.latent_dim, len(mu)
    c1, c2, c3 = st.columns([1.2, 1, 1.3])
    n_max = min(10_000, n_all)
    n_min = min(1_000, n_max)
    if n_max > n_min:
        n = c1.slider("Test digits plotted", n_min, n_max, min(5_000, n_max), step=500, key="lm_n",
                      help="The first n digits of the test split. More points = denser map, slower browser.")
    else:
        n = n_max
        c1.caption(f"All {n:,} test digits are plotted.")
    method = "pca"
    if d > 2:
        proj = c2.radio("Projection to 2-D", ["PCA", "t-SNE"], horizontal=True, key="lm_proj",
                        help=f"The model has {d} latent dimensions, so the map needs a projection. PCA is linear: "
                             "it shows the two directions along which the means vary most, in latent units. "
                             "t-SNE is non-linear: it keeps neighbours together but distances and axes mean little.")
        method = "tsne" if proj == "t-SNE" else "pca"
    else:
        c2.caption(f"{d}-D latent space: plotted directly, no projection.")
    linear = method == "pca"
    show_prior = c3.toggle("Prior N(0, I): 1σ and 2σ circles", value=True, key="lm_prior", disabled=not linear,
                           help="Where the prior p(z) puts most of its mass (for d > 2: its projection).")
    show_ell = c3.toggle("1σ ellipses of q(z|x)", value=False, key="lm_ell", disabled=not linear,
                         help="How uncertain the encoder is about each code: the 1-standard-deviation outline of "
                              "q(z|x) for a random sample of plotted digits"
                              + (" (projected through the PCA)." if d > 2 else "."))
    n_ell = c3.slider("ellipses drawn", 10, 200, 50, step=10, key="lm_n_ell") if show_ell and linear else 50
    n_used = n
    if method == "tsne":
        n_used = min(n, TSNE_MAX)
        if n > TSNE_MAX:
            c2.caption(f"t-SNE uses the first {TSNE_MAX:,} points (it is slow).")
        with st.spinner(f"Running t-SNE on {n_used:,} points — up to a minute the first time, cached afterwards…"):
            coords, axes = map_coords(am, n_used, "tsne")
    else:
        coords, axes = map_coords(am, n_used, "pca")
    ell_idx = ellipse_sample(n_used, n_ell) if show_ell and linear else None
    m_range = float(st.session_state.get("lm_range", RANGE_DEFAULT))  # the manifold tab's slider
    fig = map_figure(am, coords, axes, data.labels.numpy()[:n_used], names, linear, show_prior, ell_idx, m_range)
    event = st.plotly_chart(fig, key="lm_chart", on_select="rerun", selection_mode=("points", "box", "lasso"),
                            config={"displaylogo": False})
    med = None
    if ell_idx is not None and d >= 2:
        comps = np.eye(d)[:2] if d == 2 else am.pca().components[:2]
        med = float(np.median(projected_std(logvar[:n_used], comps)))
    st.caption(map_note(d, am.conditional, class_agreement(am, method, n_used), method, med)
               + "Click a dot, or use the box / lasso tool (top-right of the chart) to inspect digits; click a legend "
                 "entry to hide a class, double-click to show it alone.")
    selection_panel(am, data, selected_indices(event), names)


def manifold_tab(am: ActiveModel, names: list[str]) -> None:
    d = am.latent_dim
    if d < 2:
        st.info("The manifold lattice needs a model with at least 2 latent dimensions.")
        return
    c1, c2, c3 = st.columns(3)
    r = c1.slider("Range ±", 1.0, 4.0, RANGE_DEFAULT, step=0.5, key="lm_range",
                  help="Half-width of the square of latent codes decoded"
                       + (" (latent units)." if d == 2 else " (in standard deviations of each PCA direction)."))
    n_grid = c2.slider("Digits per side", 5, 25, N_DEFAULT, key="lm_grid",
                       help="Resolution of the lattice: n × n decoded codes. Fewer = bigger digits.")
    y_cls = None
    if am.conditional:
        y_cls = int(c3.selectbox("Decode as class", range(10), index=3, format_func=names.__getitem__,
                                 key="lm_cls", help="A CVAE decodes (z, class): same z, chosen digit."))
    if d == 2:
        st.caption(f"Each tile is the decoder's mean image at one lattice point: **z₁ runs from −{r:g} (left) "
                   f"to +{r:g} (right), z₂ from +{r:g} (top) to −{r:g} (bottom)** — the dotted square on the map.")
    else:
        ev = am.pca().explained_ratio
        st.caption(
            f"A lattice needs two axes, and this model has {d}. So the lattice walks the plane of the **first two "
            f"principal directions of the posterior means** (PC1 {ev[0]:.0%}, PC2 {ev[1]:.0%} of their variance), "
            f"centred on their mean: PC1 runs from −{r:g}σ (left) to +{r:g}σ (right), PC2 from +{r:g}σ (top) to "
            f"−{r:g}σ (bottom), σ being each direction's standard deviation; the other {d - 2} coordinates stay "
            "at the mean. It is the dotted square on the PCA map.")
    img = lattice_image(am, r, n_grid, y_cls)
    cell = max(28, round(1100 / n_grid / 28) * 28)  # rendered ≥ 1100 px wide, scaled to the page
    st.image(to_image_cell(img, cell), width="stretch",
             caption=f"{n_grid} × {n_grid} decoded codes: about {820 // n_grid} px per digit on a 1280-px screen "
                     "(fewer digits per side = bigger digits; hover the image for full screen).")
    beta = float(am.meta.get("beta", 1.0))
    if am.conditional:
        look = ("**What to notice:** every tile shows the chosen digit — the class comes from the label, not from "
                "z — and moving across the square changes only its style (slant, stroke width, size). ")
    else:
        look = ("**What to notice:** the digits morph smoothly into one another, and the regions of the square "
                "decode to the classes whose dots live there on the map. ")
        if beta > 2:
            look += (f"With β = {beta:g} the KL term weighs heavily: expect fewer, blurrier prototypes — z is "
                     "allowed to carry only a little information. ")
        else:
            look += "Between the clusters the decoder still draws digit-like blends: the KL term leaves no holes. "
    st.caption(look + "Far from the centre, where the prior has little mass and no training digit was encoded, "
               "strokes blur, repeat or freeze.")
    st.download_button("Download the lattice (PNG)", png_bytes(img, img.shape[0] * 2),
                       file_name=f"manifold-{am.name}-r{r:g}-n{n_grid}.png", mime="image/png")


def open_in_sliders(am: ActiveModel, z: np.ndarray) -> None:
    """Decoder Sliders starts from z (its sliders are rebuilt from ``sliders_z``)."""
    st.session_state["ds_model"] = am.key
    st.session_state["sliders_z"] = np.asarray(z, dtype=np.float64)
    st.session_state["ds_clip"] = None
    for k in [k for k in st.session_state if str(k).startswith(("ds_z_", "ds_pc_"))]:
        del st.session_state[k]


def live_tab(am: ActiveModel, data, names: list[str]) -> None:
    """Hover to decode, run by the browser (ui.live); a click keeps that z here for the other pages."""
    d = am.latent_dim
    n = min(LIVE_POINTS, len(am.encodings()[0]))
    st.caption(
        f"The first {n:,} test means. **Move the pointer over the map**: your browser runs the decoder itself "
        "and draws the digit under the pointer every frame, with no trip to the server"
        + (" — in this 2-D model the pointer's position *is* z." if d == 2 else
           f". This model has {d} latent dimensions, so the map is the plane through the mean of the test codes "
           "spanned by their first two principal directions: z = mean + PC1·u₁ + PC2·u₂ (u₁, u₂ unit vectors), "
           "the other directions held at the mean.")
        + (" A CVAE also needs a class: pick it beside the digit." if am.conditional else "")
        + " **Click** to keep a z and open it elsewhere.")
    res = live_latent_map(am, key="lm_live", y=3 if am.conditional else None, **explore_args(am, n))
    if not res.ok:
        st.caption("Use the *Map of the test set* tab: it decodes a clicked digit on the server.")
        return
    if res.click is not None:
        st.session_state["lm_live_click"] = {"model": am.key, **res.click}
    kept = st.session_state.get("lm_live_click")
    if not kept or kept.get("model") != am.key or len(kept["z"]) != d:
        return
    z, y = np.asarray(kept["z"]), kept.get("y")
    mu = am.encodings()[0]
    near = int(np.argmin(np.linalg.norm(mu - z, axis=1)))
    c_img, c_txt = st.columns([1, 3], vertical_alignment="center")
    c_img.image(to_image(am.decode(z, y)[0], 140), caption="the kept z, decoded on the server")
    with c_txt:
        st.markdown("**Kept z** = (" + ", ".join(f"{v:+.2f}" for v in z[:8]) + (", …" if d > 8 else "") + ")"
                    + (f", class {names[y]}" if y is not None else "")
                    + f"  \nNearest test mean: #{near} (label {names[int(data.labels[near])]}, "
                    f"{np.linalg.norm(mu[near] - z):.2f} latent units away)")
        b1, b2, b3 = st.columns(3)
        if b1.button("Open in Decoder Sliders", key="lm_live_ds", width="stretch"):
            open_in_sliders(am, z)
            st.switch_page("app_pages/decoder_sliders.py")
        for col, e in ((b2, "A"), (b3, "B")):
            if col.button(f"Interpolate: nearest digit as {e}", key=f"lm_live_ip{e}", width="stretch",
                          help=f"Interpolation walks between test digits: #{near} becomes endpoint {e}."):
                st.session_state[f"ip_{e}_map"] = near
                st.session_state[f"ip_{e}_src"] = "map"
                st.switch_page("app_pages/interpolation.py")


def main() -> None:
    st.title("Latent Map")
    am = require_model()
    data = require_data(am)
    names = data.class_names or [str(c) for c in range(10)]
    st.caption(
        "The encoder turns every test image x into a small Gaussian q(z|x) = N(μ, σ²) in latent space. Each dot is "
        "one test digit's **mean μ**, coloured by its true label — the model never saw the labels"
        + (" (except as the CVAE's condition)" if am.conditional else "")
        + ". Latent units are standard deviations of the prior N(0, I).")
    tab_live, tab_map, tab_manifold = st.tabs(["Hover to decode (live)", "Map of the test set", "Decoded manifold"])
    with tab_live:
        live_tab(am, data, names)
    with tab_map:
        map_tab(am, data, names)
    with tab_manifold:
        manifold_tab(am, names)


main()
