"""Numerical checks of the seed's theorems via vae_core.theory (Thm 1.1-1.3, Cor 1.2, Thm 2.1)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import integrate

from vae_core.models import VAE
from vae_core.objectives import bernoulli_nll, gaussian_kl, iwae_log_weights
from vae_core.theory import (
    INTEGRANDS,
    LinearGaussianModel,
    estimator_variance_curve,
    iwae_curve,
    jensen_gap,
    mc_kl_vs_closed_form,
    quadratic,
    reparam_grad_samples,
    resolve_integrand,
    score_function_grad_samples,
)

F64 = torch.float64


def _random_q(d: int, n: int, g: torch.Generator, full: bool):
    mean = 2 * torch.randn(n, d, generator=g, dtype=F64)
    if full:
        A = torch.randn(n, d, d, generator=g, dtype=F64)
        return mean, A @ A.transpose(-1, -2) + 0.1 * torch.eye(d, dtype=F64)
    return mean, torch.exp(torch.randn(n, d, generator=g, dtype=F64))


# ------------------------------------------------------------------ Thm 1.2
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


# ------------------------------------------------------------- KL, MC vs closed form
@pytest.mark.parametrize("mu,logvar", [(0.5, 0.2), (-1.5, -1.0), (2.0, 1.0), (0.0, -3.0)])
def test_mc_kl_within_four_standard_errors(mu, logvar):
    r = mc_kl_vs_closed_form(mu, logvar, n_samples=4000, seed=1)
    closed = 0.5 * (mu ** 2 + math.exp(logvar) - logvar - 1)
    assert abs(float(r["closed_form"]) - closed) < 1e-12
    assert float(r["stderr"]) > 0
    assert abs(float(r["z_score"])) < 4
    assert abs(float(r["mc_estimate"] - r["closed_form"])) < 4 * float(r["stderr"])


def test_mc_kl_batch_and_prior():
    mu = torch.tensor([[0.5, -1.0], [0.0, 0.0]], dtype=F64)
    lv = torch.tensor([[0.3, -0.5], [0.0, 0.0]], dtype=F64)
    r = mc_kl_vs_closed_form(mu, lv, n_samples=3000, seed=2)
    assert r["z_score"].shape == (2,)
    torch.testing.assert_close(r["closed_form"], gaussian_kl(mu, lv))
    assert abs(float(r["z_score"][0])) < 4
    # q = prior: KL is exactly zero both ways, zero standard error, z-score defined as 0
    assert float(r["closed_form"][1]) == 0 and float(r["stderr"][1]) == 0 and float(r["z_score"][1]) == 0


# ----------------------------------------------------------- gradient estimators
def test_named_integrands_analytic_gradients_match_finite_differences():
    mu, s, h = torch.tensor(0.3, dtype=F64), torch.tensor(0.7, dtype=F64), 1e-6
    for name, itg in {**INTEGRANDS, "quad": quadratic(-1.0)}.items():
        gmu, gs = itg.true_grad(mu, s)
        fd_mu = (itg.expectation(mu + h, s) - itg.expectation(mu - h, s)) / (2 * h)
        fd_s = (itg.expectation(mu, s + h) - itg.expectation(mu, s - h)) / (2 * h)
        assert abs(float(gmu - fd_mu)) < 1e-6, name
        assert abs(float(gs - fd_s)) < 1e-6, name
    assert resolve_integrand(torch.cos).true_grad(mu, s) is None
    with pytest.raises(ValueError):
        resolve_integrand("nope")


@pytest.mark.parametrize("name,mu,sigma", [("(z-2)^2", 0.5, 1.0), ("(z-2)^2", -1.0, 0.3), ("sin(3z)", 0.2, 0.4),
                                           ("z^4", 0.3, 0.6)])
def test_gradient_estimators_unbiased(name, mu, sigma):
    n = 40_000
    rep = reparam_grad_samples(name, mu, sigma, n, torch.Generator().manual_seed(0))
    sco = score_function_grad_samples(name, mu, sigma, n, torch.Generator().manual_seed(1))
    assert rep.shape == (n, 2) and sco.shape == (n, 2)
    true = torch.stack(INTEGRANDS[name].true_grad(mu, sigma))
    for est in (rep, sco):
        se = est.std(0) / math.sqrt(n)
        assert ((est.mean(0) - true).abs() < 4 * se).all(), (est.mean(0), true, se)
    # reparameterisation has the lower variance for the polynomials (Thm 2.1 vs seed §梯度问题); for the
    # oscillating sin(3z) it need not: f' = 3 cos(3z) is large while f itself stays bounded
    if name != "sin(3z)":
        assert (rep.var(0) < sco.var(0)).all()


def test_gradient_samples_accept_vectors():
    mu = torch.tensor([0.0, 1.0, 2.0])
    rep = reparam_grad_samples(quadratic(2.0), mu, 0.5, 10, torch.Generator().manual_seed(0))
    sco = score_function_grad_samples(quadratic(2.0), mu, torch.full((3,), 0.5), 10, torch.Generator().manual_seed(0))
    assert rep.shape == (10, 3, 2) and sco.shape == (10, 3, 2)
    # for f = (z-c)^2 the reparam d/dmu sample is 2 (z - c): exactly 2 (mu - c) + 2 sigma eps
    eps = torch.randn(10, 3, generator=torch.Generator().manual_seed(0), dtype=F64)
    torch.testing.assert_close(rep[..., 0], 2 * (mu.double() - 2) + eps)
    torch.testing.assert_close(rep[..., 1], (2 * (mu.double() - 2) + eps) * eps)


def test_estimator_variance_curve():
    mu, sigma, c = 0.5, 1.0, 2.0
    curve = estimator_variance_curve("(z-2)^2", mu, sigma, sample_sizes=[1, 4, 16, 64], repeats=400, seed=3)
    assert curve["n"] == [1, 4, 16, 64]
    assert curve["true_grad"] == [2 * (mu - c), 2 * sigma]
    for key in ("mean_reparam", "var_reparam", "mean_score", "var_score"):
        assert np.array(curve[key]).shape == (4, 2)
    for i, n in enumerate(curve["n"]):
        for j in range(2):
            for est in ("reparam", "score"):
                se = math.sqrt(curve[f"var_{est}"][i][j] / curve["repeats"])
                assert abs(curve[f"mean_{est}"][i][j] - curve["true_grad"][j]) < 4 * se
            assert curve["var_reparam"][i][j] < curve["var_score"][i][j]
        # per-sample reparam variance of 2(z-c) is 4 sigma^2 for d/dmu; the n-average scales as 1/n
        assert abs(curve["var_reparam"][i][0] * n / (4 * sigma ** 2) - 1) < 0.35
    assert curve["var_score"][-1][0] < curve["var_score"][0][0] / 16
    custom = estimator_variance_curve(torch.cos, 0.0, 1.0, sample_sizes=[2], repeats=10)
    assert custom["true_grad"] is None


def test_score_function_baseline_keeps_mean_and_cuts_variance():
    n, mu, sigma = 40_000, 0.5, 1.0
    plain = score_function_grad_samples("(z-2)^2", mu, sigma, n, torch.Generator().manual_seed(5))
    based = score_function_grad_samples("(z-2)^2", mu, sigma, n, torch.Generator().manual_seed(5),
                                        baseline=float(INTEGRANDS["(z-2)^2"].expectation(torch.tensor(mu),
                                                                                         torch.tensor(sigma))))
    true = torch.tensor([2 * (mu - 2), 2 * sigma], dtype=F64)
    assert ((based.mean(0) - true).abs() < 4 * based.std(0) / math.sqrt(n)).all()
    assert (based.var(0) < plain.var(0)).all()


# ------------------------------------------------------------------ IWAE / Jensen
def test_jensen_gap_on_log_weights():
    g = torch.Generator().manual_seed(0)
    lw = torch.randn(100, 7, generator=g, dtype=F64) * 2
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


# ------------------------------------------------------------------ helpers for the theory pages
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


def test_gaussian_pdf_and_ellipse():
    from vae_core.theory import gaussian_ellipse, gaussian_pdf

    z = torch.linspace(-8, 10, 4001, dtype=F64)
    p = gaussian_pdf(z, 1.0, 2.0)
    assert float(torch.trapezoid(p, z)) == pytest.approx(1.0, abs=1e-6)
    assert float((p * z).sum() / p.sum()) == pytest.approx(1.0, abs=1e-6)
    cov = torch.tensor([[2.0, 0.6], [0.6, 0.5]], dtype=F64)
    e = gaussian_ellipse([1.0, -1.0], cov, n_std=2.0, n=50)
    assert e.shape == (50, 2)
    d = e - torch.tensor([1.0, -1.0], dtype=F64)
    maha = torch.einsum("ni,ij,nj->n", d, torch.linalg.inv(cov), d)
    torch.testing.assert_close(maha, torch.full((50,), 4.0, dtype=F64))
    with pytest.raises(ValueError):
        gaussian_pdf(z, 0.0, 0.0)


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


def test_reparam_draws_and_estimator_summary():
    from vae_core.theory import estimator_summary, reparam_draws

    r = reparam_draws([1.0, -2.0], [0.5, 2.0], 20000, seed=1)
    assert r["eps"].shape == r["z"].shape == (20000, 2)
    torch.testing.assert_close(r["z"], torch.tensor([1.0, -2.0], dtype=F64) + torch.tensor([0.5, 2.0], dtype=F64)
                               * r["eps"])
    assert r["z"].mean(0).tolist() == pytest.approx([1.0, -2.0], abs=0.05)
    assert r["z"].std(0).tolist() == pytest.approx([0.5, 2.0], rel=0.03)
    with pytest.raises(ValueError):
        reparam_draws(0.0, 0.0, 3)

    curve = estimator_variance_curve("(z-2)^2", 0.3, 0.7, sample_sizes=[1, 4, 16], repeats=400, seed=0)
    for p in (0, 1):
        s = estimator_summary(curve, p)
        assert s["n"] == 16 and s["true"] == pytest.approx(curve["true_grad"][p])
        assert abs(s["reparam_mean"] - s["true"]) < 4 * s["reparam_se"]
        assert abs(s["score_mean"] - s["true"]) < 4 * s["score_se"]
        assert s["ratio"] > 1  # the quadratic: reparameterisation wins on both parameters
    # seed §梯度问题, the honest exception: sin(3z) at mu = 0.2, sigma = 0.4, d/dmu
    s = estimator_summary(estimator_variance_curve("sin(3z)", 0.2, 0.4, repeats=400), 0)
    assert s["ratio"] < 1


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
