"""Unit tests for vae_core.digits.checkpoint: exact round trips, and every kind of bad file rejected without
unpickling."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
from pathlib import Path

import pytest
import torch

from vae_core import CheckpointError, list_checkpoints, load_checkpoint, save_checkpoint
from vae_core.digits.checkpoint import (
    FORMAT,
    atomic_write_bytes,
    checkpoint_bytes,
    load_checkpoint_bytes,
    validate_name,
)
from vae_core.digits.model import CVAE, VAE


def _vae(d: int = 2, seed: int = 0) -> VAE:
    torch.manual_seed(seed)
    return VAE(latent_dim=d, hidden_dims=(32, 16)).eval()


def _files(stem: Path) -> tuple[Path, Path]:
    return stem.with_name(stem.name + ".safetensors"), stem.with_name(stem.name + ".json")


# ------------------------------------------------------------------ round trips
def test_float32_round_trip_is_bit_exact(tmp_path):
    m = _vae(2)
    w, j = save_checkpoint(tmp_path / "m", m, {"name": "m", "note": "hello"})
    assert w == tmp_path / "m.safetensors" and j == tmp_path / "m.json"
    m2, meta = load_checkpoint(tmp_path / "m")
    sd, sd2 = m.state_dict(), m2.state_dict()
    assert sd.keys() == sd2.keys()
    for k in sd:
        assert sd2[k].dtype == torch.float32
        assert torch.equal(sd[k], sd2[k]), k
    z = torch.randn(16, 2, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.equal(m.decode(z), m2.decode(z))
    assert meta["note"] == "hello" and meta["format"] == FORMAT and meta["dtype"] == "float32"
    assert meta["latent_dim"] == 2 and meta["conditional"] is False
    assert meta["weights_sha256"] == hashlib.sha256(w.read_bytes()).hexdigest()
    assert not m2.training
    # either file's name or the stem loads the same checkpoint
    for p in (w, j, str(tmp_path / "m")):
        torch.testing.assert_close(load_checkpoint(p)[0].state_dict()["fc_mu.weight"], sd["fc_mu.weight"], rtol=0,
                                   atol=0)


def test_cvae_round_trip(tmp_path):
    torch.manual_seed(1)
    m = CVAE(latent_dim=3, hidden_dims=(24,), num_classes=10).eval()
    save_checkpoint(tmp_path / "c", m)
    m2, meta = load_checkpoint(tmp_path / "c")
    assert isinstance(m2, CVAE) and meta["conditional"] is True and meta["num_classes"] == 10
    z, y = torch.randn(10, 3), torch.arange(10)
    with torch.no_grad():
        assert torch.equal(m.decode(z, y), m2.decode(z, y))


def test_float16_round_trip_within_half_precision(tmp_path):
    m = _vae(4)
    w, _ = save_checkpoint(tmp_path / "h", m, dtype="float16")
    w32, _ = save_checkpoint(tmp_path / "f", m)
    assert w.stat().st_size < 0.6 * w32.stat().st_size  # really stored as 2-byte floats
    m2, meta = load_checkpoint(tmp_path / "h")
    assert meta["dtype"] == "float16"
    for k, v in m.state_dict().items():
        v2 = m2.state_dict()[k]
        assert v2.dtype == torch.float32
        torch.testing.assert_close(v2, v.half().float(), rtol=0, atol=0)  # exactly the fp16 rounding
        torch.testing.assert_close(v2, v, rtol=1e-3, atol=1e-4)
    z = torch.randn(8, 4, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        torch.testing.assert_close(m2.decode(z), m.decode(z), rtol=0, atol=5e-3)


def test_invalid_save_dtype_and_non_finite_weights_refused(tmp_path):
    m = _vae()
    with pytest.raises(CheckpointError):
        save_checkpoint(tmp_path / "x", m, dtype="int8")
    with torch.no_grad():
        m.fc_mu.weight[0, 0] = float("nan")
    with pytest.raises(CheckpointError, match="NaN"):
        save_checkpoint(tmp_path / "x", m)
    assert list(tmp_path.iterdir()) == []


def test_atomic_write_leaves_no_temp_files(tmp_path):
    for i in range(3):
        save_checkpoint(tmp_path / "a", _vae(seed=i))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "a.safetensors"]
    # the last save won, completely
    assert torch.equal(load_checkpoint(tmp_path / "a")[0].state_dict()["fc_out.bias"],
                       _vae(seed=2).state_dict()["fc_out.bias"])


def test_atomic_write_failure_cleans_up_and_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "f.bin"
    target.write_bytes(b"old")

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        atomic_write_bytes(target, b"new contents")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.bin"]


def test_list_checkpoints_only_lists_complete_pairs(tmp_path):
    save_checkpoint(tmp_path / "b", _vae())
    save_checkpoint(tmp_path / "a", _vae())
    (tmp_path / "orphan.safetensors").write_bytes(b"x")
    assert list_checkpoints(tmp_path) == [tmp_path / "a", tmp_path / "b"]
    assert list_checkpoints(tmp_path / "missing") == []


# ------------------------------------------------------------------ rejected files
@pytest.fixture
def saved(tmp_path) -> Path:
    save_checkpoint(tmp_path / "m", _vae(2))
    return tmp_path / "m"


def test_flipped_bytes_rejected(saved):
    w, _ = _files(saved)
    data = bytearray(w.read_bytes())
    for i in (len(data) // 2, len(data) - 5):
        data[i] ^= 0xFF
    w.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="checksum"):
        load_checkpoint(saved)


def test_flipped_bytes_in_header_rejected_even_without_checksum(saved):
    w, j = _files(saved)
    meta = json.loads(j.read_text())
    del meta["weights_sha256"]
    j.write_text(json.dumps(meta))
    data = bytearray(w.read_bytes())
    data[10:20] = b"\xff" * 10  # garbage in the safetensors JSON header
    w.write_bytes(bytes(data))
    with pytest.raises(CheckpointError):
        load_checkpoint(saved)


def test_truncated_weights_rejected(saved):
    w, _ = _files(saved)
    w.write_bytes(w.read_bytes()[:-100])
    with pytest.raises(CheckpointError, match="truncated"):
        load_checkpoint(saved)


def test_truncated_json_rejected(saved):
    _, j = _files(saved)
    j.write_bytes(j.read_bytes()[:50])
    with pytest.raises(CheckpointError, match="JSON"):
        load_checkpoint(saved)


def test_missing_file_rejected(saved):
    _files(saved)[1].unlink()
    with pytest.raises(CheckpointError, match="missing"):
        load_checkpoint(saved)


class _Marker:
    """Unpickling this would create a marker file: the test proves nothing was unpickled."""

    def __init__(self, path: str):
        self.path = path

    def __reduce__(self):
        return (Path.touch, (Path(self.path),))


def test_torch_save_renamed_to_safetensors_rejected_and_not_unpickled(saved, tmp_path):
    w, _ = _files(saved)
    marker = tmp_path / "PWNED"
    torch.save({"state": _vae(2).state_dict(), "evil": _Marker(str(marker))}, w)
    assert w.read_bytes()[:2] == b"PK"  # a real torch.save zip archive
    with pytest.raises(CheckpointError, match="a zip archive, e.g. a PyTorch .pt file|zip archive"):
        load_checkpoint(saved)
    assert not marker.exists()


def test_legacy_torch_save_pickle_rejected(saved, tmp_path):
    w, _ = _files(saved)
    marker = tmp_path / "PWNED"
    torch.save({"evil": _Marker(str(marker))}, w, _use_new_zipfile_serialization=False)
    with pytest.raises(CheckpointError, match="pickle"):
        load_checkpoint(saved)
    assert not marker.exists()


def test_pickle_in_place_of_the_json_rejected_and_not_unpickled(saved, tmp_path):
    _, j = _files(saved)
    marker = tmp_path / "PWNED"
    j.write_bytes(pickle.dumps(_Marker(str(marker))))
    # sanity: unpickling it really would create the marker (done on a copy, then removed)
    pickle.loads(j.read_bytes())
    assert marker.exists()
    marker.unlink()
    with pytest.raises(CheckpointError, match="pickle"):
        load_checkpoint(saved)
    assert not marker.exists()


@pytest.mark.parametrize("change", [
    {"format": "some-other-app"},
    {"format": None},
    {"format_version": 99},
    {"model": "vae"},
])
def test_foreign_json_rejected(saved, change):
    _, j = _files(saved)
    meta = json.loads(j.read_text())
    meta.update(change)
    j.write_text(json.dumps(meta))
    with pytest.raises(CheckpointError):
        load_checkpoint(saved)


def test_json_that_is_not_an_object_rejected(saved):
    _, j = _files(saved)
    j.write_text("[1, 2, 3]")
    with pytest.raises(CheckpointError, match="format"):
        load_checkpoint(saved)


def test_oversized_json_rejected(saved):
    _, j = _files(saved)
    j.write_bytes(b" " * 1_100_000)
    with pytest.raises(CheckpointError, match="1 MB"):
        load_checkpoint(saved)


def test_wrong_shape_weights_rejected_by_the_shape_check(tmp_path):
    """Metadata of a z=2 model with the weights of a z=20 model; size and sha recomputed so only shapes differ."""
    save_checkpoint(tmp_path / "small", _vae(2))
    save_checkpoint(tmp_path / "big", _vae(20))
    big_w = (tmp_path / "big.safetensors").read_bytes()
    meta = json.loads((tmp_path / "small.json").read_text())
    meta["weights_sha256"] = hashlib.sha256(big_w).hexdigest()
    meta["weights_bytes"] = len(big_w)
    (tmp_path / "mix.json").write_text(json.dumps(meta))
    (tmp_path / "mix.safetensors").write_bytes(big_w)
    with pytest.raises(CheckpointError, match="shape") as e:
        load_checkpoint(tmp_path / "mix")
    assert "(20, 16)" in str(e.value) and "(2, 16)" in str(e.value)


def test_missing_tensors_rejected(tmp_path):
    m = _vae(2)
    weights, meta = checkpoint_bytes(m, {})
    from safetensors.torch import save as st_save

    state = {k: v for k, v in m.state_dict().items() if k != "fc_logvar.bias"}
    bad = st_save(state)
    meta_d = json.loads(meta)
    meta_d["weights_sha256"] = hashlib.sha256(bad).hexdigest()
    meta_d["weights_bytes"] = len(bad)
    with pytest.raises(CheckpointError, match="missing"):
        load_checkpoint_bytes(bad, json.dumps(meta_d).encode())
    # and the untouched bytes still load
    assert load_checkpoint_bytes(weights, meta)[0].latent_dim == 2


def test_non_finite_and_integer_tensors_rejected():
    from safetensors.torch import save as st_save

    m = _vae(2)
    _, meta = checkpoint_bytes(m, {})
    for bad_value, msg in ((float("inf"), "NaN or Inf"), (None, "dtype")):
        state = {k: v.clone() for k, v in m.state_dict().items()}
        if bad_value is None:
            state["fc_mu.bias"] = state["fc_mu.bias"].to(torch.int32)
        else:
            state["fc_mu.bias"][0] = bad_value
        data = st_save(state)
        meta_d = json.loads(meta)
        meta_d["weights_sha256"] = hashlib.sha256(data).hexdigest()
        meta_d["weights_bytes"] = len(data)
        with pytest.raises(CheckpointError, match=msg):
            load_checkpoint_bytes(data, json.dumps(meta_d).encode())


# ------------------------------------------------------------------ names
@pytest.mark.parametrize("bad", ["../x", "/abs", "", "a/b", "..", ".hidden", "a\\b", "x" * 65, "name.", "a..b",
                                 "  ", "bad name"])
def test_validate_name_rejects_paths_and_junk(bad):
    with pytest.raises(CheckpointError):
        validate_name(bad)


@pytest.mark.parametrize("good", ["mnist-z2", "my_model.v2", "A1", "x" * 64])
def test_validate_name_accepts_plain_stems(good):
    assert validate_name(good) == good
    assert validate_name(f"  {good} ") == good


# ------------------------------------------------------------------ digit family: typed metadata schema
def _meta_with(**change) -> tuple[bytes, bytes]:
    """A valid small checkpoint's bytes with top-level metadata fields replaced (None deletes)."""
    weights, meta = checkpoint_bytes(_vae(2), {"name": "m", "beta": 1.0, "epochs": 3,
                                                "dataset": {"name": "mnist", "n_train": 100},
                                                "test_metrics": {"neg_elbo": 150.0, "iwae_k": 50}})
    d = json.loads(meta)
    for k, v in change.items():
        if v is None:
            d.pop(k, None)
        else:
            d[k] = v
    return weights, json.dumps(d).encode()


@pytest.mark.parametrize(("change", "words"), [
    ({"beta": "abc"}, "'beta' must be a finite number"),
    ({"beta": 1e9}, "'beta' must be a finite number from 0 to 1000"),
    ({"beta": -1}, "'beta'"),
    ({"beta": True}, "'beta'"),
    ({"test_metrics": [1, 2]}, "'test_metrics' must be an object"),
    ({"test_metrics": {"neg_elbo": "x"}}, "'test_metrics.neg_elbo' must be a finite number"),
    ({"dataset": "mnist"}, "'dataset' must be an object"),
    ({"dataset": {"name": "cifar10"}}, "'dataset.name' must be one of mnist, fashion-mnist, kmnist"),
    ({"dataset": {"name": "mnist", "n_train": "lots"}}, "'dataset.n_train'"),
    ({"name": 12345}, "'name' is not a valid model name"),
    ({"name": "../../etc/passwd"}, "'name' is not a valid model name"),
    ({"name": "mnist-z2.json"}, "'name' is not a valid model name"),
    ({"epochs": "5"}, "'epochs' must be a whole number"),
    ({"epochs": 10**4000}, "'epochs' must be a whole number"),
    ({"free_bits": float("inf")}, "'free_bits'"),
    ({"likelihood": "gaussian"}, "'likelihood' must be one of bernoulli, continuous_bernoulli"),
    ({"binarization": "magic"}, "'binarization' must be one of"),
    ({"latent_dim": 5}, "'latent_dim' .* contradicts the architecture"),
    ({"conditional": True}, "'conditional' .* contradicts"),
    ({"recipe": "lr=10"}, "'recipe' must be an object"),
    ({"command": ["rm", "-rf"]}, "'command' must be text"),
])
def test_hostile_metadata_fields_refused_naming_the_field(change, words):
    weights, meta = _meta_with(**change)
    with pytest.raises(CheckpointError, match=words):
        load_checkpoint_bytes(weights, meta)


@pytest.mark.parametrize(("arch_change", "words"), [
    ({"hidden_dims": [10**7]}, "'model.hidden_dims' must be a list of 1 to 8 layer sizes from 1 to 4,096"),
    ({"hidden_dims": [20000, 20000]}, "'model.hidden_dims'"),
    ({"hidden_dims": []}, "'model.hidden_dims'"),
    ({"hidden_dims": "512,256"}, "'model.hidden_dims'"),
    ({"latent_dim": 0}, "'model.latent_dim' must be a whole number from 1 to 256"),
    ({"latent_dim": 1000}, "'model.latent_dim'"),
    ({"latent_dim": 2.5}, "'model.latent_dim'"),
    ({"input_dim": 100}, "input size is 100, but the pages work on 28×28 = 784-pixel digits"),
    ({"kind": "cvae", "num_classes": 3}, "this CVAE has 3 classes, but the pages condition on the 10 digit classes"),
    ({"kind": "transformer"}, "'model.kind'"),
    ({"activation": "__import__('os')"}, "'model.activation'"),
    ({"num_classes": 4}, "'model.num_classes' must be 0"),
])
def test_architecture_outside_the_schema_refused_before_anything_is_built(monkeypatch, arch_change, words):
    import vae_core.digits.checkpoint as ck

    def no_build(*_a, **_k):
        raise AssertionError("a model was built from unchecked metadata")

    monkeypatch.setattr(ck, "build_model", no_build)
    weights, meta = checkpoint_bytes(_vae(2), {})
    d = json.loads(meta)
    d["model"].update(arch_change)
    with pytest.raises(CheckpointError, match=words):
        load_checkpoint_bytes(weights, json.dumps(d).encode())


def test_large_architecture_with_small_weights_refused_by_shapes_before_build(monkeypatch):
    """A 1 KB edit claiming 8 layers of 4,096 (within the ranges; ~1 GB to build) is refused from the tensor
    shapes alone, without building the model."""
    import vae_core.digits.checkpoint as ck

    built = []
    monkeypatch.setattr(ck, "build_model", lambda cfg: built.append(cfg))
    weights, meta = checkpoint_bytes(_vae(2), {})
    d = json.loads(meta)
    d["model"]["hidden_dims"] = [4096] * 8
    with pytest.raises(CheckpointError, match="do not fit the architecture"):
        load_checkpoint_bytes(weights, json.dumps(d).encode())
    assert built == []


def test_fields_other_helpers_add_are_accepted_and_defaults_filled():
    weights, meta = _meta_with(likelihood="continuous_bernoulli", binarization="dynamic",
                               test_metrics={"neg_elbo": 150.0, "fid": 12.5, "iwae_nll": None},
                               binarization_fingerprint="abc123", extra_note="kept")
    _, m = load_checkpoint_bytes(weights, meta)
    assert m["likelihood"] == "continuous_bernoulli" and m["binarization"] == "dynamic"
    assert m["test_metrics"] == {"neg_elbo": 150.0, "fid": 12.5, "iwae_nll": None}
    assert m["extra_note"] == "kept" and m["binarization_fingerprint"] == "abc123"
    weights, meta = _meta_with(likelihood=None, binarization=None, beta=None, dataset=None, test_metrics=None)
    _, m = load_checkpoint_bytes(weights, meta)
    assert (m["likelihood"], m["binarization"], m["beta"], m["dataset"]["name"], m["test_metrics"]) == (
        "bernoulli", "none", 1.0, "mnist", {})
    assert m["family"] == "mlp-vae"


def test_other_family_refused_by_the_digit_loader(tmp_path):
    from vae_core.digits.checkpoint import load_checkpoint, write_checkpoint_pair

    write_checkpoint_pair(tmp_path / "seq", {"w": torch.zeros(2)}, {"family": "seq-vae"})
    with pytest.raises(CheckpointError, match="'seq-vae' checkpoint, not a 'mlp-vae' one"):
        load_checkpoint(tmp_path / "seq")


def test_every_shipped_checkpoint_passes_the_schema():
    shipped = [p for p in list_checkpoints(Path(__file__).resolve().parents[3] / "checkpoints")
               if json.loads(p.with_name(p.name + ".json").read_text()).get("family", "mlp-vae") == "mlp-vae"]
    assert len(shipped) >= 6  # the digit models; the classifier and the other families have validators of their own
    for stem in shipped:
        model, meta = load_checkpoint(stem)
        assert meta["family"] == "mlp-vae" and meta["dataset"]["name"] == "mnist" and model.input_dim == 784


@pytest.mark.parametrize("bad", [[-80.0, 15.0, 3], [10**5000, 1], ["a", 1], [1, 0], [-100, 1], [float("nan"), 1],
                                 {"a": 1}, [True, 3]])
def test_a_bad_logit_range_in_metadata_is_refused_by_name(bad):
    """models.check_logit_range is the one rule; the schema refuses what it refuses, naming the field."""
    from vae_core.digits.checkpoint import CheckpointError, validate_architecture

    with pytest.raises(CheckpointError, match=r"'model\.logit_range'"):
        validate_architecture({"kind": "vae", "latent_dim": 2, "hidden_dims": [8], "logit_range": bad})
    assert validate_architecture({"kind": "vae", "latent_dim": 2, "hidden_dims": [8],
                                  "logit_range": [-80, 15]})["logit_range"] == [-80.0, 15.0]
