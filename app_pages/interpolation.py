"""Interpolation: walk between two digits in latent space (linear / spherical) against a pixel cross-fade.

Session-state keys (read by the tests):
  interp_mu      (2, d) posterior means of the two endpoints (A, B)
  interp_frames  (steps, 28, 28) decoded frames of the chosen method (first/last = decode(μ_A), decode(μ_B))
  interp_y       the class the frames were decoded with (CVAE) or None
"""

from functools import partial

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from ui.images import gif_bytes, png_bytes, strip, to_image, to_image_cell, wrap_strip
from ui.pickers import digit_picker
from ui.plots import add_marker, add_path, latent_scatter, map_coords, overlays_on_top, selected_indices, to_map
from ui.state import require_data, require_model
from vae_core.latent import interpolate, pixel_crossfade

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


st.title("↔ Interpolation")
am = require_model()
data = require_data(am)
mu, _ = am.encodings()
labels = data.labels.numpy()
d, N = am.latent_dim, len(mu)
names = data.class_names or [str(c) for c in range(10)]

st.caption(
    "Pick two test digits A and B. Their codes μ_A and μ_B are two points in latent space; walking from one to the "
    "other and decoding every step shows what lives *between* them. The bottom row is the naive alternative: fade "
    "the two images into each other pixel by pixel.")

# --------------------------------------------------------------------------------------------- endpoints
st.session_state.setdefault("ip_A_rand", 0 % N)
st.session_state.setdefault("ip_B_rand", 1 % N)
idx: dict[str, int] = {}
cols = st.columns([1, 1, 1.05], gap="medium")
for e, col, cls0 in zip(ENDS, cols[:2], (3, 7)):
    with col:
        st.markdown(f"**Endpoint {e}**")
        src = st.radio(f"{e} is", list(SOURCES), format_func=SOURCES.get, key=f"ip_{e}_src", horizontal=False,
                       label_visibility="collapsed")
        if src == "pick":
            i = digit_picker(data, key=f"ip_{e}", label=e, default_class=cls0)
        elif src == "random":
            st.button("Another random digit", key=f"ip_{e}_rbtn", on_click=on_random, args=(e, N))
            i = int(st.session_state[f"ip_{e}_rand"]) % N
        else:
            i = st.session_state.get(f"ip_{e}_map")
            if i is None:
                st.info("Click a dot on the map below.")
                i = int(st.session_state[f"ip_{e}_rand"]) % N
            i = int(i)
        idx[e] = i
        st.image(to_image(data.images[i].numpy(), 112),
                 caption=f"{e} = test #{i} (label {names[labels[i]]})")
with cols[2]:
    st.markdown("**Path**")
    steps = st.slider("Steps (frames, ends included)", 3, 20, 10, key="ip_steps")
    method = st.radio("Method used for the map path, download and GIF", list(METHODS), format_func=METHODS.get,
                      key="ip_method", horizontal=True,
                      help="Both latent rows are always shown. Linear walks the straight line μ_A → μ_B; spherical "
                           "walks the great-circle arc about the prior's centre (keeps ‖z‖ from dipping).")
    y_cls = None
    if am.conditional:
        y_cls = int(st.selectbox("Decode every frame as class (CVAE)", range(10),
                                 index=int(labels[idx["A"]]), format_func=names.__getitem__, key="ip_cls",
                                 help="A CVAE's z holds style only: the walk then morphs the style of the chosen "
                                      "digit from A's to B's."))
    px = 112 if steps <= 10 else 56
    max_line = CONTENT_PX // (px + px // 28)
    lines = -(-steps // max_line)
    per_line = -(-steps // lines)
    st.caption(f"Frames are shown at **{px} px** ({'≤ 10 steps' if px == 112 else 'more than 10 steps'}: "
               f"{'112 px each, the size of a readable digit' if px == 112 else '56 px each so that 20 still fit'})"
               + (f", wrapped onto {lines} lines of {per_line}." if lines > 1 else ", on one line."))

mu_a, mu_b = mu[idx["A"]], mu[idx["B"]]
x_a, x_b = data.images[idx["A"]].numpy(), data.images[idx["B"]].numpy()
paths, frames = {}, {}
for m in METHODS:
    paths[m], frames[m] = interpolate(am.model, mu_a, mu_b, steps, m, y=y_cls)
fade = pixel_crossfade(x_a, x_b, steps).reshape(-1, 28, 28)
st.session_state["interp_mu"] = np.stack([mu_a, mu_b])
st.session_state["interp_frames"] = frames[method]
st.session_state["interp_y"] = y_cls

# --------------------------------------------------------------------------------------------- rows
ROWS = [
    ("linear", "Latent space, linear path", frames["linear"],
     "z = (1 − t)·μ_A + t·μ_B, decoded. First and last frames are the decoder's reconstructions of A and B."),
    ("spherical", "Latent space, spherical path", frames["spherical"],
     "z follows the arc between μ_A and μ_B around the origin (slerp), decoded."),
    ("fade", "Pixel cross-fade (baseline)", fade,
     "(1 − t)·x_A + t·x_B of the two original images: no model involved."),
]
for _, title, fr, expl in ROWS:
    st.markdown(f"**{title}** — {expl}")
    st.image(to_image_cell(wrap_strip(fr, per_line, pad=1), px))
st.caption(
    "**What to notice:** the latent frames stay digit-like — "
    + ("every frame is the chosen class, and the walk morphs only the style (slant, width) from A's to B's, "
       if am.conditional else "the stroke bends, thickens and may pass through other classes on the way, ")
    + "because the decoder only knows how to draw digits. The cross-fade instead passes through a ghostly double "
    "exposure that is no digit at all. The linear and spherical rows differ where their paths cross different regions "
    "of the map below (the arc bulges away from the origin)."
)

sel_frames = frames[method]
c1, c2, c3, _ = st.columns([1, 1, 1, 0.6])
tag = f"{am.name}-{idx['A']}-to-{idx['B']}-{method}-{steps}"
c1.download_button("⬇ Strip (PNG)", png_bytes(strip(sel_frames), 112), file_name=f"interp-{tag}.png",
                   mime="image/png", help=f"The {METHODS[method]} row as one image, 112 px per frame.",
                   width="stretch")
c2.download_button("⬇ Animation (GIF)", gif_bytes(sel_frames, 112, ms=100), file_name=f"interp-{tag}.gif",
                   mime="image/gif", help=f"The {METHODS[method]} walk, A → B → A, looping.", width="stretch")
compare = wrap_strip(np.concatenate([frames["linear"], frames["spherical"], fade]), steps)
c3.download_button("⬇ All three rows (PNG)", png_bytes(compare, 4 * compare.shape[0]),
                   file_name=f"interp-compare-{tag}.png", mime="image/png",
                   help="Linear, spherical and cross-fade rows stacked.", width="stretch")

# --------------------------------------------------------------------------------------------- map
st.subheader("The path on the latent map")
c_map, c_norm = st.columns([1.6, 1], gap="medium")
with c_map:
    st.radio("A click on a dot sets endpoint", ENDS, horizontal=True, key="ip_target",
             help="The endpoint switches to 'clicked on the map'; the next click then sets the other one.")
    n_map = min(MAP_POINTS, N)
    coords, axes = map_coords(am, n_map, "pca")
    fig = latent_scatter(coords, labels[:n_map], axes, customdata=np.arange(n_map), height=480,
                            class_names=names)
    fig.update_traces(marker=dict(size=4, opacity=0.45), selector=dict(type="scattergl"))
    for m in METHODS:
        xy = to_map(am, paths[m])
        add_path(fig, xy, METHODS[m] + (" ◀ chosen" if m == method else ""), color=PATH_COLORS[m])
        fig.data[-1].line.width = 3 if m == method else 1.5
        fig.data[-1].marker.size = 6 if m == method else 4
    add_marker(fig, to_map(am, mu_a), "A", color="#000", symbol="circle", size=14)
    add_marker(fig, to_map(am, mu_b), "B", color="#000", symbol="square", size=14)
    overlays_on_top(fig)
    fig.update_layout(dragmode="pan", legend=dict(itemsizing="constant", font=dict(size=11)))
    key = f"ip_map_{st.session_state.get('ip_map_gen', 0)}"
    st.plotly_chart(fig, key=key, on_select=partial(on_map_click, key), selection_mode="points",
                    config={"displaylogo": False})
    st.caption(
        f"The first {n_map:,} test means"
        + (" projected on their first two principal directions (a linear projection, so a straight path stays "
           "straight; the spherical arc is projected too)" if d > 2 else "")
        + ". ● = A, ■ = B; the dots on each path are the decoded frames. Click any dot to make it an endpoint.")
with c_norm:
    figN = go.Figure()
    t = np.linspace(0, 1, steps)
    top = np.sqrt(d)
    for m in METHODS:
        norms = np.linalg.norm(paths[m], axis=1)
        top = max(top, float(norms.max()))
        figN.add_trace(go.Scatter(x=t, y=norms, mode="lines+markers", name=METHODS[m],
                                  line=dict(color=PATH_COLORS[m])))
    figN.add_hline(y=np.sqrt(d), line_dash="dash", line_color="#777",
                   annotation_text=f"√d = {np.sqrt(d):.2f}: typical ‖z‖ of a prior sample",
                   annotation_position="top left")
    figN.update_layout(height=380, margin=dict(l=10, r=10, t=40, b=10), title="Distance from the origin ‖z‖",
                       xaxis_title="t (0 = A, 1 = B)", yaxis_title="‖z‖ (latent units)",
                       legend=dict(orientation="h", y=-0.25), yaxis_range=[0, top * 1.15])
    st.plotly_chart(figN, key="ip_norm", config={"displaylogo": False, "displayModeBar": False})
    st.caption("The straight line cuts the corner, so it runs closer to the origin than the arc — most of all "
               "halfway between two codes of similar length. In many dimensions almost no codes live near the origin "
               "(the prior's mass sits on a shell of radius ≈ √d), which is why spherical interpolation, which keeps "
               "‖z‖ up, is often preferred.")
