"""A formula beside the number it gives, the row the theory pages (ELBO & Bounds, Exact Identity) are built of."""

from __future__ import annotations

import streamlit as st


def formula_row(formula: str, value: str, note: str = "", widths: tuple[float, float] = (3.0, 1.1)) -> None:
    """LaTeX ``formula`` on the left, ``value`` in bold on the right with an optional small grey ``note`` below it.
    ``value`` and ``note`` are this code's own text (numbers and fixed words), never user input."""
    c1, c2 = st.columns(list(widths), vertical_alignment="center")
    c1.latex(formula)
    c2.markdown(f"**{value}**" + (f"  \n<span style='font-size:0.8em;color:gray'>{note}</span>" if note else ""),
                unsafe_allow_html=True)
