"""vae_core.digits.applications.conditional: what a CVAE does with its label."""

from __future__ import annotations

import pytest
import torch
from tiny_models import fake_images, tiny_cvae, tiny_vae

from vae_core.digits.applications import anomaly_scores, best_class, class_samples, class_swap


def test_class_swap_rows_are_one_z_decoded_per_class():
    c = tiny_cvae()
    z = torch.randn(3, 2, generator=torch.Generator().manual_seed(1))
    out = class_swap(c, z)
    assert out.shape == (3, 10, 784)
    for i in range(3):
        for k in (0, 7):
            assert torch.allclose(out[i, k], c.decode(z[i:i + 1], torch.tensor([k]))[0], atol=1e-6)
    assert class_swap(c, z[0], classes=[2, 5]).shape == (1, 2, 784)
    with pytest.raises(ValueError):
        class_swap(tiny_vae(), z)


def test_class_samples_reproducible():
    c = tiny_cvae()
    a, b = class_samples(c, 3, 5, seed=7), class_samples(c, 3, 5, seed=7)
    assert a.shape == (5, 784) and torch.equal(a, b)
    assert not torch.equal(a, class_samples(c, 3, 5, seed=8))


def test_best_class_is_the_class_with_the_lowest_neg_elbo():
    c = tiny_cvae(seed=2)
    x = fake_images(6)
    got = best_class(c, x, seed=3)
    assert got.shape == (6,) and got.dtype == torch.long
    assert torch.equal(got, best_class(c, x, seed=3))  # seeded: the same image always gets the same class
    assert torch.equal(got, anomaly_scores(c, x, generator=torch.Generator().manual_seed(3))["label"])
    # independently: one-sample -ELBO per class with the same draws, in the same order (class by class)
    g = torch.Generator().manual_seed(3)
    per_class = []
    with torch.no_grad():
        for k in range(10):
            y = torch.full((6,), k)
            mu, logvar = c.encode(x, y)
            z = c.reparameterize(mu, logvar, g)
            nll = torch.nn.functional.binary_cross_entropy_with_logits(c.decode_logits(z, y), x, reduction="none")
            kl = 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1).sum(1)
            per_class.append(nll.sum(1) + kl)
    assert torch.equal(got, torch.stack(per_class).argmin(0))
    with pytest.raises(ValueError, match="conditional"):
        best_class(tiny_vae(), x)
