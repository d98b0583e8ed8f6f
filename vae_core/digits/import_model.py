"""Import a VAE trained elsewhere from its safetensors state dict (never a pickle) as a normal checkpoint pair.

``python -m vae_core import-model WEIGHTS.safetensors --layout pytorch-examples --out DIR/NAME`` (or
``--layout mlp --layout-json FILE``) writes ``DIR/NAME.safetensors`` + ``DIR/NAME.json`` (family ``"mlp-vae"``)
through :mod:`vae_core.digits.checkpoint`' one metadata builder and one pair writer, so ``load_checkpoint(DIR/NAME)``
gives a :class:`~vae_core.digits.model.VAE` whose ``decode(z)`` is the original module's sigmoid output.

Layouts (``LAYOUTS``):

* ``pytorch-examples`` -- pytorch/examples ``vae/main.py``: ``fc1`` (input→hidden), ``fc21`` / ``fc22``
  (hidden→latent: μ and log σ²), ``fc3`` (latent→hidden), ``fc4`` (hidden→input), ReLU, sigmoid output
  (784-400-20 there; other sizes are read from the tensors);
* ``mlp`` -- a small JSON naming the layers in order::

      {"encoder": ["enc.0", "enc.2"], "mu": "mu", "logvar": "logvar",
       "decoder": ["dec.0", "dec.2"], "output": "out",
       "activation": "relu", "output_activation": "sigmoid"}

  every name ``L`` is a linear layer with tensors ``L.weight`` (out, in) and ``L.bias`` (out); one activation
  (``relu``, ``elu``, ``softplus``, ``tanh`` or ``gelu``) after every encoder and decoder layer; ``mu`` and
  ``logvar`` give μ and log σ² from the last encoder layer; the output layer's sigmoid gives the pixel means.

The model this app builds has a decoder that mirrors the encoder's sizes; a state dict that does not (or whose
shapes do not chain, or that is larger than this server takes: ``checkpoints.MAX_*``) is refused with an
:class:`ImportError_` naming the tensor and the sizes.  The input must be 28×28 = 784 MNIST pixels, or ``--data``
names the user's data set (:mod:`vae_core.digits.user_data`) whose H·W it matches; the data set is then recorded and
stored beside the checkpoint, as ``train --data`` does.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from ..pair_read import _foreign_kind, _parse_header
from .checkpoint import (
    DIGIT_INPUT_DIM,
    MAX_HIDDEN_LAYERS,
    MAX_HIDDEN_WIDTH,
    MAX_LATENT_DIM,
    MAX_WEIGHTS_BYTES,
    CheckpointError,
    build_metadata,
    save_checkpoint,
)
from .model import ACTIVATIONS, VAE

__all__ = ["LAYOUTS", "PYTORCH_EXAMPLES", "ImportError_", "convert", "import_model", "main", "parse_layout",
           "read_state_dict"]

PYTORCH_EXAMPLES = {"encoder": ["fc1"], "mu": "fc21", "logvar": "fc22", "decoder": ["fc3"], "output": "fc4",
                    "activation": "relu", "output_activation": "sigmoid"}
LAYOUTS = ("pytorch-examples", "mlp")
MAX_LAYOUT_JSON_BYTES = 64_000


class ImportError_(CheckpointError):  # noqa: N801 - not the builtin ImportError
    """A state dict or layout this importer refuses; the message names the problem."""


# ------------------------------------------------------------------------------------------ reading
def read_state_dict(weights: bytes) -> dict[str, torch.Tensor]:
    """The float tensors of a safetensors file (pickles, zips and lying headers refused first), as float32."""
    from safetensors.torch import load as st_load

    if len(weights) > MAX_WEIGHTS_BYTES:
        raise ImportError_(f"the weights file is {len(weights) / 2**20:,.1f} MiB; this server takes models of at "
                           f"most {MAX_WEIGHTS_BYTES / 2**20:,.0f} MiB")
    kind = _foreign_kind(weights)
    if kind:
        raise ImportError_(f"the weights file is {kind}; save the state dict with safetensors.torch.save_file "
                           "(model.state_dict())")
    _parse_header(weights)
    try:
        raw = st_load(weights)
    except Exception as exc:  # noqa: BLE001 - safetensors raises its own error types
        raise ImportError_(f"the weights file is not a readable safetensors file ({str(exc)[:200]})") from None
    out = {}
    for k, t in raw.items():
        if not bool(torch.isfinite(t).all()):
            raise ImportError_(f"tensor {k[:60]!r} contains NaN or Inf values")
        out[k] = t.to(torch.float32)
    return out


def parse_layout(layout: str, layout_json: str | bytes | dict | None = None) -> dict:
    """The layer map of a layout name (and, for ``mlp``, its JSON text, bytes or dict), checked."""
    if layout == "pytorch-examples":
        if layout_json is not None:
            raise ImportError_("--layout-json goes with --layout mlp (pytorch-examples has fixed names)")
        return dict(PYTORCH_EXAMPLES)
    if layout != "mlp":
        raise ImportError_(f"unknown layout {str(layout)[:40]!r}; choose one of {', '.join(LAYOUTS)}")
    if layout_json is None:
        raise ImportError_("--layout mlp needs --layout-json FILE describing the layers")
    spec = layout_json
    if isinstance(spec, str | bytes):
        if len(spec) > MAX_LAYOUT_JSON_BYTES:
            raise ImportError_(f"the layout JSON is larger than {MAX_LAYOUT_JSON_BYTES:,} bytes")
        try:
            spec = json.loads(spec)
        except (ValueError, RecursionError) as exc:
            raise ImportError_(f"the layout JSON is not valid JSON ({str(exc)[:120]})") from None
    if not isinstance(spec, dict):
        raise ImportError_("the layout JSON must be an object with encoder, mu, logvar, decoder, output")
    missing = [k for k in ("encoder", "mu", "logvar", "decoder", "output") if k not in spec]
    if missing:
        raise ImportError_(f"the layout JSON lacks {', '.join(missing)} (it needs encoder, mu, logvar, decoder, "
                           "output; optional activation, output_activation)")
    unknown = sorted(set(spec) - {"encoder", "mu", "logvar", "decoder", "output", "activation",
                                  "output_activation"})
    if unknown:
        raise ImportError_(f"the layout JSON has unknown keys: {', '.join(map(str, unknown))[:120]}")
    for key in ("encoder", "decoder"):
        v = spec[key]
        if not isinstance(v, list) or not 1 <= len(v) <= MAX_HIDDEN_LAYERS or not all(isinstance(s, str) for s in v):
            raise ImportError_(f"layout '{key}' must be a list of 1 to {MAX_HIDDEN_LAYERS} layer names")
    for key in ("mu", "logvar", "output"):
        if not isinstance(spec[key], str):
            raise ImportError_(f"layout '{key}' must be one layer name")
    act = spec.get("activation", "relu")
    if act not in ACTIVATIONS:
        raise ImportError_(f"layout 'activation' must be one of {', '.join(sorted(ACTIVATIONS))} (got "
                           f"{str(act)[:40]!r})")
    if spec.get("output_activation", "sigmoid") != "sigmoid":
        raise ImportError_("layout 'output_activation' must be 'sigmoid': the app's decoders give Bernoulli "
                           "pixel means sigmoid(logits)")
    return {"encoder": list(spec["encoder"]), "mu": spec["mu"], "logvar": spec["logvar"],
            "decoder": list(spec["decoder"]), "output": spec["output"], "activation": act,
            "output_activation": "sigmoid"}


def _linear(sd: dict, name: str, what: str) -> tuple[torch.Tensor, torch.Tensor]:
    w, b = sd.get(f"{name}.weight"), sd.get(f"{name}.bias")
    if w is None or b is None:
        have = ", ".join(sorted(sd)[:8])
        raise ImportError_(f"the {what} layer {name!r} needs tensors '{name}.weight' and '{name}.bias'; the file "
                           f"has {have}{' …' if len(sd) > 8 else ''}")
    if w.ndim != 2 or b.ndim != 1 or b.shape[0] != w.shape[0]:
        raise ImportError_(f"the {what} layer {name!r} has weight {tuple(w.shape)} and bias {tuple(b.shape)}; a "
                           "linear layer has weight (out, in) and bias (out,)")
    return w, b


def convert(sd: dict[str, torch.Tensor], layout: dict, input_dim: int = DIGIT_INPUT_DIM) -> VAE:
    """The app's VAE holding exactly these weights (refused with a message when they do not fit)."""
    enc = [_linear(sd, n, "encoder") for n in layout["encoder"]]
    mu, lv = _linear(sd, layout["mu"], "μ"), _linear(sd, layout["logvar"], "log σ²")
    dec = [_linear(sd, n, "decoder") for n in layout["decoder"]]
    out = _linear(sd, layout["output"], "output")
    used = {f"{n}.{p}" for n in [*layout["encoder"], layout["mu"], layout["logvar"], *layout["decoder"],
                                 layout["output"]] for p in ("weight", "bias")}
    extra = sorted(set(sd) - used)
    if extra:
        raise ImportError_(f"the file has tensors the layout does not use: {', '.join(extra[:5])[:200]}")
    n_in = enc[0][0].shape[1]
    if n_in != input_dim:
        raise ImportError_(f"the encoder's first layer takes {n_in} inputs but the images have {input_dim} pixels"
                           + (" (28×28 MNIST digits; give --data with your images of that many pixels)"
                              if input_dim == DIGIT_INPUT_DIM else ""))
    hidden = [w.shape[0] for w, _ in enc]
    prev = n_in
    for name, (w, _) in zip(layout["encoder"], enc, strict=True):
        if w.shape[1] != prev:
            raise ImportError_(f"encoder layer {name!r} takes {w.shape[1]} inputs but the layer before gives {prev}")
        prev = w.shape[0]
    latent = mu[0].shape[0]
    for name, (w, _), want in ((layout["mu"], mu, (latent, prev)), (layout["logvar"], lv, (latent, prev))):
        if tuple(w.shape) != want:
            raise ImportError_(f"layer {name!r} has weight {tuple(w.shape)}; after the encoder's {prev} units it "
                               f"must be {want}")
    if len(hidden) > MAX_HIDDEN_LAYERS or max(hidden) > MAX_HIDDEN_WIDTH or latent > MAX_LATENT_DIM:
        raise ImportError_(f"the model is too large for this server (hidden layers {hidden}, latent {latent}; at "
                           f"most {MAX_HIDDEN_LAYERS} layers of {MAX_HIDDEN_WIDTH:,} units, latent {MAX_LATENT_DIM})")
    want_dec = [latent, *reversed(hidden)]
    got_dec = [dec[0][0].shape[1], *(w.shape[0] for w, _ in dec)]
    if got_dec != want_dec:
        raise ImportError_(f"the decoder's sizes {'-'.join(map(str, got_dec))} do not mirror the encoder's "
                           f"({'-'.join(map(str, want_dec))}); the app's VAE has a mirrored decoder")
    for name, (w, _), a in zip(layout["decoder"], dec, want_dec[:-1], strict=True):
        if w.shape[1] != a:
            raise ImportError_(f"decoder layer {name!r} takes {w.shape[1]} inputs but the layer before gives {a}")
    if tuple(out[0].shape) != (n_in, hidden[0]):
        raise ImportError_(f"output layer {layout['output']!r} has weight {tuple(out[0].shape)}; it must be "
                           f"({n_in}, {hidden[0]}) (back to the {n_in} pixels)")
    model = VAE(latent_dim=latent, hidden_dims=hidden, input_dim=n_in, activation=layout["activation"])
    state = {}
    for i, (w, b) in enumerate(enc):
        state[f"encoder.{2 * i}.weight"], state[f"encoder.{2 * i}.bias"] = w, b
    for i, (w, b) in enumerate(dec):
        state[f"decoder.{2 * i}.weight"], state[f"decoder.{2 * i}.bias"] = w, b
    state["fc_mu.weight"], state["fc_mu.bias"] = mu
    state["fc_logvar.weight"], state["fc_logvar.bias"] = lv
    state["fc_out.weight"], state["fc_out.bias"] = out
    model.load_state_dict(state)
    return model.eval()


def imported_metadata(model: VAE, name: str, layout: str, source_file: str, weights: bytes,
                      dataset: dict | None = None) -> dict:
    """The JSON of an imported model, through the one builder (``checkpoints.build_metadata``)."""
    import hashlib

    from .train import TrainConfig

    cfg = TrainConfig(latent_dim=model.latent_dim, hidden_dims=model.hidden_dims, activation=model.activation)
    ds = dataset or {"name": "mnist", "source": "imported",
                     "description": "assumed MNIST 28×28 digits (the layout's input size); trained elsewhere"}
    return build_metadata(
        cfg, None, name=name, dataset=ds, command="python -m vae_core import-model " + " ".join(sys.argv[1:])
        if sys.argv and "import" in " ".join(sys.argv) else None,
        imported={"layout": layout, "file": Path(source_file).name[:200],
                  "sha256": hashlib.sha256(weights).hexdigest(),
                  "note": "weights trained elsewhere; the recipe holds the architecture only (β, epochs and "
                          "the training data are unknown)"},
        description=f"imported from {Path(source_file).name[:120]} ({layout} layout)")


def import_model(weights, layout: str, out, layout_json=None, data=None, name: str | None = None):
    """Convert ``weights`` (a path or the file's bytes) in ``layout`` into the checkpoint pair ``out``
    (``out.safetensors`` + ``out.json``); ``layout_json`` is the ``mlp`` layout (path, text or dict); ``data``
    an optional user data set (path) whose images the model takes.  Returns the two paths written."""
    from .checkpoint import validate_name
    from .user_data import DATA_SUBDIR, dataset_meta, load_user_data, store_dataset

    if isinstance(weights, bytes | bytearray):
        raw, src = bytes(weights), "upload.safetensors"
    else:
        src = str(weights)
        try:
            if Path(src).stat().st_size > MAX_WEIGHTS_BYTES:
                raise ImportError_(f"the weights file is larger than this server takes "
                                   f"({MAX_WEIGHTS_BYTES / 2**20:,.0f} MiB)")
            raw = Path(src).read_bytes()
        except OSError as exc:
            raise ImportError_(f"cannot read {src}: {exc.strerror or exc}") from None
    if isinstance(layout_json, str | Path) and not str(layout_json).lstrip().startswith("{"):
        try:
            layout_json = Path(layout_json).read_bytes()
        except OSError as exc:
            raise ImportError_(f"cannot read the layout JSON {layout_json}: {exc.strerror or exc}") from None
    spec = parse_layout(layout, layout_json)
    ds, input_dim = None, DIGIT_INPUT_DIM
    if data is not None:
        ud = load_user_data(data)
        tr, te = ud.split()
        ds, input_dim = dataset_meta(ud, len(tr), len(te)), ud.shape[0] * ud.shape[1]
    model = convert(read_state_dict(raw), spec, input_dim)
    out = Path(out)
    name = validate_name(name or out.name)
    meta = imported_metadata(model, name, layout, src, raw, ds)
    if data is not None:
        store_dataset(Path(data).read_bytes(), out.parent / DATA_SUBDIR, ud.file_name)
    return save_checkpoint(out, model, meta)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m vae_core import-model",
                                description="Import a VAE's safetensors state dict as a checkpoint pair.")
    p.add_argument("weights", metavar="WEIGHTS.safetensors")
    p.add_argument("--layout", required=True, help=f"one of {', '.join(LAYOUTS)}")
    p.add_argument("--layout-json", default=None, metavar="FILE", help="the layer map for --layout mlp")
    p.add_argument("--data", default=None, metavar="FILE",
                   help="the data set the model takes, when it is not 28×28 MNIST (see vae_core.digits.user_data)")
    p.add_argument("--name", default=None, help="display name (default: the last part of --out)")
    p.add_argument("--out", required=True, metavar="DIR/NAME", help="writes DIR/NAME.safetensors and .json")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        wpath, jpath = import_model(args.weights, args.layout, args.out, args.layout_json, args.data, args.name)
    except ValueError as exc:  # ImportError_, CheckpointError and UserDataError are ValueErrors
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"saved: {wpath} and {jpath}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
