"""Compression page numbers, against independent computations.

* the lossless baselines are real codes: the PNG and zlib streams decode back to the exact 8-bit / 1-bit
  digit, and their byte counts are the lengths of those streams;
* rate in bits = KL / ln 2 (KL from torch.distributions); Li & El Gamal's bound R + log2(R + 1) + 5 >= R;
* bits-back on a binarised digit: -ELBO / ln 2 (the net bits-back length) is never below the ideal lossless
  length -log2 P(x) of the same model, computed exactly by quadrature over z (2-D model).
"""

from __future__ import annotations

import io
import math
import zlib

import numpy as np
import torch
from PIL import Image

from tests.truth._helpers import mnist_test, model
from vae_core.objectives import elbo_terms
from vae_core.theory.coding import li_el_gamal_bound_bits, lossless_baselines, rec_overhead_bits, to_uint8
from vae_core.theory.quadrature import log_marginal_quadrature

torch.set_grad_enabled(False)


def test_lossless_baselines_decode_back():
    x = mnist_test().images[:3]
    b = lossless_baselines(x)
    imgs = to_uint8(x)
    assert np.array_equal(imgs.reshape(3, -1), np.rint(x.numpy() * 255).astype(np.uint8))
    for i, img in enumerate(imgs):
        z = zlib.compress(img.tobytes(), 9)
        assert len(z) == b["zlib8"][i]
        assert np.array_equal(np.frombuffer(zlib.decompress(z), np.uint8).reshape(28, 28), img)
        im = Image.fromarray(img)
        buf = io.BytesIO()
        im.save(buf, format="PNG", optimize=True)
        assert len(buf.getvalue()) == b["png8"][i]
        assert np.array_equal(np.asarray(Image.open(io.BytesIO(buf.getvalue()))), img)
        assert b["zlib8"][i] < 784 and b["zlib1"][i] < 98 + 11


def test_rate_bits_and_rec_bound():
    mu, lv = torch.tensor([[0.3, -1.2]]), torch.tensor([[-2.0, -0.5]])
    kl = torch.distributions.kl_divergence(torch.distributions.Normal(mu, torch.exp(0.5 * lv)),
                                           torch.distributions.Normal(0.0, 1.0)).sum()
    r = rec_overhead_bits(np.array([float(kl)]))
    assert abs(r["ideal"][0] - float(kl) / math.log(2)) < 1e-12
    assert r["with_log_overhead"][0] > r["ideal"][0]
    for nats in (0.0, 1.0, 20.0):
        assert li_el_gamal_bound_bits(nats) >= nats / math.log(2) + 5


def test_bits_back_length_is_not_below_the_ideal_code_length():
    m, _ = model("mnist-z2")
    xb = (mnist_test().images[:2] > 0.5).float()
    exact = log_marginal_quadrature(m, xb)
    t = elbo_terms(m, xb, n_samples=200, generator=torch.Generator().manual_seed(0))
    for q, ne in zip(exact, t["neg_elbo"].tolist(), strict=True):
        assert q.kind == "log-probability"
        assert ne / math.log(2) >= -q.log_px / math.log(2) - 0.2  # -ELBO >= -log P(x), in bits


def test_page_bits_back_length_is_the_neg_elbo_of_the_thresholded_digit():
    """bits_back_bits (the Compression page's number) = -ELBO/ln 2 of the 8-bit digit thresholded at 128, computed
    here directly; a CVAE gets its label."""
    from vae_core.theory.coding import binarize_at, bits_back_bits

    x = mnist_test().images[:3]
    xb = torch.as_tensor(np.rint(x.numpy().reshape(3, -1) * 255) >= 128, dtype=torch.float32)
    assert np.array_equal(binarize_at(x).reshape(3, -1), xb.numpy().astype(bool))
    for name, y in (("mnist-z2", None), ("mnist-cvae-z2", 7)):
        m, _ = model(name)
        labels = None if y is None else torch.full((3,), y)
        want = elbo_terms(m, xb, labels, n_samples=64, generator=torch.Generator().manual_seed(0))["neg_elbo"]
        np.testing.assert_allclose(bits_back_bits(m, x, y), want.numpy() / math.log(2), rtol=1e-6)
