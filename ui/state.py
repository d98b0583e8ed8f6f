"""Models, data and what a session holds: the model registry (shipped, saved on this server, this session's),
the :class:`ActiveModel` the pages work with, server-wide caches of models, data, encodings and projections
(keyed by the model's ``key``, through ``hash_funcs``), saving / uploading / downloading checkpoints, and the
guards a page calls before it draws (``require_model``, ``require_data``)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import streamlit as st
import torch

from vae_core import CheckpointError, DataUnavailable, load_dataset
from vae_core.digits.checkpoint import (
    DEFAULT_FAMILY,
    MAX_JSON_BYTES,
    checkpoint_bytes,
    list_checkpoints,
    load_checkpoint,  # the digit family's loader: refuses other families
    load_checkpoint_bytes,
    parse_metadata,
    save_checkpoint,
    validate_digit_metadata,
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

    @property
    def image_shape(self) -> tuple[int, int]:
        """(H, W) of the images this model takes: 28×28 digits, or its own data set's shape (#19)."""
        shape = (self.meta.get("dataset") or {}).get("image_shape")
        return (int(shape[0]), int(shape[1])) if shape else (28, 28)

    @property
    def is_user_data(self) -> bool:
        """Trained on a user's data set (``vae_core.digits.user_data``), not on one of the digit data sets."""
        return self.dataset_name == "user"

    def encodings(self, split: str = "test") -> tuple[np.ndarray, np.ndarray]:
        """(mu, logvar) of every image of the split: cached per model."""
        return _encodings(self, split, self.dataset_name)

    def data(self, split: str = "test"):
        if self.is_user_data:  # the data set the model's JSON names, found by its SHA-256 (ui.byo)
            from ui.byo import user_split

            ds = self.meta.get("dataset") or {}
            return user_split(ds.get("sha256"), split, ds.get("file"))
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
@st.cache_resource(show_spinner="Loading model…", max_entries=16)
def _load_file_model(path: str, mtime: float):  # noqa: ARG001 - mtime: cache key (a rewritten file reloads)
    return load_checkpoint(path)


@st.cache_resource(show_spinner="Loading digits…")
def get_data(split: str = "test", name: str = "mnist"):
    """The dataset split as a vae_core.DigitData (cached for the whole server)."""
    return load_dataset(name, split)


@st.cache_resource(show_spinner="Encoding the test set…", max_entries=32, hash_funcs=BY_MODEL_KEY)
def _encodings(am: ActiveModel, split: str, name: str) -> tuple[np.ndarray, np.ndarray]:  # noqa: ARG001 - name: a key
    data = am.data(split)  # the model's own data set (a user's, #19); name stays part of the cache key
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


def _valid_name(name: str) -> bool:
    try:
        return validate_name(name) == name
    except CheckpointError:
        return False


def available_models() -> dict[str, str]:
    """key -> label of every digit model the picker offers.  Files are offered only when their name is a valid
    model name (a name is shown on the pages and must be plain) and their metadata passes the digit family's
    schema (checked from the JSON alone, cached per file version): checkpoints of other families (e.g. the
    classifier, the text and sprite VAEs) and broken or hostile files never reach the pages."""
    out = {}
    for prefix, folder, tag in (("shipped", SHIPPED_DIR, "shipped"), ("saved", USER_DIR, "saved")):
        for p in list_checkpoints(folder):
            if _valid_name(p.name) and model_facts(f"{prefix}/{p.name}") is not None:
                out[f"{prefix}/{p.name}"] = f"{p.name} ({tag})"
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


# a session's own models (trained or uploaded) live in its session_state and go with the session (Streamlit
# drops a session server.disconnectedSessionTTL seconds after its tab closed); at most this many / this much
MAX_SESSION_MODELS = 12
MAX_SAVED_MODELS = int(os.environ.get("VAE_MAX_SAVED_MODELS", "100"))  # in the shared folder, from all sessions
MAX_SESSION_MODEL_BYTES = 256 * 2**20  # float32 parameters


def _param_bytes(model) -> int:
    return sum(p.numel() * p.element_size() for p in model.parameters())


def add_session_model(name: str, model, meta: dict) -> str:
    """Register (or replace) a model of this session under ``name``.  Beyond MAX_SESSION_MODELS models or
    MAX_SESSION_MODEL_BYTES of weights the oldest other models are dropped (with a toast saying which)."""
    models = _session_models()
    models.pop(name, None)
    if _param_bytes(model) > MAX_SESSION_MODEL_BYTES:
        raise CheckpointError(f"this model's weights take {_param_bytes(model) / 2**20:,.0f} MiB; a session may "
                              f"hold at most {MAX_SESSION_MODEL_BYTES / 2**20:,.0f} MiB of models")
    dropped = []
    while models and (len(models) >= MAX_SESSION_MODELS or _param_bytes(model) + sum(
            _param_bytes(m) for m, _ in models.values()) > MAX_SESSION_MODEL_BYTES):
        old = next(iter(models))  # insertion order: the oldest first
        models.pop(old)
        dropped.append(old)
    models[name] = (model, meta)
    if dropped:
        st.toast("To stay within this session's limit of models, removed: " + ", ".join(dropped))
        if st.session_state.get("model_key") in {f"session/{d}" for d in dropped}:
            st.session_state.pop("model_key", None)
    return f"session/{name}"


def remove_session_model(name: str) -> None:
    _session_models().pop(name, None)


def get_session_model(key: str | None):
    """(model, meta) of a ``session/<name>`` key of this session, or None (e.g. dropped to stay in the limit)."""
    if not key or not key.startswith("session/"):
        return None
    return _session_models().get(key.removeprefix("session/"))


def max_upload_mb() -> int:
    """The upload limit per file (``server.maxUploadSize`` in .streamlit/config.toml), MB."""
    return int(st.get_option("server.maxUploadSize"))


@st.cache_data(max_entries=256, show_spinner=False)
def _file_facts(path: str, mtime: float) -> dict | None:  # noqa: ARG001 - mtime: cache key (a rewritten file rereads)
    try:
        jpath = Path(path + ".json")
        if jpath.stat().st_size > MAX_JSON_BYTES:
            return None
        meta = parse_metadata(jpath.read_bytes())
        return validate_digit_metadata(meta) if meta["family"] == DEFAULT_FAMILY else None
    except (CheckpointError, OSError):
        return None


def model_facts(key: str) -> dict | None:
    """The validated metadata of a model (with ``latent_dim`` and ``conditional``) without loading its weights,
    or None when it is gone or invalid: what a table of all models needs."""
    kind, _, name = key.partition("/")
    if kind == "session":
        got = _session_models().get(name)
        if got is None:
            return None
        model, meta = got
        return dict(meta, latent_dim=model.latent_dim, conditional=model.conditional)
    path = (SHIPPED_DIR if kind == "shipped" else USER_DIR) / name
    try:
        mtime = path.with_name(path.name + ".json").stat().st_mtime
    except OSError:
        return None
    return _file_facts(str(path), mtime)


def save_user_model(name: str, model, meta: dict) -> Path:
    """Save to the shared user-model folder (whole or not at all, never over an existing model).

    One name normalisation for every check and the writer (``validate_name``: a name ending in .json or
    .safetensors is refused, not shortened); names of shipped models and saved ones are compared ignoring
    case, so nothing can shadow or look like another model; the final exists-check and the commit happen
    under the folder's write lock (``save_checkpoint(overwrite=False)``)."""
    name = validate_name(name)
    if name.lower() in {p.name.lower() for p in list_checkpoints(SHIPPED_DIR)}:
        raise CheckpointError(f"'{name}' is the name of a shipped model; choose another")
    taken = {p.name.lower(): p.name for p in list_checkpoints(USER_DIR)}
    if len(taken) >= MAX_SAVED_MODELS:
        raise CheckpointError(f"this server already holds {len(taken)} saved models, its limit; nothing was saved")
    if name.lower() in taken:
        raise CheckpointError(f"a model called '{taken[name.lower()]}' is already saved on this server; choose "
                              "another name (saved models are never overwritten)")
    wpath, _ = save_checkpoint(USER_DIR / name, model, dict(meta, name=name), overwrite=False)
    from ui.owner import record_saved

    record_saved(USER_DIR, name)  # this browser (its secret's hash) may delete it (#21)
    return wpath


@st.cache_data(max_entries=4, ttl=600, show_spinner=False, hash_funcs=BY_MODEL_KEY)
def checkpoint_files(am: ActiveModel) -> tuple[bytes, bytes]:
    """The (safetensors, json) bytes of a model for download, serialised once per model key (a few, for 10 min)."""
    return checkpoint_bytes(am.model, am.meta)


def load_uploaded(weights: bytes, meta: bytes):
    return load_checkpoint_bytes(weights, meta)


def session_id() -> str:
    """The owner of this browser's background jobs: the SHA-256 of the secret the browser keeps in a cookie
    (``ui.owner``), never anything from the URL; a reloaded tab is the same owner (its training is found again
    and keeps its stop button), a shared link is not."""
    from ui.owner import session_owner

    return session_owner()


# ------------------------------------------------------------- page guards
def require_model() -> ActiveModel:
    """The model picked in the sidebar (app.py stores it in session_state['_active']); stops the page without."""
    am = st.session_state.get("_active")
    if am is None:
        st.info("Pick or train a model first (sidebar).")
        st.stop()
    return am


def page_start(title: str, any_images: bool = False) -> tuple[ActiveModel, object]:
    """A digit page's opening: its title, the sidebar's model and that model's test data (stops the page
    with a message when either is missing; ``any_images``: see :func:`require_data`)."""
    st.title(title)
    am = require_model()
    return am, require_data(am, any_images=any_images)


def require_data(am: ActiveModel, split: str = "test", any_images: bool = False):
    """The model's data split; stops the page with a message when it cannot be had.  A page that works only on
    28×28 digits (``any_images=False``) says so for a model of a user's own data set (#19) and stops."""
    if am.is_user_data and not any_images:
        h, w = am.image_shape
        st.info(f"This page works on 28×28 MNIST-style digits only; the model in the sidebar was trained on your "
                f"own {h}×{w} images. Latent Map, Decoder Sliders, Interpolation and the β/KL Lab work on it; "
                "pick a digit model in the sidebar for this page.")
        st.stop()
    try:
        return am.data(split)
    except DataUnavailable as exc:
        st.error(str(exc))
        st.stop()
