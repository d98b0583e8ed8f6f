"""ELBO & Bounds' section "Which likelihood?": one test digit scored under the Bernoulli cross-entropy of its
grey pixels, the continuous Bernoulli, and the Bernoulli of its seeded binarisation
(vae_core.likelihoods.digit_likelihood_terms), with what each number is.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from ui.fmt import fmt_minus
from ui.state import BY_MODEL_KEY, ActiveModel
from vae_core.digits.data import TEST_BINARIZATION_SEED, binarize_fixed
from vae_core.likelihoods import digit_likelihood_terms


@st.cache_data(show_spinner=False, max_entries=4)
def _binary_images(name: str, split: str, n: int, _images) -> np.ndarray:  # noqa: ARG001 - cache key of _images
    """The split binarised once with the fixed seed (the same binary digits the shipped models are scored on)."""
    return binarize_fixed(_images, TEST_BINARIZATION_SEED).numpy()


@st.cache_data(show_spinner="Scoring the digit under each likelihood…", max_entries=64, hash_funcs=BY_MODEL_KEY)
def _readings(am: ActiveModel, idx: int, seed: int, _x, _xb, _y) -> dict:  # noqa: ARG001 - idx: cache key of _x, _xb, _y
    return digit_likelihood_terms(am.model, _x, _xb, _y, n_samples=64, iwae_k=256, seed=seed)


READINGS = {  # radio label -> key of digit_likelihood_terms
    "Bernoulli cross-entropy (grey pixels)": "bce_grey",
    "continuous Bernoulli (grey pixels)": "cb_grey",
    "Bernoulli (binarised digit)": "bern_binary",
}
READING_NOTES = {
    "bce_grey": "The seed's loss. MNIST's pixels are grey and a Bernoulli puts probability only on 0 and 1, so on "
                "grey pixels −Σ[x log λ + (1−x) log(1−λ)] is a cross-entropy, not −log of a probability or density "
                "of x: recon + KL is a training objective, not a bound on any −log p(x), and it can never fall "
                "below the pixels' own entropy Σ H(xᵢ).",
    "cb_grey": "The continuous Bernoulli (Loaiza-Ganem & Cunningham 2019) adds the normaliser log C(λ) to every "
               "pixel, which makes λ^x (1−λ)^(1−x) a density on [0, 1]. Its ELBO is a true lower bound on "
               "log p(x), a log-density: it can be positive, and it is not comparable with probabilities.",
    "bern_binary": "Binarised MNIST (each pixel drawn once as x ~ Bernoulli(grey), fixed seed): on 0/1 pixels the "
                   "Bernoulli is a true probability, so −ELBO ≥ −log P(x) ≥ 0 nats. This is the benchmark the "
                   "literature reports (Burda et al. 2016: 86.76 nats for a one-layer VAE, IWAE k = 5,000).",
}


def likelihood_section(am: ActiveModel, data, idx: int, seed: int, y) -> None:
    st.subheader("Which likelihood? The same digit under each")
    own = am.meta.get("likelihood", "bernoulli")
    trained = ("continuous Bernoulli" if own == "continuous_bernoulli" else
               "Bernoulli on binarised digits" if am.meta.get("binarization", "none") != "none" else
               "Bernoulli cross-entropy on grey digits")
    st.markdown(f"The decoder outputs one number λᵢ ∈ (0, 1) per pixel. Which **p(x|z)** it defines is a choice; "
                f"this model was trained with the **{trained}**. Pick a reading to see what its numbers mean; the "
                f"table scores the same digit under all three.")
    pick = st.radio("likelihood p(x|z)", list(READINGS), key="eb_likelihood", horizontal=True)
    xb = _binary_images(data.name, data.split, len(data), data.images)[idx:idx + 1]
    r = _readings(am, idx, seed, data.images[idx:idx + 1], xb, y)
    key = READINGS[pick]
    t = r[key]
    c1, c2, c3 = st.columns(3)
    c1.metric("reconstruction term E_q[−term]", f"{fmt_minus(t['recon'])} nats", help="64 draws z ~ q(z|x)")
    c2.metric("KL(q ‖ p(z))", f"{fmt_minus(t['kl'])} nats", help="closed form")
    if key == "bce_grey":
        c3.metric("BCE objective (recon + KL)", f"{fmt_minus(t['objective'])} nats",
                  help="a training objective, not a bound on −log p(x)")
    else:
        c3.metric("−ELBO ≥ −log p(x)" if key == "cb_grey" else "−ELBO ≥ −log P(x)", f"{fmt_minus(t['objective'])} nats")
    st.caption(READING_NOTES[key])
    rows = []
    for label, k in READINGS.items():
        v = r[k]
        rows.append({"reading": label, "what it is": v["kind"], "reconstruction term (nats)": round(v["recon"], 2),
                     "KL (nats)": round(v["kl"], 2), "recon + KL (nats)": round(v["objective"], 2),
                     "IWAE estimate, k = 256 (nats)": None if k == "bce_grey" else round(v["iwae"], 2)})
    st.dataframe(rows, hide_index=True, key="eb_likelihood_table")
    st.caption(f"Floor of the cross-entropy for this digit: Σ H(xᵢ) = {r['entropy_floor']['value']:.2f} nats (the "
               f"grey pixels' own entropy, reached only by λ = x). The binarised reading encodes the binary digit; "
               f"the IWAE column is one estimate of 𝓛₂₅₆ (a lower bound on the log-likelihood in expectation; none "
               f"exists for the cross-entropy).")
