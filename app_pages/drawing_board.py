"""Drawing Board: draw (or upload) a digit, see where the encoder puts it and what the decoder makes of it.

session_state: ``drawing_rgba`` is the raw picture the canvas sent last (H×W×4 uint8, or H×W grey from the live
view; an uploaded file takes its place in "upload" mode); ``drawing_input`` (ui.pickers.DRAWING_KEY) is the
MNIST-style digit (784,) other pages offer as input, or None. The numbers come from ui.compute.drawing.analyse_drawing.
"""

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from ui.component_values import canvas_rgba
from ui.compute.drawing import DrawingAnalysis, analyse_drawing, best_label, full_box, posterior_outlines, zoom_box
from ui.images import PX, show_digits, to_image, to_image_cell, wrap_strip
from ui.live import explore_args, live_drawing
from ui.pickers import DRAWING_KEY
from ui.plots import add_curves, add_marker, latent_scatter, map_coords, overlays_on_top, to_map
from ui.state import ActiveModel, page_start
from ui.text import plain
from vae_core.digits.drawing import ink_stats, preprocess_drawing, read_image_bytes

CANVAS = 280
MAP_POINTS = 3000  # test means drawn on the map
RAW = "drawing_rgba"
N_NEAR = 6  # nearest test digits shown (one row of >= 112 px digits at 1280 px)


def bump(key: str) -> None:
    st.session_state[key] = int(st.session_state.get(key, 0)) + 1


def canvas_image():
    """Draw on the canvas; returns the raw picture (the canvas's, else the last one kept in session_state)."""
    try:
        from streamlit_drawable_canvas import st_canvas
    except Exception as exc:  # the component cannot load: the upload still works
        st.warning(f"The drawing canvas is not available here ({type(exc).__name__}). Use *upload an image* "
                   "instead.")
        return st.session_state.get(RAW)
    width = st.slider("Brush width (px on the 280 px canvas)", 8, 40, 20, key="db_brush",
                      help="MNIST strokes are about 2–3 of 28 pixels wide; a 20 px brush on a digit that fills "
                           "the canvas ends up about that wide after scaling.")
    st.html("<div style='height: 1.6rem'></div>")  # room for the canvas toolbar, which floats above it
    try:
        res = st_canvas(stroke_width=int(width), stroke_color="#ffffff", background_color="#000000",
                        height=CANVAS, width=CANVAS, drawing_mode="freedraw", return_image_data=True,
                        update_streamlit=True, key="db_canvas")
        img, problem = canvas_rgba(res, 4 * CANVAS)  # checked strictly, size capped before decoding (#21)
    except Exception as exc:
        st.warning(f"The drawing canvas failed ({type(exc).__name__}: {plain(exc)}). Use *upload an image* instead.")
        return st.session_state.get(RAW)
    if problem:
        st.warning(problem)
    if img is not None:
        st.session_state[RAW] = np.asarray(img)
    st.caption("Draw one digit, large, in white. The toolbar above the canvas has **undo**, **redo** and **reset** "
               "(clear). The result updates when you lift the mouse.")
    return st.session_state.get(RAW)


def live_canvas(am: ActiveModel):
    """Draw in the live view (ui.live): the browser preprocesses and encodes while the stroke is drawn; the
    finished canvas comes here for the server's analysis. Falls back to the server canvas for a model the
    browser cannot run."""
    res = live_drawing(am, key="db_live", y=3 if am.conditional else None,
                       **explore_args(am, min(MAP_POINTS, len(am.encodings()[0]))))
    if not res.ok:
        return canvas_image()
    if res.ink is not None:
        st.session_state[RAW] = res.ink
    elif res.cleared:
        st.session_state.pop(RAW, None)
    st.caption("Draw one digit, large. While you draw, your browser turns the canvas into the 28×28 input (same "
               "steps as below), runs the encoder and moves μ and the 1σ / 2σ ellipses of q(z|x) on the small map, "
               "with the reconstruction decode(μ) beside it. When you lift the mouse the server does it again — "
               "its result, below, is the reference.")
    return st.session_state.get(RAW)


def upload_image():
    up = st.file_uploader("A PNG or JPEG picture of one digit", type=["png", "jpg", "jpeg"], key="db_upload",
                          help="Dark ink on light paper or light ink on dark both work; it is cropped, scaled and "
                               "centred like MNIST. Read with Pillow only.")
    if up is None:
        return None
    try:
        return read_image_bytes(up.getvalue())
    except ValueError as exc:
        st.error(f"**{plain(up.name)}** could not be used: {plain(exc)}. Try a PNG or JPEG of a single digit.")
        return None


def digit_panel(am: ActiveModel, x: np.ndarray, a: DrawingAnalysis, names: list[str]) -> None:
    """The input next to its reconstruction, where its ink is, and μ, σ."""
    d, mu, sigma = am.latent_dim, a.mu, a.sigma
    s = ink_stats(x)
    c1, c2 = st.columns(2)
    c1.image(to_image(x, PX), width=PX, caption="model input: 28×28")
    c2.image(to_image(a.recon, PX), width=PX, caption="reconstruction decode(μ)")
    st.caption(f"The input is {s['height']}×{s['width']} px of ink ({s['ink']:.0f} px worth) centred at "
               f"(row {s['center_of_mass'][0]:.1f}, col {s['center_of_mass'][1]:.1f}); the field's centre is "
               "(13.5, 13.5)." + (f" Read as a **{names[a.label]}** (CVAE label)." if a.label is not None else ""))
    if d <= 4:
        st.markdown("**μ** = (" + ", ".join(f"{v:+.2f}" for v in mu) + ")  \n**σ** = ("
                    + ", ".join(f"{v:.2f}" for v in sigma) + ")  (latent units)")
    else:
        sure = int(np.sum(sigma < 0.5))
        st.markdown(f"**μ**: a {d}-D vector, ‖μ‖ = {np.linalg.norm(mu):.2f} latent units  \n**σ**: from "
                    f"{sigma.min():.2f} to {sigma.max():.2f} (median {np.median(sigma):.2f}) latent units")
        st.caption(f"The encoder is sure (σ < 0.5) about {sure} of the {d} coordinates; where σ ≈ 1 and μ ≈ 0 a "
                   "coordinate is unused — it just copies the prior.")


def map_figure(am: ActiveModel, a: DrawingAnalysis, coords, axes, labels, names, zoom: bool) -> go.Figure:
    """The test means with the drawing's μ, its 1σ/2σ outlines, its draws from q(z|x) and the radius circle."""
    fig = latent_scatter(coords, labels, axes, height=560, class_names=names)
    fig.update_yaxes(scaleanchor="x", scaleratio=1)
    centre = to_map(am, a.mu)[0]
    ells = posterior_outlines(a.mu, a.logvar, am.pca() if am.latent_dim > 2 else None)
    t = np.linspace(0, 2 * np.pi, 73)
    add_curves(fig, ells, "1σ, 2σ of q(z|x)", color="black", width=2.5)
    add_curves(fig, [centre + a.radius * np.c_[np.cos(t), np.sin(t)]], f"radius s = {a.radius:g}",
               color="#d62728", width=2, dash="dash")
    zs = to_map(am, a.z)
    fig.add_trace(go.Scatter(x=zs[:, 0], y=zs[:, 1], mode="markers", name="z ~ q(z|x)",
                             marker=dict(symbol="circle-open", size=9, color="black", line=dict(width=2))))
    add_marker(fig, centre, "μ (your digit)", color="#d62728", symbol="star", size=20)
    overlays_on_top(fig)
    fig.update_layout(margin=dict(t=36, l=10, r=10, b=10),
                      legend=dict(itemsizing="constant", orientation="h", y=-0.12))
    lo, hi = (zoom_box(np.vstack([*ells, zs, centre[None]]), centre, a.radius) if zoom
              else full_box(coords, centre, a.radius))
    fig.update_xaxes(range=[lo[0], hi[0]])
    fig.update_yaxes(range=[lo[1], hi[1]])
    return fig


def main() -> None:
    am, data = page_start("Drawing Board")
    names = data.label_names
    d = am.latent_dim
    st.markdown(
        "Draw a digit and hand it to the VAE. The picture is turned into a 28×28 digit **the way MNIST was made** "
        "(crop to the ink, scale to fit 20×20 keeping the aspect ratio, centre the centre of mass in 28×28), then "
        "the encoder gives its posterior q(z|x) = N(μ, σ²) and the decoder redraws it.")
    st.latex(r"z = \mu_\phi(x) + \sigma_\phi(x) \odot \epsilon, \quad \epsilon \sim \mathcal{N}(0, I)")

    c_draw, c_in = st.columns([1.05, 1], gap="large")
    with c_draw:
        source = st.radio("Input", ["live", "draw", "upload"], horizontal=True, key="db_source",
                          format_func={"live": "draw (live in your browser)", "draw": "draw on the canvas",
                                       "upload": "upload an image"}.get)
        raw = {"live": live_canvas, "draw": lambda _: canvas_image(), "upload": lambda _: upload_image()}[source](am)
    try:
        x = preprocess_drawing(raw) if raw is not None else None
    except ValueError as exc:
        x = None
        with c_in:
            st.error(f"This picture could not be read as a digit: {exc}")
    st.session_state[DRAWING_KEY] = x
    if x is None:
        with c_in:
            st.info("**Nothing to look at yet.** " + ("Draw a digit on the canvas — a big one, filling most of the "
                    "square." if source != "upload" else "Upload a picture of a single digit.")
                    + " Its 28×28 version, the reconstruction and its place on the latent map will appear here.",
                    icon=":material/draw:")
        return

    y = None
    with c_in:
        if am.conditional:
            best = best_label(am.model, x)
            choice = st.selectbox("Which digit is it? (a CVAE needs the label)",
                                  ["auto", *range(am.model.num_classes)], key="db_label",
                                  format_func=lambda c: f"best fit: {names[best]}" if c == "auto" else names[c],
                                  help="'best fit' picks the class with the lowest −ELBO for your digit. Pick "
                                       "another label and see the same strokes read as that digit.")
            y = best if choice == "auto" else int(choice)
    st.session_state.setdefault("db_seed", 0)

    st.subheader("Where your digit lands")
    mu_all, _ = am.encodings()
    labels = data.labels.numpy()
    n_map = min(MAP_POINTS, len(mu_all))
    coords, axes = map_coords(am, n_map)
    c_map, c_near = st.columns([1.05, 1], gap="medium")
    with c_near:
        radius = st.slider("'Sample near here': radius s (latent units)", 0.1, 2.0, 0.5, step=0.1, key="db_radius",
                           help="Decode z ~ N(μ, s²I): a cloud of codes around your μ. s = 1 is as wide as the "
                                "whole prior.")
        c1, c2 = st.columns([1, 1], vertical_alignment="bottom")
        k = c1.slider("Samples K", 3, 12, 6, key="db_k")
        view = st.radio("Map view", ["all", "zoom"], horizontal=True, key="db_view",
                        format_func={"all": "whole test set", "zoom": "zoom on your digit"}.get,
                        help="Zoom in to see the σ ellipses of q(z|x): they are often far smaller than the map.")
        c2.button("New draws", icon=":material/casino:", key="db_resample", on_click=bump, args=("db_seed",),
                  width="stretch")
    a = analyse_drawing(am.model, x, mu_all, k=int(k), radius=float(radius), seed=int(st.session_state["db_seed"]),
                        y=y, n_near=N_NEAR)
    with c_in:
        digit_panel(am, x, a, names)
    with c_map:
        st.plotly_chart(map_figure(am, a, coords, axes, labels[:n_map], names, view == "zoom"), key="db_map",
                        config={"displaylogo": False})
        where = "" if d == 2 else f" (a PCA shadow of the {d}-D space: ellipses and circle are projected too)"
        st.caption(f"The red star is μ among {n_map:,} test digits' means{where}. The black ellipses are 1σ and 2σ "
                   "of q(z|x): how sure the encoder is. "
                   + ("The CVAE's z holds style, not the digit, so all classes mix here. " if am.conditional else
                      "If the star sits inside the cluster of the digit you meant, the encoder read it the same "
                      "way. ")
                   + "Scribbles and odd digits land between clusters or far out, where the prior has little mass.")
    with c_near:
        st.markdown(f"**{k} samples from q(z|x)** (black circles on the map): z = μ + σ ⊙ ε")
        st.image(to_image_cell(wrap_strip(a.samples, 3), 112),
                 caption="what else the encoder thinks your digit could be")
        st.markdown(f"**Sampling near here**: z ~ N(μ, {radius:g}²·I) (inside the red circle)")
        st.image(to_image_cell(wrap_strip(a.near, 3), 112),
                 caption=f"radius {radius:g}: small → variations of your digit; large → other digits")
        st.caption(f"The samples from q(z|x) vary only as much as σ allows (median σ = {np.median(a.sigma):.2f}); "
                   "with s ≫ σ the codes leave your digit's neighbourhood and the decoder draws other shapes.")

    st.subheader("Nearest test digits in latent space")
    show_digits(data.images[a.nearest].numpy(),
                [f"#{i} · {names[labels[i]]} · dist {dd:.2f}" for i, dd in zip(a.nearest, a.nearest_dist, strict=True)],
                size=112, per_row=N_NEAR)
    st.caption(f"The {N_NEAR} test digits whose μ is closest (Euclidean distance in latent units) to yours"
               + (" — for a CVAE, closest in *style*: same slant and thickness, any class." if am.conditional else
                  ". Do they show the digit you drew? Their labels are the true ones."))


main()
