"""vae_core.theory.linear_gaussian: Thm 1.1, Thm 1.2 (log p(x) = ELBO + KL(q || p(z|x))) and Cor 1.2 on a model
where everything is exact, and the Exact Identity page's helpers."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import integrate

from vae_core.theory import (
    LinearGaussianModel,
    jensen_gap,
)

F64 = torch.float64


def _random_q(d: int, n: int, g: torch.Generator, full: bool):
    mean = 2 * torch.randn(n, d, generator=g, dtype=F64)
    if full:
        A = torch.randn(n, d, d, generator=g, dtype=F64)
        return mean, A @ A.transpose(-1, -2) + 0.1 * torch.eye(d, dtype=F64)
    return mean, torch.exp(torch.randn(n, d, generator=g, dtype=F64))


@pytest.mark.parametrize("d,D", [(1, 2), (1, 3), (2, 2), (2, 4)])
@pytest.mark.parametrize("full", [False, True])
def test_identity_log_px_equals_elbo_plus_kl(d, D, full):
    torch.manual_seed(0)
    model = LinearGaussianModel.random(d=d, D=D, noise_std=0.7, seed=10 * d + D)
    g = torch.Generator().manual_seed(d + D)
    _, x = model.sample(8, g)
    q_mean, q_cov = _random_q(d, 8, g, full)
    r = model.identity_check(x, q_mean, q_cov)
    assert r["residual"].shape == (8,)
    assert r["residual"].abs().max() < 1e-9
    torch.testing.assert_close(r["log_px"], r["elbo"] + r["kl_posterior"], atol=1e-9, rtol=0)
    torch.testing.assert_close(r["elbo"], r["expected_log_lik"] - r["kl_prior"], atol=1e-12, rtol=0)
    # Cor 1.1: KL(q || p(z|x)) >= 0, so the ELBO is a lower bound; a random q is strictly worse
    assert (r["kl_posterior"] > 1e-6).all()
    assert (r["elbo"] < r["log_px"]).all()


def test_identity_single_x_and_scalar_q_for_d1():
    model = LinearGaussianModel.random(d=1, D=2, seed=3)
    x = torch.tensor([0.3, -1.2], dtype=F64)
    r = model.identity_check(x, 0.4, 0.25)  # plain floats: q = N(0.4, 0.25)
    assert r["log_px"].shape == ()
    assert abs(float(r["residual"])) < 1e-9
    r2 = model.identity_check(x, torch.tensor([0.4], dtype=F64), torch.tensor([[0.25]], dtype=F64))  # full-cov form
    torch.testing.assert_close(r["elbo"], r2["elbo"], atol=1e-12, rtol=0)


def test_elbo_tightness_at_exact_posterior():
    """Cor 1.2: the gap KL(q || p(z|x)) vanishes iff q is the posterior."""
    for d, D in [(1, 2), (2, 3)]:
        model = LinearGaussianModel.random(d=d, D=D, noise_std=0.4, seed=7)
        _, x = model.sample(6, torch.Generator().manual_seed(1))
        mean, cov = model.posterior(x)
        assert mean.shape == (6, d) and cov.shape == (6, d, d)
        r = model.identity_check(x, mean, cov)
        assert r["kl_posterior"].abs().max() < 1e-9
        assert (r["log_px"] - r["elbo"]).abs().max() < 1e-9
        # perturbing q away from the posterior opens the gap
        worse = model.identity_check(x, mean + 0.1, cov)
        assert (worse["kl_posterior"] > 1e-4).all()
        # the mean-field (diagonal) q cannot be exact when the posterior is correlated
        if d == 2:
            diag = torch.diagonal(cov, dim1=-2, dim2=-1)
            assert (model.kl_to_posterior(x, mean, diag) > 0).all()


def test_posterior_matches_bayes_rule_on_grid_d1():
    model = LinearGaussianModel.random(d=1, D=3, noise_std=0.6, seed=5)
    x = torch.tensor([0.5, -0.2, 1.0], dtype=F64)
    z = torch.linspace(-8, 8, 20001, dtype=F64)[:, None]
    log_post = model.log_joint(x, z) - model.log_marginal(x)
    w = torch.exp(log_post) * (z[1, 0] - z[0, 0])
    assert abs(float(w.sum()) - 1) < 1e-6
    mean, cov = model.posterior(x)
    assert abs(float((w * z[:, 0]).sum()) - float(mean[0])) < 1e-6
    assert abs(float((w * (z[:, 0] - mean[0]) ** 2).sum()) - float(cov[0, 0])) < 1e-6


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_log_marginal_matches_quadrature_d1(seed):
    model = LinearGaussianModel.random(d=1, D=2, noise_std=0.5, seed=seed)
    _, xs = model.sample(3, torch.Generator().manual_seed(seed))
    W, b, s = model.W.numpy()[:, 0], model.b.numpy(), model.noise_std

    for x in xs.numpy():
        def integrand(z, x=x):
            r = x - W * z - b
            return math.exp(-0.5 * z * z - 0.5 * (np.dot(r, r)) / s ** 2) / math.sqrt(2 * math.pi) / (
                2 * math.pi * s ** 2) ** (len(x) / 2)

        p, _ = integrate.quad(integrand, -20, 20, points=[0.0], epsabs=0, epsrel=1e-11, limit=200)
        assert abs(math.log(p) - float(model.log_marginal(torch.from_numpy(x)))) < 1e-6


def test_log_marginal_matches_monte_carlo_d2():
    model = LinearGaussianModel.random(d=2, D=3, noise_std=1.0, seed=4)
    x = torch.tensor([0.2, -0.5, 0.8], dtype=F64)
    z = torch.randn(200_000, 2, generator=torch.Generator().manual_seed(0), dtype=F64)
    ll = model.log_likelihood(x, z)  # p(x) = E_{p(z)} p(x|z)
    est = torch.logsumexp(ll, 0) - math.log(z.shape[0])
    rel_se = float(torch.exp(ll - ll.max()).std() / torch.exp(ll - ll.max()).mean()) / math.sqrt(z.shape[0])
    assert abs(float(est - model.log_marginal(x))) < 5 * rel_se + 1e-6


def test_importance_bounds_rise_to_log_marginal():
    model = LinearGaussianModel.random(d=2, D=3, noise_std=0.5, seed=2)
    _, x = model.sample(4, torch.Generator().manual_seed(0))
    mp, Sp = model.posterior(x)
    q_mean, q_cov = mp + 0.3, 2 * Sp  # a wider-than-posterior q keeps the importance weights bounded
    lw = model.importance_log_weights(x, q_mean, q_cov, 2000, torch.Generator().manual_seed(1))
    assert lw.shape == (2000, 4)
    res = jensen_gap(lw, [1, 10, 100, 1000])
    b, log_px = res["bounds"], model.log_marginal(x)
    assert (b[1:] >= b[:-1] - 1e-12).all()  # divisor chain over a shared pool: monotone draw by draw
    # L_1000 (2 groups of 1000) is within Monte-Carlo noise of log p(x): sd(log mean w) ~ sd(w / p(x)) / sqrt(M)
    sd = torch.exp(lw - log_px).std(0) / math.sqrt(lw.shape[0])
    assert ((b[-1] - log_px).abs() < 4 * sd).all()
    assert ((log_px - b[-1]).abs() < 0.1 * (log_px - b[0])).all()  # nearly all of the Jensen gap closed
    # with q = the exact posterior every weight equals p(x): no Jensen gap at all (Cor 1.2)
    exact = model.importance_log_weights(x, mp, Sp, 5, torch.Generator().manual_seed(2))
    assert (exact - log_px).abs().max() < 1e-9
    # the pool's mean log w estimates the closed-form ELBO of q
    elbo = model.elbo(x, q_mean, q_cov)["elbo"]
    se = lw.std(0) / math.sqrt(lw.shape[0])
    assert ((res["elbo"] - elbo).abs() < 4 * se).all()


def test_invalid_inputs_raise():
    model = LinearGaussianModel.random(d=2, D=3)
    with pytest.raises(ValueError):
        model.log_marginal(torch.zeros(4))
    with pytest.raises(ValueError):
        model.elbo(torch.zeros(3), torch.zeros(3), torch.ones(3))
    with pytest.raises(ValueError):
        model.elbo(torch.zeros(3), torch.zeros(2), torch.tensor([1.0, -1.0]))
    with pytest.raises(ValueError):
        LinearGaussianModel(torch.ones(3, 2), torch.zeros(3), 0.0)


def test_cov_params_round_trip_and_identity_demo():
    from vae_core.theory import cov_from_params, cov_to_params, identity_demo

    C = cov_from_params([0.3, -1.0], 0.4)
    lv, rho = cov_to_params(C)
    assert lv == pytest.approx([0.3, -1.0]) and rho == pytest.approx(0.4)
    assert cov_to_params(cov_from_params([0.7]))[0] == pytest.approx([0.7])
    with pytest.raises(ValueError):
        cov_from_params([0.0], 0.5)
    with pytest.raises(ValueError):
        cov_from_params([0.0, 0.0], 1.0)
    for d in (1, 2):
        lgm, xs = identity_demo(d)
        assert xs.shape == (4, lgm.D) and lgm.d == d
        mp, Sp = lgm.posterior(xs)
        assert (mp.abs() <= 2.5).all()
        # Cor 1.2 through the page's own parametrisation: q = posterior -> gap 0, residual ~ 1e-15
        lv, rho = cov_to_params(Sp[0])
        r = lgm.identity_check(xs[0], mp[0], cov_from_params(lv, rho))
        assert abs(float(r["kl_posterior"])) < 1e-12 and abs(float(r["residual"])) < 1e-12


def test_elbo_sweep_touches_log_px_at_posterior_mean():
    from vae_core.theory import elbo_sweep, identity_demo

    lgm, xs = identity_demo(2)
    mp, Sp = lgm.posterior(xs[1])
    vals = torch.linspace(-3, 3, 61, dtype=F64).tolist() + [float(mp[0])]
    r = elbo_sweep(lgm, xs[1], mp, Sp, 0, vals)
    elbo = np.array(r["elbo"])
    assert (elbo <= r["log_px"] + 1e-12).all()
    assert elbo[-1] == pytest.approx(r["log_px"], abs=1e-12)
    np.testing.assert_allclose(elbo + np.array(r["kl_posterior"]), r["log_px"], atol=1e-10)
    # with a too-wide q the curve stays strictly below log p(x)
    r2 = elbo_sweep(lgm, xs[1], mp, 2 * Sp, 0, vals)
    assert max(r2["elbo"]) < r["log_px"] - 1e-3


def test_mean_field_optimum_is_best_diagonal_q():
    from vae_core.theory import cov_from_params, identity_demo, mean_field_optimum

    lgm, xs = identity_demo(2)
    m, S = mean_field_optimum(lgm, xs[0])
    kl_best = float(lgm.kl_to_posterior(xs[0], m, S))
    P = lgm.posterior_precision()
    assert kl_best == pytest.approx(0.5 * float(torch.log(torch.diagonal(P)).sum() - torch.logdet(P)), abs=1e-12)
    assert kl_best > 1e-3  # the demo posterior is correlated: mean-field cannot close the gap
    lv = torch.log(torch.diagonal(S))
    for dv in ([0.1, 0.0], [0.0, -0.1], [0.05, 0.05]):
        worse = lgm.kl_to_posterior(xs[0], m, cov_from_params(lv + torch.tensor(dv, dtype=F64)))
        assert float(worse) > kl_best
