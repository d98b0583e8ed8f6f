"""AppTest of Compression: the numbers shown are vae_core's compression report of the picked digit, with each
kind of shipped model, and the digit picker is wired."""

from __future__ import annotations

import pytest
from apptest_helpers import SHIPPED, ok, open_page

from vae_core import load_checkpoint, load_dataset
from vae_core.digits.applications import compression_report, rate_summary
from vae_core.latent import encode_dataset, rate_nats
from vae_core.theory.coding import lossless_baselines

PAGE = "app_pages/compression.py"


@pytest.mark.parametrize("name", ["mnist-z2", "mnist-z20", "mnist-cvae-z2"])
def test_compression_shows_the_report(name):
    at = open_page(PAGE, name)
    data = load_dataset("mnist", "test")
    model = load_checkpoint(SHIPPED / name)[0]
    i = int((data.labels == 2).nonzero()[0])  # the default: the first test "2"
    rep = compression_report(model, data.images[i][None], y=2 if model.conditional else None)
    metrics = {m.label: m.value for m in at.main.metric}
    assert metrics["rate (bits)"] == f"{float(rep['rate_bits'][0]):.1f}"
    assert metrics["code size"] == str(model.latent_dim)
    assert metrics["lossless zlib, 8-bit"] == f"{8 * int(lossless_baselines(data.images[i][None])['zlib8'][0]):,} bits"
    text = " ".join(m.value for m in at.markdown)
    assert "bits-back with this model" in text and "lossy" in text
    mu, lv = encode_dataset(model, data.images, data.labels)
    s = rate_summary(rate_nats(mu, lv))
    assert metrics["average rate over the test set"] == f"{s['mean_bits']:.1f} bits"


def test_another_digit():
    at = open_page(PAGE, "mnist-z2")
    rate = {m.label: m.value for m in at.main.metric}["rate (bits)"]
    at.number_input(key="cp_k").set_value(3).run()
    ok(at)
    assert {m.label: m.value for m in at.main.metric}["rate (bits)"] != rate
