"""Attacks on bring your own (#19): hostile data-set files (pickles, zip bombs, lying archive headers, odd arrays,
odd images, path tricks) and hostile layouts are refused by vae_core.digits.user_data /
vae_core.digits.import_model with a message naming the problem, nothing is unpickled, and the page shows the refusal
as plain text and keeps working."""

from __future__ import annotations

import io
import json
import shutil
import struct
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vae_core.digits.import_model import ImportError_, parse_layout
from vae_core.digits.user_data import MAX_FILE_BYTES, UserDataError, load_user_data

ROOT = Path(__file__).resolve().parents[2]


def npz(**arrays) -> bytes:
    b = io.BytesIO()
    np.savez(b, **arrays)
    return b.getvalue()


def npy(a, allow_pickle=False) -> bytes:
    b = io.BytesIO()
    np.save(b, a, allow_pickle=allow_pickle)
    return b.getvalue()


def png(a: np.ndarray, fmt: str = "PNG") -> bytes:
    b = io.BytesIO()
    Image.fromarray(a).save(b, fmt)
    return b.getvalue()


def zip_of(files: dict[str, bytes]) -> bytes:
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return b.getvalue()


def lie_about_size(zbytes: bytes, size: int) -> bytes:
    """The archive with every member's declared uncompressed size (central directory) replaced by ``size``."""
    out = bytearray(zbytes)
    i = out.find(b"PK\x01\x02")
    while i != -1:
        out[i + 24:i + 28] = struct.pack("<I", size)
        i = out.find(b"PK\x01\x02", i + 4)
    return bytes(out)


def lying_npy(shape) -> bytes:
    """A .npy header declaring ``shape`` (uint8) followed by only 64 bytes of data."""
    b = io.BytesIO()
    np.lib.format.write_array_header_1_0(b, {"descr": "|u1", "fortran_order": False, "shape": shape})
    return b.getvalue() + bytes(64)


GOOD = np.zeros((4, 8, 8), np.uint8)
IMG = np.zeros((8, 8), np.uint8)

CASES = {
    # name: (file name, bytes, words the message must contain)
    "pickled npy": ("x.npy", npy(np.array([{"a": 1}] * 3, dtype=object), allow_pickle=True), "pickle"),
    "object array in npz": ("x.npz", zip_of({"x.npy": npy(np.array([None] * 3, dtype=object), True)}), "pickle"),
    "pickled label names": ("x.npz", zip_of({"x.npy": npy(GOOD), "y.npy": npy(np.zeros(4, int)),
                                             "names.npy": npy(np.array(["a", None], dtype=object), True)}), "pickle"),
    "npz without x": ("x.npz", npz(images=GOOD), "no array 'x'"),
    "npz bomb (declared 4 GB)": ("x.npz", lie_about_size(npz(x=GOOD), 0xFFFFFFF0), "unpacks to"),
    "npz member shorter than declared": ("x.npz", lie_about_size(npz(x=np.zeros((50, 8, 8), np.uint8)), 200),
                                         ""),
    "npy header claims 10^12 pixels": ("x.npy", lying_npy((10**6, 10**3, 10**3)), "declares"),
    "npy header claims more data than sent": ("x.npy", lying_npy((100, 8, 8)), "truncated"),
    "not an archive": ("x.npz", b"\x00garbage" * 100, "not a readable archive"),
    "wrong extension": ("x.txt", npy(GOOD), "must end in .npz, .npy or .zip"),
    "one image": ("x.npy", npy(GOOD[:1]), "at least 2"),
    "2-D array": ("x.npy", npy(np.zeros((5, 64), np.uint8)), "N×H×W"),
    "RGBA": ("x.npy", npy(np.zeros((5, 8, 8, 4), np.uint8)), "N×H×W"),
    "65 pixels wide": ("x.npy", npy(np.zeros((5, 8, 65), np.uint8)), "from 4 to 64"),
    "too many pixels": ("x.npy", npy(np.zeros((9000, 64, 64), bool)), "at most 33,554,432"),
    "int64 images": ("x.npy", npy(np.zeros((5, 8, 8), np.int64)), "uint8"),
    "complex images": ("x.npy", npy(np.zeros((5, 8, 8), np.complex64)), "dtype complex64"),
    "floats above 1": ("x.npy", npy(np.full((5, 8, 8), 255.0)), "must lie in [0, 1]"),
    "NaN pixels": ("x.npy", npy(np.full((5, 8, 8), np.nan)), "NaN"),
    "labels of the wrong length": ("x.npz", npz(x=GOOD, y=np.zeros(3, int)), "3 entries for 4 images"),
    "negative labels": ("x.npz", npz(x=GOOD, y=np.array([0, 1, -1, 0])), "from 0 to 99"),
    "float labels": ("x.npz", npz(x=GOOD, y=np.zeros(4)), "integer"),
    "too few names": ("x.npz", npz(x=GOOD, y=np.array([0, 1, 2, 0]), names=np.array(["a", "b"])), "2 names"),
    "names without labels": ("x.npz", npz(x=GOOD, names=np.array(["a"])), "no labels"),
    "control characters in a name": ("x.npz", npz(x=GOOD, y=np.zeros(4, int), names=np.array(["a\x1b[31m"])),
                                     "printable"),
    "zip bomb (declared 4 GB image)": ("x.zip", lie_about_size(zip_of({"a/1.png": png(IMG), "a/2.png": png(IMG)}),
                                                              0xFFFFFFF0), "unpacks to"),
    "5 MB member": ("x.zip", zip_of({"a/1.png": b"\x00" * (5 * 2**20), "a/2.png": png(IMG)}), "unpacks to"),
    "path traversal": ("x.zip", zip_of({"../a/1.png": png(IMG), "a/2.png": png(IMG)}), "unsafe path"),
    "backslash path": ("x.zip", zip_of({"a\\..\\..\\1.png": png(IMG), "a/2.png": png(IMG)}), "unsafe path"),
    "absolute path": ("x.zip", zip_of({"/a/1.png": png(IMG), "a/2.png": png(IMG)}), "unsafe path"),
    "not an image": ("x.zip", zip_of({"a/1.png": png(IMG), "a/run.sh": b"rm -rf /"}), "not a PNG or JPEG"),
    "GIF renamed .png": ("x.zip", zip_of({"a/1.png": png(IMG, "GIF"), "a/2.png": png(IMG)}),
                         "not a readable PNG or JPEG"),
    "images of two sizes": ("x.zip", zip_of({"a/1.png": png(IMG), "b/2.png": png(np.zeros((9, 8), np.uint8))}),
                            "same size"),
    "huge image": ("x.zip", zip_of({"a/1.png": png(np.zeros((3000, 3000), np.uint8)), "a/2.png": png(IMG)}),
                   "from 4 to 64"),
    "no class folders": ("x.zip", zip_of({"1.png": png(IMG), "2.png": png(IMG)}), "one folder per class"),
    "empty archive": ("x.zip", zip_of({}), "no PNG or JPEG"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_hostile_data_files_are_refused_with_a_message(case, monkeypatch):
    import pickle

    def no_unpickling(*_a, **_k):
        raise AssertionError("something was unpickled")

    monkeypatch.setattr(pickle, "loads", no_unpickling)
    monkeypatch.setattr(pickle, "load", no_unpickling)
    name, data, words = CASES[case]
    with pytest.raises(UserDataError) as err:
        load_user_data(data, name)
    assert words in str(err.value)
    assert len(str(err.value)) < 400


def test_file_over_the_cap_refused_before_reading(tmp_path):
    big = tmp_path / "big.npz"
    with big.open("wb") as f:
        f.truncate(MAX_FILE_BYTES + 1)
    with pytest.raises(UserDataError, match="at most 64 MB"):
        load_user_data(big)


@pytest.mark.parametrize(("layout", "message"), [
    ('{"encoder": ["a"]}', "lacks mu, logvar, decoder, output"),
    ("[" * 10_000 + "]" * 10_000, ""),
    ("{" + " " * 70_000 + "}", "larger than"),
    ('{"encoder": "fc1", "mu": "m", "logvar": "l", "decoder": ["d"], "output": "o"}', "list of 1 to"),
    ('{"encoder": ["e"], "mu": "m", "logvar": "l", "decoder": ["d"], "output": "o", "activation": "__import__"}',
     "activation"),
    ('{"encoder": ["e"], "mu": "m", "logvar": "l", "decoder": ["d"], "output": "o", "output_activation": "none"}',
     "sigmoid"),
    ('{"encoder": ["e"], "mu": "m", "logvar": "l", "decoder": ["d"], "output": "o", "code": "print(1)"}',
     "unknown keys"),
    ("not json", "not valid JSON"),
])
def test_hostile_layouts_are_refused(layout, message):
    with pytest.raises(ImportError_) as err:
        parse_layout("mlp", layout)
    assert message in str(err.value)


@pytest.fixture
def byo_dir():
    import ui

    d = Path(ui.USER_DIR)

    def clean():
        if d.is_dir():
            for f in d.iterdir():
                shutil.rmtree(f) if f.is_dir() else f.unlink()

    clean()
    d.mkdir(parents=True, exist_ok=True)
    yield d
    clean()


def test_the_page_shows_refusals_as_plain_text_and_keeps_working(byo_dir, tmp_path):
    from streamlit.testing.v1 import AppTest

    sys.path.insert(0, str(ROOT / "tests" / "vae_core" / "digits"))
    from test_user_data import sk_digits_npz

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.switch_page("app_pages/train_models.py").run()
    bad = zip_of({"[x]/1.png": png(IMG), "a/**b**[l](javascript:x).png": b"**bold** not an image"})
    at.file_uploader(key="byo_data").upload("![img](http://evil.example/a.png).zip", bad, "application/zip").run()
    assert not at.exception
    err = " ".join(e.value for e in at.error)
    assert "This file was refused" in err and "not a readable PNG or JPEG" in err.replace("\\", "")
    assert "](http" not in err and "](javascript" not in err and "**b**" not in err  # escaped: plain text
    assert not list((byo_dir / "datasets").glob("*")) if (byo_dir / "datasets").exists() else True
    at.file_uploader(key="imp_w").upload("x.safetensors", npy(GOOD), "application/octet-stream").run()
    assert not at.exception
    assert any("NumPy .npy file" in e.value.replace("\\", "") for e in at.error)
    sk_digits_npz(tmp_path / "ok.npz")
    at.file_uploader(key="byo_data").upload("ok.npz", (tmp_path / "ok.npz").read_bytes(),
                                            "application/octet-stream").run()
    assert not at.exception
    assert any("1,797 images of 8×8" in s.value for s in at.success)
    assert len(list((byo_dir / "datasets").glob("*.npz"))) == 1
    json.dumps(at.session_state["byo_meta"])  # what is kept per session is plain data
