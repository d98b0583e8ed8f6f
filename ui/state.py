"""Models, data and what a session holds: the model registry (shipped, saved on this server, this session's),
the :class:`ActiveModel` the pages work with, server-wide caches of models, data, encodings and projections
(keyed by the model's ``key``, through ``hash_funcs``), saving / uploading / downloading checkpoints, and the
guards a page calls before it draws (``require_model``, ``require_data``)."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import streamlit as st
import torch

from vae_core import CheckpointError, DataUnavailable, load_checkpoint, load_dataset
from vae_core.checkpoints import (
    checkpoint_bytes,
    list_checkpoints,
    load_checkpoint_bytes,
    save_checkpoint,
    validate_name,
)
from vae_core.latent import PCA, decode_np, encode_dataset, project_2d

ROOT = Path(__file__).resolve().parent.parent
SHIPPED_DIR = Path(os.environ.get("VAE_CHECKPOINT_DIR", ROOT / "checkpoints"))
USER_DIR = Path(os.environ.get("VAE_USER_MODELS", ROOT / "user_models"))
DEFAULT_MODEL = "shipped/mnist-z2"


@dataclass(eq=False)
class ActiveModel:
    """A model with the key that names it in every cache: ``shipped/<name>@<mtime>`` or ``saved/…`` for files
    (a rewritten file gets a new key), ``session/<name>#<id>`` for a model of this session, or any other
    unique string (e.g. a β/KL Lab job member) for a model held elsewhere."""

    key: str
    name: str
    model: torch.nn.Module
    meta: dict = field(default_factory=dict)

    @property
    def latent_dim(self) -> int:
        return self.model.latent_dim

    @property
    def conditional(self) -> bool:
        return self.model.conditional

    @property
    def dataset_name(self) -> str:
        return (self.meta.get("dataset") or {}).get("name", "mnist")

    def encodings(self, split: str = "test") -> tuple[np.ndarray, np.ndarray]:
        """(mu, logvar) of every image of the split: cached per model."""
        return _encodings(self, split, self.dataset_name)

    def data(self, split: str = "test"):
        return get_data(split, self.dataset_name)

    def projection(self, method: str = "pca", n: int | None = None):
        """2-D coordinates of the first n test means, axis labels and the projector (PCA or None)."""
        n = n or len(self.encodings()[0])
        return _projection(self, method, n)

    def pca(self) -> PCA:
        """Principal axes of all test posterior means (for projecting d > 2 latents)."""
        return _pca(self)

    def to_2d(self, z: np.ndarray) -> np.ndarray:
        z = np.atleast_2d(z)
        if self.latent_dim == 2:
            return z
        return self.pca().transform(z)[:, :2]

    def decode(self, z, y=None) -> np.ndarray:
        return decode_np(self.model, z, y)


def model_key(am: ActiveModel) -> str:
    """What caches hash an ActiveModel by (``hash_funcs={ActiveModel: model_key}``)."""
    return am.key


BY_MODEL_KEY = {ActiveModel: model_key}


# ----------------------------------------------------------------- caching
@st.cache_resource(show_spinner="Loading model…")
def _load_file_model(path: str, mtime: float):
    return load_checkpoint(path)


@st.cache_resource(show_spinner="Loading digits…")
def get_data(split: str = "test", name: str = "mnist"):
    """The dataset split as a vae_core.DigitData (cached for the whole server)."""
    return load_dataset(name, split)


@st.cache_resource(show_spinner="Encoding the test set…", max_entries=32, hash_funcs=BY_MODEL_KEY)
def _encodings(am: ActiveModel, split: str, name: str) -> tuple[np.ndarray, np.ndarray]:
    data = get_data(split, name)
    return encode_dataset(am.model, data.images, data.labels)


@st.cache_resource(show_spinner="Projecting…", max_entries=32, hash_funcs=BY_MODEL_KEY)
def _projection(am: ActiveModel, method: str, n: int):
    return project_2d(am.encodings()[0][:n], method)


@st.cache_resource(max_entries=32, hash_funcs=BY_MODEL_KEY)
def _pca(am: ActiveModel) -> PCA:
    return PCA(am.encodings()[0])


# ------------------------------------------------------------ model registry
def _session_models() -> dict:
    return st.session_state.setdefault("session_models", {})


def available_models() -> dict[str, str]:
    """key -> label of every model the picker offers."""
    out = {}
    for p in list_checkpoints(SHIPPED_DIR):
        out[f"shipped/{p.name}"] = f"{p.name} (shipped)"
    for p in list_checkpoints(USER_DIR):
        out[f"saved/{p.name}"] = f"{p.name} (saved)"
    for name in _session_models():
        out[f"session/{name}"] = f"{name} (this session)"
    return out


def get_model(key: str) -> ActiveModel:
    kind, _, name = key.partition("/")
    if kind == "session":
        model, meta = _session_models()[name]
        return ActiveModel(key + f"#{id(model)}", name, model, meta)
    folder = SHIPPED_DIR if kind == "shipped" else USER_DIR
    path = folder / name
    # not path.with_suffix: a name such as "mnist-z2-beta0.5" has a dot of its own
    mtime = path.with_name(path.name + ".safetensors").stat().st_mtime
    model, meta = _load_file_model(str(path), mtime)
    return ActiveModel(f"{key}@{mtime}", name, model, meta)


def session_model(name: str):
    """The (model, meta) registered in this session under ``name``, or None."""
    return _session_models().get(name)


def add_session_model(name: str, model, meta: dict) -> str:
    _session_models()[name] = (model, meta)
    return f"session/{name}"


def save_user_model(name: str, model, meta: dict, overwrite: bool = False) -> Path:
    """Save to the shared user-model folder under a validated name (atomic)."""
    name = validate_name(name)
    if (SHIPPED_DIR / f"{name}.safetensors").exists():
        raise CheckpointError(f"'{name}' is the name of a shipped model; choose another")
    if not overwrite and (USER_DIR / f"{name}.safetensors").exists():
        raise CheckpointError(f"a model called '{name}' is already saved on this server; choose another name "
                              "(models saved by other sessions are never overwritten silently)")
    meta = dict(meta, name=name)
    wpath, _ = save_checkpoint(USER_DIR / name, model, meta)
    return wpath


@st.cache_data(max_entries=8, show_spinner=False, hash_funcs=BY_MODEL_KEY)
def checkpoint_files(am: ActiveModel) -> tuple[bytes, bytes]:
    """The (safetensors, json) bytes of a model for download, serialised once per model key."""
    return checkpoint_bytes(am.model, am.meta)


def load_uploaded(weights: bytes, meta: bytes):
    return load_checkpoint_bytes(weights, meta)


def session_id() -> str:
    return st.session_state.setdefault("session_id", uuid.uuid4().hex[:8])


# ------------------------------------------------------------- page guards
def require_model() -> ActiveModel:
    """The model picked in the sidebar (app.py stores it in session_state['_active']); stops the page without."""
    am = st.session_state.get("_active")
    if am is None:
        st.info("Pick or train a model first (sidebar).")
        st.stop()
    return am


def require_data(am: ActiveModel, split: str = "test"):
    try:
        return am.data(split)
    except DataUnavailable as exc:
        st.error(str(exc))
        st.stop()
