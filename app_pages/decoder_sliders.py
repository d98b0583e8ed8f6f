"""Decoder Sliders: set the latent code z by hand and watch the decoder draw p(x|z) live.

session_state: ``sliders_z`` is the current latent code (d,), kept across reruns and pages; the slider keys
``ds_z_i`` (z itself) or ``ds_pc_i`` (principal coordinates) hold the positions (ui.compute.sliders).
"""

from functools import partial

import numpy as np
import streamlit as st

from ui.fmt import example_noun
from ui.images import to_image
from ui.live import explore_args, live_decoder
from ui.pickers import digit_picker
from ui.state import ActiveModel, page_start
from ui.views.decoder_sliders import LIM, MAP_POINTS, SUB, on_from_digit, on_random, on_reset, panel, set_z, start_at
from vae_core.digits.analysis import active_mask


def on_live_release(am: ActiveModel, z: np.ndarray, y: int | None) -> None:
    """The live view's z (and class) on release: the server's sliders follow."""
    set_z(am, z)
    if y is not None:
        st.session_state["ds_cls"] = int(y)


def live_section(am: ActiveModel) -> None:
    """Sliders and a 2-D pad whose every position the browser decodes itself (ui.live)."""
    d = am.latent_dim
    z0 = np.clip(np.asarray(st.session_state.get("sliders_z", np.zeros(d)), dtype=np.float64), -LIM, LIM)
    if z0.shape != (d,):
        z0 = np.zeros(d)
    y0 = int(st.session_state.get("ds_cls", 3)) if am.conditional else None
    res = live_decoder(am, z0, key="ds_live", limit=LIM, y=y0, on_release=partial(on_live_release, am),
                       **explore_args(am, min(MAP_POINTS, len(am.encodings()[0]))))
    if res.ok:
        st.caption(
            f"**Live, in your browser:** the page runs the decoder itself, so the {example_noun(am.dataset_name)} "
            "follows every position of a "
            "slider while you drag it (not only when you let go). Drag on the map to move "
            + ("(z₁, z₂) directly" if d == 2 else
               "z within the plane of the first two principal directions of the test means (PC1, PC2); its other "
               "components stay as they are")
            + ". When you let go, the server's sliders below take the same z.")


def notice(am: ActiveModel) -> str:
    """What to notice, from the model's kind and its active units (vae_core's definition)."""
    d, w = am.latent_dim, example_noun(am.dataset_name)
    notice = "**What to notice:** small moves give small, smooth changes — the decoder is a continuous function of z. "
    if am.conditional:
        notice += ("In a CVAE, keep z fixed and change the class: the same style (slant, width) carries over to every "
                   f"{w}. ")
    elif d == 2:
        notice += ("In a 2-D model each slider is a genuine direction of variation (e.g. class *and* slant mixed "
                   "together). ")
    else:
        act = active_mask(am.encodings()[0])
        n_act = int(act.sum())
        if n_act < d:
            names_act = ", ".join(f"z{str(i + 1).translate(SUB)}" for i in np.flatnonzero(act))
            notice += (f"Only {n_act} of the {d} coordinates are *active* (their μ varies across test {w}s, "
                       "Var > 0.01)"
                       + (f": {names_act}" if n_act else "")
                       + f". The KL term switched the other {d - n_act} off — move them and almost nothing happens. "
                       "Steering along principal directions puts the active directions first; the last ones explain "
                       "~0% of the variance. ")
        else:
            notice += (f"All {d} coordinates are active (their μ varies across test {w}s), but each mixes several "
                       "features; steering along principal directions orders them by how much the codes vary. ")
    notice += ("Far outside ±2 the decoder extrapolates: strokes thicken or break up, because no training "
               f"{w} was encoded there.")
    return notice


def main() -> None:
    am, data = page_start("Decoder Sliders", any_images=True)
    d, w = am.latent_dim, example_noun(am.dataset_name)
    names = data.label_names

    # a new model (or a first visit) starts from z = 0 or the last code of this model
    if st.session_state.get("ds_model") != am.key:
        start_at(am.key, np.zeros(d))

    st.caption(
        f"The decoder turns any latent code z ({d} numbers) into an image. Drag the sliders to move z and watch what "
        f"it draws; the ✕ on the map shows where z sits among the codes of real test {w}s. Latent units are standard "
        "deviations of the prior N(0, I): a random prior sample stays mostly within ±2.")

    # controls (full reruns)
    c1, c2, c3 = st.columns([1, 1, 1.2])
    c1.button("Random prior sample", on_click=on_random, args=(am,), width="stretch",
              help="Draw z ~ N(0, I), the prior: what the model generates from scratch.")
    c2.button("⟲ Reset (z = 0)", on_click=on_reset, args=(am,), width="stretch", help="The centre of the prior.")
    with c3.popover(f"⤵ Start from a test {w}", width="stretch",
                    help=f"Set z to a test {w}'s posterior mean μ (what the encoder says about it)."):
        idx = digit_picker(data, key="ds_pick", label=f"Test {w}", default_class=3)
        c_im, c_go = st.columns([1, 1.6], vertical_alignment="center")
        c_im.image(to_image(data.images[idx].numpy(), 84, am.image_shape),
                   caption=f"test #{idx}, label {names[int(data.labels[idx])]}")
        c_go.button(f"Start from this {w}", on_click=on_from_digit, args=(am, idx), width="stretch", type="primary")

    live_section(am)
    st.subheader("On the server")
    st.caption("The same decoder run by the server: each release sends the slider to Python, which decodes and "
               "sends the picture back (the reference path, and the one used when the browser cannot run a model).")
    panel(am)
    st.caption(notice(am))


main()
