"""β/KL Lab statements, against independent computations.

* the best collapsed solution: a decoder that ignores z is best at λ = mean image, with distortion
  Σ_i H_b(x̄_i) -- checked against the average BCE at λ = x̄ (F.binary_cross_entropy) and against perturbed λ;
* the shipped β = 16 model's D + 16·R on the test set is below that: collapse is not the optimum at β = 16.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from tests.truth._helpers import mnist_test, model
from vae_core.theory.collapse import beta_vs_collapsed, collapsed_optimum

torch.set_grad_enabled(False)


def test_collapsed_optimum_is_the_mean_image():
    x = mnist_test().images[:2000].double()
    c = collapsed_optimum(x)
    lam = x.mean(0).clamp(1e-12, 1 - 1e-12)
    avg = float(F.binary_cross_entropy(lam.expand_as(x), x, reduction="sum")) / x.shape[0]
    assert abs(avg - c["distortion"]) < 1e-6 * avg
    g = torch.Generator().manual_seed(0)
    for _ in range(3):
        other = (lam + 0.02 * torch.randn(lam.shape, generator=g, dtype=torch.float64)).clamp(1e-6, 1 - 1e-6)
        worse = float(F.binary_cross_entropy(other.expand_as(x), x, reduction="sum")) / x.shape[0]
        assert worse > c["distortion"]


def test_beta16_beats_every_collapsed_solution():
    m, meta = model("mnist-z2-beta16")
    assert meta["beta"] == 16
    r = beta_vs_collapsed(m, mnist_test().images[:5000], 16.0)
    assert r["objective"] == r["distortion"] + 16 * r["rate"]
    assert r["margin"] > 2.0, r
