"""vae_core.digits.evaluate: the chunked IWAE bound against a direct computation with torch.distributions, chunking
invariance, progress reports and bounded rows per decoder pass."""

from __future__ import annotations

import math

import pytest
import torch
from torch.distributions import Bernoulli, ContinuousBernoulli, Normal

from vae_core.digits.evaluate import MAX_ROWS, default_chunks, evaluate_likelihood, iwae_chunked
from vae_core.digits.model import VAE


@pytest.fixture
def model():
    torch.manual_seed(0)
    return VAE(latent_dim=3, hidden_dims=(24,)).eval()


def _reference_lk(model, x, k, likelihood, seed):
    """log (1/k) sum_i p(x|z_i) p(z_i) / q(z_i|x) with torch.distributions, same eps draw."""
    with torch.no_grad():
        mu, logvar = model.encode(x)
        std = torch.exp(0.5 * logvar)
        eps = torch.randn(k, *mu.shape, generator=torch.Generator().manual_seed(seed))
        z = mu + eps * std
        logits = model.decode_logits(z.reshape(-1, mu.shape[1])).reshape(k, x.shape[0], -1)
        dist = Bernoulli(logits=logits) if likelihood == "bernoulli" else ContinuousBernoulli(logits=logits)
        log_px = dist.log_prob(x.expand(k, -1, -1)).sum(-1)
        lw = log_px + Normal(0, 1).log_prob(z).sum(-1) - Normal(mu, std).log_prob(z).sum(-1)
        return torch.logsumexp(lw, 0) - math.log(k)


@pytest.mark.parametrize("likelihood", ["bernoulli", "continuous_bernoulli"])
def test_iwae_matches_torch_distributions(model, likelihood):
    g = torch.Generator().manual_seed(5)
    x = torch.rand(7, 784, generator=g)
    if likelihood == "bernoulli":
        x = torch.bernoulli(x, generator=g)
    ours = iwae_chunked(model, x, 40, likelihood, generator=torch.Generator().manual_seed(1))
    ref = _reference_lk(model, x, 40, likelihood, 1)
    assert torch.allclose(ours, ref, atol=2e-3, rtol=1e-5)


def test_chunking_changes_only_the_draws(model):
    x = torch.bernoulli(torch.rand(300, 784, generator=torch.Generator().manual_seed(0)))
    one = iwae_chunked(model, x, 64, generator=torch.Generator().manual_seed(2))
    chunked = iwae_chunked(model, x, 64, generator=torch.Generator().manual_seed(3), sample_chunk=7)
    # different draws, same estimator: dataset means agree within a few standard errors
    se = float((one - chunked).std() / math.sqrt(len(x)))
    assert abs(float(one.mean() - chunked.mean())) < 4 * se + 1e-3


def test_evaluate_likelihood_progress_and_bounds(model):
    x = torch.bernoulli(torch.rand(50, 784, generator=torch.Generator().manual_seed(0)))
    seen = []
    r = evaluate_likelihood(model, x, likelihood="bernoulli", iwae_k=30, image_chunk=16, sample_chunk=8,
                            progress=lambda d, n, s: seen.append((d, n, dict(s))), per_image=True)
    assert [d for d, _, _ in seen] == [16, 32, 48, 50] and all(n == 50 for _, n, _ in seen)
    assert seen[-1][2]["iwae_nll"] == pytest.approx(r["iwae_nll"])
    assert r["neg_elbo"] == pytest.approx(r["recon"] + r["kl"], rel=1e-6)
    assert r["iwae_nll"] == pytest.approx(-float(r["per_image"]["iwae"].mean()), rel=1e-6)
    # E[L_k] <= log p(x) and E[L_1] <= E[L_k]: on average the k = 30 bound is tighter than the ELBO
    assert r["iwae_nll"] < r["neg_elbo"]
    assert r["likelihood"] == "bernoulli" and r["iwae_k"] == 30 and r["n"] == 50
    with pytest.raises(ValueError):
        evaluate_likelihood(model, x, likelihood="gaussian")


def test_default_chunks_bound_rows():
    for k in (1, 10, 100, 1000, 5000):
        ic, sc = default_chunks(k)
        assert ic * sc <= MAX_ROWS and 1 <= sc <= k


def test_cli_binarized_and_cb_training_then_update_checkpoint(tmp_path, capsys):
    """CLI: --binarize records the data's binarisation and the seeded test set; --likelihood continuous_bernoulli
    records the likelihood; python -m vae_core evaluate --update-checkpoint replaces the IWAE figure."""
    from vae_core.digits.checkpoint import load_checkpoint
    from vae_core.digits.cli import main as train_main
    from vae_core.digits.data import TEST_BINARIZATION_SEED
    from vae_core.digits.evaluate import main as eval_main

    small = ["--latent-dim", "2", "--hidden-dims", "32", "--epochs", "1", "--subset", "300", "--threads", "1"]
    rc = train_main([*small, "--binarize", "--iwae-k", "3", "--out", str(tmp_path / "b")])
    assert rc == 0
    text = capsys.readouterr().out
    assert "binarised test digits, -log P(x)" in text
    _, meta = load_checkpoint(tmp_path / "b")
    assert meta["likelihood"] == "bernoulli" and meta["binarization"] == "dynamic"
    ev = meta["evaluation"]
    assert ev["test_pixels"] == "binarized" and ev["test_binarization_seed"] == TEST_BINARIZATION_SEED
    assert meta["recipe"]["binarization"] == "dynamic" and meta["test_metrics"]["iwae_k"] == 3
    old = meta["test_metrics"]["iwae_nll"]
    assert eval_main([str(tmp_path / "b"), "--binarized", "--k", "4", "--update-checkpoint"]) == 0
    _, meta2 = load_checkpoint(tmp_path / "b")
    tm = meta2["test_metrics"]
    assert tm["iwae_k"] == 4 and tm["iwae_nll_k3"] == old and tm["iwae_nll"] != old
    assert meta2["weights_sha256"] == meta["weights_sha256"]
    assert "--k 4" in meta2["evaluation"]["iwae_command"]
    assert meta2["evaluation"]["iwae_command"].startswith("python -m vae_core evaluate ")
    with pytest.raises(SystemExit):  # grey pixels cannot replace a binarised model's figure
        eval_main([str(tmp_path / "b"), "--k", "4", "--update-checkpoint"])
    rc = train_main([*small, "--likelihood", "continuous_bernoulli", "--iwae-k", "2", "--out", str(tmp_path / "c")])
    assert rc == 0
    assert "continuous-Bernoulli -log p(x), a density" in capsys.readouterr().out
    _, meta = load_checkpoint(tmp_path / "c")
    assert meta["likelihood"] == "continuous_bernoulli" and meta["binarization"] == "none"
    assert meta["recipe"]["likelihood"] == "continuous_bernoulli"
    with pytest.raises(SystemExit):
        train_main([*small, "--binarize", "--likelihood", "continuous_bernoulli", "--out", str(tmp_path / "d")])
