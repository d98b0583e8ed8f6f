"""Formatters for numbers shown on the pages, and the labels and units of measured image features."""

from __future__ import annotations

FEATURE_UNITS = {"ink": "px", "thickness": "px", "slant": "shear", "width": "px", "height": "px"}
FEATURE_LABELS = {"ink": "ink amount", "thickness": "stroke thickness", "slant": "slant", "width": "width",
                  "height": "height"}


def fmt(v, nd: int = 2, unit: str = "") -> str:
    """``v`` with ``nd`` decimals and a unit suffix, or an em dash for a missing value."""
    if v is None:
        return "—"
    return f"{v:.{nd}f}{unit}"


def fmt_beta(b: float) -> str:
    """A KL weight β as written on the pages: 0.5, 1, 16."""
    return f"{b:g}"


def format_feature(name: str, value: float) -> str:
    """A measured feature with its unit, e.g. ``ink: 112 px``, ``slant: +0.21 (shear)``."""
    v = float(value)
    if name == "ink":
        return f"ink: {v:.0f} px"
    if name == "slant":
        return f"slant: {v:+.2f} (shear)"
    if name == "thickness":
        return f"thickness: {v:.1f} px"
    return f"{name}: {v:.0f} px"


def fmt_minus(v: float, nd: int = 2) -> str:
    """``v`` with ``nd`` decimals and a true minus sign (U+2212) in place of the hyphen."""
    return f"{v:.{nd}f}".replace("-", "−")


def example_noun(dataset_name: str) -> str:
    """What the captions call one example of a model's data: "digit" for MNIST, "image" for any other data set
    (a user's own, Fashion-MNIST, KMNIST)."""
    return "digit" if dataset_name == "mnist" else "image"
