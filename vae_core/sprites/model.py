"""β-VAEs on the procedural sprites: checkpoint family ``sprites-vae``, metrics and latent traversals.

The model is :class:`vae_core.digits.model.VAE` (MLP encoder/decoder, Gaussian q(z|x), Bernoulli p(x|z)) with a
4096-pixel input (64x64 binary sprites).  Checkpoints are ordinary pairs written by
:func:`vae_core.pair_io.write_checkpoint_pair` with ``family = "sprites-vae"``; the validator below checks
the architecture and every tensor's shape before anything is built.
"""

from __future__ import annotations

import itertools
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..digits.model import ACTIVATIONS, VAE, build_model
from ..images import tile as tile_images
from ..latent import active_units
from ..objectives import gaussian_kl_per_dim
from ..pair_io import (
    CheckpointError,
    load_weights,
    read_checkpoint_pair,
    register_family,
    state_tensors,
    write_checkpoint_pair,
)
from . import data as sp
from .disentangle import mig

FAMILY = "sprites-vae"
INPUT_DIM = sp.IMAGE_SIZE * sp.IMAGE_SIZE
ACTIVE_KL = 0.1  # nats: a dimension whose mean KL is above this carries information (the pages' "active")


# ------------------------------------------------------------------ checkpoint family
def _shapes(arch: dict) -> dict[str, tuple[int, ...]]:
    h, d, n = arch["hidden_dims"], arch["latent_dim"], INPUT_DIM
    shapes: dict[str, tuple[int, ...]] = {}
    for prefix, sizes in (("encoder", [n, *h]), ("decoder", [d, *reversed(h)])):
        for i, (a, b) in enumerate(itertools.pairwise(sizes)):
            shapes[f"{prefix}.{2 * i}.weight"], shapes[f"{prefix}.{2 * i}.bias"] = (b, a), (b,)
    for head in ("fc_mu", "fc_logvar"):
        shapes[f"{head}.weight"], shapes[f"{head}.bias"] = (d, h[-1]), (d,)
    shapes["fc_out.weight"], shapes["fc_out.bias"] = (n, h[0]), (n,)
    return shapes


def validate_sprite_metadata(meta: dict, tensors: dict | None = None) -> dict:
    """Architecture (plain VAE, 4096 inputs, ranges) and, with ``tensors``, every tensor's name and shape."""
    arch = meta.get("model")
    if not isinstance(arch, dict) or arch.get("kind", "vae") != "vae":
        raise CheckpointError("a sprites-vae checkpoint must describe a plain VAE in 'model'")
    d, h = arch.get("latent_dim"), arch.get("hidden_dims")
    if not isinstance(d, int) or isinstance(d, bool) or not 2 <= d <= 64:
        raise CheckpointError("metadata field 'model.latent_dim' must be a whole number from 2 to 64")
    if (not isinstance(h, list) or not 1 <= len(h) <= 4
            or not all(isinstance(x, int) and not isinstance(x, bool) and 1 <= x <= 4096 for x in h)):
        raise CheckpointError("metadata field 'model.hidden_dims' must be 1 to 4 layer sizes from 1 to 4096")
    if arch.get("input_dim") != INPUT_DIM:
        raise CheckpointError(f"a sprites model takes 64x64 = {INPUT_DIM} pixels ('model.input_dim')")
    if arch.get("activation", "relu") not in ACTIVATIONS or arch.get("num_classes", 0) != 0:
        raise CheckpointError("metadata field 'model.activation' or 'model.num_classes' is invalid")
    beta = meta.get("beta")
    if not isinstance(beta, int | float) or isinstance(beta, bool) or not (math.isfinite(beta) and beta >= 0):
        raise CheckpointError("metadata field 'beta' must be a finite number >= 0")
    if tensors is not None:
        want = _shapes(arch)
        if set(want) != set(tensors) or any(tuple(tensors[k].shape) != s for k, s in want.items()):
            raise CheckpointError("the weights do not fit the sprites architecture in the metadata")
    return dict(meta)


register_family(FAMILY, validate_sprite_metadata)


def save_sprite_model(path, model: VAE, metadata: dict, dtype: str = "float16"):
    state = state_tensors(model, dtype)
    meta = dict(metadata, family=FAMILY, model=model.config(), latent_dim=model.latent_dim, dtype=dtype)
    validate_sprite_metadata(meta, state)
    return write_checkpoint_pair(path, state, meta)


def load_sprite_model(path) -> tuple[VAE, dict]:
    tensors, meta = read_checkpoint_pair(path, family=FAMILY)
    model = load_weights(build_model(meta["model"]), tensors)
    meta.setdefault("name", Path(str(path)).name)
    return model, meta


def shipped_sprite_models(folder=None) -> list[Path]:
    """Stems of the sprites-vae checkpoints in the shipped folder, in order of β."""
    from ..pair_io import list_checkpoints

    folder = Path(folder or os.environ.get("VAE_CHECKPOINT_DIR") or Path(__file__).resolve().parents[2]
                  / "checkpoints")
    found = []
    for p in list_checkpoints(folder):
        if p.name.startswith("sprites-"):
            try:
                import json

                meta = json.loads(p.with_name(p.name + ".json").read_text())
            except (OSError, ValueError):
                continue
            if isinstance(meta, dict) and meta.get("family") == FAMILY:
                found.append((float(meta.get("beta", 0)), p))
    return [p for _, p in sorted(found)]


# ------------------------------------------------------------------ metrics
@torch.no_grad()
def posterior_params(model: VAE, images: torch.Tensor, batch_size: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """(mu, logvar) of q(z|x) for every image, float64 numpy (N, d)."""
    mus, lvs = [], []
    for i in range(0, images.shape[0], batch_size):
        mu, lv = model.encode(images[i:i + batch_size].reshape(-1, model.input_dim).float())
        mus.append(mu)
        lvs.append(lv)
    return torch.cat(mus).double().numpy(), torch.cat(lvs).double().numpy()


@torch.no_grad()
def sprite_metrics(model: VAE, test: sp.Sprites, full: sp.Sprites | None = None) -> dict:
    """Test -ELBO terms, KL per dimension, active units (:func:`vae_core.latent.active_units`) and MIG
    (posterior means of every combination)."""
    from ..objectives import evaluate

    m = evaluate(model, test.flat(), iwae_k=0)
    mu_t, lv_t = posterior_params(model, test.flat())
    kl_t = gaussian_kl_per_dim(torch.from_numpy(mu_t), torch.from_numpy(lv_t)).mean(0)
    full = full if full is not None else sp.make_sprites()
    mu, _ = posterior_params(model, full.flat())
    res = mig(mu, full.factors)
    return {
        "neg_elbo": float(m["neg_elbo"]), "recon": float(m["recon"]), "kl": float(m["kl"]),
        "kl_per_dim": [float(v) for v in kl_t],
        "active_units": active_units(mu_t)[0],
        "mig": res.mig,
        "mig_per_factor": dict(zip(sp.FACTOR_NAMES, (float(v) for v in res.per_factor), strict=True)),
        "mi_normalised": [[float(v) for v in row] for row in res.normalised_mi],  # (latent, factor)
        "mig_samples": len(full),
    }


# ------------------------------------------------------------------ traversals
@torch.no_grad()
def traversal(model: VAE, z0: np.ndarray, dims, values) -> np.ndarray:
    """Decoded images (len(dims), len(values), 64, 64): z0 with dimension dims[i] set to values[k]."""
    dims, values = list(dims), np.asarray(values, dtype=np.float64)
    z = np.repeat(np.asarray(z0, dtype=np.float64)[None, None, :], len(dims), 0).repeat(len(values), 1)
    for i, j in enumerate(dims):
        z[i, :, j] = values
    x = model.decode(torch.from_numpy(z.reshape(-1, z.shape[-1])).float())
    return x.reshape(len(dims), len(values), sp.IMAGE_SIZE, sp.IMAGE_SIZE).numpy()


@dataclass(frozen=True)
class DimFactor:
    """One latent dimension of a sprite model: its KL, whether it is active, and the factor it holds most."""

    dim: int
    kl: float  # mean KL(q(z_j|x) || N(0, 1)) over the test sprites, nats
    active: bool  # kl > ACTIVE_KL
    factor: str  # the factor with the largest share I(z_j; v_k) / H(v_k)
    share: float
    second: str  # the runner-up factor and its share
    second_share: float


@dataclass(frozen=True)
class SweepRow:
    """One model of a β sweep, from the test metrics stored in its JSON."""

    name: str | None
    beta: float
    mig: float
    mig_per_factor: dict[str, float]  # the gap of each factor, by name
    kl: float  # nats per sprite
    recon: float  # nats per sprite
    neg_elbo: float  # nats per sprite
    active_dims: int  # dimensions with mean KL above ACTIVE_KL


def dominant_factors(mi_normalised, kl: np.ndarray, active_kl: float = ACTIVE_KL) -> list[DimFactor]:
    """For each dimension, largest KL first: its KL, whether it is active (KL > ``active_kl`` nats), the factor it
    holds most information about and that factor's share I(z_j; v_k) / H(v_k), and the runner-up's share."""
    mi = np.asarray(mi_normalised, dtype=np.float64)
    rows = []
    for j in np.argsort(-np.asarray(kl)):
        order = np.argsort(-mi[j])
        rows.append(DimFactor(dim=int(j), kl=float(kl[j]), active=bool(kl[j] > active_kl),
                              factor=sp.FACTOR_NAMES[order[0]], share=float(mi[j, order[0]]),
                              second=sp.FACTOR_NAMES[order[1]], second_share=float(mi[j, order[1]])))
    return rows


def sweep_rows(metas: list[dict]) -> list[SweepRow]:
    """One row per model of a β sweep (sorted by β): β, MIG and its per-factor gaps, KL, -ELBO, and the number of
    active dimensions (mean KL above ``ACTIVE_KL``)."""
    rows = []
    for m in metas:
        tm = m.get("test_metrics", {})
        rows.append(SweepRow(
            name=m.get("name"), beta=float(m["beta"]), mig=float(tm["mig"]),
            mig_per_factor={f: float(tm["mig_per_factor"][f]) for f in sp.FACTOR_NAMES},
            kl=float(tm["kl"]), recon=float(tm["recon"]), neg_elbo=float(tm["neg_elbo"]),
            active_dims=int((np.asarray(tm["kl_per_dim"]) > ACTIVE_KL).sum())))
    return sorted(rows, key=lambda r: r.beta)


def tile(images: np.ndarray, pad: int = 2, fill: float = 0.35) -> np.ndarray:
    """(R, C, H, W) images -> one (R*H + (R-1)*pad, C*W + (C-1)*pad) float32 array with ``fill`` between cells
    (:func:`vae_core.images.tile`, one grid row per traversal row)."""
    r, c, h, w = images.shape
    return tile_images(np.asarray(images, dtype=np.float32).reshape(r * c, h, w), c, pad=pad, fill=fill)


def single_factor_dims(rows: list[DimFactor], ratio: float = 2.0) -> list[DimFactor]:
    """The active dimensions of :func:`dominant_factors` whose main factor's share is at least ``ratio`` times the
    runner-up's: the dimensions a traversal should show moving one factor."""
    return [r for r in rows if r.active and r.share >= ratio * max(r.second_share, 1e-12)]
