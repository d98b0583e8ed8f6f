"""Generation quality: MNIST-specific FID and Inception Score of prior samples.

The shipped classifier (checkpoints/mnist-classifier, a small CNN) supplies the features (FID) and the class
probabilities (IS).  A table of every shipped digit model (numbers stored in each JSON by
scripts/update_fid.py, 10,000 samples) with sanity references, and a live measurement of the model picked in the
sidebar.  The live score (vae_core.digits.quality.score_model, unit-tested in
tests/vae_core/digits/test_quality.py) is kept in session state so that it stays on screen while other widgets
change; it is shown only for the model it was measured on.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st
import torch

from ui.images import to_image
from ui.state import SHIPPED_DIR, get_data, require_model
from vae_core.digits.quality import StoredScore, classify, load_classifier, score_model, stored_scores
from vae_core.images import tile

MAX_N = 10_000


@st.cache_resource(show_spinner="Loading the MNIST classifier…")
def _classifier():
    return load_classifier(SHIPPED_DIR / "mnist-classifier")


@st.cache_resource(show_spinner="Classifier features of the 10,000 test digits…")
def _test_features() -> np.ndarray:
    clf, _ = _classifier()
    return classify(clf, get_data("test", "mnist").images)[0]


def _bar(rows: list[StoredScore], refs: dict) -> go.Figure:
    names = [r.name for r in rows] + ["train digits (reference)", "uniform noise (reference)"]
    fids = [r.fid for r in rows] + [refs.get("fid_train_vs_test"), refs.get("fid_noise_vs_test")]
    colors = ["#2166ac"] * len(rows) + ["#1b7837", "#b2182b"]
    fig = go.Figure(go.Bar(x=fids, y=names, orientation="h", marker_color=colors,
                           text=[f"{v:.2f}" if v is not None else "–" for v in fids], textposition="outside"))
    fig.update_layout(height=60 + 34 * len(names), margin=dict(l=10, r=40, t=30, b=10), xaxis_type="log",
                      xaxis_title="FID against the 10,000 test digits (log scale; lower is better)",
                      yaxis=dict(autorange="reversed"), title="FID of 10,000 prior samples per model")
    return fig


_ELBO_KIND = {"cross-entropy": "BCE objective (cross-entropy, grey pixels)",
              "log-density": "−log p(x), continuous-Bernoulli density",
              "log-probability": "−log P(x), binarised digits"}


def main() -> None:
    st.title("Generation Quality: FID and IS")
    st.markdown(
        "How good are a VAE's **prior samples** x ~ p(x|z), z ~ N(0, I)? The notes name two scores. Both need a "
        "network that 'sees' images; the originals use an ImageNet Inception net, which knows nothing of digits, "
        "so here the network is a small CNN trained on MNIST (conv 16 → conv 32 → 128 features → 10 classes).")
    try:
        clf, cmeta = _classifier()
    except Exception as exc:  # a missing or refused checkpoint: say which, plainly
        st.error(f"The MNIST classifier could not be loaded: {exc}")
        return
    ctm = cmeta.get("test_metrics", {})
    c1, c2 = st.columns(2)
    with c1:
        st.latex(r"\mathrm{FID} = \lVert m_g - m_r \rVert^2 + \mathrm{Tr}\big(C_g + C_r - 2 (C_g C_r)^{1/2}\big)")
        st.caption("Fréchet distance between Gaussians fitted to the classifier's 128 penultimate features of "
                   "the samples (g) and of the 10,000 test digits (r). 0 = same feature statistics. Units: squared "
                   "feature activations; comparable between models here, not with published Inception FIDs.")
    with c2:
        st.latex(r"\mathrm{IS} = \exp\big(\mathbb{E}_x\, D_{KL}(p(y|x) \,\|\, p(y))\big)")
        st.caption("High when each sample is confidently one digit (sharp p(y|x)) and the samples cover all ten "
                   "(flat p(y)); between 1 and 10.")
    st.markdown(f"The classifier: **{ctm.get('accuracy', float('nan')):.2%} test accuracy** on the 10,000 MNIST "
                f"test digits ({ctm.get('train_accuracy', float('nan')):.2%} on the training digits).")

    st.subheader("Every shipped digit model")
    rows = [r for r in stored_scores(SHIPPED_DIR) if r.fid is not None]
    if rows:
        st.plotly_chart(_bar(rows, ctm), width="stretch")
    st.dataframe([{"model": r.name, "FID": round(r.fid, 2),
                   "IS": None if r.inception_score is None else round(r.inception_score, 2),
                   "test −ELBO (nats/image)": None if r.neg_elbo is None else round(r.neg_elbo, 2),
                   "that −ELBO bounds": _ELBO_KIND[r.neg_elbo_kind]} for r in rows],
                 hide_index=True, width="stretch")
    st.caption("The −ELBO column holds three different quantities, comparable only within one kind: the BCE "
               "objective on grey pixels is a cross-entropy (not a −log p(x)); a continuous-Bernoulli model's is a "
               "bound on −log p(x) of a density (it can be negative); a binarised model's bounds −log P(x) of "
               "the binarised test digits.")
    st.dataframe([{"reference": "10,000 training digits", "FID": round(ctm.get("fid_train_vs_test", np.nan), 2),
                   "IS": round(ctm.get("is_train", np.nan), 2)},
                  {"reference": "the 10,000 test digits themselves", "FID": 0.0,
                   "IS": round(ctm.get("is_test", np.nan), 2)},
                  {"reference": "10,000 images of uniform noise", "FID": round(ctm.get("fid_noise_vs_test", np.nan), 2),
                   "IS": round(ctm.get("is_noise", np.nan), 2)}], hide_index=True, width="stretch")
    if rows:
        st.caption(f"10,000 prior samples per model (seed 0; pixel means of the decoder, a CVAE cycling through the "
                   f"ten classes), against the 10,000 test digits. Real training digits score near 0, noise far away. "
                   f"Closest to real digits: **{rows[0].name}** (FID {rows[0].fid:.2f}); farthest: "
                   f"**{rows[-1].name}** (FID {rows[-1].fid:.2f}).")

    st.subheader("Measure the model in the sidebar")
    am = require_model()
    if am.dataset_name != "mnist":
        data = "your own data set" if am.dataset_name == "user" else am.dataset_name  # #19
        st.info(f"{am.name} was trained on {data}; this FID/IS uses an MNIST classifier, so it is "
                "only defined for MNIST models.")
        return
    c1, c2 = st.columns(2)
    n = c1.select_slider("prior samples", [500, 1000, 2000, 5000, MAX_N], value=2000, key="gq_n")
    seed = int(c2.number_input("seed", 0, 10_000, 0, key="gq_seed"))
    st.caption("FID is biased upwards with fewer samples (the covariance estimate is noisier): compare models "
               "at the same number of samples. The table above uses 10,000.")
    if st.button("Compute FID and IS", type="primary", key="gq_go"):
        with st.spinner("Sampling and classifying…"), torch.no_grad():
            res = score_model(am.model, int(n), seed, am.meta.get("likelihood", "bernoulli"), clf, _test_features())
        st.session_state["gq_scores"] = (am.name, seed, res)
    measured, seed, res = st.session_state.get("gq_scores") or (None, 0, None)
    if measured != am.name:
        return
    m1, m2, m3 = st.columns(3)
    m1.metric("FID", f"{res.fid:.2f}")
    m2.metric("IS", f"{res.inception_score:.2f}")
    m3.metric("samples", f"{res.n:,}")
    lc, rc = st.columns([1, 1])
    lc.image(to_image(tile(res.samples.reshape(-1, 28, 28), 8), 4 * 56),
             caption=f"the first {len(res.samples)} prior samples of {am.name} (seed {seed})")
    fig = go.Figure(go.Bar(x=[str(c) for c in range(10)], y=res.class_counts, marker_color="#2166ac"))
    fig.update_layout(height=260, margin=dict(l=10, r=10, t=30, b=10), xaxis_title="class the classifier sees",
                      yaxis_title="samples", title="Which digits the prior produces (a flat p(y) raises IS)")
    rc.plotly_chart(fig, width="stretch")


main()
