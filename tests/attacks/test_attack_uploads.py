"""Attack suite (#13), uploads: every hostile or careless checkpoint upload through the Train & Models page's two
uploaders, in ONE browser session (AppTest) that must keep working after each: the message shown names the
problem, no exception box, nothing unpickled, the sidebar still shows its model. A second session at the end
checks that nothing of the first leaked into it."""

from __future__ import annotations

import hashlib
import io
import json
import pickle
import struct
import zipfile
from pathlib import Path

import pytest
import torch
from safetensors.torch import save as st_save
from streamlit.testing.v1 import AppTest

from vae_core.digits.checkpoint import checkpoint_bytes
from vae_core.digits.model import CVAE, VAE

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
PAGE = "app_pages/train_models.py"
MARKER = Path("/tmp/vae-explorer-attack-pwned")
EVIL_URL = "http://127.0.0.1:9/pwn.png"


class _Pwn:
    """Unpickling this creates MARKER: a test that finds MARKER has proved that something was unpickled."""

    def __reduce__(self):
        return (Path.touch, (MARKER,))


def _model(**kw) -> VAE:
    torch.manual_seed(0)
    cls = CVAE if kw.get("num_classes") else VAE
    return cls(latent_dim=kw.pop("latent_dim", 2), hidden_dims=kw.pop("hidden_dims", (32,)), **kw).eval()


def _good(name: str = "upload-ok", **meta) -> tuple[bytes, bytes]:
    return checkpoint_bytes(_model(), {"name": name, "beta": 1.0, "epochs": 3, "test_metrics": {"neg_elbo": 150.0},
                                       "dataset": {"name": "mnist", "n_train": 1000}, **meta})


def _edit_meta(change: dict, model_change: dict | None = None) -> tuple[bytes, bytes]:
    w, j = _good()
    d = json.loads(j)
    d.update(change)
    if model_change:
        d["model"].update(model_change)
    return w, json.dumps(d).encode()


def _with_tensors(state: dict, **arch) -> tuple[bytes, bytes]:
    """Weights ``state`` with metadata whose size and checksum match them (so only the content is wrong)."""
    w, j = _good()
    data = st_save(state)
    d = json.loads(j)
    d["model"].update(arch)
    d["weights_sha256"], d["weights_bytes"] = hashlib.sha256(data).hexdigest(), len(data)
    return data, json.dumps(d).encode()


def _state(**kw) -> dict:
    return {k: v.clone() for k, v in _model(**kw).state_dict().items()}


def _nan():
    s = _state()
    s["fc_mu.bias"][0] = float("nan")
    return _with_tensors(s)


def _ints():
    s = _state()
    s["fc_mu.bias"] = s["fc_mu.bias"].to(torch.int32)
    return _with_tensors(s)


def _float64():
    return _with_tensors({k: v.double() for k, v in _state().items()})


def _torch_zip():
    buf = io.BytesIO()
    torch.save({"state": _state(), "x": _Pwn()}, buf)
    return buf.getvalue(), _good()[1]


def _legacy_pickle():
    buf = io.BytesIO()
    torch.save({"x": _Pwn()}, buf, _use_new_zipfile_serialization=False)
    return buf.getvalue(), _good()[1]


def _zip_bomb():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("archive/data.pkl", b"\0" * 50_000_000)
    return buf.getvalue(), _good()[1]


def _header_bomb():
    data = struct.pack("<Q", 2**62) + b"{}" + b"\0" * 64
    w, j = _good()
    d = json.loads(j)
    d["weights_sha256"], d["weights_bytes"] = hashlib.sha256(data).hexdigest(), len(data)
    return data, json.dumps(d).encode()


def _lying_header():
    header = json.dumps({"fc_mu.bias": {"dtype": "F32", "shape": [50_000, 50_000], "data_offsets": [0, 8]}}).encode()
    data = struct.pack("<Q", len(header)) + header + b"\0" * 8
    return _with_tensors_raw(data)


def _with_tensors_raw(data: bytes):
    w, j = _good()
    d = json.loads(j)
    d["weights_sha256"], d["weights_bytes"] = hashlib.sha256(data).hexdigest(), len(data)
    return data, json.dumps(d).encode()


def _nested():
    return _good()[0], b'{"format": "vae-explorer-checkpoint", "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"


def _huge_int():
    w, j = _good()
    return w, j.replace(b'"epochs": 3', b'"epochs": ' + b"9" * 5000)


def _big_arch_small_weights():
    return _edit_meta({}, {"hidden_dims": [4096] * 8})


def _input_100():
    s = _state()
    s["encoder.0.weight"] = s["encoder.0.weight"][:, :100].clone()
    s["fc_out.weight"] = s["fc_out.weight"][:100].clone()
    s["fc_out.bias"] = s["fc_out.bias"][:100].clone()
    return _with_tensors(s, input_dim=100)


def _cvae_3():
    return _with_tensors(_state(num_classes=3), kind="cvae", num_classes=3)


def _other_family():
    from vae_core.pair_io import pair_bytes

    return pair_bytes({"w": torch.zeros(3)}, {"family": "seq-vae", "name": "words"})


def _oversized_json():
    return _good()[0], b"{" + b" " * 1_100_000 + b"}"


# (case id, builder -> (weights bytes, json bytes), weights file name, words the error must contain)
CASES = [
    ("truncated weights", lambda: (_good()[0][:-100], _good()[1]), "m.safetensors", "truncated"),
    ("random weights", lambda: (bytes(range(256)) * 40, _good()[1]), "m.safetensors", "bytes but its metadata says"),
    ("flipped byte", lambda: (_good()[0][:500] + b"\x00" + _good()[0][501:], _good()[1]), "m.safetensors", "checksum"),
    ("NaN weights", _nan, "m.safetensors", "contains NaN or Inf"),
    ("int weights", _ints, "m.safetensors", "dtype I32; expected floating point"),
    ("torch.save zip renamed", _torch_zip, "m.safetensors", "a zip archive (e.g. a PyTorch .pt file"),
    ("legacy pickle renamed", _legacy_pickle, "m.safetensors", "Python pickle"),
    ("pickle as the JSON", lambda: (_good()[0], pickle.dumps(_Pwn())), "m.safetensors",
     "metadata file is a Python pickle"),
    ("zip bomb", _zip_bomb, "m.safetensors", "a zip archive"),
    ("header bomb", _header_bomb, "m.safetensors", "header claims"),
    ("lying header", _lying_header, "m.safetensors", "does not match its stored size"),
    ("beta abc", lambda: _edit_meta({"beta": "abc"}), "m.safetensors", "'beta' must be a finite number"),
    ("beta NaN", lambda: _edit_meta({"beta": float("nan")}), "m.safetensors", "'beta'"),
    ("test_metrics list", lambda: _edit_meta({"test_metrics": [1, 2]}), "m.safetensors", "'test_metrics'"),
    ("dataset string", lambda: _edit_meta({"dataset": "mnist"}), "m.safetensors", "'dataset' must be an object"),
    ("dataset unknown", lambda: _edit_meta({"dataset": {"name": "cifar10"}}), "m.safetensors", "'dataset.name'"),
    ("dataset kmnist", lambda: _edit_meta({"dataset": {"name": "kmnist"}}), "m.safetensors", None),  # accepted
    ("name number", lambda: _edit_meta({"name": 12345}), "m.safetensors", "'name' is not a valid model name"),
    ("name path", lambda: _edit_meta({"name": "../../etc/x"}), "m.safetensors", "'name' is not a valid model name"),
    ("epochs text", lambda: _edit_meta({"epochs": f"![]({EVIL_URL})"}), "m.safetensors", "'epochs' must be a whole"),
    ("nested JSON", _nested, "m.safetensors", "nested too deeply"),
    ("5000-digit integer", _huge_int, "m.safetensors", "not valid JSON"),
    ("oversized JSON", _oversized_json, "m.safetensors", "larger than 1 MB"),
    ("not JSON", lambda: (_good()[0], b"hello"), "m.safetensors", "not valid JSON"),
    ("foreign format", lambda: _edit_meta({"format": "keras"}), "m.safetensors", "'format' field"),
    ("hidden 10**7", lambda: _edit_meta({}, {"hidden_dims": [10**7]}), "m.safetensors", "'model.hidden_dims'"),
    ("big arch small weights", _big_arch_small_weights, "m.safetensors", "do not fit the architecture"),
    ("latent 0", lambda: _edit_meta({}, {"latent_dim": 0}), "m.safetensors", "'model.latent_dim'"),
    ("latent 1000", lambda: _edit_meta({}, {"latent_dim": 1000}), "m.safetensors", "'model.latent_dim'"),
    ("input size 100", _input_100, "m.safetensors", "input size is 100"),
    ("CVAE with 3 classes", _cvae_3, "m.safetensors", "this CVAE has 3 classes"),
    ("another family", _other_family, "m.safetensors", "'seq-vae' checkpoint, not a 'mlp-vae' one"),
    ("file name path", lambda: _edit_meta({"name": None}), "..%2F..%2Fx.safetensors", "model name"),
    ("file name markdown", lambda: _edit_meta({"name": None}), f"![]({EVIL_URL}).safetensors", "model name"),
    ("float64 weights", _float64, "m.safetensors", None),  # accepted, converted to float32
]


@pytest.fixture(scope="module")
def session():
    MARKER.unlink(missing_ok=True)
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, [e.message for e in at.exception]
    yield at
    assert not MARKER.exists(), "something was unpickled"


def _upload(at: AppTest, w: bytes, j: bytes, wname: str) -> None:
    at.file_uploader(key="up_w").set_value((wname, w, "application/octet-stream"))
    at.file_uploader(key="up_j").set_value(("m.json", j, "application/json"))
    at.run()


def _still_working(at: AppTest) -> None:
    assert not at.exception, [e.message for e in at.exception]
    assert at.selectbox(key="model_key").value == "shipped/mnist-z2"
    assert any(m.label == "latent size" for m in at.metric)  # the sidebar still describes its model
    for el in list(at.error) + list(at.success) + list(at.caption) + list(at.markdown):
        v = str(el.value)
        assert "![" not in v and f"]({EVIL_URL}" not in v, f"unescaped Markdown from a file: {v[:200]}"


@pytest.mark.parametrize(("case", "build", "wname", "words"), CASES, ids=[c[0] for c in CASES])
def test_hostile_upload(session, case, build, wname, words):
    w, j = build()
    _upload(session, w, j, wname)
    errors = [e.value for e in session.error]
    if words is None:
        assert not errors, errors
        assert any("Loaded" in s.value for s in session.success)
    else:
        assert errors and "This upload was rejected" in errors[0], (case, errors)
        # the message is Markdown-escaped for display: compare it with the escapes removed
        shown = errors[0].replace("\\", "")
        assert words in shown, (case, shown)
    _still_working(session)
    assert not MARKER.exists()


def test_only_one_file_asks_for_the_other(session):
    session.file_uploader(key="up_j").set_value(None)
    session.run()
    assert any("Add the other file" in i.value for i in session.info)
    _still_working(session)


def test_session_still_renders_another_page_after_the_attacks(session):
    session.switch_page("app_pages/latent_map.py").run()
    assert not session.exception, [e.message for e in session.exception]
    session.switch_page(PAGE).run()
    _still_working(session)


def test_a_second_session_sees_nothing_of_the_first(session):
    """The first session holds accepted uploads; another session has none of them, and no model list changed."""
    import ui

    assert session.session_state["session_models"]  # the first session did accept the valid uploads
    other = AppTest.from_file(APP, default_timeout=120)
    other.run()
    other.switch_page(PAGE).run()
    assert not other.exception
    assert "session_models" not in other.session_state or not other.session_state["session_models"]
    assert not [k for k in other.selectbox(key="model_key").options if "session" in k or "upload" in k]
    assert not [k for k in ui.available_models() if k.startswith("session/")]
