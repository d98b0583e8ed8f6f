"""Generic, family-agnostic checkpoint pair I/O: ``NAME.safetensors`` (weights) + ``NAME.json``.

:func:`write_checkpoint_pair` and :func:`read_checkpoint_pair` move a ``{name: tensor}`` dict plus a
JSON metadata dict to and from disk for any model family.  The metadata carries a ``family`` field
(``"mlp-vae"``, the digit VAEs of :mod:`vae_core.digits.checkpoint`, by default; other families, e.g.
``"seq-vae"``, register a validator with :func:`register_family`).  Nothing here ever unpickles;
every refusal is a :class:`CheckpointError` whose message names the problem.

**How a pair is written (whole or not at all).**  Both files are first written
to hidden temporary files in the target folder (``.NAME.safetensors.XXXX.tmp``,
fsynced); then the weights are renamed into place and the JSON is renamed into
place *last*.  The JSON is the commit marker: :func:`list_checkpoints` lists a
model only when both files exist, and the "name taken" check looks at the JSON.
A writer holds a lock on the folder (``fcntl.flock`` on the folder itself plus a
thread lock) for the whole write, so when a writer holds it, any weights file
without its JSON and any ``.tmp`` file is debris of a killed write: the
**reaper** (:func:`reap_orphans`, run at the start of every write) deletes such
files once they are older than ``REAP_AGE_S`` seconds.  A kill at any moment
therefore leaves either the old pair, the new pair, or an unlisted orphan that
neither blocks the name nor survives the next write.  With ``overwrite=False``
the name check and the commit happen under the same lock, so two sessions saving
the same name cannot both succeed.

**Bounds.**  Nothing is allocated from a file's *claims*: the JSON is at most
``MAX_JSON_BYTES`` and ``MAX_JSON_DEPTH`` deep; the safetensors header is parsed
by this module first (size, dtypes, shapes, offsets inside the file) and the
tensors it declares must add up to the file's own size, so memory used by a load
is at most a small multiple of the file size (bounded by ``max_bytes``).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import math
import os
import tempfile
import threading
import time
from pathlib import Path

import torch
from safetensors.torch import save as st_save

from .pair_read import (  # noqa: F401  (re-exported: the pair format and its reader live in pair_read)
    _FAMILIES,
    ALLOC_BOUND_BYTES,
    DEFAULT_FAMILY,
    FLOAT_DTYPES,
    FORMAT,
    FORMAT_VERSION,
    MAX_HEADER_BYTES,
    MAX_JSON_BYTES,
    MAX_JSON_DEPTH,
    MAX_TENSORS,
    MAX_WEIGHTS_BYTES,
    NAME_RE,
    RESERVED_SUFFIXES,
    CheckpointError,
    _stem,
    pair_paths,
    parse_metadata,
    read_checkpoint_pair,
    read_checkpoint_pair_bytes,
    register_family,
    validate_name,
)

try:  # POSIX: a lock shared with other processes writing the same folder
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

REAP_AGE_S = 10.0  # debris younger than this is left alone (a writer that does not take the lock may own it)


# ----------------------------------------------------------------- metadata (every family)
def code_version() -> str:
    """``vae_core.__version__`` and, inside a git checkout, ``+g<short commit>``."""
    import subprocess

    from . import __version__

    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=Path(__file__).parent,
                             capture_output=True, text=True, timeout=5)
        if rev.returncode == 0 and rev.stdout.strip():
            return f"{__version__}+g{rev.stdout.strip()}"
    except (OSError, subprocess.SubprocessError):
        pass
    return __version__


def checkpoint_metadata(family: str, *, name: str | None = None, command: str | None = None, recipe=None,
                        seed: int | None = None, dataset=None, test_metrics=None, **fields) -> dict:
    """THE metadata builder of every family's training command: ``family``, ``name``, ``recipe`` (the config),
    ``command`` (the command line that replays it), ``dataset``, ``seed``, ``created`` (UTC), ``code_version``,
    ``test_metrics``, then the family's own ``fields`` in the order given (``epochs``, ``training``, ...).
    :func:`pair_bytes` adds the format fields (tensor shapes, dtype, digest) when the pair is written."""
    import datetime as _dt

    meta = {"family": family, "name": name, "recipe": recipe, "command": command}
    meta.update(fields)
    meta.update({
        "dataset": dataset,
        "seed": seed,
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "code_version": code_version(),
        "test_metrics": test_metrics,
    })
    return meta


# ----------------------------------------------------------------- weights (every family)
def state_tensors(model: torch.nn.Module, dtype: str = "float32") -> dict[str, torch.Tensor]:
    """The weights to store: a copy of ``model``'s state as float32 or float16 (CheckpointError otherwise)."""
    if dtype not in ("float32", "float16"):
        raise CheckpointError("dtype must be float32 or float16")
    td = torch.float16 if dtype == "float16" else torch.float32
    return {k: v.detach().to(td).contiguous().clone() for k, v in model.state_dict().items()}


def write_model(path: str | os.PathLike, family: str, model: torch.nn.Module, metadata: dict,
                dtype: str = "float32", overwrite: bool = True) -> tuple[Path, Path]:
    """Write ``model`` of ``family`` as PATH.safetensors + PATH.json: ``metadata`` plus ``family``, ``model``
    (its ``config()``), ``latent_dim`` and ``dtype``; the weights as float32 or float16."""
    meta = dict(metadata)
    meta.update({"family": family, "model": model.config(), "latent_dim": model.latent_dim, "dtype": dtype})
    return write_checkpoint_pair(path, state_tensors(model, dtype), meta, overwrite=overwrite)


def load_weights(model: torch.nn.Module, tensors: dict[str, torch.Tensor]) -> torch.nn.Module:
    """``model`` (built from validated metadata) with exactly these weights, in float32 and eval mode."""
    model.load_state_dict({k: v.float() for k, v in tensors.items()}, strict=True)
    return model.eval()



def read_model(path: str | os.PathLike, family: str, model_from_meta) -> tuple[torch.nn.Module, dict]:
    """A model of ``family`` and its metadata from PATH.safetensors + PATH.json: the pair is read and validated
    (:func:`read_checkpoint_pair`), ``model_from_meta(meta)`` builds the architecture, the weights load strictly."""
    tensors, meta = read_checkpoint_pair(path, family=family)
    return load_weights(model_from_meta(meta), tensors), meta


def read_model_bytes(weights: bytes, meta_bytes: bytes, family: str, model_from_meta) -> tuple[torch.nn.Module, dict]:
    """:func:`read_model` of a pair given as bytes (an upload)."""
    tensors, meta = read_checkpoint_pair_bytes(weights, meta_bytes, family=family)
    return load_weights(model_from_meta(meta), tensors), meta

# ----------------------------------------------------------------- atomic writes
def _io_message(exc: OSError, where: Path) -> str:
    why = {errno.ENOSPC: "the disk is full", errno.EDQUOT: "the disk quota is used up",
           errno.EROFS: "the folder is on a read-only file system",
           errno.EACCES: "this server may not write there (permission denied)",
           errno.EPERM: "this server may not write there (operation not permitted)"}.get(exc.errno)
    return f"could not write to {where}: {why or exc.strerror or type(exc).__name__}; nothing was saved"


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _write_tmp(folder: Path, final_name: str, data: bytes) -> str:
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{final_name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        Path(tmp).chmod(0o666 & ~umask)  # mkstemp creates 0600; give the file normal permissions
    except BaseException:
        with contextlib.suppress(OSError):
            Path(tmp).unlink()
        raise
    return tmp


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write one file atomically (temporary file in the same folder + rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _write_tmp(path.parent, path.name, data)
    try:
        Path(tmp).replace(path)
    except BaseException:
        with contextlib.suppress(OSError):
            Path(tmp).unlink()
        raise


_thread_lock = threading.Lock()


@contextlib.contextmanager
def _folder_lock(folder: Path):
    """Exclusive lock on a checkpoint folder: threads of this process and other processes."""
    with _thread_lock:
        if fcntl is None:  # pragma: no cover
            yield
            return
        fd = os.open(folder, os.O_RDONLY)  # flock works on a directory: no lock file to leave behind
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the flock


def reap_orphans(folder: str | os.PathLike, min_age_s: float = REAP_AGE_S) -> list[Path]:
    """Delete the debris of killed writes in ``folder``: ``.tmp`` files and weights without their
    JSON, older than ``min_age_s``.  Returns what was deleted.  Safe to call at any time (it takes
    the folder's write lock, so it never touches a write in progress)."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    try:
        with _folder_lock(folder):
            return _reap_locked(folder, min_age_s)
    except OSError:
        return []  # a read-only folder has no debris of ours to clean


def _reap_locked(folder: Path, min_age_s: float) -> list[Path]:
    now, gone = time.time(), []
    candidates = [p for p in folder.glob(".*.tmp")]
    candidates += [p for p in folder.glob("*.safetensors") if not p.with_suffix(".json").exists()]
    for p in candidates:
        try:
            if now - p.stat().st_mtime >= min_age_s:
                p.unlink()
                gone.append(p)
        except OSError:
            pass
    return gone


# ------------------------------------------------------------------ generic pair I/O
def _find_nonfinite(obj, where: str = "metadata") -> str | None:
    stack = [(obj, where)]
    while stack:
        o, w = stack.pop()
        if isinstance(o, float) and not math.isfinite(o):
            return w
        if isinstance(o, dict):
            stack += [(v, f"{w}.{k}") for k, v in o.items()]
        elif isinstance(o, list | tuple):
            stack += [(v, f"{w}[{i}]") for i, v in enumerate(o)]
    return None


def pair_bytes(tensors: dict[str, torch.Tensor], metadata: dict) -> tuple[bytes, bytes]:
    """Serialise a tensor dict and its metadata to (safetensors bytes, JSON bytes), no disk.

    Adds ``format``, ``format_version``, ``family`` (default ``"mlp-vae"``), ``tensors`` (shapes),
    ``weights_sha256`` and ``weights_bytes`` to the metadata."""
    if not isinstance(metadata, dict):
        raise CheckpointError("checkpoint metadata must be a dict")
    state = {}
    for k, v in tensors.items():
        if not isinstance(k, str) or not torch.is_tensor(v):
            raise CheckpointError(f"tensors must map names to tensors ({k!r} does not)")
        if not v.is_floating_point():
            raise CheckpointError(f"refusing to save: tensor {k!r} has dtype {v.dtype}, not floating point")
        v = v.detach().cpu().contiguous()
        if not bool(torch.isfinite(v).all()):
            raise CheckpointError(f"refusing to save: tensor {k!r} holds NaN or Inf values")
        state[k] = v
    weights = st_save(state, metadata={"format": FORMAT})
    meta = dict(metadata)
    meta.setdefault("family", DEFAULT_FAMILY)
    dtypes = sorted({str(v.dtype).removeprefix("torch.") for v in state.values()})
    meta.update({
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "tensors": {k: list(v.shape) for k, v in state.items()},
        "weights_sha256": hashlib.sha256(weights).hexdigest(),
        "weights_bytes": len(weights),
    })
    meta.setdefault("dtype", dtypes[0] if len(dtypes) == 1 else "mixed")
    bad = _find_nonfinite(meta)
    if bad:
        raise CheckpointError(f"refusing to save: {bad} is NaN or infinite (JSON has no such numbers)")
    try:
        text = json.dumps(meta, indent=2, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"refusing to save: the metadata is not plain JSON ({exc})") from None
    return weights, (text + "\n").encode()


def _write_pair_bytes(path: str | os.PathLike, weights: bytes, meta: bytes, overwrite: bool) -> tuple[Path, Path]:
    wpath, jpath = pair_paths(path)
    validate_name(wpath.name.removesuffix(".safetensors"))
    folder = wpath.parent
    tmps: list[str] = []
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with _folder_lock(folder):
            _reap_locked(folder, REAP_AGE_S)
            if not overwrite and jpath.exists():
                raise CheckpointError(f"a model called '{jpath.stem}' is already saved there; choose another name "
                                      "(saved models are never overwritten)")
            tw = _write_tmp(folder, wpath.name, weights)
            tmps.append(tw)
            tj = _write_tmp(folder, jpath.name, meta)
            tmps.append(tj)
            Path(tw).replace(wpath)  # weights first (unlisted until the JSON exists) ...
            tmps.remove(tw)
            Path(tj).replace(jpath)  # ... then the JSON: the commit
            tmps.remove(tj)
            _fsync_dir(folder)
    except OSError as exc:
        raise CheckpointError(_io_message(exc, folder)) from None
    finally:
        for t in tmps:
            with contextlib.suppress(OSError):
                Path(t).unlink()
    return wpath, jpath


def write_checkpoint_pair(path: str | os.PathLike, tensors: dict[str, torch.Tensor], metadata: dict,
                          *, overwrite: bool = True) -> tuple[Path, Path]:
    """Write ``PATH.safetensors`` + ``PATH.json`` so that the model appears whole or not at all.

    ``tensors`` are stored as given (floating point, finite); ``metadata`` gets the fields of
    :func:`pair_bytes`.  With ``overwrite=False`` an existing model of that name is refused
    (checked and committed under one lock).  I/O failures (disk full, read-only folder,
    permissions) raise :class:`CheckpointError` with a plain message and leave nothing behind."""
    weights, meta = pair_bytes(tensors, metadata)
    return _write_pair_bytes(path, weights, meta, overwrite)


def list_checkpoints(folder: str | os.PathLike) -> list[Path]:
    """Stems of the complete checkpoints (the JSON, written last, exists too) in a folder, by name."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return sorted(p.with_suffix("") for p in folder.glob("*.safetensors")
                  if not p.name.startswith(".") and p.with_suffix(".json").is_file())
