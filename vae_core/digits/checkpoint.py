"""Digit-model checkpoints (family ``"mlp-vae"``): a :class:`~vae_core.digits.model.VAE` or CVAE as a
``NAME.safetensors`` + ``NAME.json`` pair written and read by :mod:`vae_core.pair_io` (whole or not
at all; pickles, zip archives, header bombs and oversized or deeply nested JSON refused there).

On top of the generic checks, :func:`validate_digit_metadata` applies a typed schema with ranges
(architecture, β, metrics, dataset, name, likelihood, binarisation, …) and
:func:`check_digit_tensors` compares the architecture's tensor shapes with the file's tensors, both
*before* the model is built, so no metadata can make a load allocate more than the weights file
itself holds.  Models the pages cannot run (input size other than 784 = 28×28, or other than H·W of the
``dataset.image_shape`` of a model trained on a user's data set (#19); a CVAE with other than ten classes) are
refused with a message.  :func:`build_metadata` is the one place the metadata of a
trained digit model is assembled (CLI, Train & Models, β/KL Lab).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import torch

from ..pair_io import (  # noqa: F401  (re-exported: the generic API lives in pair_io)
    ALLOC_BOUND_BYTES,
    DEFAULT_FAMILY,
    FORMAT,
    FORMAT_VERSION,
    MAX_JSON_BYTES,
    MAX_WEIGHTS_BYTES,
    NAME_RE,
    CheckpointError,
    _write_pair_bytes,
    atomic_write_bytes,
    checkpoint_metadata,
    code_version,
    list_checkpoints,
    load_weights,
    pair_bytes,
    pair_paths,
    parse_metadata,
    read_checkpoint_pair,
    read_checkpoint_pair_bytes,
    reap_orphans,
    register_family,
    state_tensors,
    validate_name,
    write_checkpoint_pair,
)
from .model import ACTIVATIONS, VAE, build_model, check_logit_range

# digit family (mlp-vae) schema ranges
DIGIT_INPUT_DIM = 784  # every page works on 28 x 28 digits
DIGIT_NUM_CLASSES = 10  # the CVAE pages offer ten classes
MAX_LATENT_DIM = 256
MAX_HIDDEN_LAYERS = 8
MAX_HIDDEN_WIDTH = 4096
MAX_BETA = 1000.0
DATASET_NAMES = ("mnist", "fashion-mnist", "kmnist", "user")  # "user": a user's file (vae_core.digits.user_data)
MAX_IMAGE_SIDE = 64  # dataset.image_shape of a user's data set: H, W from 1 to this
LIKELIHOODS = ("bernoulli", "continuous_bernoulli")
BINARIZATIONS = ["none", "dynamic", "fixed", "static", "threshold"]  # a list: a module adding a scheme may append to it


# ----------------------------------------------------------------- helpers
def _is_num(v) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _int_field(meta: dict, key: str, lo: int, hi: int, default=None, where: str = "") -> int | None:
    v = meta.get(key, default)
    if v is None:
        return None
    if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
        raise CheckpointError(f"metadata field '{where}{key}' must be a whole number from {lo:,} to {hi:,}"
                              f" (got {_short(v)})")
    return v


def _float_field(meta: dict, key: str, lo: float, hi: float, default=None, where: str = "") -> float | None:
    v = meta.get(key, default)
    if v is None:
        return None
    if not _is_num(v) or not math.isfinite(float(v)) or not lo <= v <= hi:
        raise CheckpointError(f"metadata field '{where}{key}' must be a finite number from {lo:g} to {hi:g}"
                              f" (got {_short(v)})")
    return float(v)


def _str_field(meta: dict, key: str, max_len: int = 4000, where: str = "") -> str | None:
    v = meta.get(key)
    if v is None:
        return None
    if not isinstance(v, str) or len(v) > max_len:
        raise CheckpointError(f"metadata field '{where}{key}' must be text of at most {max_len:,} characters"
                              f" (got {_short(v)})")
    return v


def _choice_field(meta: dict, key: str, choices, default) -> str:
    v = meta.get(key, default)
    if v not in list(choices):
        raise CheckpointError(f"metadata field '{key}' must be one of {', '.join(map(str, choices))} (got {_short(v)})")
    return v


def _short(v) -> str:
    if isinstance(v, int) and not isinstance(v, bool) and abs(v) > 10**12:
        return f"an integer of {len(str(abs(v))):,} digits" if abs(v) < 10**4000 else "a huge integer"
    s = repr(v) if not isinstance(v, dict | list) else type(v).__name__
    return s if len(s) <= 40 else s[:37] + "..."


def digit_tensor_shapes(arch: dict) -> dict[str, tuple[int, ...]]:
    """The tensor names and shapes a digit VAE/CVAE of this architecture has (no allocation)."""
    c = arch["num_classes"]
    h, d, n_in = arch["hidden_dims"], arch["latent_dim"], arch["input_dim"]
    shapes: dict[str, tuple[int, ...]] = {}
    enc = [n_in + c, *h]
    for i, (a, b) in enumerate(zip(enc[:-1], enc[1:], strict=True)):
        shapes[f"encoder.{2 * i}.weight"], shapes[f"encoder.{2 * i}.bias"] = (b, a), (b,)
    for head in ("fc_mu", "fc_logvar"):
        shapes[f"{head}.weight"], shapes[f"{head}.bias"] = (d, h[-1]), (d,)
    dec = [d + c, *reversed(h)]
    for i, (a, b) in enumerate(zip(dec[:-1], dec[1:], strict=True)):
        shapes[f"decoder.{2 * i}.weight"], shapes[f"decoder.{2 * i}.bias"] = (b, a), (b,)
    shapes["fc_out.weight"], shapes["fc_out.bias"] = (n_in, h[0]), (n_in,)
    return shapes


def validate_architecture(arch, image_shape: tuple[int, int] | None = None) -> dict:
    """The 'model' entry of a digit checkpoint, checked against the schema's ranges (no allocation).  The input
    size must be 784 (28×28 digits), or H·W when the data set's ``image_shape`` (H, W) is given."""
    if not isinstance(arch, dict):
        raise CheckpointError("the metadata does not describe a model architecture ('model' must be an object)")
    kind = arch.get("kind", "vae")
    if kind not in ("vae", "cvae"):
        raise CheckpointError(f"metadata field 'model.kind' must be 'vae' or 'cvae' (got {_short(kind)})")
    latent = _int_field(arch, "latent_dim", 1, MAX_LATENT_DIM, where="model.")
    if latent is None:
        raise CheckpointError("metadata field 'model.latent_dim' is missing")
    hd = arch.get("hidden_dims")
    if (not isinstance(hd, list) or not 1 <= len(hd) <= MAX_HIDDEN_LAYERS
            or not all(isinstance(x, int) and not isinstance(x, bool) and 1 <= x <= MAX_HIDDEN_WIDTH for x in hd)):
        raise CheckpointError(f"metadata field 'model.hidden_dims' must be a list of 1 to {MAX_HIDDEN_LAYERS} layer "
                              f"sizes from 1 to {MAX_HIDDEN_WIDTH:,} (got {_short(hd)})")
    n_in = arch.get("input_dim", DIGIT_INPUT_DIM)
    h, w = image_shape if image_shape is not None else (28, 28)
    if n_in != h * w or isinstance(n_in, bool):
        what = "digits" if image_shape is None else f"images of its data set ({h}×{w})"
        raise CheckpointError(f"this model's input size is {_short(n_in)}, but the pages work on {h}×{w} = "
                              f"{h * w}-pixel {what} ('model.input_dim' must be {h * w})")
    act = arch.get("activation", "relu")
    if act not in ACTIVATIONS:
        raise CheckpointError(f"metadata field 'model.activation' must be one of {', '.join(sorted(ACTIVATIONS))} "
                              f"(got {_short(act)})")
    nc = arch.get("num_classes", 0 if kind == "vae" else DIGIT_NUM_CLASSES)
    if kind == "vae" and nc != 0:
        raise CheckpointError(f"metadata field 'model.num_classes' must be 0 for a plain VAE (got {_short(nc)})")
    if kind == "cvae" and (nc != DIGIT_NUM_CLASSES or isinstance(nc, bool)):
        raise CheckpointError(f"this CVAE has {_short(nc)} classes, but the pages condition on the "
                              f"{DIGIT_NUM_CLASSES} digit classes ('model.num_classes' must be {DIGIT_NUM_CLASSES})")
    out = {"kind": kind, "latent_dim": latent, "hidden_dims": list(hd), "input_dim": h * w,
           "activation": act, "num_classes": int(nc)}
    lr = arch.get("logit_range")
    if lr is not None:
        if not isinstance(lr, list) or not all(_is_num(v) for v in lr):
            raise CheckpointError(f"metadata field 'model.logit_range' must be a list of two numbers "
                                  f"(got {_short(lr)})")
        try:
            out["logit_range"] = list(check_logit_range(lr))
        except ValueError as exc:
            raise CheckpointError(f"metadata field 'model.logit_range' is out of range: {exc}") from None
    return out


def validate_digit_metadata(meta: dict, tensors: dict | None = None) -> dict:
    """Typed schema of the digit family's metadata, with ranges; returns a normalised copy.

    Checked: architecture (:func:`validate_architecture`), the top-level copies of latent size and
    classes, ``name`` (a valid model name), ``beta``, ``free_bits``, ``epochs``, ``steps``, ``seed``,
    ``dataset`` (known name, counts), ``test_metrics`` (finite numbers or null), ``likelihood``,
    ``binarization``, the text fields and the nested dicts' types.  With ``tensors`` also every
    tensor's name and shape against the architecture.  Unknown extra fields are kept."""
    m = dict(meta)
    raw_ds = m.get("dataset")
    image_shape = _image_shape(raw_ds.get("image_shape")) if isinstance(raw_ds, dict) else None
    arch = validate_architecture(m.get("model"), image_shape)
    m["model"] = arch
    for key, want in (("latent_dim", arch["latent_dim"]), ("num_classes", arch["num_classes"]),
                      ("conditional", arch["kind"] == "cvae")):
        if key in m and m[key] is not None and (m[key] != want or type(m[key]) is not type(want)):
            raise CheckpointError(f"metadata field '{key}' ({_short(m[key])}) contradicts the architecture ({want})")
    m["latent_dim"], m["num_classes"] = arch["latent_dim"], arch["num_classes"]
    m["conditional"] = arch["kind"] == "cvae"
    if m.get("name") is not None:
        try:
            m["name"] = validate_name(m["name"])
        except CheckpointError as exc:
            raise CheckpointError(f"metadata field 'name' is not a valid model name: {exc}") from None
    m["beta"] = _float_field(m, "beta", 0.0, MAX_BETA, default=1.0)
    m["free_bits"] = _float_field(m, "free_bits", 0.0, 100.0)
    m["epochs"] = _int_field(m, "epochs", 0, 1_000_000)
    m["steps"] = _int_field(m, "steps", 0, 10**12)
    m["seed"] = _int_field(m, "seed", -(2**63), 2**64 - 1)
    m["likelihood"] = _choice_field(m, "likelihood", LIKELIHOODS, "bernoulli")
    m["binarization"] = _choice_field(m, "binarization", BINARIZATIONS, "none")
    for key in ("created", "code_version", "command", "dtype", "weights_sha256", "family", "description"):
        _str_field(m, key)
    for key in ("recipe", "kl_schedule", "training", "tensors"):
        if m.get(key) is not None and not isinstance(m[key], dict):
            raise CheckpointError(f"metadata field '{key}' must be an object (got {_short(m[key])})")
    ds = m.get("dataset")
    if ds is None:
        ds = {}
    if not isinstance(ds, dict):
        raise CheckpointError(f"metadata field 'dataset' must be an object with a 'name' (got {_short(ds)})")
    ds = dict(ds)
    ds["name"] = ds.get("name", "mnist")
    if ds["name"] not in DATASET_NAMES:
        raise CheckpointError(f"metadata field 'dataset.name' must be one of {', '.join(DATASET_NAMES)} "
                              f"(got {_short(ds['name'])})")
    ds["n_train"] = _int_field(ds, "n_train", 0, 10**9, where="dataset.")
    ds["n_test"] = _int_field(ds, "n_test", 0, 10**9, where="dataset.")
    for key in ("source", "description"):
        _str_field(ds, key, where="dataset.")
    if ds["name"] == "user" or image_shape is not None:
        _check_user_dataset(ds, image_shape)
    m["dataset"] = ds
    tm = m.get("test_metrics")
    if tm is None:
        tm = {}
    if not isinstance(tm, dict) or len(tm) > 64:
        raise CheckpointError(f"metadata field 'test_metrics' must be an object of at most 64 numbers "
                              f"(got {_short(tm)})")
    for k, v in tm.items():
        if len(k) > 64:
            raise CheckpointError("metadata field 'test_metrics' has a key longer than 64 characters")
        if v is not None and (not _is_num(v) or not math.isfinite(float(v)) or abs(v) > 1e12):
            raise CheckpointError(f"metadata field 'test_metrics.{k[:40]}' must be a finite number (got {_short(v)})")
    m["test_metrics"] = dict(tm)
    if tensors is not None:
        check_digit_tensors(arch, tensors)
    return m


def _image_shape(v) -> tuple[int, int] | None:
    if v is None:
        return None
    if (not isinstance(v, list) or len(v) != 2
            or not all(isinstance(s, int) and not isinstance(s, bool) and 1 <= s <= MAX_IMAGE_SIDE for s in v)):
        raise CheckpointError(f"metadata field 'dataset.image_shape' must be [height, width], each from 1 to "
                              f"{MAX_IMAGE_SIDE} (got {_short(v)})")
    return int(v[0]), int(v[1])


def _check_user_dataset(ds: dict, image_shape) -> None:
    """A user's data set (#19): its SHA-256 (how the app finds the file again), image shape and label names."""
    if ds["name"] != "user":
        raise CheckpointError("metadata field 'dataset.image_shape' is only for a user's data set (dataset.name "
                              "'user')")
    if image_shape is None:
        raise CheckpointError("metadata field 'dataset.image_shape' is missing (a user's data set needs it)")
    sha = ds.get("sha256")
    if not isinstance(sha, str) or len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
        raise CheckpointError(f"metadata field 'dataset.sha256' must be 64 lowercase hex digits (got {_short(sha)})")
    names = ds.get("label_names", [])
    if (not isinstance(names, list) or not 1 <= len(names) <= 100
            or not all(isinstance(n, str) and 1 <= len(n) <= 40 for n in names)):
        raise CheckpointError("metadata field 'dataset.label_names' must be a list of 1 to 100 names of 1 to 40 "
                              "characters")
    if not isinstance(ds.get("has_labels", False), bool):
        raise CheckpointError("metadata field 'dataset.has_labels' must be true or false")
    _str_field(ds, "file", 200, where="dataset.")
    _int_field(ds, "n", 0, 10**9, where="dataset.")
    ds["image_shape"] = list(image_shape)


def check_digit_tensors(arch: dict, tensors: dict) -> None:
    """Every tensor the architecture needs, with its shape, and no other (before building anything)."""
    want = digit_tensor_shapes(arch)
    missing, extra = sorted(set(want) - set(tensors)), sorted(set(tensors) - set(want))
    if missing or extra:
        raise CheckpointError(
            f"the weights do not fit the architecture in the metadata (missing {missing[:3]}, "
            f"unexpected {[e[:60] for e in extra[:3]]})")
    for k, shape in want.items():
        got = tuple(tensors[k].shape)
        if got != shape:
            raise CheckpointError(f"tensor {k!r} has shape {got}, the architecture needs {shape}")


register_family(DEFAULT_FAMILY, validate_digit_metadata)


# ------------------------------------------------------------------ digit family: metadata builder
def dataset_info(train_data=None, test_data=None, **fields) -> dict:
    """The 'dataset' metadata entry from DigitData objects and/or explicit fields."""
    info = {}
    if train_data is not None:
        info.update(name=train_data.name, source=train_data.source, description=train_data.description,
                    n_train=len(train_data))
    if test_data is not None:
        info["n_test"] = len(test_data)
    info.update({k: v for k, v in fields.items() if v is not None})
    info.setdefault("name", "mnist")
    return info


def _clean_metrics(metrics: dict | None) -> dict:
    out = {}
    for k, v in (metrics or {}).items():
        if isinstance(v, bool) or not _is_num(v):
            continue
        if isinstance(v, float) or torch.is_tensor(v):
            v = float(v)
            out[k] = v if math.isfinite(v) else None
        else:
            out[k] = int(v)
    return out


def build_metadata(cfg, result=None, *, name: str | None = None, dataset: dict | None = None,
                   test_metrics: dict | None = None, command: str | None = None, **extra) -> dict:
    """THE metadata of a digit model trained with ``cfg`` (a TrainConfig): used by the CLI, the
    Train & Models page and the β/KL Lab.  Non-finite metrics become null (JSON has no NaN);
    ``likelihood`` / ``binarization`` come from the config when it has them."""
    meta = checkpoint_metadata(
        DEFAULT_FAMILY, name=name, recipe=cfg.to_dict(), command=command,
        beta=float(cfg.beta),
        kl_schedule=cfg.schedule.to_dict(),
        free_bits=float(cfg.free_bits) if cfg.free_bits is not None else None,
        likelihood=getattr(cfg, "likelihood", "bernoulli"),
        binarization=getattr(cfg, "binarization", "none"),
        dataset=dataset if dataset is not None else {"name": "mnist"},
        seed=cfg.seed,
        test_metrics=_clean_metrics(test_metrics),
    )
    if result is not None:
        meta.update({
            "epochs": result.epochs_done,
            "steps": result.steps,
            "training": {
                "train_seconds": round(float(result.train_seconds), 2),
                "wall_seconds": round(float(getattr(result, "wall_seconds", result.train_seconds)), 2),
                "samples_per_s": round(float(result.samples_per_s), 1),
                "stopped": bool(result.stopped),
                "diverged": bool(result.diverged),
                "message": result.message,
            },
        })
    meta.update(extra)
    return meta


def training_metadata(cfg, result, train_data, test_data, metrics: dict, name: str | None = None,
                      command: str | None = None) -> dict:
    """The metadata the command line records: :func:`build_metadata` with the data's description."""
    return build_metadata(cfg, result, name=name, dataset=dataset_info(train_data, test_data),
                          test_metrics=metrics, command=command)


# ------------------------------------------------------------------- digit family: save / load
def checkpoint_bytes(model: VAE, metadata: dict, dtype: str = "float32") -> tuple[bytes, bytes]:
    """Serialise a digit model to (safetensors bytes, json bytes) without touching the disk."""
    state = state_tensors(model, dtype)
    meta = dict(metadata)
    meta.update({
        "family": DEFAULT_FAMILY,
        "model": model.config(),
        "latent_dim": model.latent_dim,
        "conditional": model.conditional,
        "num_classes": model.num_classes,
        "dtype": dtype,
    })
    return pair_bytes(state, meta)


def save_checkpoint(path: str | os.PathLike, model: VAE, metadata: dict | None = None,
                    dtype: str = "float32", overwrite: bool = True) -> tuple[Path, Path]:
    """Write PATH.safetensors and PATH.json (whole or not at all, see the module doc); returns both paths."""
    weights, meta = checkpoint_bytes(model, metadata or {}, dtype)
    return _write_pair_bytes(path, weights, meta, overwrite)


def load_checkpoint_bytes(weights: bytes, meta_bytes: bytes, max_bytes: int = MAX_WEIGHTS_BYTES) -> tuple[VAE, dict]:
    """Validate and load a digit checkpoint from its two files' contents."""
    tensors, meta = read_checkpoint_pair_bytes(weights, meta_bytes, max_bytes, family=DEFAULT_FAMILY)
    return _build(tensors, meta)


def _build(tensors: dict, meta: dict) -> tuple[VAE, dict]:
    model = load_weights(build_model(meta["model"]), tensors)  # sizes validated and matched already
    shape = (meta.get("dataset") or {}).get("image_shape")
    if shape:  # a user's data set (#19): decode_np and the pages draw (H, W) images
        model.image_shape = (int(shape[0]), int(shape[1]))
    return model, meta


def load_checkpoint(path: str | os.PathLike, max_bytes: int = MAX_WEIGHTS_BYTES) -> tuple[VAE, dict]:
    """Load ``PATH.safetensors`` + ``PATH.json`` (PATH may name either file or the stem)."""
    wpath, _ = pair_paths(path)
    tensors, meta = read_checkpoint_pair(path, max_bytes, family=DEFAULT_FAMILY)
    model, meta = _build(tensors, meta)
    if not meta.get("name"):
        meta["name"] = wpath.name.removesuffix(".safetensors")
    return model, meta
