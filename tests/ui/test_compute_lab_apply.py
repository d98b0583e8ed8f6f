"""ui.compute for the β/KL Lab, Anomaly Detection and Latent Editing, against independent computations."""

from __future__ import annotations

import numpy as np
import pytest

from ui.compute.anomaly import NORMAL, most_anomalous, separation, threshold_options
from ui.compute.beta_lab import collapse_configs, planned_steps, sweep_configs
from ui.compute.editing import edit, row_strengths
from ui.state import SHIPPED_DIR
from ui.views.beta_lab_figures import Entry, rd_table
from vae_core import load_checkpoint, load_dataset
from vae_core.digits.analysis import COLLAPSE_LATENT, LAB_HIDDEN, ModelStats
from vae_core.digits.applications import class_mean_direction, image_features
from vae_core.latent import decode_np, encode_dataset


# ------------------------------------------------------------------------------------------- β/KL Lab
def test_sweep_and_collapse_configs():
    cfgs = sweep_configs([4.0, 0.0, 1.0], latent=5, epochs=3)
    assert [label for label, _ in cfgs] == ["β=0", "β=1", "β=4"]
    assert all(c.latent_dim == 5 and c.epochs == 3 and c.hidden_dims == LAB_HIDDEN and c.seed == 0 for _, c in cfgs)
    (l0, c0), (l1, c1) = collapse_configs(1000, 2, 8.0, anneal="linear", warmup_share=0.5, free_bits=0.5)
    assert c0.kl_schedule == "constant" and c0.free_bits == 0 and c0.beta == c1.beta == 8.0
    assert c1.kl_schedule == "linear" and c1.free_bits == 0.5 and c0.latent_dim == COLLAPSE_LATENT
    assert c1.warmup_steps == int(0.5 * planned_steps(1000, 2)) == 8  # ⌈1000 / 128⌉ = 8 steps per epoch
    assert "linear annealing" in l1 and "free bits" in l1 and "no fix" in l0
    (_, f0), (_, f1) = collapse_configs(1000, 1, 8.0, free_bits=0.3)
    assert f1.kl_schedule == "constant" and f1.free_bits == 0.3
    with pytest.raises(ValueError):
        collapse_configs(1000, 1, 8.0)


def test_rd_table_rows():
    rng = np.random.default_rng(0)
    mu = rng.standard_normal((50, 2)) * np.array([1.0, 0.01])  # one active unit, one at the prior
    stats = ModelStats(rate=2.004, distortion=120.0, kl_per_dim=np.array([2.0, 0.004]), mu=mu,
                       logvar=np.zeros((50, 2)))
    rows = rd_table([Entry("a", 4.0, None, stats, None), Entry("b", 1.0, None, None, None)])
    assert len(rows) == 1
    r = rows[0]
    assert r["rate R (KL)"] == pytest.approx(2.004, abs=0.005) and r["−ELBO = D + R"] == pytest.approx(122.0, abs=0.01)
    assert r["β-loss D + βR"] == pytest.approx(120.0 + 4 * 2.004, abs=0.01)
    assert r["active units"] == "1/2"


# ------------------------------------------------------------------------------------------- anomaly
def test_separation_rates_and_auc():
    rng = np.random.default_rng(1)
    scores = {NORMAL: rng.normal(100, 10, 500), "far": rng.normal(300, 10, 200), "same": rng.normal(100, 10, 200)}
    opts, default = threshold_options(scores)
    assert opts == sorted(opts) and default in opts
    assert abs(np.mean(scores[NORMAL] >= default) - 0.01) < 0.01  # about 1 % false alarms by default
    sep = separation(scores, 150.0)
    assert sep.false_positive_rate == pytest.approx(np.mean(scores[NORMAL] >= 150))
    assert sep.detection_rate["far"] == 1.0
    assert sep.auc["far"] == 1.0 and abs(sep.auc["same"] - 0.5) < 0.1
    # AUC = P(odd score > normal score), counted over all pairs
    pairs = np.mean(scores["same"][:, None] > scores[NORMAL][None, :])
    assert sep.auc["same"] == pytest.approx(pairs, abs=1e-9)
    fpr, tpr = sep.roc["same"]
    assert fpr[0] <= fpr[-1] and tpr[-1] == pytest.approx(1.0)
    top = most_anomalous(scores, "all sets", 5, drawing=1000.0)
    assert top[0] == ("your drawing", 0, 1000.0) and [t[2] for t in top] == sorted((t[2] for t in top), reverse=True)
    assert all(t[0] == NORMAL for t in most_anomalous(scores, NORMAL, 4, drawing=1000.0))


# ------------------------------------------------------------------------------------------- editing
def test_row_strengths():
    np.testing.assert_allclose(row_strengths("style", -2.0, 5), [-2, -1, 0, 1, 2])
    np.testing.assert_allclose(row_strengths("class", 1.0, 5), [0, 0.25, 0.5, 0.75, 1])
    np.testing.assert_allclose(row_strengths("class", -0.5, 3), [-0.5, -0.25, 0])


def test_edit_matches_decoding_the_moved_code():
    model = load_checkpoint(SHIPPED_DIR / "mnist-z2")[0]
    data = load_dataset("mnist", "test")
    mu, _ = encode_dataset(model, data.images[:2000])
    direction = class_mean_direction(mu, data.labels.numpy()[:2000], 7, 1).numpy()
    x = data.images[0].numpy()
    e = edit(model, x, direction, 1.0, row_strengths("class", 1.0, 5), "ink")
    np.testing.assert_allclose(e.z, mu[0], atol=1e-5)
    np.testing.assert_allclose(e.edited.reshape(-1), decode_np(model, (mu[0] + direction)[None])[0].reshape(-1),
                               atol=1e-5)
    np.testing.assert_allclose(e.recon.reshape(-1), decode_np(model, mu[:1])[0].reshape(-1), atol=1e-5)
    np.testing.assert_allclose(e.row_values, image_features(e.row)["ink"].numpy(), rtol=1e-5)
    assert e.original_value == pytest.approx(float(image_features(x)["ink"][0]))
    assert e.edited_value == pytest.approx(float(e.row_values[-1]), rel=1e-5)  # α = 1 ends the class row
