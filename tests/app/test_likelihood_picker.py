"""AppTest of the likelihood picker on ELBO & Bounds (#11): the same test digit scored as a Bernoulli
cross-entropy of the grey pixels, a continuous-Bernoulli log-density and a Bernoulli log-probability of the
binarised digit; the picked reading's metrics change with the radio, and the table's numbers are those of
vae_core.likelihoods.digit_likelihood_terms on the same digit (computed here again)."""

from __future__ import annotations

import math

import pytest
from apptest_helpers import ok, open_page

from ui.state import get_data
from vae_core import load_checkpoint
from vae_core.digits.data import TEST_BINARIZATION_SEED, binarize_fixed
from vae_core.likelihoods import digit_likelihood_terms

EB = "app_pages/elbo_bounds.py"
OBJECTIVE_LABELS = ("BCE objective (recon + KL)", "−ELBO ≥ −log p(x)", "−ELBO ≥ −log P(x)")


def _table(at):
    frames = [d.value for d in at.dataframe]
    t = next(f for f in frames if "reading" in f.columns)
    return {row["reading"]: row for _, row in t.iterrows()}


@pytest.mark.parametrize("name", ["mnist-z20", "mnist-cvae-z2"])
def test_picker_and_table(name, repo_root):
    at = open_page(EB, name)
    radio = at.radio(key="eb_likelihood")
    assert len(radio.options) == 3
    labels = {}
    for option in radio.options:
        at.radio(key="eb_likelihood").set_value(option).run()
        ok(at)
        labels[option] = [m.label for m in at.metric if m.label in OBJECTIVE_LABELS]
    assert labels["Bernoulli cross-entropy (grey pixels)"] == ["BCE objective (recon + KL)"]
    assert labels["continuous Bernoulli (grey pixels)"] == ["−ELBO ≥ −log p(x)"]
    assert labels["Bernoulli (binarised digit)"] == ["−ELBO ≥ −log P(x)"]
    rows = _table(at)
    assert math.isnan(rows["Bernoulli cross-entropy (grey pixels)"]["IWAE estimate, k = 256 (nats)"])
    # the same numbers again, outside the app
    data = get_data("test", "mnist")
    idx = int((data.labels == 0).nonzero()[0, 0])  # the digit picker's default: the first test digit of class 0
    seed = int(at.session_state["eb_seed"])
    model, _ = load_checkpoint(repo_root / "checkpoints" / name)
    x = data.images[idx:idx + 1]
    xb = binarize_fixed(data.images, TEST_BINARIZATION_SEED)[idx:idx + 1]
    y = model.condition(data.labels[idx:idx + 1])
    want = digit_likelihood_terms(model.eval(), x, xb, y, n_samples=64, iwae_k=256, seed=seed)
    for label, key in (("Bernoulli cross-entropy (grey pixels)", "bce_grey"),
                       ("continuous Bernoulli (grey pixels)", "cb_grey"),
                       ("Bernoulli (binarised digit)", "bern_binary")):
        assert rows[label]["recon + KL (nats)"] == pytest.approx(want[key]["objective"], abs=0.02), label
    # the continuous Bernoulli adds sum_i log C(lambda_i) >= 784 log 2 to the log-likelihood of every draw
    cb, bce = rows["continuous Bernoulli (grey pixels)"], rows["Bernoulli cross-entropy (grey pixels)"]
    assert cb["reconstruction term (nats)"] < bce["reconstruction term (nats)"] - 784 * math.log(2)
    assert rows["Bernoulli (binarised digit)"]["recon + KL (nats)"] > 0  # -log of a probability
