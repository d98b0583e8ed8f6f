"""Choosing the digit a page works on: a test digit (by class and occurrence, or by index) or the digit last
drawn on the Drawing Board (kept in session_state[DRAWING_KEY])."""

from __future__ import annotations

import numpy as np
import streamlit as st

DRAWING_KEY = "drawing_input"  # the Drawing Board's preprocessed digit, (784,) float32 in [0, 1], or None


def digit_picker(data, key: str, label: str = "Test digit", default_class: int = 0) -> int:
    """Choose a test image by class + occurrence, or by index; returns its index."""
    mode = st.radio(f"{label}: choose by", ["class", "index"], horizontal=True, key=f"{key}_mode")
    if mode == "class":
        c1, c2 = st.columns(2)
        n_cls = len(data.label_names) if data.name == "user" else 10  # a user's data set names its classes (#19)
        cls = c1.selectbox("class", list(range(n_cls)), index=min(default_class, n_cls - 1), key=f"{key}_cls",
                           format_func=(data.label_names.__getitem__ if data.name == "user" else str))
        idxs = np.flatnonzero(data.labels.numpy() == cls)
        if len(idxs) == 0:
            st.warning(f"No test digit of class {cls} in this data.")
            return 0
        k = c2.number_input("which one", 0, len(idxs) - 1, 0, key=f"{key}_k",
                            help=f"the k-th test digit of class {cls} ({len(idxs)} in all)")
        return int(idxs[int(k)])
    return int(st.number_input("test index", 0, len(data) - 1, 0, key=f"{key}_idx"))


def drawing_digit() -> np.ndarray | None:
    """The digit last drawn / uploaded on the Drawing Board as a (784,) float32 array, or None."""
    v = st.session_state.get(DRAWING_KEY)
    if v is None:
        return None
    a = np.asarray(v, dtype=np.float32).reshape(-1)
    return a if a.size == 784 else None


def digit_source(data, key: str, label: str = "Digit", default_class: int = 0) -> tuple[np.ndarray, int | None, str]:
    """Pick a test digit (class + occurrence, or index) or, when there is one, the Drawing Board's digit.

    Returns (x (784,) float32, test index or None for the drawing, a short description)."""
    drawn = drawing_digit()
    src = "test"
    if drawn is not None:
        src = st.radio(f"{label}: from", ["test", "drawing"], horizontal=True, key=f"{key}_src",
                       format_func={"test": "a test digit", "drawing": "your Drawing Board digit"}.get)
    if src == "drawing" and drawn is not None:
        return drawn, None, "your drawing"
    idx = digit_picker(data, key, label=label, default_class=default_class)
    names = data.label_names
    return data.images[idx].numpy().astype(np.float32), idx, f"test #{idx} (a {names[int(data.labels[idx])]})"
