"""vae_core.pair_io: the family-agnostic checkpoint pair, written whole or not at all, read without trusting it."""

from __future__ import annotations

import errno
import io
import json
import os
import struct
import time
import zipfile

import pytest
import torch
from safetensors.torch import save as st_save

from vae_core import pair_io
from vae_core.pair_io import (
    CheckpointError,
    list_checkpoints,
    pair_bytes,
    read_checkpoint_pair,
    read_checkpoint_pair_bytes,
    reap_orphans,
    register_family,
    write_checkpoint_pair,
)


def _tensors(seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {"emb.weight": torch.randn(7, 3, generator=g), "out.bias": torch.randn(5, generator=g)}


def _names(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_round_trip_of_another_family_keeps_tensors_and_metadata(tmp_path):
    t = _tensors()
    w, j = write_checkpoint_pair(tmp_path / "words", t, {"family": "test-fam", "note": "hi", "vocab": ["a", "b"]})
    assert (w.name, j.name) == ("words.safetensors", "words.json")
    got, meta = read_checkpoint_pair(tmp_path / "words")
    assert meta["family"] == "test-fam" and meta["note"] == "hi" and meta["vocab"] == ["a", "b"]
    assert meta["tensors"] == {"emb.weight": [7, 3], "out.bias": [5]}
    for k in t:
        assert got[k].dtype == torch.float32 and torch.equal(got[k], t[k])
    # the family can be required
    with pytest.raises(CheckpointError, match="'test-fam' checkpoint, not a 'mlp-vae' one"):
        read_checkpoint_pair(tmp_path / "words", family="mlp-vae")


def test_family_defaults_to_the_digit_family(tmp_path):
    write_checkpoint_pair(tmp_path / "x", _tensors(), {})
    assert json.loads((tmp_path / "x.json").read_text())["family"] == "mlp-vae"


def test_float64_and_float16_weights_accepted_and_converted(tmp_path):
    t = {"a": torch.linspace(-1, 1, 9, dtype=torch.float64), "b": torch.ones(3, dtype=torch.float16)}
    write_checkpoint_pair(tmp_path / "mixed", t, {"family": "test-fam"})
    got, meta = read_checkpoint_pair(tmp_path / "mixed")
    assert meta["dtype"] == "mixed"
    assert got["a"].dtype == torch.float32 and torch.equal(got["a"], t["a"].float())
    assert got["b"].dtype == torch.float32 and torch.equal(got["b"], torch.ones(3))


def test_registered_family_validator_runs_on_read(tmp_path):
    seen = []

    def validator(meta, tensors):
        seen.append(sorted(tensors))
        if meta.get("vocab_size") != 7:
            raise CheckpointError("metadata field 'vocab_size' must be 7")
        return dict(meta, checked=True)

    register_family("test-validated", validator)
    try:
        write_checkpoint_pair(tmp_path / "ok", _tensors(), {"family": "test-validated", "vocab_size": 7})
        write_checkpoint_pair(tmp_path / "bad", _tensors(), {"family": "test-validated", "vocab_size": 8})
        assert read_checkpoint_pair(tmp_path / "ok")[1]["checked"] is True
        with pytest.raises(CheckpointError, match="vocab_size"):
            read_checkpoint_pair(tmp_path / "bad")
        assert seen == [["emb.weight", "out.bias"]] * 2
    finally:
        pair_io._FAMILIES.pop("test-validated", None)


def test_refuses_to_write_non_float_non_finite_or_non_json(tmp_path):
    with pytest.raises(CheckpointError, match="not floating point"):
        write_checkpoint_pair(tmp_path / "a", {"i": torch.arange(3)}, {})
    with pytest.raises(CheckpointError, match="NaN or Inf"):
        write_checkpoint_pair(tmp_path / "a", {"x": torch.tensor([1.0, float("nan")])}, {})
    with pytest.raises(CheckpointError, match=r"metadata.test_metrics.fid is NaN"):
        write_checkpoint_pair(tmp_path / "a", _tensors(), {"test_metrics": {"fid": float("nan")}})
    with pytest.raises(CheckpointError, match="not plain JSON"):
        write_checkpoint_pair(tmp_path / "a", _tensors(), {"obj": object()})
    with pytest.raises(CheckpointError, match="model name"):
        write_checkpoint_pair(tmp_path / "bad name", _tensors(), {})
    assert _names(tmp_path) == []


# ------------------------------------------------------------------ whole or not at all
def test_no_overwrite_refuses_an_existing_name_and_keeps_its_files(tmp_path):
    write_checkpoint_pair(tmp_path / "victim", _tensors(0), {"owner": "A"}, overwrite=False)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    with pytest.raises(CheckpointError, match="already saved"):
        write_checkpoint_pair(tmp_path / "victim", _tensors(1), {"owner": "B"}, overwrite=False)
    # a suffixed name is the same file: refused too, never normalised into an overwrite
    with pytest.raises(CheckpointError):
        write_checkpoint_pair(tmp_path / "victim.json", _tensors(1), {"owner": "B"}, overwrite=False)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_kill_between_the_two_renames_leaves_an_unlisted_orphan_that_does_not_block_the_name(tmp_path, monkeypatch):
    real_replace, calls = os.replace, []

    def replace_then_die(src, dst):
        calls.append(dst)
        if str(dst).endswith(".json"):
            raise KeyboardInterrupt  # the process is killed after the weights landed, before the JSON
        return real_replace(src, dst)

    monkeypatch.setattr(pair_io.os, "replace", replace_then_die)
    with pytest.raises(KeyboardInterrupt):
        write_checkpoint_pair(tmp_path / "m", _tensors(0), {}, overwrite=False)
    monkeypatch.setattr(pair_io.os, "replace", real_replace)
    assert _names(tmp_path) == ["m.safetensors"]  # the temporary JSON was cleaned up
    assert list_checkpoints(tmp_path) == []  # not listed: no JSON, no model
    # the name is free: a new save succeeds and is complete
    write_checkpoint_pair(tmp_path / "m", _tensors(1), {"family": "test-fam", "try": 2}, overwrite=False)
    got, meta = read_checkpoint_pair(tmp_path / "m")
    assert meta["try"] == 2 and torch.equal(got["out.bias"], _tensors(1)["out.bias"])


def test_reaper_removes_stale_tmp_files_and_orphan_weights_only(tmp_path):
    write_checkpoint_pair(tmp_path / "keep", _tensors(), {})
    stale_tmp = tmp_path / ".x.safetensors.abc123.tmp"
    orphan = tmp_path / "orphan.safetensors"
    fresh_tmp = tmp_path / ".y.json.def456.tmp"
    for p in (stale_tmp, orphan, fresh_tmp):
        p.write_bytes(b"partial")
    old = time.time() - 3600
    for p in (stale_tmp, orphan):
        os.utime(p, (old, old))
    gone = reap_orphans(tmp_path)
    assert sorted(p.name for p in gone) == [".x.safetensors.abc123.tmp", "orphan.safetensors"]
    assert _names(tmp_path) == [".y.json.def456.tmp", "keep.json", "keep.safetensors"]
    # every write reaps too
    os.utime(fresh_tmp, (old, old))
    write_checkpoint_pair(tmp_path / "other", _tensors(), {})
    assert _names(tmp_path) == ["keep.json", "keep.safetensors", "other.json", "other.safetensors"]


@pytest.mark.parametrize(("code", "words"), [(errno.ENOSPC, "the disk is full"),
                                            (errno.EROFS, "read-only file system"),
                                            (errno.EACCES, "permission denied")])
def test_disk_full_or_read_only_gives_a_message_and_leaves_nothing(tmp_path, monkeypatch, code, words):
    write_checkpoint_pair(tmp_path / "old", _tensors(), {})
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    real = pair_io._write_tmp
    n = []

    def failing(folder, final_name, data):
        n.append(final_name)
        if len(n) == 2:  # the weights' temporary file is written, the JSON's fails
            raise OSError(code, os.strerror(code))
        return real(folder, final_name, data)

    monkeypatch.setattr(pair_io, "_write_tmp", failing)
    with pytest.raises(CheckpointError, match=words) as e:
        write_checkpoint_pair(tmp_path / "new", _tensors(), {})
    assert "nothing was saved" in str(e.value)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


# ------------------------------------------------------------------ hostile files
def _pair(tensors=None, meta=None) -> tuple[bytes, bytes]:
    return pair_bytes(tensors or _tensors(), meta or {"family": "test-fam"})


def _meta_for(weights: bytes, **extra) -> bytes:
    return json.dumps({"format": pair_io.FORMAT, "format_version": 1, "family": "test-fam", **extra}).encode()


def test_zip_bomb_is_called_a_zip_archive_not_a_pickle():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("data.pkl", b"\0" * 50_000_000)  # 50 MB of zeros in ~50 KB
    bomb = buf.getvalue()
    assert len(bomb) < 200_000
    _, meta = _pair()
    with pytest.raises(CheckpointError, match="a zip archive") as e:
        read_checkpoint_pair_bytes(bomb, meta)
    assert "pickle" not in str(e.value)
    with pytest.raises(CheckpointError, match="metadata file is a zip archive"):
        read_checkpoint_pair_bytes(_pair()[0], bomb)


@pytest.mark.parametrize(("header_len", "words"), [(2**62, "header claims"), (900_000, "only"), (3, "not valid JSON")])
def test_header_bombs_refused_before_allocation(header_len, words):
    data = struct.pack("<Q", header_len) + b'{"a":{}}'
    with pytest.raises(CheckpointError, match=words):
        read_checkpoint_pair_bytes(data, _meta_for(data))


def test_header_that_lies_about_tensor_sizes_refused():
    header = json.dumps({"w": {"dtype": "F32", "shape": [100_000, 100_000], "data_offsets": [0, 16]}}).encode()
    data = struct.pack("<Q", len(header)) + header + b"\0" * 16
    with pytest.raises(CheckpointError, match="does not match its stored size"):
        read_checkpoint_pair_bytes(data, _meta_for(data))
    header = json.dumps({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 10**12]}}).encode()
    data = struct.pack("<Q", len(header)) + header + b"\0" * 16
    with pytest.raises(CheckpointError, match="outside the weights file"):
        read_checkpoint_pair_bytes(data, _meta_for(data))


@pytest.mark.parametrize(("dtype", "code"), [(torch.int32, "I32"), (torch.int64, "I64"), (torch.bool, "BOOL"),
                                             (torch.uint8, "U8")])
def test_integer_or_bool_tensors_refused_by_name(dtype, code):
    data = st_save({"w": torch.zeros(3, dtype=dtype)})
    with pytest.raises(CheckpointError, match=f"tensor 'w' has dtype {code}; expected floating point"):
        read_checkpoint_pair_bytes(data, _meta_for(data))


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_tensors_refused(bad):
    data = st_save({"w": torch.tensor([0.0, bad], dtype=torch.float64)})
    with pytest.raises(CheckpointError, match="tensor 'w' contains NaN or Inf"):
        read_checkpoint_pair_bytes(data, _meta_for(data))


@pytest.mark.parametrize(("meta", "words"), [
    (b"[" * 100_000 + b"]" * 100_000, "nested too deeply|not valid JSON"),
    (json.dumps({"format": pair_io.FORMAT, "format_version": 1,
                 "x": json.loads("[" * 40 + "]" * 40)}).encode(), "nested more than 32"),
    (b'{"format": "vae-explorer-checkpoint", "format_version": 1, "beta": ' + b"9" * 5000 + b"}", "not valid JSON"),
    (b"\xff\xfe{}", "not UTF-8"),
    (b" " * 1_100_000, "larger than 1 MB"),
    (b'{"format": "vae-explorer-checkpoint", "format_version": 1, "family": "Bad Family!"}', "family"),
    (b'{"format": "vae-explorer-checkpoint", "format_version": 1, "weights_bytes": "12"}', "weights_bytes"),
])
def test_hostile_metadata_refused_with_a_message(meta, words):
    with pytest.raises(CheckpointError, match=words):
        read_checkpoint_pair_bytes(_pair()[0], meta)


def test_size_limits_checked_before_reading(tmp_path):
    write_checkpoint_pair(tmp_path / "m", _tensors(), {"family": "test-fam"})
    with pytest.raises(CheckpointError, match="at most 0 MiB"):
        read_checkpoint_pair(tmp_path / "m", max_bytes=100)
    w, m = _pair()
    with pytest.raises(CheckpointError, match="MiB"):
        read_checkpoint_pair_bytes(w, m, max_bytes=10)


def test_truncated_and_random_weights_refused():
    w, m = _pair()
    for bad in (w[:-7], w[:5], os.urandom(len(w))):
        with pytest.raises(CheckpointError):
            read_checkpoint_pair_bytes(bad, m)
    # the same bytes without the size and checksum fields: the header check alone refuses them
    meta = json.loads(m)
    del meta["weights_bytes"], meta["weights_sha256"]
    for bad in (w[:-7], w[:5], b"\x00" * 64):
        with pytest.raises(CheckpointError):
            read_checkpoint_pair_bytes(bad, json.dumps(meta).encode())
