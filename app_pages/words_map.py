"""Word Map: a 2-D character-level VAE over English words — the test words' posterior means, decoding any
point greedily and by sampling, and interpolation (homotopy) between two words.
"""

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from ui.family_models import seq_model, test_posteriors, word_corpus
from ui.plots import selected_indices
from vae_core.sequence import explore

MAP_MODEL = "words-z2"
INTERP_MODELS = ("words-z16", "words-z2")


def map_figure(mu: np.ndarray, words: list[str], z: np.ndarray, path: np.ndarray | None) -> go.Figure:
    lengths = np.array([len(w) for w in words])
    fig = go.Figure(go.Scatter(
        x=mu[:, 0], y=mu[:, 1], mode="markers", customdata=np.arange(len(words)), text=words,
        hovertemplate="%{text}<br>μ = (%{x:.2f}, %{y:.2f})<extra></extra>", name="test words",
        marker=dict(size=5, color=lengths, colorscale="Viridis", opacity=0.7,
                    colorbar=dict(title="letters", thickness=12))))
    if path is not None:
        fig.add_trace(go.Scatter(x=path[:, 0], y=path[:, 1], mode="lines+markers", name="interpolation",
                                 line=dict(color="crimson", width=2), marker=dict(size=7, color="crimson"),
                                 hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=[z[0]], y=[z[1]], mode="markers", name="current z", hoverinfo="skip",
                             marker=dict(symbol="x", size=16, color="black", line=dict(width=2))))
    fig.update_layout(height=560, margin=dict(l=10, r=10, t=30, b=10), xaxis_title="z₁", yaxis_title="z₂",
                      legend=dict(orientation="h", y=1.06), dragmode="pan")
    fig.update_yaxes(scaleanchor="x", scaleratio=1)
    return fig


def slider_range(mu: np.ndarray) -> float:
    """Half-width of the z sliders: ±4 prior standard deviations, wider if a test word's μ lies further out."""
    return float(max(4.0, np.ceil(np.abs(mu).max() * 20) / 20))


def apply_click(event, mu: np.ndarray, r: float) -> None:
    """A newly clicked word moves the sliders to its μ (before they are drawn)."""
    sel = selected_indices(event)
    if sel and st.session_state.get("wm_last_click") != sel[0]:
        st.session_state["wm_last_click"] = sel[0]
        st.session_state["wm_z1"] = float(np.clip(mu[sel[0], 0], -r, r))
        st.session_state["wm_z2"] = float(np.clip(mu[sel[0], 1], -r, r))


def interpolation_inputs() -> tuple[str | None, str | None, str, int, str]:
    c1, c2, c3, c4, c5 = st.columns([1, 1, 1, 1, 1.2])
    a_raw = c1.text_input("from word", "water", key="wm_a", max_chars=16)
    b_raw = c2.text_input("to word", "fire", key="wm_b", max_chars=16)
    name = c3.selectbox("model", INTERP_MODELS, key="wm_interp_model",
                        help="the 16-D model reconstructs most words exactly; the 2-D one draws the path on the map")
    steps = c4.slider("steps", 3, 15, 8, key="wm_steps")
    method = c5.radio("path", list(explore.PATHS), format_func=explore.PATHS.__getitem__, key="wm_path_kind",
                      help="the great circle keeps |z| constant for codes of equal length, and between the two "
                           "lengths when they are at most 90° apart (wider apart it can leave that range both "
                           "ways); the straight line dips towards z = 0, a region the 16-D posteriors rarely visit "
                           "(prior draws have |z| ≈ √d)")
    a, b = explore.clean_word(a_raw), explore.clean_word(b_raw)
    for raw, clean in ((a_raw, a), (b_raw, b)):
        if clean is None:
            st.warning("Type a word of 1–16 letters a–z (no spaces, digits or accents); this one is not:")
            st.text(raw)
    return a, b, name, steps, method


def main() -> None:
    st.title("Word Map")
    st.markdown(
        "A **character-level VAE over English words**: a bidirectional GRU reads a word letter by letter and "
        "outputs q(z|x) = N(μ, diag σ²); an autoregressive GRU decoder spells a word from z one letter at a time, "
        "p(x|z) = Π_t p(x_t | x_<t, z), each letter a softmax over a–z and the end mark. Here z has **2 "
        "dimensions**, so the map below *is* the latent space. The corpus is the 30,000 most frequent lowercase "
        "English words from `wordfreq` (data CC BY-SA 4.0); the dots are the 3,115 held-out test words.")
    model, meta = seq_model(MAP_MODEL)
    corpus = word_corpus()
    mu, _ = test_posteriors(MAP_MODEL, "words")
    tm = meta.get("test_metrics", {})
    m1, m2, m3 = st.columns(3)
    m1.metric("test words rebuilt exactly", f"{100 * tm.get('word_accuracy', float('nan')):.1f} %",
              help="greedy decoding of each test word's posterior mean μ equals the word")
    m2.metric("rate KL(q‖p)", f"{tm.get('kl', float('nan')):.2f} nats", help="mean over the test words")
    m3.metric("prior samples that are corpus words", f"{100 * tm.get('prior_in_corpus', float('nan')):.1f} %",
              help=f"greedy decodings of {tm.get('n_prior', 1000)} draws z ~ N(0, I)")
    n_words = len(corpus.train) + len(corpus.test)
    st.caption(f"This code carries at most its rate, {tm.get('kl', float('nan')):.1f} nats (KL bounds the "
               f"information z holds about the word; Alemi et al. 2018), less than the ln {n_words:,} ≈ "
               f"{np.log(n_words):.1f} nats needed to single out one of {n_words:,} words: the 2-D code stores "
               "a word's *kind* (length, common endings, letters) and the decoder fills in a likely word of that "
               "kind.")

    r = slider_range(mu)
    apply_click(st.session_state.get("wm_map"), mu, r)
    st.session_state.setdefault("wm_z1", float(mu[0, 0]))
    st.session_state.setdefault("wm_z2", float(mu[0, 1]))
    left, right = st.columns([1.6, 1], gap="large")
    with right:
        st.subheader("Decode a point")
        z1 = st.slider("z₁", -r, r, step=0.01, key="wm_z1")
        z2 = st.slider("z₂", -r, r, step=0.01, key="wm_z2")
        temp = st.slider("sampling temperature", 0.2, 2.0, 1.0, step=0.1, key="wm_temp",
                         help="each letter drawn from softmax(logits / T): low T ≈ greedy, high T ≈ random")
        n_s = st.slider("sampled words", 1, 12, 6, key="wm_nsamples")
        z = np.array([z1, z2])
        at = explore.decode_point(model, z, n_samples=n_s, temperature=temp, seed=0)
        near = corpus.test[explore.nearest(mu, z)]
        st.metric("greedy decoding", at["greedy"] or "(empty)", help="the most probable letter at every step")
        st.markdown("**Sampled decodings** (a new letter drawn at every step, same z):")
        st.dataframe(pd.DataFrame({"sampled word": at["sampled"]}), hide_index=True, width="stretch")
        st.markdown("**Nearest test word's μ:**")
        st.text(near)

    st.subheader("Interpolation (homotopy) between two words")
    st.markdown("Encode both words, walk the straight line z_t = (1 − t)·μ_a + t·μ_b (Bowman et al. 2016 show such "
                "paths between sentences) or the great circle z_t = [sin((1 − t)Ω)·μ_a + sin(tΩ)·μ_b] / sin Ω, "
                "Ω the angle between μ_a and μ_b (White 2016), and decode each point greedily.")
    a, b, name, steps, method = interpolation_inputs()
    path_z = None
    if a and b:
        imodel, _ = seq_model(name)
        ma, _ = explore.posterior(imodel, [a, b])
        path = explore.homotopy(ma[0], ma[1], steps, method)
        words = explore.decode_path(imodel, path)
        t = np.linspace(0, 1, steps)
        st.dataframe(pd.DataFrame({"t": np.round(t, 3), "|z_t|": np.round(np.linalg.norm(path, axis=1), 2),
                                   "decoded word": words}), hide_index=True, width="stretch")
        if imodel.latent_dim == 2:
            path_z = path
        else:
            st.caption("The 16-D path is not drawn on the 2-D map; pick words-z2 to see it there.")
    with left:
        st.plotly_chart(map_figure(mu, corpus.test, z, path_z), key="wm_map", on_select="rerun",
                        selection_mode="points", config={"displaylogo": False})
        st.caption("Hover a dot to see its word; click one to move z to its μ and decode it. Colour: word length.")


main()
