"""Decoder Sliders, the server part: one slider per latent dimension (or principal direction), the decoded
image and the small map, as a fragment; and the callbacks that move every slider to a given code.

session_state: ``sliders_z`` is the current latent code (d,), kept across reruns and pages; the slider keys
``ds_z_i`` (z itself) or ``ds_pc_i`` (principal coordinates) hold the positions (ui.compute.sliders).
"""

import time
from functools import partial

import numpy as np
import streamlit as st

from ui.compute.sliders import code_from_sliders, pct, slider_setting
from ui.fmt import example_noun
from ui.images import to_image
from ui.plots import add_marker, latent_scatter, map_coords, selected_indices, to_map
from ui.state import BY_MODEL_KEY, ActiveModel
from vae_core.digits.analysis import active_mask

LIM = 4.0  # slider range ± (latent units, or PCA std units)
STEP = 0.05
MAP_POINTS = 2000  # test means on the small map
FLUSH_PAUSE_S = 0.03  # see panel(): lets the decoded image reach the browser before the map
SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def zkey(i: int) -> str:
    return f"ds_z_{i}"


def pkey(i: int) -> str:
    return f"ds_pc_{i}"


def pca_mode() -> bool:
    return bool(st.session_state.get("ds_pca", False))


def start_at(model_key: str, z) -> None:
    """Decoder Sliders opens at code ``z`` for the model ``model_key``: THE way any page (Latent Map's "open in
    Decoder Sliders", this page on a new model) sets this page's keys; the sliders are rebuilt from ``sliders_z``."""
    st.session_state["ds_model"] = model_key
    st.session_state["sliders_z"] = np.asarray(z, dtype=np.float64)
    st.session_state["ds_clip"] = None
    for k in [k for k in st.session_state if str(k).startswith(("ds_z_", "ds_pc_"))]:
        del st.session_state[k]


def set_z(am: ActiveModel, z: np.ndarray) -> None:
    """Move every slider so that the code is z (callbacks only: runs before the sliders exist)."""
    steer = pca_mode() and am.latent_dim > 2
    setting = slider_setting(z, LIM, am.pca() if steer else None)
    st.session_state["sliders_z"] = setting.target
    st.session_state["ds_clip"] = setting if setting.n_clipped else None
    keyf = pkey if steer else zkey
    for i, v in enumerate(setting.values):
        st.session_state[keyf(i)] = float(v)


def on_random(am: ActiveModel) -> None:
    set_z(am, np.random.default_rng().standard_normal(am.latent_dim))


def on_reset(am: ActiveModel) -> None:
    set_z(am, np.zeros(am.latent_dim))


def on_from_digit(am: ActiveModel, idx: int) -> None:
    set_z(am, am.encodings()[0][idx])


def on_map_click(am: ActiveModel, key: str) -> None:
    """A dot clicked on the small map: jump to that test digit's μ, then give the chart a fresh key so the
    selection highlight does not linger."""
    sel = selected_indices(st.session_state.get(key))
    if sel:
        set_z(am, am.encodings()[0][sel[0]])
    st.session_state["ds_map_gen"] = st.session_state.get("ds_map_gen", 0) + 1


def on_mode(am: ActiveModel) -> None:
    set_z(am, st.session_state.get("sliders_z", np.zeros(am.latent_dim)))


@st.cache_resource(max_entries=16, hash_funcs=BY_MODEL_KEY)
def map_sample(am: ActiveModel) -> tuple[np.ndarray, np.ndarray, list[str], np.ndarray]:
    """A few thousand test means in map coordinates (cached per model): the fragment only adds the marker."""
    n = min(MAP_POINTS, len(am.encodings()[0]))
    coords, axes = map_coords(am, n, "pca")
    return coords, am.data().labels.numpy()[:n], axes, np.arange(n)


# ----------------------------------------------------------------------------- live part (fragment)
@st.fragment
def panel(am: ActiveModel) -> None:
    d, w = am.latent_dim, example_noun(am.dataset_name)
    names = am.data().label_names
    c_img, c_ctl = st.columns([1, 1.75], gap="medium")
    with c_ctl:
        if d > 2:
            st.toggle("Steer along principal directions of the posterior means", key="ds_pca", on_change=on_mode,
                      args=(am,),
                      help=f"The sliders then move z along the principal axes of the test {w}s' means (PC1 = the "
                           "direction in which the codes vary most), in units of each axis' standard deviation. The "
                           "current code is kept when you switch.")
        y_cls = None
        if am.conditional:
            y_cls = int(st.selectbox("Class to draw (CVAE)", range(10), index=3, format_func=names.__getitem__,
                                     key="ds_cls", help="A conditional VAE decodes (z, class): z sets the style."))
        steer = pca_mode() and d > 2
        ncols = 2 if d <= 2 else 4
        if steer:
            pca = am.pca()
            ratio, std = pca.explained_ratio, pca.std
            st.caption("Sliders = coordinates along the principal directions, in standard deviations of each; the "
                       "label gives the share of the test means' variance the direction explains.")
        z_cur = np.asarray(st.session_state.get("sliders_z", np.zeros(d)), dtype=np.float64)
        if z_cur.shape != (d,):
            z_cur = np.zeros(d)
        active = active_mask(am.encodings()[0]) if d > 2 else np.ones(d, bool)
        start = slider_setting(z_cur, LIM, am.pca() if steer else None)
        cols = st.columns(ncols)
        vals = np.zeros(d)
        for i in range(d):
            key = pkey(i) if steer else zkey(i)
            if key not in st.session_state:  # first render (or back from another page): show the current code
                st.session_state[key] = float(start.values[i])
            if steer:
                label = f"PC{i + 1} · {pct(ratio[i])}"
                hlp = (f"1 step = {std[i]:.3f} latent units along this direction, which explains {ratio[i]:.2%} of "
                       "the variance of the test means")
            else:
                label = f"z{str(i + 1).translate(SUB)}"
                hlp = None
                if d > 2 and not active[i]:
                    label += " · off"
                    hlp = (f"Inactive: this coordinate of μ barely varies across test {w}s (Var < 0.01) — the KL term "
                           "switched it off, so the decoder mostly ignores it.")
            vals[i] = cols[i % ncols].slider(label, -LIM, LIM, step=STEP, key=key, format="%.2f", help=hlp)
        z = code_from_sliders(vals, am.pca() if steer else None)
    st.session_state["sliders_z"] = z
    img = am.decode(z, y_cls)[0]

    with c_img:
        cap = "decoded p(x|z): pixel probabilities" + (f", class {names[y_cls]}" if y_cls is not None else "")
        st.image(to_image(img, 280), caption=cap)
        st.caption(f"‖z‖ = {np.linalg.norm(z):.2f} · a prior sample has ‖z‖ ≈ √{d} = {np.sqrt(d):.1f}")
        clip = st.session_state.get("ds_clip")
        if clip is not None and len(clip.values) == d and np.allclose(clip.values, vals):
            n_clip, target = clip.n_clipped, clip.target
            gap = np.abs(am.decode(target, y_cls)[0] - img).mean()
            st.caption(
                f"{n_clip} slider(s) of that code lay beyond ±{LIM:g} and were clipped, which moves z by "
                f"{np.linalg.norm(target - z):.2f} latent units; the image differs from the exact code's by "
                f"{gap:.1%} of full brightness per pixel on average."
                + (" Common in principal-direction mode: along the minor directions the test codes hardly vary (tiny "
                   "σ), so a prior sample lies many of their σ away — and the decoder mostly ignores those "
                   "directions." if steer else ""))

    # Let the server send the new image before the map is built: the browser then paints the image in its
    # own task instead of after redrawing the plotly map (slow in software-rendered Chromium);
    # python -m bench.ui_latency measures the slider -> image latency.
    time.sleep(FLUSH_PAUSE_S)
    with c_ctl:
        coords, labels, axes, idx = map_sample(am)
        fig = latent_scatter(coords, labels, axes, customdata=idx, height=320, class_names=names, webgl=False)
        fig.update_traces(marker=dict(size=4, opacity=0.5))
        add_marker(fig, to_map(am, z), "current z", color="black", size=15)
        fig.update_layout(margin=dict(l=10, r=10, t=10, b=10), dragmode="pan", showlegend=True,
                          legend=dict(font=dict(size=10), itemsizing="constant", tracegroupgap=0))
        key = f"ds_map_{st.session_state.get('ds_map_gen', 0)}"
        st.plotly_chart(fig, key=key, on_select=partial(on_map_click, am, key), selection_mode="points",
                        config={"displaylogo": False, "displayModeBar": False})
        if d > 2:
            st.caption(f"{MAP_POINTS:,} test means projected on their first two principal directions; ✕ = the "
                       "current z, projected the same way (codes that differ only in the other directions land on "
                       f"the same spot). Click a dot to jump to that {w}'s code.")
        elif am.conditional:
            st.caption(f"{MAP_POINTS:,} test means; ✕ = the current z. In a CVAE the class comes from the menu "
                       f"above, so z only sets the style the chosen {w} is drawn in. Click a dot to jump to its "
                       "code.")
        else:
            st.caption(f"{MAP_POINTS:,} test means; ✕ = the current z. Move it into a cluster and the decoder "
                       f"draws that {w}; between clusters it draws a blend. Click a dot to jump to its code.")
