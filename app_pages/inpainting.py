"""Inpainting: the seed's ImageInpaintingVAE, iterated: x̂ = m ⊙ x_recon + (1 − m) ⊙ x_known.
"""

import numpy as np
import plotly.graph_objects as go
import streamlit as st
from PIL import Image

from ui.component_values import canvas_rgba
from ui.compute.inpainting import TOL, complete, random_steps
from ui.images import PX, show_digits, to_image
from ui.pickers import digit_picker
from ui.plots import chart_beside
from ui.state import page_start
from ui.text import plain
from vae_core.digits.applications import MASKS, make_mask, mask_from_canvas, mask_overlay

DRAWN = "drawn"
MASK_LABELS = {"top": "top half", "bottom": "bottom half", "left": "left half", "right": "right half",
               "centre": "centre square", "random box": "random box", "random pixels": "random pixels (50 %)",
               DRAWN: "drawn by you"}
HOLE = (0.86, 0.22, 0.22)  # colour of a missing pixel in the "masked input" picture
CANVAS = 280


def rgb_image(rgb: np.ndarray, size: int = PX) -> Image.Image:
    a8 = (np.clip(rgb, 0, 1) * 255).round().astype(np.uint8)
    scale = max(1, round(size / rgb.shape[0]))
    return Image.fromarray(a8, mode="RGB").resize((rgb.shape[1] * scale, rgb.shape[0] * scale), Image.NEAREST)


def bump(key: str) -> None:
    st.session_state[key] = int(st.session_state.get(key, 0)) + 1


def drawn_mask(x: np.ndarray, idx: int):
    """A canvas over the digit; painted cells are missing. None (with a message) when unusable."""
    try:
        from streamlit_drawable_canvas import st_canvas
    except Exception as exc:  # the component needs the Streamlit server (not available in every runtime)
        st.warning(f"The drawing canvas is not available here ({type(exc).__name__}). Pick another mask.")
        return None
    width = st.slider("Brush width (px on the 280 px canvas)", 10, 60, 30, key="inp_brush")
    st.html("<div style='height: 1.6rem'></div>")  # room for the canvas toolbar, which floats above it
    bg = to_image(x, CANVAS).convert("RGB")
    try:
        res = st_canvas(stroke_width=width, stroke_color="rgba(220, 40, 40, 0.85)", background_image=bg,
                        height=CANVAS, width=CANVAS, drawing_mode="freedraw", return_image_data=True,
                        update_streamlit=True, key=f"inp_canvas_{idx}")
        img, problem = canvas_rgba(res, 4 * CANVAS)  # checked strictly, size capped before decoding (#21)
    except Exception as exc:
        st.warning(f"The drawing canvas failed ({type(exc).__name__}: {plain(exc)}). Pick another mask.")
        return None
    if problem:
        st.warning(problem)
    if img is None:
        return None
    return mask_from_canvas(img)


def main() -> None:
    am, data = page_start("Inpainting")
    names = data.label_names
    st.markdown(
        "Hide part of a digit and let the VAE fill it in. One pass of the seed's `ImageInpaintingVAE.inpaint` encodes "
        "the damaged image, decodes a z, and keeps the decoded pixels **only inside the hole**:")
    st.latex(r"\hat x \;=\; m \odot x_{\text{recon}} \;+\; (1 - m) \odot x_{\text{known}},"
             r"\qquad m_i = 1 \text{ if pixel } i \text{ is missing, } 0 \text{ if known}")
    st.markdown(
        "A single pass starts from a blank hole, so the code is a poor guess. Repeating it — re-encode the completed "
        "picture, redraw the hole — lets the hole and the visible part agree:")
    st.latex(r"x_{t+1} = m \odot \text{decode}(z_t) + (1-m) \odot x_{\text{known}},\qquad\text{where}")
    st.latex(r"z_t \sim q_\phi(z \mid x_t)\ \ \text{(random step)}\qquad\text{or}\qquad "
             r"z_t = \mu_\phi(x_t)\ \ \text{(steady step)}")
    st.info("**Known pixels are never changed.** They are copied from the input at every step, bit for bit; the "
            "check below measures max |completion − original| over them, which is exactly 0.",
            icon=":material/lock:")

    # ---------------------------------------------------------------------------------------------- controls
    c_in, c_par = st.columns([1.15, 1], gap="large")
    with c_in:
        st.markdown("**The digit and the hole**")
        idx = digit_picker(data, key="inp", default_class=7)
        x = data.images[idx]
        kinds = [*MASKS, DRAWN]
        kind = st.selectbox("Mask (missing pixels)", kinds, index=kinds.index("bottom"), format_func=MASK_LABELS.get,
                            key="inp_mask")
        if kind in ("random box", "random pixels"):
            mseed = st.number_input("Mask seed", 0, 10**6, 0, key="inp_mseed")
            mask = make_mask(kind, seed=int(mseed))
        elif kind == DRAWN:
            st.caption("Paint over the pixels to hide (red). Each 10×10 block of the canvas is one pixel; a pixel "
                       "counts as missing when at least 20 % of it is painted. Use the canvas toolbar to undo or "
                       "clear.")
            mask = drawn_mask(x.numpy(), idx)
            if mask is None or not bool(mask.any()):
                st.info("Nothing painted yet: paint over part of the digit to make a hole.")
                st.stop()
        else:
            mask = make_mask(kind)
    with c_par:
        st.markdown("**How the hole is filled**")
        n_iter = st.slider("Iterations (at most)", 1, 200, 60, key="inp_iter",
                           help="The most passes a chain may run; it stops earlier once the hole changes by less than "
                                f"{TOL:g} per pixel between passes.")
        n_samples = st.slider("Number of completions (independent chains)", 1, 12, 6, key="inp_n")
        stoch_set = st.slider("Random steps before settling", 0, 200, 20, key="inp_stoch",
                              help="Values at or above the iteration limit make every step random.")
        stoch = random_steps(stoch_set, n_iter)
        st.caption(
            "**Random steps** draw z from q(z|x): each chain gets its own guesses, so completions can come out "
            "different — but they never fully settle, since every step adds fresh randomness. **Steady steps** use "
            "the encoder's best guess z = μ: a chain settles within about 10–35 steps, but chains often settle on "
            "the same answer. So: a few random steps to explore, then steady steps to finish. "
            "All random (≥ iterations) → most variety, no early stop; 0 → fastest, least variety. "
            f"Now: **{stoch} random step{'s' if stoch != 1 else ''}**"
            + (f", then up to {int(n_iter) - stoch} steady ones." if stoch < n_iter else ", no steady ones."))
        fill = st.radio("Start the hole as", ["black", "noise"], horizontal=True, key="inp_fill",
                        format_func={"black": "black (0)", "noise": "random noise (per chain)"}.get)
        y = None
        if am.conditional:
            y = int(st.selectbox("Complete it as class (CVAE)", range(am.model.num_classes),
                                 index=int(data.labels[idx]), format_func=names.__getitem__, key="inp_ycls",
                                 help="A CVAE needs a label: the true one by default. Try another and the hole is "
                                      "filled with strokes of that digit."))
        st.session_state.setdefault("inp_seed", 0)
        c1, c2 = st.columns([1, 1], vertical_alignment="bottom")
        c1.number_input("Chain seed", 0, 10**6, key="inp_seed")
        c2.button("Run again", icon=":material/casino:", key="inp_rerun", on_click=bump, args=("inp_seed",),
                  width="stretch", help="New random draws for every chain.")

    res = complete(am.model, x, mask, n_iter, n_samples, stoch_set, fill, int(st.session_state["inp_seed"]), y=y)
    its, conv = res.iterations, res.converged

    # ---------------------------------------------------------------------------------------------- results
    st.subheader("Result")
    n_hole = res.n_hole
    c1, c2, c3 = st.columns([1, 1, 2.4], gap="medium")
    c1.image(to_image(x.numpy(), PX), width=PX,
             caption=f"original: test #{idx} (a {names[int(data.labels[idx])]})")
    c2.image(rgb_image(mask_overlay(x, res.mask, HOLE), PX), width=PX,
             caption=f"input: {n_hole} of 784 pixels missing (red)")
    with c3:
        st.metric("max |completion − original| over the known pixels", f"{res.known_change:g}",
                  help="over every completion and every known pixel. Exactly 0: known pixels are copied, never "
                       "redrawn.")
        m2, m3 = st.columns(2)
        m2.metric("error in the hole", f"{res.hole_error:.3f}",
                  help="mean |completion − truth| over the missing pixels (0–1 per pixel), averaged over the "
                       "completions. The chains never saw the truth.")
        m3.metric("spread of the completions", f"{res.spread:.3f}",
                  help="pixel-wise standard deviation across the completions, averaged over the hole (0 = identical)")
        st.caption("Completions agree closely when the visible part leaves little doubt, after steady steps, or when "
                   "a 2-D latent space has room for only one good answer; a 20-D model gives more variety.")

    st.markdown(f"**{n_samples} completion{'s' if n_samples > 1 else ''}** (each from its own chain of posterior "
                "samples; the hole's final pixels are decode(μ) of the last picture)")
    caps = [f"chain {j + 1}: {int(its[j])} step{'s' if its[j] != 1 else ''}"
            + (" · settled" if conv[j] else " · hit the limit") for j in range(len(its))]
    show_digits(res.completions, caps, size=PX if n_samples <= 6 else 112, per_row=min(int(n_samples), 6))

    # ---------------------------------------------------------------------------------------------- convergence
    st.subheader("Convergence")
    ct = res.chain_trace
    steps = np.arange(1, ct.shape[0] + 1)
    fig = go.Figure()
    for j in range(ct.shape[1]):
        fig.add_trace(go.Scatter(x=steps, y=ct[:, j], mode="lines", name=f"chain {j + 1}", opacity=0.55,
                                 line=dict(width=1.2), connectgaps=False))
    fig.add_trace(go.Scatter(x=steps, y=res.trace, mode="lines", name="mean of running chains",
                             line=dict(color="black", width=3)))
    fig.add_hline(y=TOL, line_dash="dash", line_color="#2ca02c", annotation_text=f"stop below {TOL:g}",
                  annotation_position="bottom left")
    if 0 < stoch < ct.shape[0]:
        fig.add_vline(x=stoch + 0.5, line_dash="dot", line_color="#555", annotation_text="random → steady steps",
                      annotation_position="top right")
    fig.update_layout(height=380, margin=dict(l=10, r=10, t=30, b=10),
                      yaxis=dict(type="log", dtick=1, exponentformat="e"),
                      xaxis_title="iteration t", yaxis_title="mean |xₜ − xₜ₋₁| over the hole (log)",
                      legend=dict(orientation="h", y=-0.25))
    with chart_beside(fig, "inp_trace", (2, 1)):
        st.markdown(
            "How much the hole changed at each pass, per chain. During **random steps** the change hovers at a noise "
            "floor set by the width of q(z|x). Once the chains switch to **steady steps** it falls fast, and a chain "
            f"stops as soon as it is below {TOL:g}. A chain that never switches runs to the iteration limit.")
        st.caption(f"Steps used: {', '.join(str(int(v)) for v in its)} (limit {n_iter}).")


main()
