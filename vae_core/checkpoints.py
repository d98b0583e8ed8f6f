"""Safe checkpoints: ``NAME.safetensors`` (weights) + ``NAME.json`` (metadata).

Nothing here ever unpickles.  ``load_checkpoint`` validates the metadata and
the tensors against each other and raises :class:`CheckpointError` with one
clear sentence for anything corrupt, truncated, foreign, pickled or mismatched.
Writes go to a temporary file in the same folder and are renamed into place.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import torch
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from .models import VAE, build_model

FORMAT = "vae-explorer-checkpoint"
FORMAT_VERSION = 1
MAX_JSON_BYTES = 1_000_000
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class CheckpointError(ValueError):
    """A checkpoint could not be loaded or saved; the message says why."""


# ----------------------------------------------------------------- helpers
def code_version() -> str:
    from . import __version__

    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=Path(__file__).parent,
                             capture_output=True, text=True, timeout=5)
        if rev.returncode == 0 and rev.stdout.strip():
            return f"{__version__}+g{rev.stdout.strip()}"
    except (OSError, subprocess.SubprocessError):
        pass
    return __version__


def validate_name(name: str) -> str:
    """A checkpoint name is a plain file stem: letters, digits, '.', '_' and '-', no paths."""
    name = (name or "").strip()
    if not NAME_RE.match(name) or name.endswith(".") or ".." in name:
        raise CheckpointError(
            "a model name must be 1-64 characters of letters, digits, '.', '_' or '-', "
            "starting with a letter or digit (no folders or '..')")
    return name


def _stem(path: str | os.PathLike) -> Path:
    p = Path(path)
    if p.suffix in (".safetensors", ".json"):
        p = p.with_suffix("")
    return p


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the file normal permissions
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def training_metadata(model: VAE, cfg, result, train_data, test_data, metrics: dict, name: str | None = None) -> dict:
    """The metadata the CLI and the app record for a trained model."""
    return {
        "name": name,
        "recipe": cfg.to_dict(),
        "command": ("python -m vae_core.train " + " ".join(sys.argv[1:])
                    if sys.argv and "train" in sys.argv[0] else None),
        "beta": cfg.beta,
        "kl_schedule": cfg.schedule.to_dict(),
        "free_bits": cfg.free_bits,
        "dataset": {
            "name": train_data.name,
            "source": train_data.source,
            "description": train_data.description,
            "n_train": len(train_data),
            "n_test": len(test_data),
        },
        "epochs": result.epochs_done,
        "steps": result.steps,
        "seed": cfg.seed,
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "code_version": code_version(),
        "test_metrics": {k: (float(v) if isinstance(v, float) else v) for k, v in metrics.items()},
        "training": {
            "train_seconds": round(result.train_seconds, 2),
            "wall_seconds": round(result.wall_seconds, 2),
            "samples_per_s": round(result.samples_per_s, 1),
            "stopped": result.stopped,
            "diverged": result.diverged,
            "message": result.message,
        },
    }


# ------------------------------------------------------------------- save
def checkpoint_bytes(model: VAE, metadata: dict, dtype: str = "float32") -> tuple[bytes, bytes]:
    """Serialise to (safetensors bytes, json bytes) without touching the disk."""
    if dtype not in ("float32", "float16"):
        raise CheckpointError("dtype must be float32 or float16")
    tdtype = torch.float16 if dtype == "float16" else torch.float32
    state = {k: v.detach().to(tdtype).contiguous().clone() for k, v in model.state_dict().items()}
    for k, v in state.items():
        if not bool(torch.isfinite(v).all()):
            raise CheckpointError(f"refusing to save: tensor {k!r} holds NaN or Inf values")
    weights = st_save(state, metadata={"format": FORMAT})
    meta = dict(metadata)
    meta.update({
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "model": model.config(),
        "latent_dim": model.latent_dim,
        "conditional": model.conditional,
        "num_classes": model.num_classes,
        "dtype": dtype,
        "tensors": {k: list(v.shape) for k, v in state.items()},
        "weights_sha256": hashlib.sha256(weights).hexdigest(),
        "weights_bytes": len(weights),
    })
    return weights, (json.dumps(meta, indent=2, sort_keys=True) + "\n").encode()


def save_checkpoint(path: str | os.PathLike, model: VAE, metadata: dict | None = None,
                    dtype: str = "float32") -> tuple[Path, Path]:
    """Write PATH.safetensors and PATH.json atomically; returns both paths."""
    stem = _stem(path)
    weights, meta = checkpoint_bytes(model, metadata or {}, dtype)
    wpath, jpath = stem.with_name(stem.name + ".safetensors"), stem.with_name(stem.name + ".json")
    atomic_write_bytes(wpath, weights)
    atomic_write_bytes(jpath, meta)
    return wpath, jpath


# ------------------------------------------------------------------- load
def _looks_pickled(data: bytes) -> bool:
    return data[:1] == b"\x80" or data[:2] == b"PK" or data[:4] == b"\x8a\nl\xfc"


def parse_metadata(meta_bytes: bytes) -> dict:
    if len(meta_bytes) > MAX_JSON_BYTES:
        raise CheckpointError("the metadata file is larger than 1 MB: not a checkpoint of this app")
    if _looks_pickled(meta_bytes):
        raise CheckpointError("the metadata file is a pickle or zip archive, not JSON; it was not opened")
    try:
        meta = json.loads(meta_bytes.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"the metadata file is not valid JSON ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"the metadata file is not a {FORMAT} file (missing or wrong 'format' field)")
    if meta.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(f"unsupported checkpoint format version {meta.get('format_version')!r}")
    if not isinstance(meta.get("model"), dict):
        raise CheckpointError("the metadata does not describe a model architecture")
    return meta


def load_checkpoint_bytes(weights: bytes, meta_bytes: bytes) -> tuple[VAE, dict]:
    """Validate and load a checkpoint from its two files' contents."""
    meta = parse_metadata(meta_bytes)
    if _looks_pickled(weights):
        raise CheckpointError("the weights file is a pickled PyTorch file (torch.save), not safetensors; "
                              "pickles can run code, so it was not opened")
    expected_len = meta.get("weights_bytes")
    if expected_len is not None and len(weights) != expected_len:
        raise CheckpointError(f"the weights file is {len(weights):,} bytes but its metadata says {expected_len:,}: "
                              "truncated or from another checkpoint")
    sha = meta.get("weights_sha256")
    if sha is not None and hashlib.sha256(weights).hexdigest() != sha:
        raise CheckpointError("the weights file does not match its metadata (checksum differs): corrupt or mismatched")
    try:
        state = st_load(weights)
    except Exception as exc:  # safetensors raises its own error types
        raise CheckpointError(f"the weights file is not a readable safetensors file ({exc})") from None
    try:
        model = build_model(meta["model"])
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"the metadata's model description is invalid ({exc})") from None
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    extra = sorted(set(state) - set(own))
    if missing or extra:
        raise CheckpointError(
            f"the weights do not fit the architecture in the metadata (missing {missing[:3]}, unexpected {extra[:3]})")
    for k, v in own.items():
        t = state[k]
        if tuple(t.shape) != tuple(v.shape):
            raise CheckpointError(f"tensor {k!r} has shape {tuple(t.shape)}, the architecture needs {tuple(v.shape)}")
        if t.dtype not in (torch.float32, torch.float16, torch.bfloat16):
            raise CheckpointError(f"tensor {k!r} has dtype {t.dtype}; expected floating point weights")
        if not bool(torch.isfinite(t).all()):
            raise CheckpointError(f"tensor {k!r} contains NaN or Inf values")
    model.load_state_dict({k: state[k].to(torch.float32) for k in own})
    model.eval()
    return model, meta


def load_checkpoint(path: str | os.PathLike) -> tuple[VAE, dict]:
    """Load ``PATH.safetensors`` + ``PATH.json`` (PATH may name either file or the stem)."""
    stem = _stem(path)
    wpath, jpath = stem.with_name(stem.name + ".safetensors"), stem.with_name(stem.name + ".json")
    for p in (wpath, jpath):
        if not p.is_file():
            raise CheckpointError(f"missing checkpoint file {p}")
    if jpath.stat().st_size > MAX_JSON_BYTES:
        raise CheckpointError("the metadata file is larger than 1 MB: not a checkpoint of this app")
    model, meta = load_checkpoint_bytes(wpath.read_bytes(), jpath.read_bytes())
    meta.setdefault("name", stem.name)
    if not meta.get("name"):
        meta["name"] = stem.name
    return model, meta


def list_checkpoints(folder: str | os.PathLike) -> list[Path]:
    """Stems of the checkpoints (pairs of .safetensors + .json) in a folder, sorted by name."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return sorted(p.with_suffix("") for p in folder.glob("*.safetensors") if p.with_suffix(".json").is_file())
