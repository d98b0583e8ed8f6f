"""Mult-VAE checkpoints: family "mult-vae" in the one format (safetensors + JSON via pair I/O, never unpickled).

The validator checks the described architecture's ranges, that ``item_ids`` (the column order) has exactly
``n_items`` distinct integers, and that every tensor's name and shape equals the described model's.
"""

from __future__ import annotations

import os

from ..pair_io import CheckpointError, read_model, read_model_bytes, register_family, write_model
from ..pair_read import check_int_fields, check_state_shapes
from .model import MultVAE

FAMILY = "mult-vae"
LIMITS = {"n_items": (1, 100_000), "hidden": (1, 4096), "latent_dim": (1, 1024)}


def _model_from_meta(meta: dict) -> MultVAE:
    cfg = meta.get("model")
    if not isinstance(cfg, dict) or cfg.get("family") != FAMILY:
        raise CheckpointError("the metadata does not describe a Mult-VAE")
    check_int_fields(cfg, LIMITS)
    if cfg.get("likelihood") not in ("multinomial", "bernoulli"):
        raise CheckpointError("the metadata's model.likelihood must be 'multinomial' or 'bernoulli'")
    ids = meta.get("item_ids")
    if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
        raise CheckpointError("the metadata's item_ids must be a list of integer item ids (the column order)")
    if len(ids) != cfg["n_items"] or len(set(ids)) != len(ids):
        raise CheckpointError(f"the metadata's item_ids list {len(ids)} ids ({len(set(ids))} distinct) but the "
                              f"model scores {cfg['n_items']} items: item_ids must name each weight column once")
    try:
        return MultVAE.from_config(cfg)
    except (ValueError, KeyError, TypeError) as exc:
        raise CheckpointError(f"the metadata's model description is invalid ({exc})") from None


def validate_multvae_metadata(meta: dict, tensors: dict) -> dict:
    check_state_shapes(_model_from_meta(meta), tensors, f"item_ids list {meta['model']['n_items']} items; ")
    return meta


register_family(FAMILY, validate_multvae_metadata)


def save_multvae(path: str | os.PathLike, model: MultVAE, metadata: dict, dtype: str = "float32",
                 overwrite: bool = True):
    return write_model(path, FAMILY, model, metadata, dtype, overwrite)


def load_multvae(path: str | os.PathLike):
    return read_model(path, FAMILY, _model_from_meta)


def load_multvae_bytes(weights: bytes, meta_bytes: bytes):
    return read_model_bytes(weights, meta_bytes, FAMILY, _model_from_meta)
