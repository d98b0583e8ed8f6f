"""The checkpoint pair's format and its reader: names and paths, the limits, and the checks that run on
every byte of a pair before anything is trusted (:func:`read_checkpoint_pair`, :func:`parse_metadata`).

Nothing here ever unpickles; every refusal is a :class:`CheckpointError` whose message names the problem.
The writer (atomic pair write, folder lock, reaper) is :mod:`vae_core.pair_io`, which re-exports every name
defined here; see its docstring for how a pair is written and the bounds a load keeps to.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import struct
from collections.abc import Callable
from pathlib import Path

import torch
from safetensors.torch import load as st_load

FORMAT = "vae-explorer-checkpoint"
FORMAT_VERSION = 1
DEFAULT_FAMILY = "mlp-vae"
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
RESERVED_SUFFIXES = (".json", ".safetensors", ".tmp")

MAX_JSON_BYTES = 1_000_000  # metadata file
MAX_JSON_DEPTH = 32  # nesting of the metadata (real files: 3)
MAX_HEADER_BYTES = 1_000_000  # safetensors JSON header
MAX_TENSORS = 4096
MAX_WEIGHTS_BYTES = 128 * 2**20  # default ceiling of read_checkpoint_pair (a 784-1024x4 VAE is ~31 MB in float32)
ALLOC_BOUND_BYTES = 2**30  # no input may make a load allocate more than this (checked from sizes before reading)

# safetensors dtype codes accepted as weights (converted to float32 on load) and their sizes
FLOAT_DTYPES = {"F16": (torch.float16, 2), "BF16": (torch.bfloat16, 2), "F32": (torch.float32, 4),
                "F64": (torch.float64, 8)}


class CheckpointError(ValueError):
    """A checkpoint could not be loaded or saved; the message says why."""


# ----------------------------------------------------------------- names and paths
def validate_name(name) -> str:
    """A checkpoint name is a plain file stem: letters, digits, '.', '_' and '-', no paths.

    The one name normalisation used by every check and every writer: surrounding blanks are
    stripped and nothing else is changed; a name ending in a file suffix (``victim.json``) is
    refused rather than silently shortened, so what is checked is exactly what is written."""
    if not isinstance(name, str):
        raise CheckpointError(f"a model name must be text, not {type(name).__name__}")
    name = name.strip()
    if not NAME_RE.match(name) or name.endswith(".") or ".." in name:
        raise CheckpointError(
            "a model name must be 1-64 characters of letters, digits, '.', '_' or '-', "
            "starting with a letter or digit (no folders or '..')")
    if name.lower().endswith(RESERVED_SUFFIXES):
        raise CheckpointError(f"a model name must not end in {', '.join(RESERVED_SUFFIXES)} "
                              "(give the name only; the two files get their suffixes automatically)")
    return name


def _stem(path: str | os.PathLike) -> Path:
    p = Path(path)
    if p.suffix in (".safetensors", ".json"):
        p = p.with_suffix("")
    return p


def pair_paths(path: str | os.PathLike) -> tuple[Path, Path]:
    """(weights path, metadata path) of the checkpoint PATH (a stem, or either file)."""
    stem = _stem(path)
    return stem.with_name(stem.name + ".safetensors"), stem.with_name(stem.name + ".json")


# ------------------------------------------------------------------ reading a pair (no trust)
def _looks_pickled(data: bytes) -> bool:
    return data[:1] == b"\x80" or data[:4] == b"\x8a\nl\xfc"


def _looks_zipped(data: bytes) -> bool:
    return data[:2] == b"PK"


def _foreign_kind(data: bytes) -> str | None:
    if _looks_zipped(data):
        return "a zip archive (e.g. a PyTorch .pt file made by torch.save) — not accepted"
    if _looks_pickled(data):
        return "a Python pickle (e.g. a legacy torch.save file); pickles can run code, so it was not opened"
    if data[:2] == b"\x1f\x8b":
        return "a gzip archive — not accepted"
    if data[:4] == b"\x93NUM":
        return "a NumPy .npy file — not accepted"
    return None


def _check_depth(obj, limit: int = MAX_JSON_DEPTH) -> None:
    stack = [(obj, 1)]
    while stack:
        o, d = stack.pop()
        if d > limit:
            raise CheckpointError(f"the metadata is nested more than {limit} levels deep: not a checkpoint of this app")
        if isinstance(o, dict):
            stack += [(v, d + 1) for v in o.values()]
        elif isinstance(o, list):
            stack += [(v, d + 1) for v in o]


def parse_metadata(meta_bytes: bytes) -> dict:
    """The generic checks of a metadata file: size, not a pickle/zip, JSON object, depth, format."""
    if len(meta_bytes) > MAX_JSON_BYTES:
        raise CheckpointError("the metadata file is larger than 1 MB: not a checkpoint of this app")
    kind = _foreign_kind(meta_bytes)
    if kind:
        raise CheckpointError(f"the metadata file is {kind}; it should be JSON")
    try:
        meta = json.loads(meta_bytes.decode("utf-8"))
    except UnicodeDecodeError:
        raise CheckpointError("the metadata file is not UTF-8 text, so not JSON") from None
    except RecursionError:
        raise CheckpointError("the metadata is nested too deeply: not a checkpoint of this app") from None
    except ValueError as exc:  # JSONDecodeError, or an integer of more than 4,300 digits
        raise CheckpointError(f"the metadata file is not valid JSON ({str(exc)[:200]})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"the metadata file is not a {FORMAT} file (missing or wrong 'format' field)")
    _check_depth(meta)
    if meta.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(f"unsupported checkpoint format version {str(meta.get('format_version'))[:40]!r}")
    fam = meta.setdefault("family", DEFAULT_FAMILY)
    if not isinstance(fam, str) or not re.fullmatch(r"[a-z0-9][a-z0-9._-]{0,39}", fam):
        raise CheckpointError("the metadata's 'family' must be a short lower-case name such as 'mlp-vae'")
    return meta


def _parse_header(weights: bytes) -> dict:
    """Check a safetensors header before safetensors allocates anything from it."""
    if len(weights) < 8:
        raise CheckpointError(f"the weights file is only {len(weights)} bytes: truncated or not safetensors")
    (n,) = struct.unpack("<Q", weights[:8])
    if n > MAX_HEADER_BYTES:
        raise CheckpointError(f"the weights file's header claims {n:,} bytes (at most {MAX_HEADER_BYTES:,} are "
                              "accepted): corrupt or not a safetensors file")
    if 8 + n > len(weights):
        raise CheckpointError(f"the weights file's header claims {n:,} bytes but the file has only {len(weights):,}: "
                              "truncated or not a safetensors file")
    try:
        header = json.loads(weights[8:8 + n].decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise CheckpointError("the weights file's header is not valid JSON: corrupt or not safetensors") from None
    if not isinstance(header, dict):
        raise CheckpointError("the weights file's header is not a JSON object: not a safetensors file")
    header.pop("__metadata__", None)
    if len(header) > MAX_TENSORS:
        raise CheckpointError(f"the weights file declares {len(header):,} tensors (at most {MAX_TENSORS:,})")
    data_len, total = len(weights) - 8 - n, 0
    for k, spec in header.items():
        if not isinstance(spec, dict):
            raise CheckpointError(f"the weights file's entry for {k[:60]!r} is malformed")
        dt, shape, offs = spec.get("dtype"), spec.get("shape"), spec.get("data_offsets")
        if dt not in FLOAT_DTYPES:
            raise CheckpointError(f"tensor {k[:60]!r} has dtype {str(dt)[:20]}; expected floating point weights "
                                  "(float16, bfloat16, float32 or float64)")
        if (not isinstance(shape, list) or len(shape) > 8
                or not all(isinstance(s, int) and not isinstance(s, bool) and 0 <= s <= 2**40 for s in shape)):
            raise CheckpointError(f"tensor {k[:60]!r} has an invalid shape in the weights file's header")
        if (not isinstance(offs, list) or len(offs) != 2
                or not all(isinstance(o, int) and not isinstance(o, bool) for o in offs)
                or not 0 <= offs[0] <= offs[1] <= data_len):
            raise CheckpointError(f"tensor {k[:60]!r} lies outside the weights file: truncated or corrupt")
        numel = math.prod(shape)
        if numel * FLOAT_DTYPES[dt][1] != offs[1] - offs[0]:
            raise CheckpointError(f"tensor {k[:60]!r}: shape {tuple(shape)} does not match its stored size; corrupt")
        total += numel * 4
    if total > ALLOC_BOUND_BYTES:
        raise CheckpointError(f"the weights would take {total / 2**20:,.0f} MiB as float32 (at most "
                              f"{ALLOC_BOUND_BYTES / 2**20:,.0f} MiB)")
    return header


def read_checkpoint_pair_bytes(weights: bytes, meta_bytes: bytes, max_bytes: int = MAX_WEIGHTS_BYTES,
                               family: str | None = None) -> tuple[dict[str, torch.Tensor], dict]:
    """The contents of a pair (e.g. two uploads) -> ({name: float32 tensor}, metadata).

    Refuses (with :class:`CheckpointError`): oversized files, pickles, zip archives, invalid or
    deeply nested JSON, a foreign format, a header that lies about sizes, non-float or non-finite
    tensors, a checksum or size that differs from the metadata, a family other than ``family``
    (when given), and whatever a registered family validator refuses.  float16/bfloat16/float64
    weights are accepted and converted to float32."""
    if len(weights) > max_bytes:
        raise CheckpointError(f"the weights file is {len(weights) / 2**20:,.1f} MiB; at most "
                              f"{max_bytes / 2**20:,.0f} MiB are accepted")
    meta = parse_metadata(meta_bytes)
    if family is not None and meta["family"] != family:
        raise CheckpointError(f"this is a '{meta['family']}' checkpoint, not a '{family}' one")
    kind = _foreign_kind(weights)
    if kind:
        raise CheckpointError(f"the weights file is {kind}; only safetensors weights are read")
    expected_len = meta.get("weights_bytes")
    if expected_len is not None:
        if not isinstance(expected_len, int) or isinstance(expected_len, bool):
            raise CheckpointError("the metadata's 'weights_bytes' must be an integer")
        if len(weights) != expected_len:
            raise CheckpointError(f"the weights file is {len(weights):,} bytes but its metadata says "
                                  f"{expected_len:,}: truncated or from another checkpoint")
    sha = meta.get("weights_sha256")
    if sha is not None and hashlib.sha256(weights).hexdigest() != sha:
        raise CheckpointError("the weights file does not match its metadata (checksum differs): corrupt or mismatched")
    _parse_header(weights)
    try:
        raw = st_load(weights)
    except Exception as exc:  # safetensors raises its own error types
        raise CheckpointError(f"the weights file is not a readable safetensors file ({str(exc)[:200]})") from None
    tensors = {}
    for k, t in raw.items():
        if not t.is_floating_point():  # unreachable after _parse_header; kept as a second line of defence
            raise CheckpointError(f"tensor {k!r} has dtype {t.dtype}; expected floating point weights")
        if not bool(torch.isfinite(t).all()):
            raise CheckpointError(f"tensor {k!r} contains NaN or Inf values")
        tensors[k] = t.to(torch.float32)
    validator = _FAMILIES.get(meta["family"])
    if validator is None:  # a family the registry declares: its validator runs without importing it first
        from .families import validator_for

        validator = validator_for(meta["family"])
    if validator is not None:
        meta = validator(meta, tensors)
    return tensors, meta


def read_checkpoint_pair(path: str | os.PathLike, max_bytes: int = MAX_WEIGHTS_BYTES,
                         family: str | None = None) -> tuple[dict[str, torch.Tensor], dict]:
    """Read ``PATH.safetensors`` + ``PATH.json`` (PATH: the stem or either file); sizes are checked
    before either file is read.  See :func:`read_checkpoint_pair_bytes` for what is refused."""
    wpath, jpath = pair_paths(path)
    for p in (wpath, jpath):
        if not p.is_file():
            raise CheckpointError(f"missing checkpoint file {p.name}")
    if jpath.stat().st_size > MAX_JSON_BYTES:
        raise CheckpointError("the metadata file is larger than 1 MB: not a checkpoint of this app")
    size = wpath.stat().st_size
    if size > max_bytes:
        raise CheckpointError(f"the weights file is {size / 2**20:,.1f} MiB; at most {max_bytes / 2**20:,.0f} MiB "
                              "are accepted")
    return read_checkpoint_pair_bytes(wpath.read_bytes(), jpath.read_bytes(), max_bytes, family)


# family name -> validator(meta, tensors) -> meta (normalised); raises CheckpointError
_FAMILIES: dict[str, Callable[[dict, dict], dict]] = {}


# ----------------------------------------------------------------- helpers of every family's validator
def check_int_fields(cfg: dict, limits: dict[str, tuple[int, int]], where: str = "model") -> None:
    """Each ``cfg[key]`` an integer (not a bool) in ``limits[key] = (lo, hi)``, else CheckpointError naming it."""
    for key, (lo, hi) in limits.items():
        v = cfg.get(key)
        if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
            raise CheckpointError(f"the metadata's {where}.{key} must be an integer in [{lo}, {hi}]")


def check_state_shapes(model: torch.nn.Module, tensors: dict, note: str = "") -> None:
    """The model the metadata describes must have exactly these tensors, of these shapes (CheckpointError naming
    the missing, unexpected and misshapen ones, after ``note``)."""
    want = {k: list(v.shape) for k, v in model.state_dict().items()}
    got = {k: list(v.shape) for k, v in tensors.items()}
    if want != got:
        missing = sorted(set(want) - set(got))
        extra = sorted(set(got) - set(want))
        wrong = sorted(k for k in set(want) & set(got) if want[k] != got[k])
        raise CheckpointError(f"the weights do not fit the described model ({note}missing {missing[:3]}, "
                              f"unexpected {extra[:3]}, wrong shape {wrong[:3]})")


def register_family(name: str, validator: Callable[[dict, dict], dict]) -> None:
    """Register the metadata/tensor validator of a model family (called by read_checkpoint_pair)."""
    _FAMILIES[name] = validator
