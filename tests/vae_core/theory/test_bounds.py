"""vae_core.theory.bounds: closed-form vs Monte-Carlo KL, Jensen's gap (Thm 1.3), IWAE bounds, the ELBO of a digit."""

from __future__ import annotations

import math

import pytest
import torch

from vae_core.digits.model import VAE
from vae_core.objectives import bernoulli_nll, gaussian_kl, iwae_log_weights
from vae_core.theory import (
    iwae_curve,
    jensen_gap,
    mc_kl_vs_closed_form,
)


@pytest.mark.parametrize("mu,logvar", [(0.5, 0.2), (-1.5, -1.0), (2.0, 1.0), (0.0, -3.0)])
def test_mc_kl_within_four_standard_errors(mu, logvar):
    r = mc_kl_vs_closed_form(mu, logvar, n_samples=4000, seed=1)
    closed = 0.5 * (mu ** 2 + math.exp(logvar) - logvar - 1)
    assert abs(float(r["closed_form"]) - closed) < 1e-12
    assert float(r["stderr"]) > 0
    assert abs(float(r["z_score"])) < 4
    assert abs(float(r["mc_estimate"] - r["closed_form"])) < 4 * float(r["stderr"])


def test_mc_kl_batch_and_prior():
    mu = torch.tensor([[0.5, -1.0], [0.0, 0.0]], dtype=torch.float64)
    lv = torch.tensor([[0.3, -0.5], [0.0, 0.0]], dtype=torch.float64)
    r = mc_kl_vs_closed_form(mu, lv, n_samples=3000, seed=2)
    assert r["z_score"].shape == (2,)
    torch.testing.assert_close(r["closed_form"], gaussian_kl(mu, lv))
    assert abs(float(r["z_score"][0])) < 4
    # q = prior: KL is exactly zero both ways, zero standard error, z-score defined as 0
    assert float(r["closed_form"][1]) == 0 and float(r["stderr"][1]) == 0 and float(r["z_score"][1]) == 0


def test_jensen_gap_on_log_weights():
    g = torch.Generator().manual_seed(0)
    lw = torch.randn(100, 7, generator=g, dtype=torch.float64) * 2
    r = jensen_gap(lw, [1, 2, 5, 10, 50, 100])
    torch.testing.assert_close(r["bounds"][0], lw.mean(0))
    torch.testing.assert_close(r["bounds"][-1], torch.logsumexp(lw, 0) - math.log(100))
    assert (r["gap"] >= -1e-12).all()
    for a, b in [(0, 1), (0, 2), (2, 3), (3, 4), (4, 5), (1, 3)]:  # divisor chains
        assert (r["bounds"][b] >= r["bounds"][a] - 1e-12).all()
    with pytest.raises(ValueError):
        jensen_gap(lw, [101])


@pytest.fixture(scope="module")
def tiny_vae():
    torch.manual_seed(0)
    model = VAE(latent_dim=2, hidden_dims=(64,))
    x = (torch.rand(64, 784, generator=torch.Generator().manual_seed(1)) > 0.5).float()
    return model, x


@pytest.mark.parametrize("shared", [True, False])
def test_iwae_non_decreasing_in_k(tiny_vae, shared):
    model, x = tiny_vae
    r = iwae_curve(model, x, ks=[1, 5, 50], generator=torch.Generator().manual_seed(2), n_draws=200, shared=shared)
    assert r["k"] == [1, 5, 50] and r["bound_per_x"].shape == (3, 64)
    b = r["bound"]
    assert b[0] <= b[1] <= b[2], b
    assert all(math.isfinite(v) and v < 0 for v in b)
    assert r["gap"][0] == pytest.approx(b[0] - r["elbo"])


def test_iwae_k1_matches_elbo_in_expectation(tiny_vae):
    model, x = tiny_vae
    M, N = 100, x.shape[0]
    r = iwae_curve(model, x, ks=[1], generator=torch.Generator().manual_seed(3), n_draws=M)
    assert r["bound"][0] == pytest.approx(r["elbo"])
    with torch.no_grad():
        # the same pool's spread gives the IWAE(k=1) standard error
        pool = iwae_log_weights(model, x, M, generator=torch.Generator().manual_seed(3)).double()
        torch.testing.assert_close(pool.mean(0), r["bound_per_x"][0])
        # reference ELBO with the closed-form KL: E_q log p(x|z) - KL, from M independent reparameterised draws
        mu, logvar = model.encode(x)
        eps = torch.randn(M, N, 2, generator=torch.Generator().manual_seed(4))
        z = (mu + eps * torch.exp(0.5 * logvar)).reshape(M * N, 2)
        recon = bernoulli_nll(model.decode_logits(z), x.repeat(M, 1)).reshape(M, N).double()
        elbo_ref = -recon.mean(0) - gaussian_kl(mu, logvar).double()
    se_ref = float((recon.var(0) / M).sum().sqrt()) / N
    se_iw = float((pool.var(0) / M).sum().sqrt()) / N
    diff = float(pool.mean() - elbo_ref.mean())
    assert abs(diff) < 4 * math.sqrt(se_ref ** 2 + se_iw ** 2), (diff, se_ref, se_iw)


def test_elbo_estimate_matches_elbo_terms_and_se(tiny_vae):
    from vae_core.objectives import elbo_terms
    from vae_core.theory import elbo_estimate

    model, x = tiny_vae
    r = elbo_estimate(model, x[:4], n_samples=8, generator=torch.Generator().manual_seed(5))
    ref = elbo_terms(model, x[:4], n_samples=8, generator=torch.Generator().manual_seed(5))
    torch.testing.assert_close(r["recon_ll"], -ref["recon"].double(), atol=1e-3, rtol=0)
    torch.testing.assert_close(r["kl"], ref["kl"].double(), atol=1e-5, rtol=0)
    torch.testing.assert_close(r["elbo"], r["recon_ll"] - r["kl"])
    torch.testing.assert_close(r["kl_per_dim"].sum(1), r["kl"])
    assert (r["recon_se"] > 0).all() and r["n_samples"] == 8
    one = elbo_estimate(model, x[:2], n_samples=1)
    assert (one["recon_se"] == 0).all()
    with pytest.raises(ValueError):
        elbo_estimate(model, x[:2], n_samples=0)
