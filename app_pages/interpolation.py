"""Interpolation: walk between two digits in latent space (linear / spherical) against a pixel cross-fade.
The walks come from ui.compute.interpolation.walks."""

from functools import partial

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from ui.compute.interpolation import Walks, frame_layout, walks
from ui.fmt import example_noun
from ui.images import gif_bytes, png_bytes, strip, to_image, to_image_cell, wrap_strip
from ui.live import explore_args, live_interpolation
from ui.pickers import digit_picker
from ui.plots import add_marker, add_path, latent_scatter, map_coords, overlays_on_top, selected_indices, to_map
from ui.state import ActiveModel, page_start

MAP_POINTS = 3000
CONTENT_PX = 810  # usable page width at 1280 px with the sidebar open
SOURCES = {"pick": "by class or index", "random": "random test digit", "map": "clicked on the map"}
METHODS = {"linear": "linear (lerp)", "spherical": "spherical (slerp)"}
ENDS = ("A", "B")
PATH_COLORS = {"linear": "#111111", "spherical": "#d62728"}


def on_random(e: str, n: int) -> None:
    st.session_state[f"ip_{e}_rand"] = int(np.random.default_rng().integers(n))


def on_map_click(key: str) -> None:
    """A dot clicked on the map becomes the targeted endpoint; the target then flips to the other end and the
    chart gets a fresh key so the selection highlight does not linger."""
    sel = selected_indices(st.session_state.get(key))
    if sel:
        e = st.session_state.get("ip_target", "A")
        st.session_state[f"ip_{e}_map"] = sel[0]
        st.session_state[f"ip_{e}_src"] = "map"
        st.session_state["ip_target"] = "B" if e == "A" else "A"
    st.session_state["ip_map_gen"] = st.session_state.get("ip_map_gen", 0) + 1



def endpoint(e: str, data, labels, names, default_class: int, shape=None, noun: str = "digit") -> int:
    """One endpoint's source (picker, random, clicked on the map) and the chosen test index."""
    n = len(labels)
    st.markdown(f"**Endpoint {e}**")
    src = st.radio(f"{e} is", list(SOURCES), format_func=lambda k: SOURCES[k].replace("digit", noun),
                   key=f"ip_{e}_src", horizontal=False, label_visibility="collapsed")
    if src == "pick":
        i = digit_picker(data, key=f"ip_{e}", label=e, default_class=default_class)
    elif src == "random":
        st.button(f"Another random {noun}", key=f"ip_{e}_rbtn", on_click=on_random, args=(e, n))
        i = int(st.session_state[f"ip_{e}_rand"]) % n
    else:
        i = st.session_state.get(f"ip_{e}_map")
        if i is None:
            st.info("Click a dot on the map below.")
            i = int(st.session_state[f"ip_{e}_rand"]) % n
        i = int(i)
    st.image(to_image(data.images[i].numpy(), 112, shape), caption=f"{e} = test #{i} (label {names[labels[i]]})")
    return i


def show_rows(w: Walks, px: int, per_line: int, conditional: bool, noun: str = "digit") -> None:
    rows = [
        ("Latent space, linear path", w.frames["linear"],
         "z = (1 − t)·μ_A + t·μ_B, decoded. First and last frames are the decoder's reconstructions of A and B."),
        ("Latent space, spherical path", w.frames["spherical"],
         "z follows the arc between μ_A and μ_B around the origin (slerp), decoded."),
        ("Pixel cross-fade (baseline)", w.fade, "(1 − t)·x_A + t·x_B of the two original images: no model involved."),
    ]
    for title, fr, expl in rows:
        st.markdown(f"**{title}** — {expl}")
        st.image(to_image_cell(wrap_strip(fr, per_line, pad=1), px))
    st.caption(
        f"**What to notice:** the latent frames stay {noun}-like — "
        + ("every frame is the chosen class, and the walk morphs only the style (slant, width) from A's to B's, "
           if conditional else "the stroke bends, thickens and may pass through other classes on the way, ")
        + f"because the decoder only knows how to draw {noun}s. The cross-fade instead passes through a ghostly double "
        f"exposure that is no {noun} at all. The linear and spherical rows differ where their paths cross different "
        "regions of the map below (the arc bulges away from the origin).")


def downloads(w: Walks, method: str, tag: str, steps: int) -> None:
    sel_frames = w.frames[method]
    c1, c2, c3, _ = st.columns([1, 1, 1, 0.6])
    c1.download_button("⬇ Strip (PNG)", png_bytes(strip(sel_frames), 112), file_name=f"interp-{tag}.png",
                       mime="image/png", help=f"The {METHODS[method]} row as one image, 112 px per frame.",
                       width="stretch")
    c2.download_button("⬇ Animation (GIF)", gif_bytes(sel_frames, 112, ms=100), file_name=f"interp-{tag}.gif",
                       mime="image/gif", help=f"The {METHODS[method]} walk, A → B → A, looping.", width="stretch")
    compare = wrap_strip(np.concatenate([w.frames["linear"], w.frames["spherical"], w.fade]), steps)
    c3.download_button("⬇ All three rows (PNG)", png_bytes(compare, 4 * compare.shape[0]),
                       file_name=f"interp-compare-{tag}.png", mime="image/png",
                       help="Linear, spherical and cross-fade rows stacked.", width="stretch")


def path_map(am: ActiveModel, w: Walks, ends: np.ndarray, method: str, labels, names) -> None:
    st.radio("A click on a dot sets endpoint", ENDS, horizontal=True, key="ip_target",
             help="The endpoint switches to 'clicked on the map'; the next click then sets the other one.")
    n_map = min(MAP_POINTS, len(labels))
    coords, axes = map_coords(am, n_map, "pca")
    fig = latent_scatter(coords, labels[:n_map], axes, customdata=np.arange(n_map), height=480, class_names=names)
    fig.update_traces(marker=dict(size=4, opacity=0.45), selector=dict(type="scattergl"))
    for m in METHODS:
        add_path(fig, to_map(am, w.paths[m]), METHODS[m] + (" ◀ chosen" if m == method else ""), color=PATH_COLORS[m])
        fig.data[-1].line.width = 3 if m == method else 1.5
        fig.data[-1].marker.size = 6 if m == method else 4
    add_marker(fig, to_map(am, ends[0]), "A", color="#000", symbol="circle", size=14)
    add_marker(fig, to_map(am, ends[1]), "B", color="#000", symbol="square", size=14)
    overlays_on_top(fig)
    fig.update_layout(dragmode="pan", legend=dict(itemsizing="constant", font=dict(size=11)))
    key = f"ip_map_{st.session_state.get('ip_map_gen', 0)}"
    st.plotly_chart(fig, key=key, on_select=partial(on_map_click, key), selection_mode="points",
                    config={"displaylogo": False})
    st.caption(
        f"The first {n_map:,} test means"
        + (" projected on their first two principal directions (a linear projection, so a straight path stays "
           "straight; the spherical arc is projected too)" if am.latent_dim > 2 else "")
        + ". ● = A, ■ = B; the dots on each path are the decoded frames. Click any dot to make it an endpoint.")


def norms_figure(w: Walks, d: int) -> go.Figure:
    """‖z‖ along both paths against t, with the typical norm √d of a prior sample."""
    fig = go.Figure()
    t = np.linspace(0, 1, len(w.fade))
    top = max([np.sqrt(d)] + [float(n.max()) for n in w.norms.values()])
    for m in METHODS:
        fig.add_trace(go.Scatter(x=t, y=w.norms[m], mode="lines+markers", name=METHODS[m],
                                 line=dict(color=PATH_COLORS[m])))
    fig.add_hline(y=np.sqrt(d), line_dash="dash", line_color="#777",
                  annotation_text=f"√d = {np.sqrt(d):.2f}: typical ‖z‖ of a prior sample",
                  annotation_position="top left")
    fig.update_layout(height=380, margin=dict(l=10, r=10, t=40, b=10), title="Distance from the origin ‖z‖",
                      xaxis_title="t (0 = A, 1 = B)", yaxis_title="‖z‖ (latent units)",
                      legend=dict(orientation="h", y=-0.25), yaxis_range=[0, top * 1.15])
    return fig


def main() -> None:
    am, data = page_start("↔ Interpolation", any_images=True)
    mu, _ = am.encodings()
    labels = data.labels.numpy()
    n_all = len(mu)
    names = data.label_names
    noun = example_noun(am.dataset_name)
    st.caption(
        f"Pick two test {noun}s A and B. Their codes μ_A and μ_B are two points in latent space; walking from one to "
        "the other and decoding every step shows what lives *between* them. The bottom row is the naive "
        "alternative: fade the two images into each other pixel by pixel.")

    st.session_state.setdefault("ip_A_rand", 0 % n_all)
    st.session_state.setdefault("ip_B_rand", 1 % n_all)
    cols = st.columns([1, 1, 1.05], gap="medium")
    idx = {}
    for e, col, cls0 in zip(ENDS, cols[:2], (3, 7), strict=True):
        with col:
            idx[e] = endpoint(e, data, labels, names, cls0, am.image_shape, noun)
    with cols[2]:
        st.markdown("**Path**")
        steps = st.slider("Steps (frames, ends included)", 3, 20, 10, key="ip_steps")
        method = st.radio("Method used for the map path, download and GIF", list(METHODS), format_func=METHODS.get,
                          key="ip_method", horizontal=True,
                          help="Both latent rows are always shown. Linear walks the straight line μ_A → μ_B; "
                               "spherical walks the great-circle arc about the prior's centre (for codes at most 90° "
                               "apart ‖z‖ stays between their lengths, constant if they are equal; further apart it "
                               "can dip or bulge).")
        y_cls = None
        if am.conditional:
            y_cls = int(st.selectbox("Decode every frame as class (CVAE)", range(10),
                                     index=int(labels[idx["A"]]), format_func=names.__getitem__, key="ip_cls",
                                     help="A CVAE's z holds style only: the walk then morphs the style of the "
                                          f"chosen {noun} from A's to B's."))
        px, lines, per_line = frame_layout(steps, CONTENT_PX)
        size = f"112 px each, the size of a readable {noun}" if px == 112 else "56 px each so that 20 still fit"
        st.caption(f"Frames are shown at **{px} px** ({'≤ 10 steps' if px == 112 else 'more than 10 steps'}: {size})"
                   + (f", wrapped onto {lines} lines of {per_line}." if lines > 1 else ", on one line."))

    ends = mu[[idx["A"], idx["B"]]]
    st.subheader("Scrub the path (live)")
    args = explore_args(am, min(MAP_POINTS, n_all))
    live = live_interpolation(am, ends[0], ends[1], key="ip_live", method="slerp" if method == "spherical" else "lerp",
                              t=0.5, steps=steps, y=y_cls, report=False, **args)
    if live.ok:
        st.caption("Drag the slider, or along the strip of frames, and your browser decodes every in-between z "
                   "itself — z(t) for any t in [0, 1], not only the frames below. Switch between the straight line "
                   "and the arc above the map; the red ✕ is z(t).")
    w = walks(am.model, ends[0], ends[1], data.images[idx["A"]].numpy(), data.images[idx["B"]].numpy(), steps,
              y=y_cls)
    show_rows(w, px, per_line, am.conditional, noun)
    downloads(w, method, f"{am.name}-{idx['A']}-to-{idx['B']}-{method}-{steps}", steps)

    st.subheader("The path on the latent map")
    c_map, c_norm = st.columns([1.6, 1], gap="medium")
    with c_map:
        path_map(am, w, ends, method, labels, names)
    with c_norm:
        st.plotly_chart(norms_figure(w, am.latent_dim), key="ip_norm",
                        config={"displaylogo": False, "displayModeBar": False})
        st.caption("The straight line cuts the corner, so it runs closer to the origin than the arc — most of all "
                   "halfway between two codes of similar length. In many dimensions almost no codes live near the "
                   "origin (the prior's mass sits on a shell of radius ≈ √d), which is why spherical interpolation, "
                   "which keeps ‖z‖ up, is often preferred.")


main()
