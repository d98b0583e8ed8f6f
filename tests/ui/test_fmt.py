"""ui.fmt: the formatters the pages show numbers with."""

from ui.fmt import FEATURE_LABELS, FEATURE_UNITS, fmt, fmt_beta, format_feature


def test_format_feature_units():
    assert format_feature("ink", 112.4) == "ink: 112 px"
    assert format_feature("slant", 0.214) == "slant: +0.21 (shear)"
    assert format_feature("thickness", 2.04) == "thickness: 2.0 px"
    assert format_feature("width", 15.2) == "width: 15 px"
    assert set(FEATURE_LABELS) == set(FEATURE_UNITS)


def test_fmt_and_beta():
    assert fmt(None) == "—"
    assert fmt(3.14159, 1, " nats") == "3.1 nats"
    assert [fmt_beta(b) for b in (0.5, 1.0, 16.0, 0.25)] == ["0.5", "1", "16", "0.25"]
