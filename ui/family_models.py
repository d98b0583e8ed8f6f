"""One cached loader for a checkpoint of any model family: the registry (:mod:`vae_core.families`) reads the
JSON's ``family`` and picks the loader, so a page that shows a non-digit family needs no loader of its own."""

from __future__ import annotations

import os
from pathlib import Path

import streamlit as st

from vae_core import families


@st.cache_resource(max_entries=16, show_spinner=False)
def _load(path: str, mtime: float):  # noqa: ARG001 - mtime is only a cache key: a rewritten checkpoint reloads
    return families.load(path)


def family_model(path: str | os.PathLike):
    """(model, metadata) of the checkpoint at ``path`` (stem), cached per server; OSError or
    ``CheckpointError`` when it is missing or bad."""
    p = Path(path)
    return _load(str(p), p.with_name(p.name + ".safetensors").stat().st_mtime)
