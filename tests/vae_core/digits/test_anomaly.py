"""vae_core.digits.applications.anomaly: scores, ROC / AUC against scikit-learn, threshold rates, top items, bins."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score
from sklearn.metrics import roc_curve as sk_roc_curve
from tiny_models import fake_images, tiny_cvae, tiny_vae

from vae_core.digits.applications import (
    anomaly_scores,
    roc_auc,
    roc_curve,
    score_bins,
    score_histograms,
    threshold_rates,
    top_k,
    uniform_noise,
)
from vae_core.digits.model import VAE


def test_roc_auc_matches_sklearn_on_random_data_with_ties():
    rng = np.random.default_rng(0)
    for trial in range(5):
        neg = rng.integers(0, 8, size=40 + trial).astype(float)  # many ties
        pos = rng.integers(2, 10, size=30).astype(float)
        y = np.r_[np.zeros(neg.size), np.ones(pos.size)]
        s = np.r_[neg, pos]
        assert roc_auc(neg, pos) == pytest.approx(roc_auc_score(y, s), abs=1e-12)
        fpr, tpr, thr = roc_curve(neg, pos)
        sf, st, sth = sk_roc_curve(y, s, drop_intermediate=False)
        np.testing.assert_allclose(fpr, sf)
        np.testing.assert_allclose(tpr, st)
        np.testing.assert_allclose(thr[1:], sth[1:])
    neg, pos = rng.normal(size=200), rng.normal(0.7, 1, size=150)
    y = np.r_[np.zeros(200), np.ones(150)]
    assert roc_auc(torch.tensor(neg), torch.tensor(pos)) == pytest.approx(roc_auc_score(y, np.r_[neg, pos]))


def test_roc_extremes():
    assert roc_auc([0, 1, 2], [3, 4]) == 1.0
    assert roc_auc([3, 4], [0, 1, 2]) == 0.0
    assert roc_auc([1, 1, 1], [1, 1]) == 0.5  # all tied: one diagonal step
    fpr, tpr, thr = roc_curve([0.0, 1.0], [2.0, 3.0])
    assert fpr[0] == 0 and tpr[0] == 0 and fpr[-1] == 1 and tpr[-1] == 1 and thr[0] == np.inf
    assert np.all(np.diff(thr) < 0)
    with pytest.raises(ValueError):
        roc_auc([], [1.0])
    with pytest.raises(ValueError):
        roc_auc([np.nan], [1.0])


def test_anomaly_scores_vae():
    model = tiny_vae()
    x = fake_images(30)
    s = anomaly_scores(model, x, batch_size=7, generator=torch.Generator().manual_seed(0))
    assert set(s) == {"neg_elbo", "kl", "recon_bce", "recon_mse"}
    for v in s.values():
        assert v.shape == (30,) and torch.isfinite(v).all()
    assert (s["kl"] >= 0).all() and (s["recon_mse"] >= 0).all() and (s["recon_mse"] <= 1).all()
    # recon_bce is deterministic (decode(mu)) and equals the summed BCE of the mean reconstruction
    mu, _ = model.encode(x)
    expect = torch.nn.functional.binary_cross_entropy(model.decode(mu), x, reduction="none").sum(1)
    torch.testing.assert_close(s["recon_bce"], expect, rtol=1e-4, atol=1e-3)
    # batching does not change the answer for the same generator stream
    s1 = anomaly_scores(model, x, batch_size=1000, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(s1["recon_bce"], s["recon_bce"])


def test_anomaly_scores_cvae_with_and_without_labels():
    model = tiny_cvae()
    x = fake_images(6)
    y = torch.arange(6) % 10
    s = anomaly_scores(model, x, y)
    assert s["neg_elbo"].shape == (6,) and "label" not in s
    m = anomaly_scores(model, x, generator=torch.Generator().manual_seed(1))
    assert m["label"].shape == (6,) and m["label"].max() < 10
    assert torch.isfinite(m["neg_elbo"]).all()
    with pytest.raises(ValueError):
        anomaly_scores(tiny_vae(), x, y)


def test_trained_vae_flags_noise_as_anomalous(one_thread):
    torch.manual_seed(0)
    model = VAE(latent_dim=2, hidden_dims=(32,))
    x = fake_images(64, seed=1)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(80):
        out = model(x)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(out.logits, x, reduction="sum") / 64
        opt.zero_grad()
        loss.backward()
        opt.step()
    normal = anomaly_scores(model, fake_images(50, seed=2))["recon_bce"]
    noise = anomaly_scores(model, uniform_noise(50, seed=3))["recon_bce"]
    assert roc_auc(normal, noise) > 0.95


def test_threshold_rates_match_counts():
    normal = np.array([1.0, 2.0, 3.0, 4.0])
    sets = {"a": np.array([3.0, 5.0]), "b": np.array([0.5, 0.5, 0.5, 10.0])}
    r = threshold_rates(normal, sets, 3.0)
    assert r["false_positive_rate"] == 0.5  # 3 and 4 (>= threshold)
    assert r["detection_rate"] == {"a": 1.0, "b": 0.25}
    assert threshold_rates(normal, sets, math.inf)["false_positive_rate"] == 0.0
    assert threshold_rates(normal, sets, -math.inf)["detection_rate"]["b"] == 1.0


def test_top_k_order_and_bounds():
    s = np.array([0.1, 5.0, 3.0, 5.0, -1.0])
    assert top_k(s, 3).tolist() == [1, 3, 2]
    assert top_k(s, 99).tolist() == [1, 3, 2, 0, 4]
    assert top_k(s, 0).tolist() == []


def test_score_bins_and_histograms():
    sets = {"n": np.array([100.0, 120.0, 150.0]), "o": np.array([2000.0, 4000.0])}
    e = score_bins(sets, 10, log=True)
    assert e.shape == (11,) and e[0] <= 100 and e[-1] >= 4000
    assert np.allclose(np.diff(np.log(e)), np.diff(np.log(e))[0])  # geometric
    h = score_histograms(sets, e)
    for v in h.values():
        assert v.sum() == pytest.approx(1.0)
    lin = score_bins({"x": np.array([-1.0, 1.0])}, 4, log=False)
    assert lin[0] == -1.0 and lin[-1] >= 1.0
    with pytest.raises(ValueError):
        score_bins({"x": np.array([-1.0, 1.0])}, 4, log=True)
    # a constant set still gets bins
    assert np.all(np.diff(score_bins({"c": np.array([5.0, 5.0])}, 3)) > 0)
