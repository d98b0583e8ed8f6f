"""The text and molecule VAEs for the "Beyond digits" pages: the shipped sequence checkpoints (family "seq-vae",
loaded by :func:`ui.family_models.family_model`), their corpora and the test set's posterior means, and RDKit drawings
shown as images (never as HTML)."""

from __future__ import annotations

import base64

import numpy as np
import streamlit as st

from ui.family_models import family_model
from ui.state import SHIPPED_DIR
from vae_core.pair_read import CheckpointError
from vae_core.sequence import explore


def seq_model(name: str):
    """(model, metadata) of the shipped sequence VAE ``name``; stops the page with a message if it is missing."""
    try:
        return family_model(SHIPPED_DIR / name)
    except (OSError, CheckpointError) as exc:
        st.error(f"The shipped model '{name}' could not be loaded ({exc}). It is made by "
                 "`python -m vae_core train --family seq-vae` (see the README).")
        st.stop()


@st.cache_resource(show_spinner=False)
def word_corpus():
    from vae_core.sequence.words import load_words

    return load_words()


@st.cache_resource(show_spinner=False)
def molecule_corpus():
    from vae_core.sequence.smiles import load_molecules

    return load_molecules()


@st.cache_data(max_entries=8, show_spinner=False)
def test_posteriors(name: str, dataset: str) -> tuple[np.ndarray, np.ndarray]:
    """(μ, σ) of the test split under the shipped model ``name``."""
    model, _ = seq_model(name)
    corpus = word_corpus() if dataset == "words" else molecule_corpus()
    return explore.posterior(model, corpus.test)


def svg_image(svg: str, width: int | None = None, caption: str | None = None) -> None:
    """Show an RDKit SVG drawing as an <img> (a data URI), so nothing in it is ever run as HTML."""
    uri = "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")
    st.image(uri, width=width, caption=caption)
