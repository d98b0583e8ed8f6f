"""THE registry of model families: what each kind of checkpoint is, and where its code lives.

A family is named by the ``family`` field of a checkpoint's JSON (``"mlp-vae"``, ``"seq-vae"``,
``"sprites-vae"``, ``"mnist-classifier"``; more are added with :func:`register`).  Each :class:`Family`
declares, as ``"module:attribute"`` import strings resolved on first use (so importing this registry is
cheap and creates no import circle):

* ``validator(meta, tensors) -> meta``: the metadata/tensor check run by every checkpoint read
  (:func:`vae_core.pair_read.read_checkpoint_pair_bytes` asks :func:`validator_for`);
* ``loader(path) -> (model, meta)``, ``loader_bytes(weights, meta_bytes) -> (model, meta)`` (uploads),
  ``saver(path, model, meta, dtype)``;
* ``sampler(path, args) -> exit code`` (``python -m vae_core sample``), ``evaluate(args) -> exit code`` and
  ``evaluate_flags`` (``python -m vae_core evaluate CHECKPOINT``), ``metrics`` (the function that computes its
  ``test_metrics``);
* ``train(args) -> exit code`` and ``train_flags`` (a tuple of :class:`Flag`): ``python -m vae_core train
  --family NAME`` (:mod:`vae_core.command`) parses the shared flags once, with this family's ``defaults`` and
  without its ``unused`` ones, and the family's own flags from this declaration;
* what the in-page model needs: ``head`` (the decoder's output: ``"sigmoid"`` per pixel, ``"softmax"``
  per token or item) and ``renderer`` (``"image"``, ``"items"``, ``"text"`` or ``"none"``), ``shape``
  (the image side, or None).

Nothing outside this module branches on a family's name: ``get(name).load(path)``, ``load(path)``
(reads the family from the JSON), ``get(name).resolve("metrics")``.
"""

from __future__ import annotations

import importlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["DEFAULT_FAMILY", "Family", "Flag", "checkpoint_family", "get", "load", "models_of", "names",
           "register", "validator_for"]

DEFAULT_FAMILY = "mlp-vae"  # a checkpoint JSON without a "family" field is a digit model


@dataclass(frozen=True)
class Flag:
    """One command-line flag of a family's ``train`` (turned into argparse by :mod:`vae_core.command` only)."""

    name: str  # "--word-dropout"
    type: str = "float"  # "int" | "float" | "str" | "bool" (a store_true switch) | "range" (LO,HI) | "sizes"
    default: Any = None
    help: str = ""
    choices: tuple | None = None
    required: bool = False


@dataclass(frozen=True)
class Family:
    name: str
    title: str  # what the pages call its models
    package: str  # the folder that holds its code, e.g. "vae_core.digits"
    loader: str
    validator: str | None = None
    loader_bytes: str | None = None
    saver: str | None = None
    sampler: str | None = None
    evaluate: str | None = None
    metrics: str | None = None
    train: str | None = None
    train_flags: str | None = None
    evaluate_flags: str | None = None
    head: str = "sigmoid"  # the in-page model's output head: "sigmoid" | "softmax"
    renderer: str = "none"  # how the page shows a decoded output: "image" | "items" | "text" | "none"
    shape: tuple[int, ...] | None = None  # the decoded output's shape for the renderer (e.g. (28, 28))
    defaults: dict = field(default_factory=dict)  # shared-flag defaults of this family's train ({"latent_dim": 16})
    unused: tuple[str, ...] = ()  # shared flags this family's train does not take ("--hidden-dims")

    def resolve(self, what: str):
        """The object named by the import string in field ``what`` (None when the family has none)."""
        ref = getattr(self, what)
        if ref is None:
            return None
        module, _, attr = ref.partition(":")
        obj = importlib.import_module(module)
        for part in attr.split("."):
            obj = getattr(obj, part)
        return obj

    def load(self, path: str | os.PathLike):
        """(model, meta) of a checkpoint of this family."""
        return self.resolve("loader")(path)

    def load_bytes(self, weights: bytes, meta_bytes: bytes):
        """(model, meta) from the two files' bytes (uploads)."""
        fn = self.resolve("loader_bytes")
        if fn is None:
            raise NotImplementedError(f"family {self.name!r} has no loader from bytes")
        return fn(weights, meta_bytes)

    def flags(self, what: str = "train_flags") -> tuple[Flag, ...]:
        got = self.resolve(what)
        return tuple(got or ())


_REGISTRY: dict[str, Family] = {}


def register(family: Family) -> Family:
    """Add (or replace) a family; returns it."""
    _REGISTRY[family.name] = family
    return family


def get(name: str) -> Family:
    """The family called ``name``; KeyError (naming the known ones) for an unknown name."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown model family {name!r} (known: {', '.join(names())})") from None


def names() -> list[str]:
    return sorted(_REGISTRY)


def validator_for(name: str):
    """The validator of family ``name``, or None for a family the registry does not know."""
    fam = _REGISTRY.get(name)
    return fam.resolve("validator") if fam is not None else None


def checkpoint_family(path: str | os.PathLike) -> str:
    """The ``family`` recorded in a checkpoint's JSON (parsed with the safe parser; CheckpointError if bad)."""
    from .pair_read import CheckpointError, pair_paths, parse_metadata

    _, jpath = pair_paths(path)
    if not jpath.is_file():
        raise CheckpointError(f"missing checkpoint file {jpath.name}")
    return str(parse_metadata(jpath.read_bytes()).get("family", DEFAULT_FAMILY))


def load(path: str | os.PathLike):
    """(model, meta) of any checkpoint: its JSON's family picks the loader."""
    return get(checkpoint_family(path)).load(path)


def models_of(family: str, folder: str | os.PathLike) -> list[Path]:
    """Stems of the checkpoints of ``family`` in ``folder`` (from each JSON's family field; unreadable skipped)."""
    from .pair_io import list_checkpoints

    out = []
    for p in list_checkpoints(Path(folder)):
        try:
            meta = json.loads(p.with_name(p.name + ".json").read_text())
        except (OSError, ValueError):
            continue
        if isinstance(meta, dict) and meta.get("family", DEFAULT_FAMILY) == family:
            out.append(p)
    return out


register(Family(
    name="mlp-vae", title="digit VAE", package="vae_core.digits",
    validator="vae_core.digits.checkpoint:validate_digit_metadata",
    loader="vae_core.digits.checkpoint:load_checkpoint",
    loader_bytes="vae_core.digits.checkpoint:load_checkpoint_bytes",
    saver="vae_core.digits.checkpoint:save_checkpoint",
    sampler="vae_core.digits.sample:sample_digits",
    evaluate="vae_core.digits.evaluate:run", evaluate_flags="vae_core.digits.evaluate:EVALUATE_FLAGS",
    metrics="vae_core.digits.evaluate:evaluate_likelihood",
    train="vae_core.digits.cli:run", train_flags="vae_core.digits.cli:FLAGS",
    head="sigmoid", renderer="image", shape=(28, 28),
))

register(Family(
    name="seq-vae", title="sequence VAE (words, SMILES)", package="vae_core.sequence",
    validator="vae_core.sequence.checkpoint:validate_seq_metadata",
    loader="vae_core.sequence.checkpoint:load_seq_checkpoint",
    loader_bytes="vae_core.sequence.checkpoint:load_seq_checkpoint_bytes",
    saver="vae_core.sequence.checkpoint:save_seq_checkpoint",
    sampler="vae_core.sequence.sample:sample_seq",
    metrics="vae_core.sequence.metrics:seq_test_metrics",
    train="vae_core.sequence.cli:run", train_flags="vae_core.sequence.cli:FLAGS",
    defaults={"latent_dim": 16, "epochs": 20, "lr": 2e-3, "kl_schedule": "linear", "warmup_steps": 2000,
              "threads": 1},
    unused=("--hidden-dims",),
    head="softmax", renderer="text",
))

register(Family(
    name="sprites-vae", title="sprites β-VAE", package="vae_core.sprites.data",
    validator="vae_core.sprites.model:validate_sprite_metadata",
    loader="vae_core.sprites.model:load_sprite_model",
    saver="vae_core.sprites.model:save_sprite_model",
    sampler="vae_core.sprites.sample:sample_sprites",
    metrics="vae_core.sprites.model:sprite_metrics",
    train="vae_core.sprites.cli:run", train_flags="vae_core.sprites.cli:FLAGS",
    defaults={"latent_dim": 10, "hidden_dims": (256, 128), "epochs": 20, "batch_size": 64, "save_dtype": "float16"},
    head="sigmoid", renderer="image", shape=(64, 64),
))

register(Family(
    name="mnist-classifier", title="MNIST classifier (FID / IS features)", package="vae_core.digits",
    loader="vae_core.digits.quality:load_classifier",
    saver="vae_core.digits.quality:save_classifier",
    metrics="vae_core.digits.quality:accuracy",
    train="vae_core.digits.quality:run_train", train_flags="vae_core.digits.quality:TRAIN_FLAGS",
    defaults={"epochs": 3},
    unused=("--latent-dim", "--hidden-dims", "--beta", "--kl-schedule", "--warmup-steps", "--free-bits",
            "--save-dtype"),
    head="softmax", renderer="none",
))

register(Family(
    name="mult-vae", title="Mult-VAE recommender (MovieLens-100k)", package="vae_core.recommender",
    validator="vae_core.recommender.checkpoint:validate_multvae_metadata",
    loader="vae_core.recommender.checkpoint:load_multvae",
    loader_bytes="vae_core.recommender.checkpoint:load_multvae_bytes",
    saver="vae_core.recommender.checkpoint:save_multvae",
    metrics="vae_core.recommender.train:test_metrics",
    train="vae_core.recommender.train:run", train_flags="vae_core.recommender.train:FLAGS",
    defaults={"latent_dim": 200, "hidden_dims": (600,), "epochs": 200, "batch_size": 100, "beta": None,
              "threads": 2},
    unused=("--kl-schedule", "--warmup-steps", "--free-bits"),
    head="softmax", renderer="items",
))
