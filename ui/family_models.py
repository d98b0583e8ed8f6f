"""One cached loader for a checkpoint of any model family: the registry (:mod:`vae_core.families`) reads the
JSON's ``family`` and picks the loader, so a page that shows a non-digit family needs no loader of its own.

Also the shipped sequence checkpoints (family "seq-vae") of the word and molecule pages, their corpora and the
test set's posterior means, and RDKit drawings shown as images (never as HTML)."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import numpy as np
import streamlit as st

from ui.state import SHIPPED_DIR
from vae_core import families
from vae_core.pair_read import CheckpointError
from vae_core.sequence import explore


@st.cache_resource(max_entries=16, show_spinner=False)
def _load(path: str, mtime: float):  # noqa: ARG001 - mtime is only a cache key: a rewritten checkpoint reloads
    return families.load(path)


def family_model(path: str | os.PathLike):
    """(model, metadata) of the checkpoint at ``path`` (stem), cached per server; OSError or
    ``CheckpointError`` when it is missing or bad."""
    p = Path(path)
    return _load(str(p), p.with_name(p.name + ".safetensors").stat().st_mtime)


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
