"""Home page formulas, each against an independent computation.

* ELBO (β = 1): log p(x) >= E_q[log p(x|z)] - KL(q‖p)   (Thm 1.1) -- against the exact log ∫ p(x|z) p(z) dz by
  quadrature over z (no encoder, no sampling), for the shipped 2-D models;
* the β-objective E_q[log p(x|z)] - β·KL is a bound for β >= 1 only: the shipped β = 0.5 model's objective
  exceeds the exact value on every digit tried, by about 3 nats; β = 1, 4, 16 never exceed it;
* the quadrature itself: against scipy's adaptive 2-D integration on a small decoder, and against the IWAE
  bound with k = 5,000 (which it must not fall below, beyond Monte-Carlo noise).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import integrate

from tests.truth._helpers import mnist_test, model
from vae_core.objectives import iwae_bound
from vae_core.theory.quadrature import beta_bound_check, log_marginal_quadrature

torch.set_grad_enabled(False)


class TinyDecoder(torch.nn.Module):
    """d = 2 latent, 3 Bernoulli pixels, logits = tanh(z A) B + c: small enough for scipy.dblquad."""

    latent_dim, input_dim, conditional = 2, 3, False

    def __init__(self):
        super().__init__()
        g = torch.Generator().manual_seed(3)
        self.A = torch.randn(2, 4, generator=g) * 2.0
        self.B = torch.randn(4, 3, generator=g) * 2.0
        self.c = torch.randn(3, generator=g)

    def decode_logits(self, z):
        return torch.tanh(z.float() @ self.A) @ self.B + self.c


def test_quadrature_matches_scipy_dblquad():
    m = TinyDecoder()
    x = torch.tensor([1.0, 0.0, 1.0])
    q = log_marginal_quadrature(m, x, window=30.0)[0]

    A, B, c = (t.double().numpy() for t in (m.A, m.B, m.c))
    xb = x.bool().numpy()

    def f(z2, z1):
        p = 1 / (1 + np.exp(-(np.tanh(np.array([z1, z2]) @ A) @ B + c)))
        return float(np.prod(np.where(xb, p, 1 - p))) * math.exp(-0.5 * (z1 * z1 + z2 * z2)) / (2 * math.pi)

    ref, _ = integrate.dblquad(f, -12, 12, -12, 12, epsabs=0, epsrel=1e-8)
    assert q.kind == "log-probability"
    assert abs(q.log_px - math.log(ref)) < 1e-4, (q.log_px, math.log(ref))


@pytest.mark.parametrize("name", ["mnist-z2", "mnist-z2-beta0.5"])
def test_quadrature_against_iwae_5000(name):
    """The mean of 4 independent estimates of L_5000 lies below the exact value (within 3 standard errors) and
    close to it. Single estimates may land above it: for mnist-z2-beta0.5's first test digit they scatter by
    about 0.13 nats around the exact value."""
    m, _ = model(name)
    x = mnist_test().images[:1]
    q = log_marginal_quadrature(m, x)[0]
    assert q.error < 1e-2
    est = torch.tensor([float(iwae_bound(m, x, 5000, generator=torch.Generator().manual_seed(s), chunk=500))
                        for s in range(4)], dtype=torch.float64)
    se = float(est.std()) / 2
    assert float(est.mean()) <= q.log_px + 3 * se + 0.02, (est.tolist(), q.log_px)
    assert abs(float(est.mean()) - q.log_px) < 0.5


def test_beta_objective_is_not_a_bound_below_one():
    m, meta = model("mnist-z2-beta0.5")
    assert meta["beta"] == 0.5
    x = mnist_test().images[10:13]
    r = beta_bound_check(m, x, 0.5, n_samples=400)
    # E_q[log p(x|z)] - 0.5 KL lies above the exact log p(x) on every digit (more than 10 standard errors)
    assert bool((r["excess"] > 10 * r["recon_se"]).all()), r["excess"]
    assert 2.0 < float(r["excess"].mean()) < 4.0  # the Home page says "about 3 nats"
    # while the ELBO (β = 1) stays below it: the gap is KL(q ‖ p(z|x)) >= 0
    assert bool((r["posterior_kl"] > -4 * r["recon_se"]).all())


@pytest.mark.parametrize("name", ["mnist-z2", "mnist-z2-beta4", "mnist-z2-beta16"])
def test_beta_objective_is_a_bound_from_one(name):
    m, meta = model(name)
    x = mnist_test().images[10:12]
    r = beta_bound_check(m, x, meta["beta"], n_samples=400)
    assert bool((r["excess"] < 4 * r["recon_se"]).all()), (name, r["excess"])
    # and the ordering the page states: objective(β) <= ELBO <= log p(x) for β >= 1
    assert bool((r["beta_objective"] <= r["elbo"] + 1e-9).all())


def test_exact_value_kinds():
    m, _ = model("mnist-z2")
    x = mnist_test().images[:1]
    grey = log_marginal_quadrature(m, x)[0]
    binar = log_marginal_quadrature(m, (x > 0.5).float())[0]
    assert grey.kind.startswith("log-integral")  # grey pixels under BCE: not a log-likelihood
    assert binar.kind == "log-probability" and binar.log_px < 0
    assert np.isfinite([grey.log_px, binar.log_px]).all()
