"""Anomaly detection: a VAE trained on digits scores odd inputs badly (seed §3: reconstruction error > threshold).
"""

from collections import OrderedDict

import numpy as np
import plotly.graph_objects as go
import streamlit as st
import torch

from ui.compute.anomaly import NORMAL, most_anomalous, separation, threshold_options
from ui.images import strip, to_image_cell
from ui.plots import chart_beside
from ui.state import BY_MODEL_KEY, ActiveModel, page_start
from ui.truth_views import anomaly_floor_section
from vae_core.digits.applications import (
    anomaly_scores,
    as_image_rows,
    inverted,
    mean_reconstruction,
    rotated,
    score_bins,
    score_histograms,
    sklearn_digits_upscaled,
    uniform_noise,
)

KINDS = {"recon_bce": "Reconstruction error", "neg_elbo": "−ELBO"}
KIND_HELP = {
    "recon_bce": "BCE between x and its reconstruction decode(μ(x)), summed over the 784 pixels (the seed's "
                 "'reconstruction error'). Deterministic.",
    "neg_elbo": "−ELBO = reconstruction term with a sampled z + KL(q(z|x) ‖ p(z)), one Monte-Carlo estimate. With a "
                "true likelihood (binary pixels, continuous Bernoulli) it estimates an upper bound on −log p(x); "
                "with the Bernoulli cross-entropy on grey pixels it is a cross-entropy objective, not a bound on "
                "any −log p(x).",
}
COLORS = {NORMAL: "#1f77b4", "uniform noise": "#7f7f7f", "inverted": "#d62728", "rotated": "#ff7f0e",
          "sklearn 8×8 digits": "#2ca02c", "your drawing": "#9467bd"}
SEED = 0


def color(name: str) -> str:
    return next((c for k, c in COLORS.items() if name.startswith(k)), "#8c564b")


@st.cache_resource(show_spinner="Building the input sets…", max_entries=8)
def build_inputs(dataset: str, n: int, angle: int, _data) -> OrderedDict:  # noqa: ARG001 - dataset: cache key of _data
    """The normal set and the OOD sets, (≤ n, 784) each, deterministic in (dataset, n, angle)."""
    normal = _data.subset(n, seed=SEED).images
    base = _data.subset(n, seed=SEED + 1).images  # other test digits to invert / rotate
    return OrderedDict([
        (NORMAL, normal),
        ("uniform noise", uniform_noise(n, SEED)),
        ("inverted", inverted(base)),
        (f"rotated {angle}°", rotated(base, angle)),
        ("sklearn 8×8 digits", sklearn_digits_upscaled(n, SEED)),
    ])


@st.cache_data(show_spinner="Scoring every input…", max_entries=16, hash_funcs=BY_MODEL_KEY)
def score_all(am: ActiveModel, n: int, angle: int, kind: str, _inputs) -> dict:  # noqa: ARG001 - n, angle: cache key of _inputs
    """{set: (scores (N,) nats, best labels (N,) or None)}; labels only for a CVAE scored without y. The inputs
    are determined by (n, angle) and the model's data set."""
    out = {}
    for name, x in _inputs.items():
        s = anomaly_scores(am.model, x, generator=torch.Generator().manual_seed(SEED))
        lab = s.get("label")
        out[name] = (s[kind].numpy().astype(np.float64), None if lab is None else lab.numpy())
    return out


def main() -> None:
    am, data = page_start("Anomaly Detection")
    st.markdown(
        "A VAE trained only on handwritten digits has learnt what digits look like. The seed's recipe: "
        "*reconstruction error > threshold → anomaly*; no anomalous example is needed for training. It works when "
        "the odd input is hard to encode and redraw (noise, inverted digits), but not in general: an all-black "
        "page scores lower than almost every real digit (see *What the score cannot tell* at the bottom).")
    st.latex(r"\text{reconstruction error: }\ \text{recon}(x) = -\sum_{i=1}^{784}\big[x_i\log\hat x_i + "
             r"(1-x_i)\log(1-\hat x_i)\big],\qquad \hat x = \text{decode}(\mu_\phi(x))")
    st.latex(r"-\text{ELBO: }\ -\mathcal{L}(x) = -\mathbb{E}_{q_\phi(z|x)}[\log p_\theta(x|z)] + "
             r"D_{KL}(q_\phi(z|x)\,\|\,p(z)) \;\ge\; -\log p_\theta(x)\ \ \text{(in expectation, for a true "
             r"likelihood)}")
    st.latex(r"\text{flag } x \text{ as anomalous} \iff \text{score}(x) \ge \tau")

    c1, c2, c3 = st.columns([1.3, 1, 1], gap="medium")
    kind = c1.radio("Score", list(KINDS), format_func=KINDS.get, horizontal=True, key="an_kind",
                    help=" ".join(f"**{KINDS[k]}**: {h}" for k, h in KIND_HELP.items()))
    n = c2.slider("Digits per set", 500, 2000, 1000, step=250, key="an_n",
                  help="How many MNIST test digits (and items of each odd set) are scored. More = smoother "
                       "histograms, slower (results are cached).")
    angle = c3.slider("Rotation angle (rotated set)", 0, 180, 90, step=15, key="an_angle",
                      help="Test digits rotated anticlockwise. 0° gives ordinary digits (AUC ≈ 0.5); 180° turns 6 "
                           "into 9 and leaves 0, 1, 8 digit-like, so it stays hard.")
    if am.conditional:
        st.caption(f"**{am.name} is a CVAE** and an odd input has no label, so every input is tried with all "
                   f"{am.model.num_classes} classes: −ELBO becomes the bound under a uniform class prior and the "
                   "reconstruction error is that of the best-fitting class.")

    inputs = build_inputs(am.dataset_name, n, angle, data)
    scored = score_all(am, n, angle, kind, inputs)
    scores = {k: v[0] for k, v in scored.items()}
    ood_names = [k for k in scores if k != NORMAL]

    # the user's drawing (from the Drawing Board page), scored on the fly
    drawing = st.session_state.get("drawing_input")
    d_x = d_score = d_lab = None
    if drawing is not None:
        try:
            d_x = as_image_rows(drawing)[:1]
        except ValueError:
            d_x = None
            st.caption("The Drawing Board left an image that is not 28×28, so it is not scored here.")
    if d_x is not None:
        s = anomaly_scores(am.model, d_x, generator=torch.Generator().manual_seed(SEED))
        d_score = float(s[kind][0])
        d_lab = None if "label" not in s else s["label"].numpy()

    # ------------------------------------------------------------------------------------ histogram + threshold
    st.subheader("Scores and a threshold")
    opts, default = threshold_options(scores, d_score)
    thr = float(st.select_slider(
        "Threshold τ (nats): inputs scoring at least τ are flagged", options=opts, value=default,
        format_func=lambda v: f"{v:,.1f}", key=f"an_thr_{am.key}_{kind}_{n}_{angle}",
        help="Log-spaced steps. Starts where 1 % of the normal digits are flagged (their 99th percentile)."))
    sep = separation(scores, thr)

    st.markdown(f"**Flagged at τ = {thr:,.1f} nats** — normal digits flagged are false alarms; odd inputs flagged "
                "are detections.")
    cols = st.columns(1 + len(ood_names))
    cols[0].metric("false alarms (MNIST)", f"{100 * sep.false_positive_rate:.1f} %",
                   help="false-positive rate: MNIST test digits with score ≥ τ")
    for col, name in zip(cols[1:], ood_names, strict=True):
        col.metric(name, f"{100 * sep.detection_rate[name]:.1f} %",
                   help=f"detection (true-positive) rate: items of '{name}' with score ≥ τ")

    edges = score_bins(scores, 70, log=True)
    hists = score_histograms(scores, edges)
    fig = go.Figure()
    for name, h in hists.items():
        fig.add_trace(go.Scatter(
            x=edges, y=np.r_[h, h[-1]], mode="lines", line_shape="hv", name=f"{name} ({len(scores[name])})",
            line=dict(color=color(name), width=1.5), fill="tozeroy", opacity=0.55,
            hovertemplate=f"{name}<br>score ≥ %{{x:.1f}} nats<br>%{{y:.1%}} of the set<extra></extra>"))
    top = 1.12 * max(float(h.max()) for h in hists.values())
    marks = [(thr, f"τ = {thr:,.1f}", "black", "solid")]
    if d_score is not None:
        marks.append((d_score, "your drawing", color("your drawing"), "dot"))
    for x0, text, col, dash in marks:  # vertical lines as traces: shapes on a log axis are error-prone
        fig.add_trace(go.Scatter(x=[x0, x0], y=[0, top], mode="lines+text", text=["", text],
                                 textposition="bottom right", textfont=dict(color=col, size=13),
                                 line=dict(color=col, width=2.5, dash=dash), showlegend=False, hoverinfo="skip"))
    fig.update_layout(height=400, margin=dict(l=10, r=10, t=30, b=10), xaxis_type="log", yaxis_range=[0, top],
                      xaxis_title=f"{KINDS[kind]} (nats per image, log scale)", yaxis_title="fraction of the set",
                      yaxis_tickformat=".0%", legend=dict(orientation="h", y=-0.22), hovermode="closest")
    st.plotly_chart(fig, key="an_hist", config={"displaylogo": False})
    st.caption("Each set's histogram is normalised to its own size. Everything right of the black line τ is flagged. "
               "Noise and inverted digits (a white page with dark strokes) score many times higher than any real "
               "digit; "
               "rotated digits and the re-drawn scikit-learn digits are still digit-like and overlap the normal "
               "scores.")

    if d_score is not None:
        pct = 100 * float(np.mean(scores[NORMAL] < d_score))
        rec = mean_reconstruction(am.model, d_x, d_lab).numpy()
        c1, c2 = st.columns([1, 3])
        c1.image(to_image_cell(strip([d_x[0].numpy(), rec[0]]), 84), caption="your drawing | reconstruction")
        c2.markdown(f"**Your drawing** (from the Drawing Board) scores **{d_score:,.1f} nats**, higher than "
                    f"{pct:.1f} % of the MNIST test digits. At τ = {thr:,.1f} it is "
                    + ("**flagged as anomalous**." if d_score >= thr else "**accepted as a normal digit**."))
    else:
        st.caption("Tip: draw a digit on the **Drawing Board** page and it appears here as an extra item.")

    # ------------------------------------------------------------------------------------------------ ROC
    st.subheader("ROC curves: how separable is each set?")
    aucs = sep.auc
    figR = go.Figure()
    figR.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line=dict(color="#aaa", dash="dash"),
                              name="chance (AUC 0.5)", hoverinfo="skip"))
    for name in ood_names:
        fpr, tpr = sep.roc[name]
        figR.add_trace(go.Scatter(x=fpr, y=tpr, mode="lines", name=f"{name} (AUC {aucs[name]:.3f})",
                                  line=dict(color=color(name), width=2.5),
                                  hovertemplate="false alarms %{x:.1%}<br>detected %{y:.1%}<extra></extra>"))
        figR.add_trace(go.Scatter(x=[sep.false_positive_rate], y=[sep.detection_rate[name]], mode="markers",
                                  marker=dict(color=color(name), size=10, line=dict(color="black", width=1)),
                                  showlegend=False, hovertemplate=f"{name} at τ<extra></extra>"))
    figR.update_layout(height=430, margin=dict(l=10, r=10, t=10, b=10),
                       xaxis_title="false-positive rate (MNIST digits flagged)",
                       yaxis_title="detection rate (odd inputs flagged)", xaxis_range=[-0.01, 1.01],
                       yaxis_range=[-0.01, 1.01], legend=dict(x=0.98, y=0.02, xanchor="right", yanchor="bottom",
                                                              bgcolor="rgba(255,255,255,0.85)"))
    with chart_beside(figR, "an_roc", (1.5, 1)):
        st.markdown(
            "Sweeping τ from high to low traces each curve: a point is (false alarms, detections) at one τ; the "
            "dots mark the current τ. **AUC** is the chance that a random odd input scores higher than a random "
            "MNIST digit: 1.0 = perfectly separable, 0.5 = no better than a coin.")
        st.dataframe({"set": list(aucs), "AUC": [round(a, 4) for a in aucs.values()],
                      "detected at τ": [f"{100 * sep.detection_rate[k]:.1f} %" for k in aucs]},
                     hide_index=True, width="stretch")

    # ------------------------------------------------------------------------------------------------ gallery
    st.subheader("The most anomalous items")
    c1, c2 = st.columns([2, 1])
    pool_names = ["all sets", *scores]
    pool = c1.selectbox("Rank items from", pool_names, key="an_pool",
                        help="'MNIST test digits' shows the strangest real digits: the would-be false alarms.")
    k = c2.slider("How many", 4, 16, 8, step=4, key="an_k")
    top = most_anomalous(scores, pool, k, d_score)
    if top:
        xs, labs = [], []
        for name, i, _ in top:
            if name == "your drawing":
                xs.append(d_x[0])
                labs.append(None if d_lab is None else int(d_lab[0]))
            else:
                xs.append(inputs[name][i])
                lab = scored[name][1]
                labs.append(None if lab is None else int(lab[i]))
        xs = torch.stack(xs)
        recs = mean_reconstruction(am.model, xs, am.model.condition(labs)).numpy()
        per_row = 4
        for s in range(0, len(top), per_row):
            cols = st.columns(per_row)
            for col, j in zip(cols, range(s, min(s + per_row, len(top))), strict=False):  # the last row may be short
                name, i, sc = top[j]
                where = name if name == "your drawing" else f"{name} #{i}"
                col.image(to_image_cell(strip([xs[j].numpy(), recs[j]]), 84), width="stretch",
                          caption=f"{where} · {sc:,.1f} nats" + (" · flagged" if sc >= thr else ""))
        st.caption("Each pair: the input (left) and its reconstruction decode(μ) (right)"
                   + (", decoded with the class that fits best" if am.conditional else "")
                   + ". The score is in nats per image.")
    anomaly_floor_section(am, n, inputs[NORMAL])


main()
