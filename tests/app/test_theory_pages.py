"""AppTest of the theory pages: ELBO & Bounds, Exact Identity (Thm 1.2), Reparameterisation (Thm 2.1). The pages
render with each kind of shipped model and their controls are wired; Exact Identity's numbers are read off the
page (they are closed-form). The Monte-Carlo numbers are checked in tests/ui/test_compute_theory.py."""

from __future__ import annotations

import re

import pytest
from apptest_helpers import ok, open_page
from streamlit.testing.v1 import AppTest

MODELS = ["mnist-z2", "mnist-z20", "mnist-cvae-z2"]
ID, EB, RP = "app_pages/exact_identity.py", "app_pages/elbo_bounds.py", "app_pages/reparameterisation.py"


def _shown(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


def _nats(at: AppTest, label: str) -> float:
    """The number shown in bold after ``label`` (e.g. 'gap = '), minus signs as typeset."""
    m = re.search(rf"\*\*{re.escape(label)}([−\-0-9.e+]+) nats\*\*", _shown(at))
    assert m, f"{label!r} not shown"
    return float(m.group(1).replace("−", "-"))


def _residual(at: AppTest) -> float:
    m = re.search(r"\*\*([−\-0-9.]+e[−\-+0-9]+) nats\*\*", _shown(at))
    assert m, "residual not shown"
    return float(m.group(1).replace("−", "-"))


def test_exact_identity_snap_to_posterior():
    at = open_page(ID, "mnist-z2")
    assert abs(_residual(at)) < 1e-5
    assert _nats(at, "gap = ") > 0.1  # q starts away from the posterior: a visible gap
    at.button(key="id_snap").click().run()  # "set q = p(z|x)" (Cor 1.2)
    ok(at)
    assert _nats(at, "gap = ") == 0.0 and abs(_residual(at)) < 1e-9


def test_exact_identity_2d_mean_field_and_posterior():
    at = open_page(ID, "mnist-z2")
    at.radio(key="id_d").set_value(2).run()
    ok(at)
    at.slider(key="id_m0").set_value(-0.5).run()  # moving q keeps the identity exact
    assert abs(_residual(at)) < 1e-5
    at.button(key="id_mf").click().run()  # best diagonal q: a correlated posterior leaves a gap
    gap_mf = _nats(at, "gap = ")
    assert gap_mf > 1e-3
    at.button(key="id_snap").click().run()
    assert _nats(at, "gap = ") == 0.0 < gap_mf


@pytest.mark.parametrize("model", MODELS)
def test_elbo_bounds_controls(model):
    at = open_page(EB, model)
    assert len(at.get("plotly_chart")) >= 2
    before = _shown(at)
    at.button(key="eb_resample").click().run()  # new draws: the Monte-Carlo numbers change
    ok(at)
    assert _shown(at) != before
    if model == "mnist-z2":
        at.radio(key="eb_digit_mode").set_value("index").run()
        at.number_input(key="eb_digit_idx").set_value(7).run()
        at.select_slider(key="eb_K").set_value(50).run()
        ok(at)


@pytest.mark.parametrize("model", MODELS)
def test_reparameterisation_controls(model):
    at = open_page(RP, model)
    charts = len(at.get("plotly_chart"))
    assert charts >= 3
    table = at.dataframe[-1].value.to_string()  # the estimators: true gradient, means, variances
    at.selectbox(key="rp_f").set_value("sin(3z)").run()
    ok(at)
    assert at.dataframe[-1].value.to_string() != table
    at.radio(key="rp_param").set_value("sigma").run()
    ok(at)
    assert len(at.get("plotly_chart")) == charts
