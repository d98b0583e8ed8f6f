"""Your own data (#19): the formats vae_core.digits.user_data reads, checked against independent computations (pixels,
labels, RGB → grey, the split), and ``python -m vae_core train --data`` end to end on scikit-learn's 8×8 digits
(the checkpoint's JSON records the data set, the model encodes (N, 64) rows, the data file is stored beside it).
Refusals of bad files are in tests/attacks/test_attack_byo.py."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile

import numpy as np
import pytest
import torch
from PIL import Image

from vae_core import load_checkpoint
from vae_core.digits.user_data import dataset_meta, find_dataset, load_user_data, store_dataset


def sk_digits_npz(path, names: bool = True):
    """scikit-learn's 1,797 8×8 digits (grey levels 0-16) as float32 in [0, 1], labels and names."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x = (d.images / 16.0).astype(np.float32)
    extra = {"names": np.array([f"digit {i}" for i in range(10)])} if names else {}
    np.savez(path, x=x, y=d.target, **extra)
    return x, d.target


def png_zip(path, shape=(12, 16), classes=("bars", "dots"), per_class=12, rgb=False, seed=0, top="shapes"):
    """A zip of generated PNGs, one folder per class (under one enclosing folder); returns the uint8 images in
    the order the loader sorts them (class folder, then file name)."""
    rng = np.random.default_rng(seed)
    imgs = []
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for c, cls in enumerate(sorted(classes)):
            for i in range(per_class):
                a = (rng.random(shape) * 60).astype(np.uint8)
                if c == 0:
                    a[:, ::3] = 230
                else:
                    a[::3, ::3] = 250
                if rgb:
                    rgb_a = np.stack([a, (a // 2), 255 - a], -1).astype(np.uint8)
                    im = Image.fromarray(rgb_a, "RGB")
                    ref = np.asarray(im.convert("L"))
                else:
                    im = Image.fromarray(a, "L")
                    ref = a
                b = io.BytesIO()
                im.save(b, "PNG")
                zf.writestr(f"{top}/{cls}/{i:03d}.png" if top else f"{cls}/{i:03d}.png", b.getvalue())
                imgs.append(ref)
    path.write_bytes(buf.getvalue())
    return np.stack(imgs)


def test_npz_of_sklearn_digits(tmp_path):
    x, y = sk_digits_npz(tmp_path / "digits8.npz")
    ud = load_user_data(tmp_path / "digits8.npz")
    assert ud.shape == (8, 8) and len(ud) == 1797 and ud.has_labels
    assert ud.label_names == [f"digit {i}" for i in range(10)]
    assert torch.equal(ud.images, torch.from_numpy(x.reshape(-1, 64)))
    assert torch.equal(ud.labels, torch.from_numpy(y.astype(np.int64)))
    assert ud.sha256 == hashlib.sha256((tmp_path / "digits8.npz").read_bytes()).hexdigest()


def test_uint8_and_rgb_arrays_and_npy(tmp_path):
    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 256, size=(30, 10, 6, 3), dtype=np.uint8)
    np.savez(tmp_path / "c.npz", x=rgb)
    ud = load_user_data(tmp_path / "c.npz")
    want = (rgb.astype(np.float64) / 255.0) @ np.array([0.299, 0.587, 0.114])  # ITU-R 601 luma
    assert ud.shape == (10, 6) and not ud.has_labels and "grey" in ud.converted
    assert np.abs(ud.images.numpy() - want.reshape(30, -1)).max() < 1e-6
    np.save(tmp_path / "g.npy", rgb[..., 0])
    ud = load_user_data(tmp_path / "g.npy")
    assert np.array_equal(ud.images.numpy(), rgb[..., 0].reshape(30, -1).astype(np.float32) / 255)


def test_zip_of_class_folders(tmp_path):
    ref = png_zip(tmp_path / "shapes.zip")
    ud = load_user_data(tmp_path / "shapes.zip")
    assert ud.shape == (12, 16) and ud.label_names == ["bars", "dots"] and ud.has_labels
    assert np.array_equal(ud.images.numpy(), ref.reshape(len(ref), -1).astype(np.float32) / 255)
    assert ud.labels.tolist() == [0] * 12 + [1] * 12
    ref = png_zip(tmp_path / "rgb.zip", rgb=True, top="")  # no enclosing folder; colour → Pillow's "L"
    ud = load_user_data(tmp_path / "rgb.zip")
    assert "grey" in ud.converted
    assert np.array_equal(ud.images.numpy(), ref.reshape(len(ref), -1).astype(np.float32) / 255)


def test_split_is_seeded_disjoint_and_complete(tmp_path):
    sk_digits_npz(tmp_path / "d.npz")
    ud = load_user_data(tmp_path / "d.npz")
    tr, te = ud.split()
    tr2, te2 = load_user_data(tmp_path / "d.npz").split()
    assert torch.equal(tr.images, tr2.images) and torch.equal(te.labels, te2.labels)
    assert len(te) == round(0.2 * 1797) and len(tr) + len(te) == 1797
    perm = np.random.default_rng(0).permutation(1797)
    assert torch.equal(te.images, ud.images[torch.from_numpy(np.sort(perm[:len(te)]))])
    assert tr.name == te.name == "user" and tr.label_names == ud.label_names


def test_store_and_find_by_sha(tmp_path):
    sk_digits_npz(tmp_path / "d.npz")
    raw = (tmp_path / "d.npz").read_bytes()
    p = store_dataset(raw, tmp_path / "store", "d.npz")
    assert p.name == hashlib.sha256(raw).hexdigest() + ".npz"
    assert find_dataset(hashlib.sha256(raw).hexdigest(), [tmp_path / "nowhere", tmp_path / "store"]) == p
    assert find_dataset("../../etc/passwd", [tmp_path / "store"]) is None


def test_train_cli_on_your_own_data(tmp_path):
    """``python -m vae_core train --data my.npz --latent-dim 2 --epochs 2 --out DIR/NAME`` (the one command line,
    vae_core.command, which hands the digit family's flags to vae_core.digits.cli.run)."""
    from vae_core.command import main

    sk_digits_npz(tmp_path / "my.npz")
    out = tmp_path / "models" / "d8"
    assert main(["train", "--data", str(tmp_path / "my.npz"), "--latent-dim", "2", "--epochs", "2", "--hidden-dims",
                 "64", "--iwae-k", "0", "--out", str(out)]) == 0
    model, meta = load_checkpoint(out)
    assert meta["command"].startswith("python -m vae_core train --data ")
    ud = load_user_data(tmp_path / "my.npz")
    want = dataset_meta(ud, 1797 - 359, 359)
    for k in ("name", "file", "sha256", "image_shape", "n", "n_train", "n_test", "label_names", "has_labels"):
        assert meta["dataset"][k] == want[k], k
    assert meta["model"]["input_dim"] == 64 and model.image_shape == (8, 8)
    mu, logvar = model.encode(ud.images[:5])
    assert mu.shape == (5, 2) and logvar.shape == (5, 2)
    assert find_dataset(ud.sha256, [out.parent / "datasets"]) is not None  # where the app finds the data
    assert json.loads(out.with_suffix(".json").read_text())["dataset"]["image_shape"] == [8, 8]
    from vae_core.command import sample as sample_main  # prior samples drawn at the data's 8×8

    assert sample_main([str(out), "--n", "4", "--out", str(tmp_path / "s.png")]) == 0
    assert Image.open(tmp_path / "s.png").size == (38, 38)  # 2×2 cells of 8 px + 1-px lines, (2·9 + 1)·2
    from vae_core.digits.evaluate import main as evaluation_main  # the test split of the stored copy

    assert evaluation_main([str(out), "--k", "5", "--json-out", str(tmp_path / "e.json")]) == 0
    assert "my.npz: 1,797 images of 8×8" in json.loads((tmp_path / "e.json").read_text())["data"]


def test_cli_refuses_a_bad_file_with_its_reason(tmp_path):
    from vae_core.digits.cli import main

    np.savez(tmp_path / "bad.npz", images=np.zeros((10, 8, 8)))
    with pytest.raises(SystemExit, match="no array 'x'"):
        main(["--data", str(tmp_path / "bad.npz"), "--epochs", "1", "--out", str(tmp_path / "m")])
    assert not (tmp_path / "m.json").exists()
