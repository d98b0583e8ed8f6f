"""Anomaly page statements, against independent computations.

* the BCE "reconstruction error" is never below the pixels' own entropy: H(x, λ) = Σ H_b(x_i) + Σ KL(Bern(x_i)
  ‖ Bern(λ_i)) with entropy and KL from torch.distributions.Bernoulli;
* an all-black image scores lower (more normal) than at least 95 % of real test digits under both scores,
  for the shipped mnist-z2 and mnist-z20;
* the scores of real digits rise with their entropy floor (Spearman correlation > 0.5).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from tests.truth._helpers import mnist_test, model
from vae_core.digits.applications import anomaly_scores
from vae_core.theory.floors import constant_image_scores, entropy_floor_report

torch.set_grad_enabled(False)


def test_cross_entropy_decomposition():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(4, 784, generator=g).double()
    x[x < 0.3] = 0.0
    lam = torch.rand(4, 784, generator=g).double().clamp(1e-4, 1 - 1e-4)
    ce = F.binary_cross_entropy(lam, x, reduction="none").sum(1)
    B = torch.distributions.Bernoulli
    ent = B(probs=x.clamp(1e-300, 1)).entropy()
    ent = torch.where((x == 0) | (x == 1), torch.zeros_like(ent), ent).sum(1)
    kl = torch.distributions.kl_divergence(B(probs=x), B(probs=lam)).sum(1)
    assert torch.allclose(ce, ent + kl, atol=1e-8)
    assert bool((ce >= ent).all())


def test_all_black_image_looks_normal():
    test = mnist_test()
    x = test.subset(1000, seed=0).images
    for name in ("mnist-z2", "mnist-z20"):
        m, _ = model(name)
        s = anomaly_scores(m, x, generator=torch.Generator().manual_seed(0))
        normal = {k: s[k].numpy() for k in ("recon_bce", "neg_elbo")}
        black = constant_image_scores(m, normal, values=(0.0,))[0.0]
        assert black["pct_recon_bce"] >= 95 and black["pct_neg_elbo"] >= 95, (name, black)
        rep = entropy_floor_report(m, x, normal["recon_bce"])
        assert (rep["excess"] >= -1e-3).all()
        assert rep["rho_floor"] > 0.5, rep["rho_floor"]
