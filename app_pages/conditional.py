"""Conditional VAE: choose the digit, keep the style.

Works with a CVAE (q(z|x,y), p(x|z,y)); with a plain VAE active it borrows the shipped ``mnist-cvae-z2``.
"""

import streamlit as st

from ui.compute.conditional import swap_grid, swap_rows
from ui.images import GREY, to_image_cell, wrap_strip
from ui.pickers import digit_picker
from ui.state import get_model, require_data, require_model
from vae_core import CheckpointError
from vae_core.digits.applications import class_samples
from vae_core.latent import manifold_grid

CVAE_KEY = "shipped/mnist-cvae-z2"


def bump(key: str) -> None:
    st.session_state[key] = int(st.session_state.get(key, 0)) + 1


def main() -> None:
    st.title("Conditional VAE")
    active = require_model()
    if active.conditional:
        am = active
    else:
        try:
            am = get_model(CVAE_KEY)
        except (CheckpointError, FileNotFoundError, KeyError, OSError):
            st.warning(f"The active model **{active.name}** is a plain VAE (no class input), and the shipped "
                       f"conditional model `{CVAE_KEY.split('/')[1]}` is not available on this server. Train one "
                       "with *Conditional (CVAE)* ticked on the **Train & Models** page, then pick it in the sidebar.")
            st.stop()
        st.info(f"The active model **{active.name}** is a plain VAE: it has no class input. This page uses the "
                f"shipped CVAE **{am.name}** instead. To use another conditional model, pick it in the sidebar.",
                icon=":material/info:")
    data = require_data(am)
    names = data.label_names
    K = am.model.num_classes
    d = am.latent_dim

    st.markdown(
        "A conditional VAE is told the label **y** on both sides. The encoder no longer has to spend its code on "
        "*which* digit it sees, so **z** keeps what the label does not say: slant, width, stroke thickness. The "
        "decoder then draws *the digit you ask for* in *the style z describes*.")
    st.latex(r"q_\phi(z \mid x, y)\ \ \text{(conditional encoder)} \qquad "
             r"p_\theta(x \mid z, y)\ \ \text{(conditional decoder)}")
    st.latex(r"\log p_\theta(x \mid y) \;\ge\; \mathbb{E}_{q_\phi(z\mid x,y)}\big[\log p_\theta(x \mid z, y)\big]"
             r" \;-\; D_{KL}\big(q_\phi(z \mid x, y)\,\|\,p(z)\big), \qquad p(z) = \mathcal{N}(0, I)")

    # ------------------------------------------------------------------------------------ 1. samples of one class
    st.subheader("1 · Ask for a digit")
    cls = int(st.radio("Class y", range(K), format_func=names.__getitem__, horizontal=True, key="cv_cls",
                       index=min(3, K - 1)))
    c1, c2, c3, _ = st.columns([1.4, 0.8, 0.8, 0.6], gap="medium", vertical_alignment="bottom")
    with c1:
        n = st.slider("Number of samples", 6, 36, 12, step=6, key="cv_n")
    with c2:
        st.session_state.setdefault("cv_seed", 0)
        st.number_input("Seed", 0, 10**6, key="cv_seed", help="Same seed, same z draws: the samples are reproducible.")
    with c3:
        st.button("Resample", icon=":material/casino:", key="cv_resample", on_click=bump, args=("cv_seed",),
                  width="stretch")
    samples = class_samples(am.model, cls, n, seed=int(st.session_state["cv_seed"])).numpy().reshape(-1, 28, 28)
    st.image(to_image_cell(wrap_strip(samples, 6), 112),
             caption=f"{n} draws z ~ N(0, I), each decoded by p(x | z, y = {names[cls]}) (pixel means shown).")

    # ------------------------------------------------------------------------------ 2. same z, all ten classes
    st.subheader("2 · Same z, all ten classes")
    c1, c2, c3 = st.columns([1.5, 1, 0.8], gap="medium", vertical_alignment="bottom")
    src = c1.radio("Where the z come from", ["test digits", "prior"], key="cv_src",
                   format_func={"test digits": "styles of test digits (μ under their own label)",
                                "prior": "random draws from the prior N(0, I)"}.get)
    n_z = c2.slider("How many z (rows)", 1, 6, 4, key="cv_nz")
    st.session_state.setdefault("cv_zseed", 0)
    c3.button("Other rows", icon=":material/casino:", key="cv_zresample", on_click=bump, args=("cv_zseed",),
              width="stretch", help="New random test digits (the first row stays the picked one) or new prior draws.")
    zseed = int(st.session_state["cv_zseed"])
    if src == "test digits":
        with st.columns([1.5, 1.8])[0]:
            i0 = digit_picker(data, key="cv_pick", label="First row's digit", default_class=7)
        rows = swap_rows(am.model, n_z, zseed, data.images, data.labels, first=i0)
        sources = data.images[rows.indices].numpy()
        row_notes = [f"test #{i} (a {names[int(data.labels[i])]})" for i in rows.indices]
    else:
        rows = swap_rows(am.model, n_z, zseed)
        sources = None
        row_notes = [f"z{j + 1}" for j in range(n_z)]
    st.image(to_image_cell(swap_grid(rows, sources, fill=GREY), 84), width="stretch")
    head = "First column: the test digit whose style is borrowed; then " if sources is not None else "Columns: "
    st.caption(f"{head}the classes {names[0]}–{names[-1]}, left to right. Rows: " + "; ".join(row_notes) + ".")
    st.markdown(
        "**Why every row looks like one hand.** Each row is ONE code z decoded ten times with a different label y. "
        "Because q(z | x, y) is given the label, the code does not need to say which digit it is: it holds the "
        "*style*, and the label says *which digit*. Swapping y keeps the slant, width and stroke and changes the "
        "digit. A plain VAE cannot do this: its z must encode the class too.")

    # ---------------------------------------------------------------------------------- 3. latent grid per class
    st.subheader("3 · The latent space of one class")
    c1, c2 = st.columns([1, 2.2], gap="large")
    with c1:
        gcls = int(st.selectbox("Class", range(K), format_func=names.__getitem__, key="cv_gcls", index=min(8, K - 1)))
        r = st.slider("Range ±r (latent units)", 0.5, 4.0, 2.5, step=0.25, key="cv_range",
                      help="The lattice spans [−r, r] on both axes. The prior puts 95 % of its mass within ±2 per "
                           "axis.")
        res = st.slider("Resolution (digits per side)", 5, 20, 12, key="cv_res")
        st.caption(
            "Every cell decodes one lattice point z with the same label y. Across the grid only the style changes. "
            + ("Axes: z₁ left → right, z₂ bottom → top." if d == 2 else
               f"This model has {d} latent dimensions: the lattice varies z₁ (left → right) and z₂ (bottom → top) "
               "with every other coordinate held at 0, the prior's mean."))
    with c2:
        lattice = manifold_grid(am.model, (-r, r), (-r, r), res, y=gcls)
        st.image(to_image_cell(lattice, 56 if res <= 12 else 28), width="stretch",
                 caption=f"p(x | z, y = {names[gcls]}) on a {res}×{res} lattice over [−{r:g}, {r:g}]².")


main()
