"""Pixel likelihoods (vae_core.likelihoods) and binarisation (vae_core.digits.data), each checked against an
independent computation: torch.distributions.ContinuousBernoulli and Bernoulli, numerical integration of the
density over [0, 1], float64 closed forms, autograd for the hand-written derivative."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch.distributions import Bernoulli, ContinuousBernoulli

from vae_core.digits.data import (
    TEST_BINARIZATION_SEED,
    binarization_fingerprint,
    binarize_dynamic,
    binarize_fixed,
)
from vae_core.digits.model import VAE
from vae_core.likelihoods import (
    CB_TAYLOR_WINDOW,
    bernoulli_cross_entropy,
    bernoulli_log_likelihood,
    cb_log_norm,
    cb_log_norm_from_probs,
    cb_log_norm_grad,
    continuous_bernoulli_log_density,
    continuous_bernoulli_mean,
    digit_likelihood_terms,
    neg_log_likelihood,
    pixel_entropy,
)


def _exact_log_c(eta: float) -> float:
    """Float64 closed form from the paper: C = 2 artanh(1 - 2 lam) / (1 - 2 lam)."""
    lam = 1 / (1 + math.exp(-eta))
    return math.log(2 * math.atanh(1 - 2 * lam) / (1 - 2 * lam))


def test_log_norm_matches_closed_form_and_torch():
    etas = torch.linspace(-15, 15, 30001)  # includes 0 and points on both sides of the Taylor window
    ours = cb_log_norm(etas).double()
    # torch's own implementation (probability parametrisation, Taylor window 0.499 < lam < 0.501), in float64;
    # beyond |eta| ~ 15 torch's 1 - lambda loses digits, so there the logit form eta / tanh(eta/2) is the reference
    ref = ContinuousBernoulli(logits=etas.double())._cont_bern_log_norm()
    assert torch.allclose(ours, ref, atol=1e-6)
    for eta in (-60.0, -30.0, 25.0, 80.0):
        want = math.log(abs(eta) / math.tanh(abs(eta) / 2))
        assert float(cb_log_norm(torch.tensor(eta))) == pytest.approx(want, abs=1e-6)
    for eta in (-12.0, -3.0, -0.7, -0.26, 0.26, 0.4, 2.0, 15.0):
        assert float(cb_log_norm(torch.tensor(eta, dtype=torch.float64))) == pytest.approx(_exact_log_c(eta),
                                                                                          abs=1e-9)
    assert float(cb_log_norm(torch.tensor(0.0))) == pytest.approx(math.log(2), abs=1e-7)  # C(1/2) = 2


def test_log_norm_is_continuous_across_the_taylor_window():
    w = CB_TAYLOR_WINDOW
    for dtype, tol in ((torch.float64, 1e-9), (torch.float32, 3e-7)):
        inside = torch.tensor([w * (1 - 1e-6), -w * (1 - 1e-6)], dtype=dtype)
        outside = torch.tensor([w * (1 + 1e-6), -w * (1 + 1e-6)], dtype=dtype)
        assert torch.allclose(cb_log_norm(inside), cb_log_norm(outside), atol=tol)
    # Taylor branch vs the float64 closed form inside the window
    for eta in (1e-4, 0.05, 0.2, 0.249):
        assert float(cb_log_norm(torch.tensor(eta, dtype=torch.float64))) == pytest.approx(_exact_log_c(eta),
                                                                                          abs=1e-9)


def test_log_norm_gradient_is_finite_and_matches_the_closed_form():
    eta = torch.tensor([0.0, 1e-6, -0.1, 0.2499, 0.2501, -1.0, 5.0, -40.0, 90.0], dtype=torch.float64,
                       requires_grad=True)
    cb_log_norm(eta).sum().backward()
    assert torch.isfinite(eta.grad).all()
    analytic = cb_log_norm_grad(eta.detach())
    assert torch.allclose(eta.grad, analytic, atol=1e-9)
    # independent: central finite differences of the float64 closed form away from 0
    for e in (-1.0, 0.7, 5.0):
        h = 1e-5
        fd = (_exact_log_c(e + h) - _exact_log_c(e - h)) / (2 * h)
        assert float(cb_log_norm_grad(torch.tensor(e, dtype=torch.float64))) == pytest.approx(fd, rel=1e-6)


@pytest.mark.parametrize("lam", [0.001, 0.1, 0.4999, 0.5, 0.5004, 0.73, 0.999])
def test_density_integrates_to_one_and_matches_torch(lam):
    eta = math.log(lam / (1 - lam))
    n = 200_001
    x = torch.linspace(0, 1, n, dtype=torch.float64)
    logits = torch.full((n, 1), eta, dtype=torch.float64)
    logp = continuous_bernoulli_log_density(logits, x[:, None])
    integral = float(torch.trapezoid(logp.exp(), x))
    assert integral == pytest.approx(1.0, abs=1e-6)
    ref = ContinuousBernoulli(logits=torch.tensor(eta, dtype=torch.float64)).log_prob(x)
    assert torch.allclose(logp, ref, atol=1e-6)
    mean = float(torch.trapezoid(x * logp.exp(), x))
    assert float(continuous_bernoulli_mean(torch.tensor(eta, dtype=torch.float64))) == pytest.approx(mean, abs=1e-7)


def test_cb_mean_near_half_matches_torch():
    etas = torch.tensor([-3.0, -0.3, -0.2, -1e-3, 0.0, 1e-3, 0.24, 0.26, 4.0], dtype=torch.float64)
    ref = ContinuousBernoulli(logits=etas).mean
    ours = continuous_bernoulli_mean(etas)
    # torch's mean is 0/0-prone only inside its own tiny window; compare where it is well conditioned
    ok = etas.abs() > 0.01
    assert torch.allclose(ours[ok], ref[ok], atol=1e-9)
    assert float(continuous_bernoulli_mean(torch.tensor(0.0))) == 0.5


def test_bernoulli_terms():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(5, 784, generator=g) * 3
    grey = torch.rand(5, 784, generator=g)
    binary = torch.bernoulli(grey, generator=g)
    ref = Bernoulli(logits=logits).log_prob(binary).sum(1)
    assert torch.allclose(bernoulli_log_likelihood(logits, binary), ref, atol=1e-3)
    assert (bernoulli_log_likelihood(logits, binary) <= 0).all()  # a log-probability
    with pytest.raises(ValueError, match="binary"):
        bernoulli_log_likelihood(logits, grey)
    # cross-entropy on grey pixels: never below the pixels' own entropy, equal to it at lambda = x
    h = bernoulli_cross_entropy(logits, grey)
    assert (h >= pixel_entropy(grey) - 1e-3).all()
    xc = grey.clamp(1e-6, 1 - 1e-6)
    at_x = bernoulli_cross_entropy(torch.log(xc) - torch.log1p(-xc), grey)
    assert torch.allclose(at_x, pixel_entropy(grey), atol=1e-2)
    # explicit float64 formula
    lam = torch.sigmoid(logits.double())
    explicit = -(grey * lam.log() + (1 - grey) * (1 - lam).log()).sum(1)
    assert torch.allclose(h.double(), explicit, atol=1e-2)
    assert torch.allclose(neg_log_likelihood(logits, grey, "bernoulli"), h)
    assert torch.allclose(neg_log_likelihood(logits, grey, "continuous_bernoulli"),
                          -continuous_bernoulli_log_density(logits, grey))
    with pytest.raises(ValueError):
        neg_log_likelihood(logits, grey, "gaussian")
    assert float(cb_log_norm_from_probs(torch.tensor(0.5))) == pytest.approx(math.log(2), abs=1e-6)


def test_binarisation():
    g = torch.Generator().manual_seed(0)
    grey = torch.rand(2000, 784, generator=g)
    a = binarize_dynamic(grey, torch.Generator().manual_seed(1))
    b = binarize_dynamic(grey, torch.Generator().manual_seed(2))
    assert set(a.unique().tolist()) <= {0.0, 1.0} and not torch.equal(a, b)
    assert float(a.mean()) == pytest.approx(float(grey.mean()), abs=0.005)  # E[x] = grey
    f1, f2 = binarize_fixed(grey), binarize_fixed(grey)
    assert torch.equal(f1, f2) and f1.dtype == torch.float32
    assert not torch.equal(f1, binarize_fixed(grey, TEST_BINARIZATION_SEED + 1))
    assert binarization_fingerprint(f1) == binarization_fingerprint(f2)
    # independent restatement of the documented rule
    u = np.random.default_rng(TEST_BINARIZATION_SEED).random(grey.shape)
    assert np.array_equal(f1.numpy(), (u < grey.double().numpy()).astype(np.float32))
    # black and white pixels stay as they are
    edge = torch.tensor([[0.0, 1.0] * 392])
    assert torch.equal(binarize_fixed(edge), edge) and torch.equal(binarize_dynamic(edge), edge)


def test_digit_likelihood_terms_names_and_orders():
    torch.manual_seed(0)
    model = VAE(latent_dim=3, hidden_dims=(32,)).eval()
    grey = torch.rand(784)
    binary = binarize_fixed(grey[None])[0]
    t = digit_likelihood_terms(model, grey, binary, n_samples=16, iwae_k=64, seed=0)
    assert set(t) == {"bce_grey", "cb_grey", "bern_binary", "entropy_floor"}
    assert math.isnan(t["bce_grey"]["iwae"])  # a cross-entropy bounds no likelihood
    assert "not a log-likelihood" in t["bce_grey"]["name"]
    # CB recon = BCE recon - E_q[sum log C]; sum log C >= 784 log 2 > 0, so the CB term is lower
    assert t["cb_grey"]["recon"] < t["bce_grey"]["recon"] - 784 * math.log(2) + 1e-2
    assert t["bce_grey"]["recon"] >= t["entropy_floor"]["value"]
    for key in ("cb_grey", "bern_binary"):
        assert t[key]["objective"] == pytest.approx(t[key]["recon"] + t[key]["kl"])
    with pytest.raises(ValueError):
        digit_likelihood_terms(model, grey, grey)


def test_metric_labels_name_what_the_numbers_are():
    from vae_core.likelihoods import metric_labels

    grey = metric_labels({"likelihood": "bernoulli", "binarization": "none", "test_metrics": {"iwae_k": 500}})
    assert "not a −log p(x)" in grey["neg_elbo"] and "not a −log p(x)" in grey["iwae_nll"]
    assert grey["kind"] == "cross-entropy" and "k = 500" in grey["iwae_nll"]
    binar = metric_labels({"likelihood": "bernoulli", "binarization": "dynamic", "test_metrics": {"iwae_k": 5000}})
    assert binar["iwae_nll"].startswith("test −log P(x) ≤") and "k = 5,000" in binar["iwae_nll"]
    cb = metric_labels({"likelihood": "continuous_bernoulli"})
    assert "density" in cb["iwae_nll"] and cb["kind"] == "log-density"
