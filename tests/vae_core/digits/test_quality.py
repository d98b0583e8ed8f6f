"""MNIST FID / IS (vae_core.digits.quality): the Fréchet distance against closed forms and scipy, IS by hand,
and the shipped classifier's accuracy and sanity references."""

import math

import numpy as np
import pytest
import scipy.linalg
import torch

from vae_core.digits import quality as q


def _scipy_fid(mu1, c1, mu2, c2):
    covmean = scipy.linalg.sqrtm(c1 @ c2)
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(c1 + c2 - 2 * np.real(covmean)))


def test_frechet_distance_one_dimensional_closed_form():
    # W2^2 between N(m1, s1^2) and N(m2, s2^2) = (m1 - m2)^2 + (s1 - s2)^2
    assert q.frechet_distance(np.array([1.0]), np.array([[4.0]]), np.array([-2.0]), np.array([[9.0]])) == \
        pytest.approx(9.0 + 1.0)


def test_frechet_distance_diagonal_and_identical():
    a, b = np.array([1.0, 4.0, 0.25]), np.array([9.0, 1.0, 0.25])
    mu = np.array([0.5, -1.0, 2.0])
    want = float(np.sum((np.sqrt(a) - np.sqrt(b)) ** 2))
    assert q.frechet_distance(mu, np.diag(a), mu, np.diag(b)) == pytest.approx(want)
    assert q.frechet_distance(mu, np.diag(a), mu, np.diag(a)) == pytest.approx(0.0, abs=1e-9)


def test_frechet_distance_matches_scipy_for_non_commuting_covariances():
    rng = np.random.default_rng(0)
    for d in (2, 5, 30):
        a, b = rng.normal(size=(d, d)), rng.normal(size=(d, d))
        c1, c2 = a @ a.T + 0.1 * np.eye(d), b @ b.T + 0.1 * np.eye(d)
        mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
        got = q.frechet_distance(mu1, c1, mu2, c2)
        assert got == pytest.approx(_scipy_fid(mu1, c1, mu2, c2), rel=1e-6)
        assert got == pytest.approx(q.frechet_distance(mu2, c2, mu1, c1), rel=1e-9)  # symmetric


def test_fid_of_samples_approaches_the_gaussians_distance():
    rng = np.random.default_rng(1)
    c = np.array([[2.0, 0.5], [0.5, 1.0]])
    f1 = rng.multivariate_normal([0, 0], c, 200_000)
    f2 = rng.multivariate_normal([1, 0], 4 * c, 200_000)
    # mean shift 1, and Tr(C + 4C - 2 * 2C) = Tr(C) = 3
    assert q.fid_from_features(f1, f2) == pytest.approx(1.0 + 3.0, rel=0.02)


def test_inception_score_by_hand():
    eye = np.eye(10)
    assert q.inception_score(np.tile(eye, (5, 1))) == pytest.approx(10.0, rel=1e-6)  # confident, all classes
    assert q.inception_score(np.tile(eye[3], (50, 1))) == pytest.approx(1.0)  # one class only
    assert q.inception_score(np.full((50, 10), 0.1)) == pytest.approx(1.0)  # no confidence
    p = np.array([[0.5, 0.5, 0, 0], [0, 0, 0.5, 0.5]])  # KL of each row to p(y) = log 2
    assert q.inception_score(p) == pytest.approx(2.0, rel=1e-6)


def test_classifier_shapes_and_prior_samples_of_a_cvae():
    from vae_core.digits.model import CVAE

    clf = q.MnistClassifier()
    f, p = q.classify(clf, torch.rand(7, 784))
    assert f.shape == (7, q.FEATURE_DIM) and p.shape == (7, 10)
    np.testing.assert_allclose(p.sum(1), 1.0, rtol=1e-6)
    x = q.prior_samples(CVAE(latent_dim=2, hidden_dims=(16,)), 25, seed=0)
    assert tuple(x.shape) == (25, 784) and float(x.min()) >= 0 and float(x.max()) <= 1
    # a CVAE's samples cycle through the ten classes: sample i has class i % 10
    torch.manual_seed(0)
    m = CVAE(latent_dim=2, hidden_dims=(16,))
    g = torch.Generator().manual_seed(0)
    torch.testing.assert_close(q.prior_samples(m, 10, seed=0),
                               m.sample(10, torch.arange(10), generator=g).clamp(0, 1))


@pytest.fixture(scope="module")
def shipped():
    from vae_core import load_dataset

    train, test = load_dataset("mnist", "train"), load_dataset("mnist", "test")
    if test.is_sample:
        pytest.skip("full MNIST not available (only the offline sample); CI fails instead of skipping")
    clf, meta = q.load_classifier()  # shipped: a missing classifier fails
    f_test, p_test = q.classify(clf, test.images)
    return clf, meta, (train, test), (f_test, p_test)


def test_shipped_classifier_accuracy_and_sanity_references(shipped):
    clf, meta, (train, test), (f_test, p_test) = shipped
    acc = float((p_test.argmax(1) == test.labels.numpy()).mean())
    assert acc >= 0.985
    assert acc == pytest.approx(meta["test_metrics"]["accuracy"], abs=1e-4)  # the stated accuracy is real
    f_train, _ = q.classify(clf, train.images[:5000])
    fid_tt = q.fid_from_features(f_train, f_test)
    f_noise, p_noise = q.classify(clf, q.noise_images(2000))
    fid_noise = q.fid_from_features(f_noise, f_test)
    assert fid_tt < 0.01 * fid_noise  # real digits near 0, noise far
    assert q.inception_score(p_test) > 9.0  # the test set: confident and balanced
    assert math.isfinite(fid_noise)


def test_stored_fid_of_a_shipped_model_is_reproduced(shipped):
    from vae_core import load_checkpoint

    clf, _, _, (ref, _) = shipped
    scores = {}
    for name in ("mnist-z2", "mnist-z20"):
        model, meta = load_checkpoint(q.default_checkpoint_dir() / name)
        f, p = q.classify(clf, q.prior_samples(model, 10_000, seed=0))
        scores[name] = q.fid_from_features(f, ref)
        assert scores[name] == pytest.approx(meta["test_metrics"]["fid"], rel=1e-4)
        assert q.inception_score(p) == pytest.approx(meta["test_metrics"]["inception_score"], rel=1e-4)
    assert scores["mnist-z20"] < scores["mnist-z2"]  # the 20-D model's samples are closer to real digits


def test_score_model_and_stored_scores(tmp_path):
    import json

    from vae_core.digits.model import VAE
    from vae_core.pair_io import write_checkpoint_pair

    torch.manual_seed(0)
    model = VAE(latent_dim=2, hidden_dims=(8,))
    clf = q.MnistClassifier()
    ref = q.classify(clf, torch.rand(300, 784, generator=torch.Generator().manual_seed(1)))[0]
    res = q.score_model(model, 200, 0, "bernoulli", clf, ref)
    x = q.prior_samples(model, 200, seed=0)
    f, p = q.classify(clf, x)
    assert res.fid == pytest.approx(q.fid_from_features(f, ref))
    assert res.inception_score == pytest.approx(q.inception_score(p))
    assert res.n == 200 and res.class_counts.sum() == 200 and res.samples.shape == (32, 784)
    np.testing.assert_array_equal(res.class_counts, np.bincount(p.argmax(1), minlength=10))
    np.testing.assert_array_equal(res.samples, x[:32].numpy())
    # stored scores: digit checkpoints only, by FID, unmeasured last
    for name, fid in (("b", 5.0), ("a", 2.0), ("c", None)):
        tm = {"neg_elbo": 100.0} if fid is None else {"fid": fid, "inception_score": 3.0, "neg_elbo": 100.0}
        (tmp_path / f"{name}.json").write_text(json.dumps({"family": "mlp-vae", "test_metrics": tm}))
    write_checkpoint_pair(tmp_path / "other", {"w": torch.zeros(2)}, {"family": "sprites-vae"})
    (tmp_path / "broken.json").write_text("{not json")
    rows = q.stored_scores(tmp_path)
    assert [r.name for r in rows] == ["a", "b", "c"]
    assert rows[0].fid == 2.0 and rows[2].fid is None and rows[2].neg_elbo == 100.0
    assert q.stored_score("x", {"test_metrics": {"fid": True, "inception_score": "3"}}) == q.StoredScore(
        "x", None, None, None)  # only real numbers count
    # what each -ELBO is: three different quantities, named so the table does not compare them as one
    assert rows[0].neg_elbo_kind == "cross-entropy"
    assert q.stored_score("cb", {"likelihood": "continuous_bernoulli"}).neg_elbo_kind == "log-density"
    assert q.stored_score("bin", {"binarization": "dynamic"}).neg_elbo_kind == "log-probability"


def test_cli_trains_saves_and_scores(tmp_path, capsys):
    from vae_core import load_dataset

    if load_dataset("mnist", "test").is_sample:
        pytest.skip("full MNIST not available (only the offline sample); CI fails instead of skipping")
    out = tmp_path / "clf"
    assert q.main(["train-classifier", "--epochs", "2", "--subset", "3000", "--out", str(out)]) == 0
    clf, meta = q.load_classifier(out)
    assert meta["family"] == "mnist-classifier" and meta["dataset"]["n_train"] == 3000
    assert meta["command"] == f"python -m vae_core train --family mnist-classifier --epochs 2 --subset 3000 --out {out}"
    assert 0.5 < meta["test_metrics"]["accuracy"] <= 1.0  # 3,000 digits, two epochs: far better than chance
    assert "test accuracy" in capsys.readouterr().out
    from pathlib import Path

    ckpt = Path(__file__).resolve().parents[3] / "checkpoints" / "mnist-z2"
    assert q.main(["score", str(ckpt), "--n", "300", "--classifier", str(out)]) == 0
    assert "mnist-z2: FID" in capsys.readouterr().out
