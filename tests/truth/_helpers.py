"""Shared by the page-truth tests: shipped models and the MNIST test set (fails under CI without them)."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import pytest

from vae_core import load_checkpoint, load_dataset

ROOT = Path(__file__).resolve().parents[2]
CKPT = Path(os.environ.get("VAE_CHECKPOINT_DIR", ROOT / "checkpoints"))


@lru_cache(maxsize=8)
def model(name: str):
    path = CKPT / name
    assert Path(f"{path}.safetensors").exists(), f"shipped checkpoint {name} missing from {CKPT}"
    m, meta = load_checkpoint(str(path))
    return m.eval(), meta


def mnist_test():
    d = load_dataset("mnist", "test")
    if d.is_sample:
        if os.environ.get("CI"):
            pytest.fail("CI must run with the full MNIST (VAE_DATA_DIR), not the offline sample")
        pytest.skip("full MNIST not available (only the offline sample)")
    return d
