"""Sequence-VAE checkpoints: the project's one format (safetensors + JSON, family "seq-vae").

Writing and reading go through :mod:`vae_core.digits.checkpoint`' generic pair I/O
(atomic, checksummed, never unpickled); this module adds the family's
validator: the metadata's architecture is range-checked, the vocabulary is
parsed, and every tensor's name and shape must equal those of the model the
metadata describes.
"""

from __future__ import annotations

import os

from ..pair_io import CheckpointError, read_model, read_model_bytes, register_family, write_model
from ..pair_read import check_int_fields, check_state_shapes
from .model import SeqVAE

FAMILY = "seq-vae"
LIMITS = {"latent_dim": (1, 256), "embed_dim": (1, 1024), "enc_hidden": (1, 2048), "dec_hidden": (1, 2048),
          "dec_layers": (1, 4), "max_len": (2, 1000)}


def _model_from_meta(meta: dict) -> SeqVAE:
    cfg = meta.get("model")
    if not isinstance(cfg, dict) or cfg.get("family") != FAMILY:
        raise CheckpointError("the metadata does not describe a sequence VAE")
    check_int_fields(cfg, LIMITS)
    vocab = cfg.get("vocab")
    if not isinstance(vocab, dict) or not isinstance(vocab.get("tokens"), list) or len(vocab["tokens"]) > 500:
        raise CheckpointError("the metadata's vocabulary must be a list of at most 500 tokens")
    try:
        return SeqVAE.from_config(cfg)
    except (ValueError, KeyError, TypeError) as exc:
        raise CheckpointError(f"the metadata's model description is invalid ({exc})") from None


def validate_seq_metadata(meta: dict, tensors: dict) -> dict:
    """The seq-vae family's validator: the described model's tensors must be exactly ``tensors``."""
    check_state_shapes(_model_from_meta(meta), tensors)
    return meta


register_family(FAMILY, validate_seq_metadata)


def save_seq_checkpoint(path: str | os.PathLike, model: SeqVAE, metadata: dict, dtype: str = "float32",
                        overwrite: bool = True):
    """Write PATH.safetensors + PATH.json (weights as float32 or float16)."""
    return write_model(path, FAMILY, model, metadata, dtype, overwrite)


def load_seq_checkpoint(path: str | os.PathLike) -> tuple[SeqVAE, dict]:
    """A sequence VAE and its metadata; raises CheckpointError for anything invalid."""
    return read_model(path, FAMILY, _model_from_meta)


def load_seq_checkpoint_bytes(weights: bytes, meta_bytes: bytes) -> tuple[SeqVAE, dict]:
    return read_model_bytes(weights, meta_bytes, FAMILY, _model_from_meta)
