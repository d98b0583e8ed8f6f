"""Your own images as a data set: read a user's file into the rows every digit model takes, refusing bad files.

Accepted (``load_user_data``):

* ``.npz`` with an image array ``x`` (N, H, W) grey or (N, H, W, 3) RGB (also (N, H, W, 1)), uint8 (0-255) or
  bool or float in [0, 1]; optional integer labels ``y`` (N,) from 0 to K-1 and optional label names ``names``
  (K strings);
* ``.npy``: one such image array (no labels);
* ``.zip`` of PNG / JPEG images, one folder per class (``cat/001.png``, ``dog/x.jpg``; one enclosing folder is
  allowed), every image the same size.

RGB is converted to grey with ITU-R 601 luma weights (0.299 R + 0.587 G + 0.114 B, what Pillow's ``"L"`` mode
does): the models and pages work on one channel; the pages say so.

Caps (``LIMITS``): the file ≤ 64 MB, ≤ 100,000 images, H and W from 4 to 64, N·H·W ≤ 2²⁵ pixels (128 MiB as
float32), ≤ 100 classes.  Nothing is unpickled (``allow_pickle=False``; object arrays refused); archive members
are checked by their declared sizes before anything is decompressed (zip bombs), a member that inflates beyond
its declared size is refused by :mod:`zipfile` itself, and Pillow decodes PNG and JPEG only, after the header's
size is checked.  Every refusal is a :class:`UserDataError` (a ``ValueError``) naming the problem.

A data set is known by the SHA-256 of its file's bytes.  ``store_dataset`` writes the file atomically into a
data folder as ``<sha256>.<ext>``; models record the hash (``dataset_meta``) and the app finds the data set
again by it (``find_dataset``).  ``UserDataset.split`` is the one train/test split (seeded permutation).
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np
import torch

from .data import DigitData

__all__ = ["LIMITS", "UserDataError", "UserDataset", "dataset_meta", "find_dataset", "load_user_data",
           "store_dataset"]

MAX_FILE_BYTES = 64 * 2**20
MAX_IMAGES = 100_000
MIN_SIDE, MAX_SIDE = 4, 64
MAX_PIXELS = 2**25  # N * H * W
MAX_CLASSES = 100
MAX_NAME_CHARS = 40
MAX_MEMBERS = MAX_IMAGES + 1_000  # zip entries (folders and skipped files included)
MAX_MEMBER_BYTES = 4 * 2**20  # one image file inside a zip, uncompressed
MAX_NPY_MEMBER_BYTES = MAX_PIXELS * 8 + 2**16  # one array inside an .npz, uncompressed (float64 at the cap)
DATA_SUBDIR = "datasets"  # beside a folder of checkpoints: the data sets its models were trained on
TEST_FRACTION = 0.2
SPLIT_SEED = 0
LIMITS = {"file_mb": MAX_FILE_BYTES // 2**20, "images": MAX_IMAGES, "side": MAX_SIDE, "min_side": MIN_SIDE,
          "pixels": MAX_PIXELS, "classes": MAX_CLASSES}
EXTENSIONS = (".npz", ".npy", ".zip")
LUMA = np.array([0.299, 0.587, 0.114])
_SHA_RE = re.compile(r"^[0-9a-f]{64}$")


class UserDataError(ValueError):
    """A data set file this module refuses; the message names the problem."""


@dataclass
class UserDataset:
    """A user's images: ``images`` (N, H·W) float32 rows in [0, 1], ``labels`` (N,) int64 (all 0 without labels)."""

    images: torch.Tensor
    labels: torch.Tensor
    shape: tuple[int, int]  # (H, W)
    label_names: list[str]
    has_labels: bool
    sha256: str
    file_name: str
    converted: str  # "" or how the pixels were converted (RGB to grey)

    def __len__(self) -> int:
        return int(self.images.shape[0])

    @property
    def description(self) -> str:
        h, w = self.shape
        lab = f"{len(self.label_names)} labels" if self.has_labels else "no labels"
        conv = f"; {self.converted}" if self.converted else ""
        return f"your data set {self.file_name}: {len(self):,} images of {h}×{w} pixels, {lab}{conv}"

    def split(self, test_fraction: float = TEST_FRACTION, seed: int = SPLIT_SEED) -> tuple[DigitData, DigitData]:
        """(train, test) as DigitData (name ``"user"``): a numpy ``default_rng(seed)`` permutation, the first
        ``max(1, round(test_fraction · N))`` images are the test split (both sorted back into file order)."""
        n = len(self)
        if n < 2:
            raise UserDataError("a data set needs at least 2 images (one to train on, one to test)")
        n_test = min(n - 1, max(1, round(test_fraction * n)))
        perm = np.random.default_rng(seed).permutation(n)
        parts = []
        for split, idx in (("train", np.sort(perm[n_test:])), ("test", np.sort(perm[:n_test]))):
            t = torch.from_numpy(idx)
            parts.append(DigitData(self.images[t].contiguous(), self.labels[t].contiguous(), "user", split,
                                   "user-file", f"{self.description}; {split} split of {len(idx):,} "
                                   f"(seeded split, {test_fraction:.0%} test)", None, list(self.label_names)))
        return parts[0], parts[1]


# ---------------------------------------------------------------------------------------------- reading
def _check_images(x: np.ndarray, where: str) -> tuple[np.ndarray, str]:
    """(N, H, W) float32 in [0, 1] from an accepted image array, and how it was converted."""
    if x.dtype.hasobject or x.dtype.kind not in "buif":
        raise UserDataError(f"{where} has dtype {x.dtype}; images must be uint8 (0-255) or float in [0, 1]")
    converted = ""
    if x.ndim == 4 and x.shape[-1] == 1:
        x = x[..., 0]
    if x.ndim == 4 and x.shape[-1] == 3:
        converted = "RGB converted to grey (0.299 R + 0.587 G + 0.114 B)"
    elif x.ndim != 3:
        raise UserDataError(f"{where} has shape {x.shape}; images must be N×H×W (grey) or N×H×W×3 (RGB)")
    n, h, w = x.shape[:3]
    if n < 2:
        raise UserDataError(f"{where} holds {n} image(s); a data set needs at least 2")
    if n > MAX_IMAGES:
        raise UserDataError(f"{where} holds {n:,} images; at most {MAX_IMAGES:,} are accepted")
    if not (MIN_SIDE <= h <= MAX_SIDE and MIN_SIDE <= w <= MAX_SIDE):
        raise UserDataError(f"{where}: images of {h}×{w} pixels; height and width must be from {MIN_SIDE} to "
                            f"{MAX_SIDE}")
    if n * h * w > MAX_PIXELS:
        raise UserDataError(f"{where}: {n:,} images of {h}×{w} are {n * h * w:,} pixels; at most {MAX_PIXELS:,}")
    if x.dtype.kind == "u" and x.dtype != np.uint8 or x.dtype.kind == "i":
        raise UserDataError(f"{where} has dtype {x.dtype}; integer images must be uint8 (0-255)")
    if x.dtype == np.uint8:
        f = x.astype(np.float32) / 255.0
    elif x.dtype.kind == "b":
        f = x.astype(np.float32)
    else:
        f = x.astype(np.float64)
        if not np.isfinite(f).all():
            raise UserDataError(f"{where} contains NaN or infinite values")
        lo, hi = float(f.min()), float(f.max())
        if lo < 0.0 or hi > 1.0:
            raise UserDataError(f"{where}: float pixels must lie in [0, 1] (found {lo:g} to {hi:g}); divide "
                                "8-bit images by 255 or save them as uint8")
        f = f.astype(np.float32)
    if converted:
        f = (f.astype(np.float64) @ LUMA).astype(np.float32)
    return np.clip(f, 0.0, 1.0), converted


def _check_labels(y: np.ndarray, n: int, names: np.ndarray | None) -> tuple[np.ndarray, list[str]]:
    if y.dtype.kind not in "iu" or y.ndim != 1:
        raise UserDataError(f"labels 'y' must be a 1-D integer array (got dtype {y.dtype}, shape {y.shape})")
    if y.shape[0] != n:
        raise UserDataError(f"labels 'y' has {y.shape[0]:,} entries for {n:,} images")
    lo, hi = int(y.min()), int(y.max())
    if lo < 0 or hi >= MAX_CLASSES:
        raise UserDataError(f"labels 'y' must be class numbers from 0 to {MAX_CLASSES - 1} (found {lo} to {hi})")
    k = hi + 1
    if names is None:
        return y.astype(np.int64), [str(c) for c in range(k)]
    if names.dtype.kind not in "US" or names.ndim != 1:
        raise UserDataError(f"label names 'names' must be a 1-D array of strings (got dtype {names.dtype})")
    if not k <= names.shape[0] <= MAX_CLASSES:
        raise UserDataError(f"'names' has {names.shape[0]} names but the labels go up to {hi} "
                            f"(need {k} to {MAX_CLASSES} names)")
    out = [(v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)) for v in names.tolist()]
    for s in out:
        if not s.strip() or len(s) > MAX_NAME_CHARS or any(ord(c) < 32 for c in s):
            raise UserDataError(f"label name {s[:MAX_NAME_CHARS]!r} must be 1 to {MAX_NAME_CHARS} printable "
                                "characters")
    return y.astype(np.int64), out


def _read_npy(f, where: str, max_bytes: int = MAX_NPY_MEMBER_BYTES) -> np.ndarray:
    """One .npy array, its header checked (no object dtype, size within the caps) before its data is read."""
    try:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
        else:
            raise UserDataError(f"{where}: unsupported .npy format version {version}")
    except UserDataError:
        raise
    except Exception as exc:  # noqa: BLE001 - any malformed header
        raise UserDataError(f"{where} is not a valid .npy array ({type(exc).__name__}: {exc})"[:300]) from None
    if dtype.hasobject:
        raise UserDataError(f"{where} holds Python objects (a pickle); only numeric and text arrays are read")
    nbytes = int(np.prod(shape, dtype=np.float64) * dtype.itemsize)
    if nbytes > max_bytes:
        raise UserDataError(f"{where} declares {nbytes / 2**20:,.0f} MiB of data; at most {max_bytes / 2**20:,.0f} "
                            "MiB are read")
    count = int(np.prod(shape)) if shape else 1
    raw = f.read(nbytes)
    if len(raw) != nbytes:
        raise UserDataError(f"{where} is truncated ({len(raw):,} of {nbytes:,} bytes)")
    a = np.frombuffer(raw, dtype=dtype, count=count)
    return a.reshape(shape[::-1]).transpose() if fortran else a.reshape(shape)


def _zip(raw: bytes, what: str) -> zipfile.ZipFile:
    try:
        zf = zipfile.ZipFile(io.BytesIO(raw))
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise UserDataError(f"this {what} is not a readable archive ({exc})") from None
    infos = zf.infolist()
    if len(infos) > MAX_MEMBERS:
        raise UserDataError(f"the archive lists {len(infos):,} files; at most {MAX_MEMBERS:,}")
    for i in infos:
        if i.flag_bits & 0x1:
            raise UserDataError(f"{i.filename[:80]!r} is encrypted")
    return zf


def _member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, max_bytes: int):
    if info.file_size > max_bytes:
        raise UserDataError(f"{info.filename[:80]!r} unpacks to {info.file_size:,} bytes; at most {max_bytes:,}")
    if info.compress_size and info.file_size / info.compress_size > 1000 and info.file_size > 2**20:
        raise UserDataError(f"{info.filename[:80]!r} is compressed more than 1000:1 (a zip bomb?)")
    try:
        return zf.open(info)
    except (zipfile.BadZipFile, NotImplementedError, RuntimeError, OSError) as exc:
        raise UserDataError(f"{info.filename[:80]!r} cannot be unpacked ({exc})") from None


def _load_npz(raw: bytes):
    zf = _zip(raw, ".npz file")
    members = {i.filename.removesuffix(".npy"): i for i in zf.infolist()}
    if "x" not in members:
        raise UserDataError(f"the .npz file has no array 'x' (it has {', '.join(sorted(members))[:200] or 'none'}); "
                            "put the images under the key x, e.g. np.savez('data.npz', x=images, y=labels)")
    arrays = {}
    for key in ("x", "y", "names"):
        if key in members:
            with _member(zf, members[key], MAX_NPY_MEMBER_BYTES) as f:
                try:
                    arrays[key] = _read_npy(f, f"array '{key}'")
                except (zipfile.BadZipFile, OSError, EOFError) as exc:  # a member that lies about its size / CRC
                    raise UserDataError(f"array '{key}' cannot be unpacked ({exc})") from None
    return arrays


def _image_files(zf: zipfile.ZipFile) -> list[tuple[str, zipfile.ZipInfo]]:
    """(class folder, member) of every image in a folder-per-class archive."""
    files = []
    for info in zf.infolist():
        p = PurePosixPath(info.filename)
        if ".." in p.parts or p.is_absolute() or "\\" in info.filename:
            raise UserDataError(f"the archive entry {info.filename[:80]!r} has an unsafe path")
        if info.is_dir() or any(part.startswith(".") or part == "__MACOSX" for part in p.parts):
            continue
        if p.suffix.lower() not in (".png", ".jpg", ".jpeg"):
            raise UserDataError(f"{info.filename[:80]!r} is not a PNG or JPEG image (.png, .jpg, .jpeg)")
        files.append((p.parts, info))
    if not files:
        raise UserDataError("the archive holds no PNG or JPEG images")
    depth = {len(parts) for parts, _ in files}
    top = {parts[0] for parts, _ in files}
    if depth == {3} and len(top) == 1:  # one enclosing folder: mydata/cat/1.png
        files = [(parts[1:], info) for parts, info in files]
        depth = {2}
    if depth != {2}:
        raise UserDataError("put the images in one folder per class (cat/001.png, dog/002.png, …); found images "
                            "at other depths")
    return [(parts[0], info) for parts, info in files]


def _load_image_zip(raw: bytes):
    from PIL import Image, UnidentifiedImageError

    zf = _zip(raw, ".zip file")
    files = _image_files(zf)
    if len(files) > MAX_IMAGES:
        raise UserDataError(f"the archive holds {len(files):,} images; at most {MAX_IMAGES:,} are accepted")
    classes = sorted({c for c, _ in files})
    if len(classes) > MAX_CLASSES:
        raise UserDataError(f"the archive has {len(classes)} class folders; at most {MAX_CLASSES}")
    for c in classes:
        if len(c) > MAX_NAME_CHARS or any(ord(ch) < 32 for ch in c):
            raise UserDataError(f"class folder {c[:MAX_NAME_CHARS]!r}: names must be 1 to {MAX_NAME_CHARS} "
                                "printable characters")
    files.sort(key=lambda t: (t[0], t[1].filename))
    size = None
    images, labels, converted = [], [], ""
    for cls, info in files:
        with _member(zf, info, MAX_MEMBER_BYTES) as f:
            try:
                data = f.read()
            except (zipfile.BadZipFile, OSError, EOFError) as exc:
                raise UserDataError(f"{info.filename[:80]!r} cannot be unpacked ({exc})") from None
        try:
            im = Image.open(io.BytesIO(data), formats=["PNG", "JPEG"])
        except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
            raise UserDataError(f"{info.filename[:80]!r} is not a readable PNG or JPEG ({type(exc).__name__})") \
                from None
        w, h = im.size
        if not (MIN_SIDE <= h <= MAX_SIDE and MIN_SIDE <= w <= MAX_SIDE):
            raise UserDataError(f"{info.filename[:80]!r} is {w}×{h} pixels (width × height); height and width must "
                                f"be from {MIN_SIDE} to {MAX_SIDE}")
        if size is None:
            size = (w, h)
        elif (w, h) != size:
            raise UserDataError(f"{info.filename[:80]!r} is {w}×{h} pixels but the first image is {size[0]}×{size[1]}"
                                "; all images must have the same size")
        if im.mode not in ("L", "1", "I;16", "I", "F", "LA"):
            converted = "colour images converted to grey (Pillow's 'L': 0.299 R + 0.587 G + 0.114 B)"
        try:
            g = im.convert("RGBA").convert("L") if im.mode in ("P", "PA", "LA", "RGBA") else im.convert("L")
            images.append(np.asarray(g, dtype=np.uint8))
        except (OSError, ValueError, SyntaxError) as exc:
            raise UserDataError(f"{info.filename[:80]!r} could not be decoded ({type(exc).__name__})") from None
        labels.append(classes.index(cls))
    x = np.stack(images)
    return x, np.asarray(labels, dtype=np.int64), classes, converted


def load_user_data(source, file_name: str | None = None) -> UserDataset:
    """Read a data set from a path or from the file's bytes (then ``file_name`` gives its extension)."""
    if isinstance(source, bytes | bytearray | memoryview):
        raw = bytes(source)
        if not file_name:
            raise UserDataError("a data set given as bytes needs its file name (for its type)")
    else:
        path = Path(source)
        file_name = file_name or path.name
        try:
            size = path.stat().st_size
            if size > MAX_FILE_BYTES:
                raise UserDataError(f"{file_name} is {size / 2**20:,.1f} MB; at most {MAX_FILE_BYTES // 2**20} MB")
            raw = path.read_bytes()
        except OSError as exc:
            raise UserDataError(f"cannot read {file_name}: {exc.strerror or exc}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise UserDataError(f"{file_name} is {len(raw) / 2**20:,.1f} MB; at most {MAX_FILE_BYTES // 2**20} MB")
    ext = Path(file_name).suffix.lower()
    sha = hashlib.sha256(raw).hexdigest()
    if ext == ".npz":
        arrays = _load_npz(raw)
        x, converted = _check_images(arrays["x"], "array 'x'")
        if "y" in arrays:
            y, names = _check_labels(arrays["y"], len(x), arrays.get("names"))
            has_labels = True
        else:
            if "names" in arrays:
                raise UserDataError("the .npz file has label names 'names' but no labels 'y'")
            y, names, has_labels = np.zeros(len(x), np.int64), ["(no label)"], False
    elif ext == ".npy":
        x, converted = _check_images(_read_npy(io.BytesIO(raw), file_name, MAX_FILE_BYTES * 2), file_name)
        y, names, has_labels = np.zeros(len(x), np.int64), ["(no label)"], False
    elif ext == ".zip":
        x8, y, names, converted = _load_image_zip(raw)
        x, _ = _check_images(x8, "the images")
        has_labels = True
    else:
        raise UserDataError(f"{file_name}: the file must end in .npz, .npy or .zip (got {ext or 'no extension'!r})")
    n, h, w = x.shape
    return UserDataset(torch.from_numpy(np.ascontiguousarray(x.reshape(n, h * w))), torch.from_numpy(y),
                       (h, w), names, has_labels, sha, Path(file_name).name[:120], converted)


# ---------------------------------------------------------------------------------------------- storing
def store_dataset(raw: bytes, folder: str | os.PathLike, file_name: str) -> Path:
    """Write a data set file's bytes atomically as ``folder/<sha256><ext>`` (kept if already there)."""
    from ..pair_io import atomic_write_bytes

    ext = Path(file_name).suffix.lower()
    if ext not in EXTENSIONS:
        raise UserDataError(f"{file_name}: the file must end in .npz, .npy or .zip")
    folder = Path(folder)
    path = folder / f"{hashlib.sha256(raw).hexdigest()}{ext}"
    if not path.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, raw)
    return path


def find_dataset(sha256: str, folders) -> Path | None:
    """The stored file of the data set with this SHA-256 in the first folder that holds it, or None."""
    if not isinstance(sha256, str) or not _SHA_RE.match(sha256):
        return None
    for folder in folders:
        for ext in EXTENSIONS:
            p = Path(folder) / f"{sha256}{ext}"
            if p.is_file():
                return p
    return None


def dataset_meta(ud: UserDataset, n_train: int | None = None, n_test: int | None = None) -> dict:
    """The checkpoint's 'dataset' entry for a model trained on ``ud`` (what the app needs to find it again)."""
    return {"name": "user", "source": "user-file", "file": ud.file_name, "sha256": ud.sha256,
            "image_shape": list(ud.shape), "n": len(ud), "n_train": n_train, "n_test": n_test,
            "label_names": list(ud.label_names), "has_labels": ud.has_labels,
            "split": {"test_fraction": TEST_FRACTION, "seed": SPLIT_SEED},
            "description": ud.description}
