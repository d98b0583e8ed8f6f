"""FID / IS of shipped digit models as a small table, for pages other than Generation Quality (the β/KL Lab).

The numbers are those stored in each checkpoint's JSON by scripts/update_fid.py (10,000 prior samples against
the 10,000 test digits, features of the shipped MNIST classifier); the references come from the classifier's
JSON."""

from __future__ import annotations

import streamlit as st

from ui.state import SHIPPED_DIR, get_model
from vae_core import CheckpointError
from vae_core.digits.quality import stored_score
from vae_core.pair_io import pair_paths, parse_metadata


def fid_rows(metas: list[tuple[str, dict]]) -> list[dict]:
    """(name, metadata) -> table rows of β, FID and IS (:func:`vae_core.digits.quality.stored_score`; None where a model
    has not been scored)."""
    rows = []
    for name, meta in metas:
        s = stored_score(name, meta)
        rows.append({"model": name, "β": meta.get("beta"),
                     "FID (lower is better)": None if s.fid is None else round(s.fid, 1),
                     "IS (1–10)": None if s.inception_score is None else round(s.inception_score, 2)})
    return rows


def show_shipped_fid(names: list[str]) -> None:
    """The FID / IS table of the named shipped models, with the train-digits and noise references."""
    metas = []
    for name in names:
        try:
            metas.append((name, get_model(f"shipped/{name}").meta))
        except (CheckpointError, FileNotFoundError, KeyError):
            continue
    rows = fid_rows(metas)
    if not rows or all(r["FID (lower is better)"] is None for r in rows):
        return
    try:
        ref = parse_metadata(pair_paths(SHIPPED_DIR / "mnist-classifier")[1].read_bytes()).get("test_metrics", {})
    except (CheckpointError, OSError):
        ref = {}
    st.markdown("**Sample quality against β** (FID and Inception Score of 10,000 prior samples each):")
    st.dataframe(rows, hide_index=True)
    if "fid_train_vs_test" in ref:
        st.caption(f"References: real training digits score FID {ref['fid_train_vs_test']:.2f}, uniform noise "
                   f"{ref['fid_noise_vs_test']:.0f}; test digits' IS {ref['is_test']:.2f}. Features and class "
                   "probabilities of a small MNIST classifier (see the Generation Quality page).")
