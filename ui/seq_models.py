"""The text and molecule VAEs for the "Beyond digits" pages: cached loading of the shipped sequence
checkpoints (family "seq-vae"), their corpora and the test set's posterior means, and RDKit drawings
shown as images (never as HTML)."""

from __future__ import annotations

import base64

import numpy as np
import streamlit as st

from ui.state import SHIPPED_DIR
from vae_core.digits.checkpoint import CheckpointError
from vae_core.sequence import explore
from vae_core.sequence.checkpoint import load_seq_checkpoint


@st.cache_resource(max_entries=8, show_spinner=False)
def _load(path: str, mtime: float):  # noqa: ARG001 - mtime: cache key (a rewritten file reloads)
    return load_seq_checkpoint(path)


def seq_model(name: str):
    """(model, metadata) of the shipped sequence VAE ``name``; stops the page with a message if it is missing."""
    path = SHIPPED_DIR / name
    try:
        mtime = path.with_name(name + ".safetensors").stat().st_mtime
        return _load(str(path), mtime)
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
