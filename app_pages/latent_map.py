"""Latent Map: where the encoder puts each test digit, how sure it is, and what the decoder draws there.
The numbers come from ui.compute.latent_map (selection, σ outlines, the decoded square, unused dimensions)."""

import numpy as np
import streamlit as st

from ui.compute.latent_map import ellipse_sample, map_note
from ui.fmt import example_noun
from ui.images import png_bytes, to_image, to_image_cell
from ui.live import explore_args, live_latent_map
from ui.plots import map_coords, selected_indices
from ui.state import ActiveModel, page_start
from ui.views.decoder_sliders import start_at
from ui.views.latent_map import class_agreement, lattice_image, map_figure, selection_panel
from vae_core.latent import projected_std

LIVE_POINTS = 5000  # test means on the live (in-browser) map
TSNE_MAX = 3000  # t-SNE is run on at most this many points (cached)
RANGE_DEFAULT, N_DEFAULT = 3.0, 10


def noun(am: ActiveModel) -> str:
    return example_noun(am.dataset_name)


def map_tab(am: ActiveModel, data, names: list[str]) -> None:
    mu, logvar = am.encodings()
    d, n_all, w = am.latent_dim, len(mu), noun(am)
    c1, c2, c3 = st.columns([1.2, 1, 1.3])
    n_max = min(10_000, n_all)
    n_min = min(1_000, n_max)
    if n_max > n_min:
        n = c1.slider(f"Test {w}s plotted", n_min, n_max, min(5_000, n_max), step=500, key="lm_n",
                      help=f"The first n {w}s of the test split. More points = denser map, slower browser.")
    else:
        n = n_max
        c1.caption(f"All {n:,} test {w}s are plotted.")
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
                              f"q(z|x) for a random sample of plotted {w}s"
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
               + f"Click a dot, or use the box / lasso tool (top-right of the chart) to inspect {w}s; click a legend "
                 "entry to hide a class, double-click to show it alone.")
    selection_panel(am, data, selected_indices(event), names)


def manifold_tab(am: ActiveModel, names: list[str]) -> None:
    d, w = am.latent_dim, noun(am)
    if d < 2:
        st.info("The manifold lattice needs a model with at least 2 latent dimensions.")
        return
    c1, c2, c3 = st.columns(3)
    r = c1.slider("Range ±", 1.0, 4.0, RANGE_DEFAULT, step=0.5, key="lm_range",
                  help="Half-width of the square of latent codes decoded"
                       + (" (latent units)." if d == 2 else " (in standard deviations of each PCA direction)."))
    n_grid = c2.slider(f"{w.capitalize()}s per side", 5, 25, N_DEFAULT, key="lm_grid",
                       help=f"Resolution of the lattice: n × n decoded codes. Fewer = bigger {w}s.")
    y_cls = None
    if am.conditional:
        y_cls = int(c3.selectbox("Decode as class", range(10), index=3, format_func=names.__getitem__,
                                 key="lm_cls", help=f"A CVAE decodes (z, class): same z, chosen {w}."))
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
             caption=f"{n_grid} × {n_grid} decoded codes: about {820 // n_grid} px per {w} on a 1280-px screen "
                     f"(fewer {w}s per side = bigger {w}s; hover the image for full screen).")
    beta = float(am.meta.get("beta", 1.0))
    if am.conditional:
        look = (f"**What to notice:** every tile shows the chosen {w} — the class comes from the label, not from "
                "z — and moving across the square changes only its style (slant, stroke width, size). ")
    else:
        look = (f"**What to notice:** the {w}s morph smoothly into one another, and the regions of the square "
                "decode to the classes whose dots live there on the map. ")
        if beta > 2:
            look += (f"With β = {beta:g} the KL term weighs heavily: expect fewer, blurrier prototypes — z is "
                     "allowed to carry only a little information. ")
        else:
            look += f"Between the clusters the decoder still draws {w}-like blends: the KL term leaves no holes. "
    st.caption(look + f"Far from the centre, where the prior has little mass and no training {w} was encoded, "
               "strokes blur, repeat or freeze.")
    st.download_button("Download the lattice (PNG)", png_bytes(img, img.shape[0] * 2),
                       file_name=f"manifold-{am.name}-r{r:g}-n{n_grid}.png", mime="image/png")


def open_in_sliders(am: ActiveModel, z: np.ndarray) -> None:
    """Decoder Sliders starts from z (the sliders page owns its keys: ui.views.decoder_sliders.start_at)."""
    start_at(am.key, z)


def live_tab(am: ActiveModel, data, names: list[str]) -> None:
    """Hover to decode, run by the browser (ui.live); a click keeps that z here for the other pages."""
    d, w = am.latent_dim, noun(am)
    n = min(LIVE_POINTS, len(am.encodings()[0]))
    st.caption(
        f"The first {n:,} test means. **Move the pointer over the map**: your browser runs the decoder itself "
        f"and draws the {w} under the pointer every frame, with no trip to the server"
        + (" — in this 2-D model the pointer's position *is* z." if d == 2 else
           f". This model has {d} latent dimensions, so the map is the plane through the mean of the test codes "
           "spanned by their first two principal directions: z = mean + PC1·u₁ + PC2·u₂ (u₁, u₂ unit vectors), "
           "the other directions held at the mean.")
        + (f" A CVAE also needs a class: pick it beside the {w}." if am.conditional else "")
        + " **Click** to keep a z and open it elsewhere.")
    res = live_latent_map(am, key="lm_live", y=3 if am.conditional else None, **explore_args(am, n))
    if not res.ok:
        st.caption(f"Use the *Map of the test set* tab: it decodes a clicked {w} on the server.")
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
            if col.button(f"Interpolate: nearest {w} as {e}", key=f"lm_live_ip{e}", width="stretch",
                          help=f"Interpolation walks between test {w}s: #{near} becomes endpoint {e}."):
                st.session_state[f"ip_{e}_map"] = near
                st.session_state[f"ip_{e}_src"] = "map"
                st.switch_page("app_pages/interpolation.py")


def main() -> None:
    am, data = page_start("Latent Map", any_images=True)
    names = data.label_names
    st.caption(
        "The encoder turns every test image x into a small Gaussian q(z|x) = N(μ, σ²) in latent space. Each dot is "
        f"one test {noun(am)}'s **mean μ**, coloured by its true label — the model never saw the labels"
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
