"""Latent Editing: move a digit's code along an attribute direction, z' = z + α·Δz (seed §风格迁移与编辑).

Directions come from the data: the difference of two class means of μ, or a style direction found by regressing
μ on a measured image feature (ink amount, stroke thickness, slant, width).
"""

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from ui.compute.editing import edit, row_strengths
from ui.fmt import FEATURE_LABELS, FEATURE_UNITS, format_feature
from ui.images import PX, show_digits, to_image
from ui.pickers import digit_source
from ui.plots import chart_beside
from ui.state import BY_MODEL_KEY, ActiveModel, page_start
from vae_core.digits.applications import (
    best_class,
    class_mean_direction,
    edit_sweep,
    feature_std,
    image_features,
    style_direction,
    trend,
)

EDIT_FEATURES = ("ink", "thickness", "slant", "width")
N_ROW = 5  # edits in the row: one row of 140 px digits fits 1280 px


@st.cache_data(show_spinner="Measuring every test digit…", max_entries=8)
def test_features(dataset: str, _images) -> dict[str, np.ndarray]:  # noqa: ARG001 - dataset: cache key of _images
    return {k: v.numpy() for k, v in image_features(_images).items()}


@st.cache_data(show_spinner=False, max_entries=64, hash_funcs=BY_MODEL_KEY)
def style_dir(am: ActiveModel, feature: str, _feats) -> np.ndarray:
    """Δz of ``feature``: the test means regressed on the feature's standardised values (_feats: of the test set)."""
    return style_direction(am.encodings()[0], _feats, feature).numpy()


def main() -> None:
    am, data = page_start("Latent Editing")
    names = data.label_names
    mu_all, _ = am.encodings()
    labels = data.labels.numpy()
    feats = test_features(am.dataset_name, data.images)
    sds = feature_std(feats)
    st.markdown(
        "Every image has a code z. Find a **direction** Δz in latent space that goes with some attribute, push the "
        "code "
        "along it, and decode — the seed's recipe for editing an image:")
    st.latex(r"z = \text{Encoder}(x), \qquad z' = z + \alpha \cdot \Delta z, \qquad x' = \text{Decoder}(z')")
    st.caption("Here z is the posterior mean μ(x) (the seed's sketch samples z ~ q(z|x); using μ keeps the edit "
               "free of random noise). α is the strength.")

    c_src, c_dir = st.columns([1, 1.1], gap="large")
    with c_src:
        st.markdown("**The digit**")
        x, idx, desc = digit_source(data, key="le", default_class=7)
        y = None
        if am.conditional:
            default = int(labels[idx]) if idx is not None else int(best_class(am.model, x[None])[0])
            y = int(st.selectbox("Decode as class (CVAE label)", range(am.model.num_classes), index=default,
                                 format_func=names.__getitem__, key="le_label",
                                 help="A CVAE is given the label, so the class is not in z: edits change style only."))
    with c_dir:
        st.markdown("**The direction**")
        kinds = ["style"] if am.conditional else ["style", "class"]
        kind = st.radio("Attribute", kinds, horizontal=True, key="le_kind",
                        format_func={"style": "a style feature", "class": "one digit → another"}.get)
        feature = st.selectbox("Style feature" if kind == "style" else "Feature measured under each image",
                               EDIT_FEATURES, index=EDIT_FEATURES.index("slant"), key="le_feat",
                               format_func=lambda f: f"{FEATURE_LABELS[f]} ({FEATURE_UNITS[f]})")
        if kind == "style":
            direction = style_dir(am, feature, feats)
            alpha = st.slider("Strength α (standard deviations of the feature)", -3.0, 3.0, 2.0, step=0.25,
                              key="le_alpha")
            unit = FEATURE_UNITS[feature]
            st.caption(
                f"Δz = the slope of μ regressed on the standardised {FEATURE_LABELS[feature]} of the {len(labels):,} "
                f"test "
                f"digits: how the code moves, on average, when the feature rises by one standard deviation "
                f"({sds[feature]:.2f} {unit}). ‖Δz‖ = {np.linalg.norm(direction):.2f} latent units.")
        else:
            c1, c2 = st.columns(2)
            src_default = int(labels[idx]) if idx is not None else 7
            src = int(c1.selectbox("from class", range(10), index=src_default, format_func=names.__getitem__,
                                   key="le_src"))
            dst = int(c2.selectbox("to class", range(10), index=(src_default + 5) % 10, format_func=names.__getitem__,
                                   key="le_dst"))
            direction = class_mean_direction(mu_all, labels, src, dst).numpy()
            alpha = st.slider("Strength α (1 = the full step between the class means)", -0.5, 2.0, 1.0, step=0.1,
                              key="le_alpha_class")
            st.caption(f"Δz = mean μ of the {names[dst]}s − mean μ of the {names[src]}s in the test set "
                       f"(‖Δz‖ = {np.linalg.norm(direction):.2f} latent units). α = 1 moves a typical {names[src]} to "
                       f"a "
                       f"typical {names[dst]}.")

    strengths = row_strengths(kind, alpha, N_ROW)
    e = edit(am.model, x, direction, alpha, strengths, feature, y=y)
    z, row, row_vals, edited = e.z, e.row, e.row_values, e.edited
    edited_val, recon_val, orig_val = e.edited_value, e.recon_value, e.original_value

    # ------------------------------------------------------------------------------------------- result
    st.subheader("The edit")
    c1, c2, c3, c4 = st.columns([1, 1, 1, 1.6], gap="medium")
    c1.image(to_image(x, PX), width=PX, caption=f"original: {desc} · {format_feature(feature, orig_val)}")
    c2.image(to_image(e.recon, PX), width=PX,
             caption=f"decode(z), α = 0 · {format_feature(feature, recon_val)}")
    c3.image(to_image(edited, PX), width=PX, caption=f"decode(z + {alpha:g}·Δz) · "
             f"{format_feature(feature, edited_val)}")
    with c4:
        delta = edited_val - recon_val
        st.metric(f"{FEATURE_LABELS[feature]} after the edit", format_feature(feature, edited_val).split(": ", 1)[1],
                  delta=(f"{delta:+.2f}" if feature == "slant" else f"{delta:+.1f}") + f" {FEATURE_UNITS[feature]}",
                  delta_color="off", help="measured on the edited image, against the unedited reconstruction (α = 0)")
        st.caption("Compare with the reconstruction at α = 0, not with the original: the decoder's redraw is already a "
                   "little blurrier and thicker than the pen stroke.")

    lo, hi = float(strengths[0]), float(strengths[-1])
    st.markdown(f"**α from {lo:g} to {hi:g}**, with the {FEATURE_LABELS[feature]} measured on each image")
    show_digits(row, [f"α = {a:+.2f} · {format_feature(feature, v)}" for a, v in zip(strengths, row_vals, strict=True)],
                   size=PX, per_row=N_ROW)

    # ------------------------------------------------------------------------------------------- curve
    grid = np.linspace(-3.0, 3.0, 25) if kind == "style" else np.linspace(-0.5, 2.0, 26)
    curve = edit_sweep(am.model, z, direction, grid, y=y)["features"][feature].numpy()
    fig = go.Figure()
    m, sd = float(np.mean(feats[feature])), sds[feature]
    fig.add_hrect(y0=m - sd, y1=m + sd, fillcolor="#1f77b4", opacity=0.12, line_width=0,
                  annotation_text="test digits: mean ± 1 SD", annotation_position="top left")
    fig.add_trace(go.Scatter(x=grid, y=curve, mode="lines+markers", name="edited image", line=dict(width=3)))
    fig.add_trace(go.Scatter(x=[alpha], y=[edited_val], mode="markers", name=f"α = {alpha:g}",
                             marker=dict(size=14, color="#d62728", symbol="diamond")))
    fig.update_layout(height=340, margin=dict(l=10, r=10, t=30, b=10), xaxis_title="strength α",
                      yaxis_title=f"{FEATURE_LABELS[feature]} ({FEATURE_UNITS[feature]})",
                      legend=dict(orientation="h", y=-0.3))
    with chart_beside(fig, "le_curve"):
        rho = trend(grid, curve)
        span = float(curve.max() - curve.min())
        lo_v, hi_v = (format_feature(feature, v).split(": ", 1)[1] for v in (curve.min(), curve.max()))
        msg = (f"**What to notice.** Over α from {grid[0]:g} to {grid[-1]:g} the measured {FEATURE_LABELS[feature]} of "
               f"the decoded digit ranges from {lo_v} to {hi_v} ({span / sd:.1f} test-set standard deviations)"
               + (f"; its rank correlation with α is {rho:+.2f}. " if np.isfinite(rho) else ": it does not change. "))
        if kind == "style":
            if not np.isfinite(rho):
                msg += "This direction leaves the feature alone for this digit. "
            elif rho > 0.9:
                msg += "It rises steadily: the direction really carries this feature. "
            elif rho > 0.5:
                msg += "It rises overall, but not steadily: the direction also drags in other changes. "
            else:
                msg += ("It does not rise steadily: this direction is mixed up with other things, so the decoded image "
                        "changes in other ways (often into another digit) instead. ")
        else:
            msg += (f"Half-way, the code sits between the {names[src]} and {names[dst]} clusters and the decoder "
                    f"draws a "
                    "blend. ")
        if am.conditional:
            msg += "A CVAE's z holds only style, so the class stays fixed while the style moves."
        elif am.latent_dim == 2:
            msg += ("With only 2 latent numbers, style and identity share the same two axes: push far and the digit "
                    "turns into another class.")
        else:
            msg += f"With {am.latent_dim} latent numbers there is room for style to move without changing the digit."
        st.markdown(msg)
        ink = format_feature("ink", float(image_features(edited)["ink"][0]))
        st.caption(f"Units: ink = sum of grey levels (one full white pixel = 1 px); thickness = 2·area/perimeter of "
                   f"the strokes (px); slant = shear of the ink (+ leans right like /); width = bounding-box width "
                   f"(px). "
                   f"Edited image now: {ink}.")


main()
