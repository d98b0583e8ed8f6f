"""Applications: anomaly detection / ROC, OOD sets, inpainting, latent editing, compression."""

import math

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score
from sklearn.metrics import roc_curve as sk_roc_curve

from vae_core.applications import (
    FEATURES,
    MASKS,
    anomaly_scores,
    class_mean_direction,
    compression_report,
    edit,
    image_features,
    inpaint,
    inverted,
    make_mask,
    ood_sets,
    roc_auc,
    roc_curve,
    rotated,
    sklearn_digits_upscaled,
    style_direction,
    uniform_noise,
)
from vae_core.drawing import center_of_mass
from vae_core.models import CVAE, VAE


def tiny_vae(seed=0):
    torch.manual_seed(seed)
    return VAE(latent_dim=2, hidden_dims=(32,))


def tiny_cvae(seed=0):
    torch.manual_seed(seed)
    return CVAE(latent_dim=2, hidden_dims=(32,), num_classes=10)


def fake_images(n=20, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.zeros(n, 28, 28)
    for i in range(n):
        r, c = torch.randint(4, 14, (2,), generator=g).tolist()
        x[i, r:r + 10, c:c + 3] = torch.rand(1, generator=g).item() * 0.5 + 0.5
    return x.reshape(n, 784)


# ------------------------------------------------------------- anomaly / ROC
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


@pytest.fixture
def one_thread():
    """Tiny models train faster single-threaded on a busy machine (no thread oversubscription)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


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


# ------------------------------------------------------------------ OOD sets
def test_ood_makers_shapes_and_ranges():
    x = fake_images(12)
    u = uniform_noise(5, seed=1)
    assert u.shape == (5, 784) and u.min() >= 0 and u.max() <= 1
    torch.testing.assert_close(uniform_noise(5, seed=1), u)
    torch.testing.assert_close(inverted(x), 1 - x)
    torch.testing.assert_close(rotated(x, 0), x)
    torch.testing.assert_close(rotated(x, 360), x)
    r = rotated(x, 90)
    assert r.shape == x.shape and r.min() >= 0 and r.max() <= 1
    torch.testing.assert_close(rotated(rotated(x, 90), -90), x, atol=1e-5, rtol=0)  # exact grid rotation
    # 90 degrees anticlockwise: a blob at the top-right goes to the top-left
    blob = torch.zeros(28, 28)
    blob[2:6, 20:24] = 1
    rr, cc = center_of_mass(rotated(blob.reshape(1, -1), 90)[0])
    assert rr < 8 and cc < 8
    sets = ood_sets(x, n=10, seed=0)
    assert list(sets)[0] == "uniform noise" and len(sets) == 5
    for name, t in sets.items():
        assert t.dim() == 2 and t.shape[1] == 784 and 1 <= t.shape[0] <= 10, name
        assert t.dtype == torch.float32 and t.min() >= 0 and t.max() <= 1, name


def test_sklearn_digits_upscaled_are_mnist_like():
    x, y = sklearn_digits_upscaled(40, seed=0, return_labels=True)
    assert x.shape == (40, 784) and y.shape == (40,) and x.min() >= 0 and x.max() <= 1
    for img in x:
        r, c = center_of_mass(img)
        assert math.hypot(r - 13.5, c - 13.5) <= 1.0
        rows = np.flatnonzero(img.reshape(28, 28).numpy().max(1) > 0.05)
        cols = np.flatnonzero(img.reshape(28, 28).numpy().max(0) > 0.05)
        assert max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 <= 22
    assert sklearn_digits_upscaled().shape == (1797, 784)


# ---------------------------------------------------------------- inpainting
@pytest.mark.parametrize("kind", list(MASKS) + ["user"])
def test_inpainting_never_changes_known_pixels(kind):
    model = tiny_vae()
    x = fake_images(1, seed=3)[0]
    if kind == "user":
        user = np.zeros((28, 28))
        user[5:9, 3:25] = 1
        mask = make_mask(user)
    else:
        mask = make_mask(kind, seed=4)
    assert mask.shape == (784,) and set(mask.unique().tolist()) <= {0.0, 1.0} and mask.sum() > 0
    res = inpaint(model, x, mask, n_iter=12, n_samples=5, generator=torch.Generator().manual_seed(0))
    comp = res["completions"]
    assert comp.shape == (5, 784) and comp.dtype == x.dtype
    known = mask == 0
    for row in comp:
        assert torch.equal(row[known], x[known])
    assert comp.min() >= 0 and comp.max() <= 1
    assert res["iterations"].shape == (5,) and (res["iterations"] >= 1).all() and (res["iterations"] <= 12).all()
    assert res["trace"].shape[0] == int(res["iterations"].max())
    assert torch.equal(res["mask"], mask.bool())


def test_inpainting_diversity_convergence_and_one_shot():
    model = tiny_vae()
    x = fake_images(1, seed=5)[0].double()  # known pixels survive bit-for-bit in float64 too
    mask = make_mask("bottom")
    miss = mask.bool()
    # default: every step samples z, each chain its own draws -> diverse completions
    res = inpaint(model, x, mask, n_iter=20, n_samples=4, generator=torch.Generator().manual_seed(1))
    assert torch.equal(res["completions"][:, ~miss], x[~miss].expand(4, -1))
    assert res["completions"][:, miss].std(0).max() > 1e-5  # (an untrained decoder barely depends on z)
    same = inpaint(model, x, mask, n_iter=5, n_samples=3, stochastic_steps=0)
    assert same["completions"][:, miss].std(0).max() < 1e-6  # z = mu from one start: identical chains
    # deterministic fixed-point iteration (z = mu) settles and stops early
    det = inpaint(model, x, mask, n_iter=200, n_samples=2, tol=1e-5, stochastic_steps=0, fill="random",
                  generator=torch.Generator().manual_seed(2))
    assert det["converged"].all() and (det["iterations"] < 200).all()
    assert det["trace"][-1] < det["trace"][0] and det["chain_trace"].shape == (det["iterations"].max(), 2)
    assert torch.equal(det["completions"][:, ~miss], x[~miss].expand(2, -1))
    # n_iter=1, final="sample": the seed's one-shot ImageInpaintingVAE.inpaint
    one = inpaint(model, x, mask, n_iter=1, n_samples=3, final="sample")
    assert (one["iterations"] == 1).all() and one["trace"].shape == (1,)
    cvae = tiny_cvae()
    rc = inpaint(cvae, x.float(), mask, n_iter=5, n_samples=2, y=7)
    assert rc["completions"].shape == (2, 784)
    with pytest.raises(ValueError):
        inpaint(cvae, x.float(), mask, n_iter=5)


def test_make_mask_kinds():
    top = make_mask("top").reshape(28, 28)
    assert top[:14].eq(1).all() and top[14:].eq(0).all()
    assert make_mask("left").reshape(28, 28)[:, :14].eq(1).all()
    torch.testing.assert_close(make_mask("random box", seed=3), make_mask("random box", seed=3))
    b = make_mask("random box", box=(2, 3, 4, 5)).reshape(28, 28)
    assert b.sum() == 20 and b[2:6, 3:8].eq(1).all()
    assert 300 < make_mask("random pixels", seed=0).sum() < 484
    with pytest.raises(ValueError):
        make_mask("nope")
    with pytest.raises(ValueError):
        make_mask(np.ones((5, 5)))


# ------------------------------------------------------------ latent editing
def test_class_mean_direction_on_synthetic_mu():
    mu = torch.tensor([[0.0, 0.0], [2.0, 0.0], [1.0, 5.0], [1.0, 7.0], [9.0, 9.0]])
    labels = torch.tensor([3, 3, 8, 8, 1])
    torch.testing.assert_close(class_mean_direction(mu, labels, 3, 8), torch.tensor([0.0, 6.0]))
    with pytest.raises(ValueError):
        class_mean_direction(mu, labels, 3, 4)


def test_style_direction_recovers_planted_direction():
    g = torch.Generator().manual_seed(0)
    n, d = 2000, 4
    f = 3.0 + 2.0 * torch.randn(n, generator=g)  # feature with std 2
    v = torch.tensor([1.0, -0.5, 0.0, 2.0])
    mu = 0.7 + f[:, None] * v[None, :] + 0.05 * torch.randn(n, d, generator=g)
    b = style_direction(mu, {"slant": f}, "slant")
    torch.testing.assert_close(b, 2.0 * v, atol=0.05, rtol=0.03)  # +1 std of f moves z by 2 v
    torch.testing.assert_close(style_direction(mu, f.numpy()), b)
    with pytest.raises(ValueError):
        style_direction(mu, torch.ones(n))


def test_image_features():
    img = torch.zeros(3, 28, 28)
    img[0, 4:24, 13:16] = 1  # upright bar: 20 tall, 3 wide
    for r in range(4, 24):  # bar leaning right: top is further right than bottom
        c = 10 + (24 - r) // 3
        img[1, r, c:c + 3] = 1
    feats = image_features(img.reshape(3, 784))
    assert set(feats) == set(FEATURES)
    assert feats["ink"][0] == pytest.approx(60.0)
    assert feats["height"][0] == 20 and feats["width"][0] == 3
    assert 2.5 <= feats["thickness"][0] <= 3.5
    assert abs(feats["slant"][0]) < 1e-6 and feats["slant"][1] > 0.2
    assert feats["ink"][2] == 0 and feats["thickness"][2] == 0 and feats["width"][2] == 0


def test_edit_decodes_each_strength():
    model = tiny_vae()
    out = edit(model, torch.zeros(2), torch.tensor([1.0, 0.0]), [-2, 0, 2])
    assert out.shape == (3, 784) and out.min() >= 0 and out.max() <= 1
    torch.testing.assert_close(out[1], model.decode(torch.zeros(1, 2))[0])
    cv = edit(tiny_cvae(), torch.zeros(1, 2), torch.ones(2), torch.tensor([0.0, 1.0]), y=4)
    assert cv.shape == (2, 784)


# --------------------------------------------------------------- compression
def test_compression_report():
    model = tiny_vae()
    x = fake_images(8)
    rep = compression_report(model, x)
    assert rep["latent_dim"] == 2 and rep["pixel_bits"] == 6272 and rep["pixel_bytes"] == 784
    assert rep["dim_ratio"] == 392.0 and rep["float32_ratio"] == 6272 / 64
    torch.testing.assert_close(rep["rate_bits"], rep["rate_nats"] / math.log(2))
    mu, logvar = model.encode(x)
    kl = 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1).sum(1)
    torch.testing.assert_close(rep["rate_nats"], kl.detach())
    torch.testing.assert_close(rep["ratio"], 6272 / rep["rate_bits"])
    assert rep["recon"].shape == (8, 784) and rep["recon_bce"].shape == (8,) and rep["recon_mse"].shape == (8,)
    torch.testing.assert_close(rep["total_bits"], (rep["rate_nats"] + rep["recon_bce"]) / math.log(2))
    rc = compression_report(tiny_cvae(), x, y=torch.arange(8))
    assert rc["rate_bits"].shape == (8,)
