"""Quality of the shipped checkpoints (checkpoints/, or VAE_CHECKPOINT_DIR), measured here independently
of the numbers stored in their JSON files.

* mnist-z2: anomaly AUC of MNIST test digits against uniform noise (> 0.99) and inverted digits (> 0.95),
  by reconstruction error (the Anomaly page's default) and by -ELBO;
* mnist-z2: inpainting never changes a known pixel of a real digit, for every mask kind (torch.equal);
* mnist-cvae-z2: samples asked for class c are classified as c (>= 80 %) by a classifier trained here on
  10,000 MNIST training images (PCA-50 + logistic regression);
* test -ELBO on all 10,000 MNIST test images (continuous pixels, BCE summed over 784 pixels + KL, averaged
  over 3 reparameterised samples): mnist-z20 <= 98 nats, mnist-z2 <= 142 nats.

A missing checkpoint fails (they are part of the repo); the tests skip only when the full MNIST test set is
not available (no VAE_DATA_DIR, only the offline sample), and fail instead under CI.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from vae_core import evaluate, load_checkpoint, load_dataset
from vae_core.digits.applications import (
    MASKS,
    anomaly_scores,
    class_samples,
    inpaint,
    inverted,
    make_mask,
    roc_auc,
    uniform_noise,
)

ROOT = Path(__file__).resolve().parents[3]
CKPT = Path(os.environ.get("VAE_CHECKPOINT_DIR", ROOT / "checkpoints"))


@pytest.fixture(autouse=True)
def _no_grad():
    """No autograd inside a test; the global grad mode is left as it was."""
    with torch.no_grad():
        yield


def _model(name: str):
    path = CKPT / name
    assert path.with_suffix(".safetensors").exists() and path.with_suffix(".json").exists(), \
        f"shipped checkpoint {name} missing from {CKPT}"
    model, _ = load_checkpoint(str(path))
    return model.eval()


def _data(split: str):
    d = load_dataset("mnist", split)
    if d.is_sample:
        if os.environ.get("CI"):
            pytest.fail("CI must run with the full MNIST (VAE_DATA_DIR), not the offline sample")
        pytest.skip("full MNIST not available (only the offline sample)")
    return d


# ----------------------------------------------------------------------------------------- anomaly
def test_z2_anomaly_auc_noise_and_inverted():
    model = _model("mnist-z2")
    test = _data("test")
    normal = test.subset(2000, seed=0).images
    others = test.subset(2000, seed=1).images
    g = torch.Generator().manual_seed(0)
    s_norm = anomaly_scores(model, normal, generator=g)
    s_noise = anomaly_scores(model, uniform_noise(2000, seed=0), generator=g)
    s_inv = anomaly_scores(model, inverted(others), generator=g)
    for kind in ("recon_bce", "neg_elbo"):
        auc_noise = roc_auc(s_norm[kind], s_noise[kind])
        auc_inv = roc_auc(s_norm[kind], s_inv[kind])
        assert auc_noise > 0.99, (kind, auc_noise)
        assert auc_inv > 0.95, (kind, auc_inv)


# ----------------------------------------------------------------------------------------- inpainting
def test_z2_inpainting_never_changes_known_pixels():
    model = _model("mnist-z2")
    test = _data("test")
    drawn = np.zeros((28, 28), np.float32)
    drawn[5:12, 3:25] = 1  # a painted stroke, as the page's canvas would give
    kinds = [*MASKS, drawn]
    for i in (0, 1, 2):  # real digits 7, 2, 1
        x = test.images[i]
        for j, kind in enumerate(kinds):
            mask = make_mask(kind, seed=i)
            for stochastic_steps, fill in ((None, 0.0), (2, "random")):
                r = inpaint(model, x, mask, n_iter=8, n_samples=3, stochastic_steps=stochastic_steps, fill=fill,
                            generator=torch.Generator().manual_seed(10 * i + j))
                known = ~r["mask"]
                c = r["completions"]
                assert torch.equal(c[:, known], x[known].expand(c.shape[0], -1)), (i, kind, stochastic_steps)
                assert torch.equal(r["mask"], mask != 0)


# ----------------------------------------------------------------------------------------- CVAE
@pytest.mark.slow
def test_cvae_samples_are_recognisable_as_the_asked_class():
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    model = _model("mnist-cvae-z2")
    train = _data("train").subset(10_000, seed=0)
    test = _data("test").subset(2000, seed=0)
    clf = make_pipeline(PCA(50, random_state=0), LogisticRegression(max_iter=500))
    clf.fit(train.images.numpy(), train.labels.numpy())
    real_acc = clf.score(test.images.numpy(), test.labels.numpy())
    assert real_acc > 0.88, f"the classifier itself is too weak: {real_acc:.3f} on real test digits"
    per_class = []
    for c in range(10):
        s = class_samples(model, c, 50, seed=1000 + c).numpy()
        per_class.append(float(np.mean(clf.predict(s) == c)))
    agree = float(np.mean(per_class))
    assert agree >= 0.80, f"agreement {agree:.3f}; per class {np.round(per_class, 2).tolist()}"


# ----------------------------------------------------------------------------------------- -ELBO
@pytest.mark.slow
@pytest.mark.parametrize("name, bound", [("mnist-z20", 98.0), ("mnist-z2", 142.0)])
def test_test_neg_elbo_on_full_mnist(name, bound):
    model = _model(name)
    test = _data("test")
    assert len(test) == 10_000
    vals = [evaluate(model, test.images, test.labels, seed=s)["neg_elbo"] for s in range(3)]
    neg_elbo = float(np.mean(vals))
    assert neg_elbo <= bound, f"{name}: test -ELBO {neg_elbo:.2f} nats > {bound} (samples {np.round(vals, 2)})"


# ----------------------------------------------------------------------------- likelihoods (#11)
# A fixed random 1,000-digit subset of the test set and a small k keep these re-measurements to seconds; the
# JSON's figures are over all 10,000 digits with a larger k (a tighter bound), so the subset value is compared
# with the JSON's within a margin covering the subset's sampling error and the k gap (L_K - L_k >= 0).
# Measured when shipped (first 1,000 of randperm(10,000, seed 0), k = 50, seed 0): mnist-z20-bin 87.71 and
# mnist-z20 92.12 nats on the binarised digits (per-image sd ~26 nats: subset standard error ~0.8);
# continuous-Bernoulli log-density mnist-z20-cb +2809.8 (JSON, all digits at k = 500: +2814.9) and mnist-z20
# +1902.3 nats.  mnist-z20-cb bounds its logits to (-80, 15) (models.LogitRange), so no pixel's density is
# unbounded (the 30-epoch unbounded model it replaced had a per-image sd of ~7,600 nats).
CHECK_N, CHECK_K = 1000, 50
BIN_MARGIN_UP, BIN_MARGIN_DOWN = 4.0, 3.0  # nats: k gap (~1.5) + subset error (~0.8 sd)
CB_MARGIN = 100.0  # nats: subset sampling error and the k gap (measured: 5.2)
CB_GAP = 500.0  # nats: the measured gap is ~907


def _check_subset(test, binary: bool):
    from vae_core.digits.data import TEST_BINARIZATION_SEED, binarize_fixed

    x = binarize_fixed(test.images, TEST_BINARIZATION_SEED) if binary else test.images
    idx = torch.randperm(len(test), generator=torch.Generator().manual_seed(0))[:CHECK_N]
    return x[idx]


def _ll(model, x, likelihood):
    from vae_core.digits.evaluate import evaluate_likelihood

    return evaluate_likelihood(model, x, likelihood=likelihood, iwae_k=CHECK_K, seed=0)


def test_bin_model_on_the_seeded_binarised_test_set():
    """mnist-z20-bin: its JSON's -log P(x) bound (IWAE, all 10,000 digits of the seeded binarised test set, the
    largest k run) is re-measured at k = 50 on 1,000 of them, and the model beats the grey-trained mnist-z20
    scored on the same binary digits (paired: same digits, same draws' seed).  #11 asks for <= 89 nats at
    k = 5,000 on all 10,000 digits; the shipped 300-epoch model reaches 86.18 (86.52 at k = 500)."""
    from vae_core.digits.data import TEST_BINARIZATION_SEED, binarization_fingerprint, binarize_fixed

    path = CKPT / "mnist-z20-bin"
    model = _model("mnist-z20-bin")
    _, meta = load_checkpoint(str(path))
    assert meta["likelihood"] == "bernoulli" and meta["binarization"] == "dynamic"
    ev, tm = meta["evaluation"], meta["test_metrics"]
    assert ev["test_pixels"] == "binarized" and ev["n_test"] == 10_000
    assert ev["test_binarization_seed"] == TEST_BINARIZATION_SEED
    assert tm["iwae_k"] == 5000 and ev["iwae_k"] == 5000 and tm["iwae_nll"] <= 89.0, (tm["iwae_nll"], tm["iwae_k"])
    test = _data("test")
    assert binarization_fingerprint(binarize_fixed(test.images)) == ev["test_binarization_sha256"]
    x = _check_subset(test, binary=True)
    ours = _ll(model, x, "bernoulli")["iwae_nll"]
    assert tm["iwae_nll"] - BIN_MARGIN_DOWN <= ours <= tm["iwae_nll"] + BIN_MARGIN_UP, (ours, tm)
    grey_model = _model("mnist-z20")
    theirs = _ll(grey_model, x, "bernoulli")["iwae_nll"]
    assert ours < theirs - 0.2, (ours, theirs)


def test_cb_model_log_density_beats_the_bce_model_under_cb():
    """mnist-z20-cb: its continuous-Bernoulli test log-density (IWAE bound, in the JSON) re-measured on 1,000
    grey test digits, and higher than the BCE-trained mnist-z20 scored under the same likelihood."""
    path = CKPT / "mnist-z20-cb"
    model = _model("mnist-z20-cb")
    _, meta = load_checkpoint(str(path))
    assert meta["likelihood"] == "continuous_bernoulli" and meta["binarization"] == "none"
    tm = meta["test_metrics"]
    test = _data("test")
    x = _check_subset(test, binary=False)
    ours = -_ll(model, x, "continuous_bernoulli")["iwae_nll"]  # log-density, nats per image (can be > 0)
    assert abs(ours - (-tm["iwae_nll"])) <= CB_MARGIN, (ours, tm)
    theirs = -_ll(_model("mnist-z20"), x, "continuous_bernoulli")["iwae_nll"]
    assert ours > theirs + CB_GAP, (ours, theirs)


def test_cb_model_lambda_is_inside_0_1_and_enough_to_evaluate_it():
    """#11: decode(z) returns the continuous Bernoulli's lambda strictly inside (0, 1) even far from the data
    (the shipped model bounds its logits), and a tool given only lambda -- not eta -- recomputes the
    log-density with the textbook formula x log l + (1 - x) log(1 - l) + log C(l), C(l) = 2 artanh(1 - 2l) /
    (1 - 2l) = [log(1 - l) - log l] / (1 - 2l) (the second form: 1 - 2l rounds to 1 for tiny l), in float64
    numpy: it matches vae_core's value from the logits."""
    import numpy as np

    from vae_core.likelihoods import continuous_bernoulli_log_density

    model = _model("mnist-z20-cb")
    _, meta = load_checkpoint(str(CKPT / "mnist-z20-cb"))
    assert meta["model"]["logit_range"] == [-80.0, 15.0]
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        far = model.decode(torch.randn(500, model.latent_dim, generator=g) * 30)
        assert bool((far > 0).all() and (far < 1).all())
        x = _check_subset(_data("test"), binary=False)[:200]
        mu, _ = model.encode(x)
        eta, lam = model.decode_logits(mu), model.decode(mu)
    assert bool((lam > 0).all() and (lam < 1).all())
    ours = continuous_bernoulli_log_density(eta, x).numpy()
    lam_, x_ = lam.double().numpy(), x.double().numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        c = np.where(np.abs(lam_ - 0.5) < 1e-4, 2.0, (np.log1p(-lam_) - np.log(lam_)) / (1 - 2 * lam_))
    theirs = (x_ * np.log(lam_) + (1 - x_) * np.log1p(-lam_) + np.log(c)).sum(1)
    # 0.2 nats per saturated-white pixel at most (1 - lambda ~ 3e-7 is close to float32's spacing below 1)
    assert np.abs(ours - theirs).max() < 0.2 * (lam > 0.9999).sum(1).max().item() + 0.05, np.abs(ours - theirs).max()


def test_every_shipped_digit_json_records_its_likelihood_and_binarisation():
    """#11: outside tools read p(x|z) and the data's binarisation from the JSON itself (not from loader defaults)."""
    import json

    seen = 0
    for j in sorted(CKPT.glob("*.json")):
        meta = json.loads(j.read_text())
        if meta.get("family", "mlp-vae") != "mlp-vae":
            continue
        seen += 1
        assert meta["likelihood"] in ("bernoulli", "continuous_bernoulli"), j.name
        assert meta["binarization"] in ("none", "dynamic"), j.name
        assert meta["binarization"] == "none" or meta["likelihood"] == "bernoulli", j.name
    assert seen >= 8
