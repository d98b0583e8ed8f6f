"""AppTest of Anomaly Detection: it renders with each kind of shipped model, scores the Drawing Board's digit
when there is one, and its controls are wired. The rates, AUCs and ranking are checked on ui.compute.anomaly in
tests/ui/test_compute_lab_apply.py, the scores themselves in tests/vae_core."""

from __future__ import annotations

import pytest
from apptest_helpers import ok, open_page

from vae_core import load_dataset

PAGE = "app_pages/anomaly.py"


def _metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.main.metric}


@pytest.mark.parametrize("name", ["mnist-z2", "mnist-z20", "mnist-cvae-z2"])
def test_anomaly_renders(name):
    at = open_page(PAGE, name, an_n=500)
    m = _metrics(at)
    assert "false alarms (MNIST)" in m and len(m) == 5  # false alarms + four odd sets
    assert len(at.get("plotly_chart")) == 2  # histograms, ROC curves
    assert len(at.dataframe[0].value) == 4  # one AUC per odd set
    assert all(0.5 < a <= 1.0 for a in at.dataframe[0].value["AUC"][:2])  # noise and inverted digits stand out


def test_anomaly_controls_and_drawing():
    digit = load_dataset("mnist", "test").images[2].numpy().reshape(28, 28)  # as if drawn on the Drawing Board
    at = open_page(PAGE, "mnist-z2", an_n=500, drawing_input=digit)
    pairs = [im for im in at.get("image")]
    assert len(pairs) == 1 + 8  # the drawing with its reconstruction, and the gallery
    m0 = _metrics(at)
    at.radio(key="an_kind").set_value("neg_elbo").run()
    ok(at)
    assert _metrics(at) != m0  # the other score, other rates
    at.selectbox(key="an_pool").set_value("MNIST test digits")
    at.slider(key="an_k").set_value(4).run()
    ok(at)
    assert len(at.get("image")) == 1 + 4
