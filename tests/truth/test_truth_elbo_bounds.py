"""ELBO & Bounds page formulas, each against an independent computation.

* the two forms of the ELBO (notes §ELBO的两种等价形式): E_q[log p(x|z)] - KL(q‖p) = E_q[log p(x,z)] + H(q), on
  a real digit from independent draws; H(q) = Σ ½(1 + log 2π + log σ²) against torch.distributions.Normal;
* one estimate of L_k can exceed log p(x) (only its expectation is a bound, Burda et al. 2016) -- against the
  quadrature; L_K - L_1 <= log p(x) - L_1 = KL(q‖p(z|x)), and can be much smaller;
* the Gaussian decoder loss -log N(x; x̂, σ²I) = ||x - x̂||²/(2σ²) + (D/2) log 2πσ² against torch.distributions;
  the notes' ||x - x̂||² + KL equals it at σ² = ½ only up to (D/2) log π;
* the EM reading: E-step closes the gap exactly, both half-steps raise the ELBO, log p(x) never falls --
  log p(x) recomputed with scipy's multivariate normal.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy.stats import multivariate_normal

from tests.truth._helpers import mnist_test, model
from vae_core.theory import LinearGaussianModel
from vae_core.theory.bounds import iwae_vs_exact
from vae_core.theory.elbo import elbo_two_forms, em_trace, gaussian_decoder_nll

torch.set_grad_enabled(False)


def test_two_forms_agree_on_a_digit():
    m, _ = model("mnist-z20")
    x = mnist_test().images[0]
    r = elbo_two_forms(m, x, n_samples=400, seed=1)
    assert abs(r["form1"] - r["form2"]) < 4 * math.hypot(r["form1_se"], r["form2_se"]) + 1e-6
    with torch.no_grad():
        mu, lv = m.encode(x.reshape(1, -1))
    ent = torch.distributions.Normal(mu[0].double(), torch.exp(0.5 * lv[0].double())).entropy().sum()
    assert abs(r["entropy"] - float(ent)) < 1e-9
    kl = torch.distributions.kl_divergence(torch.distributions.Normal(mu[0].double(), torch.exp(0.5 * lv[0].double())),
                                           torch.distributions.Normal(0.0, 1.0)).sum()
    assert abs(r["kl"] - float(kl)) < 1e-9


def test_single_iwae_estimates_can_exceed_log_px_and_the_gap_is_not_all_recovered():
    m, _ = model("mnist-z2")
    x = mnist_test().images[1]  # a digit whose Gaussian q fits the posterior badly
    r = iwae_vs_exact(m, x, ks=(1, 100), n_rep=60, seed=0)
    assert max(r["max"]) > r["log_px"]  # some single estimate lies above log p(x)
    assert r["mean"][0] < r["log_px"]  # the average of L_1 estimates does not
    assert r["recovered"] <= r["posterior_kl"] + 0.1
    assert r["posterior_kl"] - r["recovered"] > 0.3  # L_100 - L_1 leaves part of KL(q‖p(z|x)) unseen


def test_gaussian_decoder_loss_constant_and_scale():
    g = torch.Generator().manual_seed(0)
    x, xh = torch.rand(3, 784, generator=g), torch.rand(3, 784, generator=g)
    for s2 in (0.5, 0.1, 2.0):
        ref = -torch.distributions.Normal(xh.double(), math.sqrt(s2)).log_prob(x.double()).sum(1)
        assert torch.allclose(gaussian_decoder_nll(x, xh, s2), ref, rtol=0, atol=1e-9)
    sq = (x - xh).double().pow(2).sum(1)
    assert torch.allclose(gaussian_decoder_nll(x, xh, 0.5) - sq, torch.full((3,), 392 * math.log(math.pi),
                                                                              dtype=torch.float64), atol=1e-9)


def test_em_reading_on_linear_gaussian():
    src = LinearGaussianModel.random(d=1, D=3, noise_std=0.5, seed=3)
    _, xs = src.sample(40, torch.Generator().manual_seed(1))
    r = em_trace(xs, steps=4)
    elbo, logp, gap = map(np.array, (r["elbo"], r["log_px"], r["gap"]))
    assert np.all(np.diff(elbo) >= -1e-9)  # every half-step raises the ELBO
    e_steps = [i for i, s in enumerate(r["stage"]) if s == "E"]
    assert np.allclose(gap[e_steps], 0, atol=1e-8)  # the E-step closes the gap (q = p(z|x))
    assert np.all(np.diff(logp[e_steps]) >= -1e-9)  # log p(x) never falls from one EM step to the next
    th = r["theta"]
    W, b, s = np.array(th["W"]), np.array(th["b"]), th["s"]
    ref = multivariate_normal(b, W @ W.T + s * s * np.eye(3)).logpdf(xs.numpy()).sum()
    assert abs(ref - logp[-1]) < 1e-8
