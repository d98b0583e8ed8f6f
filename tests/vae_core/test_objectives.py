"""Unit tests for vae_core.objectives: KL closed form vs Monte Carlo, the IWAE bound, free bits, KL annealing."""

from __future__ import annotations

import math

import pytest
import torch
from tiny_models import images, tiny_cvae, tiny_vae

from vae_core.objectives import (
    KLSchedule,
    cyclical,
    elbo_terms,
    evaluate,
    free_bits_kl,
    free_bits_penalty,
    gaussian_kl,
    gaussian_kl_per_dim,
    iwae_bound,
    linear_warmup,
    mc_kl,
    vae_loss,
)

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


# ------------------------------------------------------------------ closed-form KL
def test_kl_is_zero_at_the_prior():
    mu, lv = torch.zeros(5, 3), torch.zeros(5, 3)
    assert torch.equal(gaussian_kl_per_dim(mu, lv), torch.zeros(5, 3))
    assert torch.equal(gaussian_kl(mu, lv), torch.zeros(5))


def test_kl_per_dim_formula_and_sum():
    mu = torch.tensor([[1.0, -2.0, 0.0]], dtype=torch.float64)
    lv = torch.tensor([[0.0, math.log(4.0), math.log(0.25)]], dtype=torch.float64)
    # 1/2 (mu^2 + sigma^2 - log sigma^2 - 1) per dimension
    want = torch.tensor([[0.5, 0.5 * (4 + 4 - math.log(4) - 1), 0.5 * (0.25 - math.log(0.25) - 1)]],
                        dtype=torch.float64)
    torch.testing.assert_close(gaussian_kl_per_dim(mu, lv), want)
    torch.testing.assert_close(gaussian_kl(mu, lv), want.sum(1))
    # KL > 0 away from the prior, and a shifted mean always costs mu^2 / 2
    assert (gaussian_kl_per_dim(mu, lv)[0] > 0).all()


@pytest.mark.parametrize("seed", [0, 1])
def test_closed_form_kl_matches_monte_carlo_within_4_se(seed):
    g = torch.Generator().manual_seed(seed)
    mu = 1.5 * torch.randn(6, 4, generator=g, dtype=torch.float64)
    lv = torch.randn(6, 4, generator=g, dtype=torch.float64)
    est, se = mc_kl(mu, lv, n_samples=20_000, generator=torch.Generator().manual_seed(100 + seed))
    closed = gaussian_kl(mu, lv).to(est.dtype)
    assert est.shape == se.shape == (6,)
    assert (se > 0).all()
    assert ((est - closed).abs() < 4 * se).all(), ((est - closed) / se)


def test_monte_carlo_kl_detects_a_wrong_closed_form():
    """The 4-SE criterion has teeth: a KL off by 10% is rejected."""
    mu, lv = torch.full((1, 3), 1.0, dtype=torch.float64), torch.full((1, 3), -0.5, dtype=torch.float64)
    est, se = mc_kl(mu, lv, n_samples=20_000, generator=torch.Generator().manual_seed(7))
    wrong = 1.1 * gaussian_kl(mu, lv)
    assert (est - wrong).abs().item() > 4 * se.item()


def test_mc_kl_at_the_prior_is_zero_exactly():
    est, se = mc_kl(torch.zeros(2, 3), torch.zeros(2, 3), 50, torch.Generator().manual_seed(0))
    assert torch.allclose(est, torch.zeros(2), atol=1e-6) and torch.allclose(se, torch.zeros(2), atol=1e-6)


# ------------------------------------------------------------------ vae_loss
def test_vae_loss_terms_and_beta():
    g = torch.Generator().manual_seed(0)
    logits, x = torch.randn(8, 10, generator=g), torch.rand(8, 10, generator=g)
    mu, lv = torch.randn(8, 3, generator=g), torch.randn(8, 3, generator=g)
    t1 = vae_loss(logits, x, mu, lv, beta=1.0)
    t4 = vae_loss(logits, x, mu, lv, beta=4.0)
    recon = torch.nn.functional.binary_cross_entropy(torch.sigmoid(logits), x, reduction="sum") / 8
    torch.testing.assert_close(t1.recon, recon, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(t1.kl, gaussian_kl(mu, lv).mean())
    torch.testing.assert_close(t1.kl_per_dim, gaussian_kl_per_dim(mu, lv).mean(0))
    torch.testing.assert_close(t1.loss, t1.recon + t1.kl)
    torch.testing.assert_close(t4.loss, t4.recon + 4 * t4.kl)
    assert t4.kl == t1.kl  # the reported KL never includes beta


# ------------------------------------------------------------------ IWAE
@pytest.fixture(scope="module")
def model_and_x():
    model = tiny_vae(0, latent_dim=3).eval()
    g = torch.Generator().manual_seed(1)
    x = (torch.rand(32, 784, generator=g) < 0.3).float()
    return model, x


def _mean_bound(model, x, k, draws, seed):
    g = torch.Generator().manual_seed(seed)
    vals = torch.stack([iwae_bound(model, x, k, generator=g) for _ in range(draws)])  # (draws, N)
    return vals.double()


def test_iwae_bound_is_at_least_the_elbo_and_non_decreasing_in_k(model_and_x):
    model, x = model_and_x
    b1 = _mean_bound(model, x, 1, 60, 0).mean()
    b5 = _mean_bound(model, x, 5, 60, 1).mean()
    b50 = _mean_bound(model, x, 50, 20, 2).mean()
    elbo = -elbo_terms(model, x, n_samples=200, generator=torch.Generator().manual_seed(3))["neg_elbo"].double().mean()
    assert math.isfinite(float(b50)) and float(b50) < 0  # a log-likelihood of binary images
    assert b1 <= b5 <= b50, (b1, b5, b50)
    # L_50 is clearly above the ELBO for a random (badly matched) q
    assert b50 > elbo + 1.0, (b50, elbo)
    assert b5 >= elbo


def test_iwae_k1_matches_the_elbo_in_expectation(model_and_x):
    model, x = model_and_x
    draws = 200
    b1 = _mean_bound(model, x, 1, draws, 10)  # (draws, N)
    ref = -elbo_terms(model, x, n_samples=draws, generator=torch.Generator().manual_seed(11))["neg_elbo"].double()
    # per-draw standard error of the IWAE(1) batch mean; elbo_terms averages `draws` samples too (same variance
    # of its reconstruction term, while its KL is exact), so 2x the variance bounds the difference's variance
    se = float(b1.mean(1).std() / math.sqrt(draws))
    diff = float(b1.mean() - ref.mean())
    assert abs(diff) < 4 * math.sqrt(2) * se, (diff, se)


def test_iwae_chunking_and_validation(model_and_x):
    model, x = model_and_x
    a = iwae_bound(model, x[:4], 12, generator=torch.Generator().manual_seed(5))
    b = iwae_bound(model, x[:4], 12, generator=torch.Generator().manual_seed(5), chunk=12)
    torch.testing.assert_close(a, b)
    c = iwae_bound(model, x[:4], 12, generator=torch.Generator().manual_seed(5), chunk=5)
    assert c.shape == (4,) and torch.isfinite(c).all()
    with pytest.raises(ValueError):
        iwae_bound(model, x[:4], 0)


# ------------------------------------------------------------------ free bits
def test_free_bits_floor_per_dimension():
    # batch-average KL per dim: [0.1, 0.5, 2.0, 0.0]
    kl = torch.tensor([[0.0, 0.4, 1.0, 0.0], [0.2, 0.6, 3.0, 0.0]])
    lam = 0.5
    out = free_bits_kl(kl, lam)
    # dims below lambda contribute exactly lambda, dims above their own value
    assert out.item() == pytest.approx(0.5 + 0.5 + 2.0 + 0.5)
    assert free_bits_kl(kl, 0.0).item() == pytest.approx(2.6)
    assert free_bits_kl(kl, 3.0).item() == pytest.approx(12.0)


def test_free_bits_penalty_is_the_floor_of_free_bits_kl():
    per_dim = torch.tensor([0.1, 0.5, 2.0, 0.0])
    assert free_bits_penalty(per_dim, 0.5).item() == pytest.approx(3.5)
    assert free_bits_penalty(per_dim, 0.0).item() == pytest.approx(2.6)
    kl = torch.tensor([[0.0, 0.4, 1.0, 0.0], [0.2, 0.6, 3.0, 0.0]])  # batch mean = per_dim
    assert free_bits_kl(kl, 0.5).item() == free_bits_penalty(kl.mean(0), 0.5).item()


def test_free_bits_gradient_only_flows_to_dims_above_the_floor():
    kl = torch.tensor([[0.1, 2.0, 0.7]], requires_grad=True)
    free_bits_kl(kl, 0.5).backward()
    assert kl.grad.tolist() == [[0.0, 1.0, 1.0]]


def test_vae_loss_uses_free_bits_in_the_objective_but_reports_raw_kl():
    g = torch.Generator().manual_seed(0)
    logits, x = torch.randn(4, 6, generator=g), torch.rand(4, 6, generator=g)
    mu, lv = torch.zeros(4, 2), torch.zeros(4, 2)  # KL = 0 in both dims
    t = vae_loss(logits, x, mu, lv, beta=2.0, free_bits=0.25)
    assert t.kl.item() == 0.0
    torch.testing.assert_close(t.loss, t.recon + 2.0 * 0.5)


# ------------------------------------------------------------------ annealing schedules
def test_linear_warmup_values():
    assert linear_warmup(0, 100) == 0.0
    assert linear_warmup(25, 100) == 0.25
    assert linear_warmup(50, 100, beta=4.0) == 2.0
    assert linear_warmup(100, 100) == 1.0
    assert linear_warmup(1000, 100, beta=2.0) == 2.0
    assert linear_warmup(0, 0, beta=3.0) == 3.0  # no warm-up: constant beta


def test_cyclical_values():
    # cycle of 100 steps, ramp over the first half
    assert cyclical(0, 100) == 0.0
    assert cyclical(25, 100) == 0.5
    assert cyclical(50, 100) == 1.0
    assert cyclical(99, 100) == 1.0
    assert cyclical(100, 100) == 0.0  # a new cycle starts
    assert cyclical(125, 100, beta=2.0) == 1.0
    assert cyclical(10, 100, ramp_fraction=0.2) == 0.5
    assert cyclical(7, 0, beta=1.5) == 1.5


def test_kl_schedule_weight():
    assert KLSchedule().weight(12345) == 1.0
    assert KLSchedule("constant", beta=4.0).weight(0) == 4.0
    lin = KLSchedule("linear", beta=2.0, warmup_steps=10)
    assert [lin.weight(s) for s in (0, 5, 10, 20)] == [0.0, 1.0, 2.0, 2.0]
    cyc = KLSchedule("cyclical", beta=1.0, warmup_steps=10)
    assert [cyc.weight(s) for s in (0, 2, 5, 9, 10, 12)] == [0.0, 0.4, 1.0, 1.0, 0.0, 0.4]
    assert lin.to_dict() == {"kind": "linear", "beta": 2.0, "warmup_steps": 10, "ramp_fraction": 0.5}


@pytest.mark.parametrize("kwargs", [dict(kind="exponential"), dict(kind="linear", beta=-1.0),
                                    dict(beta=float("nan")), dict(beta=float("inf")), dict(kind="")])
def test_invalid_schedules_raise(kwargs):
    with pytest.raises(ValueError):
        KLSchedule(**kwargs)


# ------------------------------------------------------------------ labels in the evaluation helpers
def test_evaluation_passes_labels_to_a_cvae_and_ignores_them_for_a_vae():
    x, y = images(9), torch.arange(9) % 10
    v, c = tiny_vae().eval(), tiny_cvae().eval()
    assert evaluate(v, x, y, batch_size=4, seed=3) == evaluate(v, x, None, batch_size=4, seed=3)
    with_y = evaluate(c, x, y, batch_size=4, seed=3, iwae_k=3)
    other_y = evaluate(c, x, (y + 1) % 10, batch_size=4, seed=3, iwae_k=3)
    assert with_y["neg_elbo"] != other_y["neg_elbo"]
    # per-example terms, by hand with the same noise: recon + KL of the CVAE given its labels
    t = elbo_terms(c, x, y, generator=torch.Generator().manual_seed(0))
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        mu, lv = c.encode(x, y)
        z = c.reparameterize(mu, lv, g)
        bce = torch.nn.functional.binary_cross_entropy_with_logits(c.decode_logits(z, y), x, reduction="none").sum(1)
    torch.testing.assert_close(t["recon"], bce)
    torch.testing.assert_close(t["neg_elbo"], bce + gaussian_kl(mu, lv))
    with pytest.raises(ValueError):
        elbo_terms(c, x)  # a CVAE needs its labels
    assert iwae_bound(c, x, 4, y[:1], generator=torch.Generator().manual_seed(1)).shape == (9,)  # one label for all
