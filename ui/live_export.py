"""The live view's weight export and its numpy replay: pure torch / numpy, no Streamlit.

:func:`export_model` serialises an MLP VAE's weights into the JSON payload the page's JavaScript builds its
model from (float16 when every weight is exactly a float16 number, else float32), and checks it by running
the payload in float64 numpy (:func:`reference_decode`, :func:`reference_encode`) against the model's own
``decode`` / ``encode``. A model the page cannot run raises :class:`LiveUnsupported`. ``ui.live`` (the
Streamlit component wrappers) re-exports these names.
"""

from __future__ import annotations

import base64
import hashlib
import math
import weakref

import numpy as np
import torch
from torch import nn

from vae_core import families

PAGE_HEADS = ("sigmoid", "softmax")  # the output heads mlp.js implements (HEADS)
PAGE_RENDERERS = ("image", "items")  # the renderers of live_assets/render/ (RENDERERS)


class LiveUnsupported(Exception):
    """The page's MLP cannot run this model (the reason is the message)."""


def family_view(family: str | None) -> dict:
    """``{"family", "head", "renderer"}`` of the in-page model, from the registry's :class:`~vae_core.families.Family`
    named ``family`` (a checkpoint JSON's ``family`` field; None = the registry's default, the digit VAE).
    LiveUnsupported when the family is unknown or the page has no such head or renderer."""
    try:
        fam = families.get(family or families.DEFAULT_FAMILY)
    except KeyError as exc:
        raise LiveUnsupported(str(exc.args[0])) from None
    if fam.head not in PAGE_HEADS:
        raise LiveUnsupported(f"the page has no {fam.head!r} output head (family {fam.name})")
    if fam.renderer not in PAGE_RENDERERS:
        raise LiveUnsupported(f"the page cannot show a {fam.renderer!r} output (family {fam.name})")
    return {"family": fam.name, "head": fam.head, "renderer": fam.renderer}


def head_np(head: str, logits: np.ndarray) -> np.ndarray:
    """The output head on (N, D) logits in float64 numpy, as mlp.js's HEADS: sigmoid per output, or softmax
    over each row."""
    if head == "sigmoid":
        return 1.0 / (1.0 + np.exp(-logits))
    if head == "softmax":
        e = np.exp(logits - logits.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    raise LiveUnsupported(f"the page has no {head!r} output head")


# ------------------------------------------------------------------ export
def _activation(module: nn.Module) -> dict:
    if isinstance(module, nn.ReLU):
        return {"name": "relu"}
    if isinstance(module, nn.Tanh):
        return {"name": "tanh"}
    if isinstance(module, nn.Sigmoid):
        return {"name": "sigmoid"}
    if isinstance(module, nn.Identity):
        return {"name": "identity"}
    if isinstance(module, nn.ELU):
        return {"name": "elu", "alpha": float(module.alpha)}
    if isinstance(module, nn.Softplus):
        return {"name": "softplus", "beta": float(module.beta), "threshold": float(module.threshold)}
    if isinstance(module, nn.GELU):
        return {"name": "gelu", "approximate": str(module.approximate)}
    raise LiveUnsupported(f"the page has no {type(module).__name__} activation")


def _out_activation(model) -> dict:
    """The logits' own map after fc_out: identity, or models.LogitRange's c + h tanh((eta - c) / h)."""
    rng = getattr(model, "out_range", None)
    if rng is None:
        return {"name": "identity"}
    return {"name": "range", "c": float(rng.c), "h": float(rng.h)}


def _mlp(seq: nn.Module, what: str) -> list[tuple[nn.Linear, dict]]:
    """[(Linear, activation spec)] of a Sequential made of Linear layers each followed by at most one activation."""
    if not isinstance(seq, nn.Sequential):
        raise LiveUnsupported(f"the {what} is a {type(seq).__name__}, not a sequence of linear layers")
    out: list[tuple[nn.Linear, dict]] = []
    for mod in seq:
        if isinstance(mod, nn.Linear):
            out.append((mod, {"name": "identity"}))
        elif out and out[-1][1]["name"] == "identity":
            out[-1] = (out[-1][0], _activation(mod))
        else:
            raise LiveUnsupported(f"the {what} has a {type(mod).__name__} where the page expects a linear layer")
    if not out:
        raise LiveUnsupported(f"the {what} has no linear layers")
    return out


def _parts(model) -> dict:
    need = ("encoder", "fc_mu", "fc_logvar", "decoder", "fc_out", "latent_dim", "input_dim")
    missing = [a for a in need if not hasattr(model, a)]
    if missing:
        raise LiveUnsupported(f"{type(model).__name__} is not an MLP VAE (no {', '.join(missing)})")
    for a in ("fc_mu", "fc_logvar", "fc_out"):
        if not isinstance(getattr(model, a), nn.Linear):
            raise LiveUnsupported(f"{a} is not a linear layer")
    shape = getattr(model, "image_shape", None)  # (H, W) of a user's data set (#19), else a square digit
    if shape is not None:
        if int(shape[0]) * int(shape[1]) != int(model.input_dim):
            raise LiveUnsupported(f"the input has {model.input_dim} pixels, not {shape[0]}×{shape[1]}")
    else:
        side = math.isqrt(int(model.input_dim))
        if side * side != int(model.input_dim):
            raise LiveUnsupported(f"the input has {model.input_dim} pixels, not a square image")
    return {"encoder": _mlp(model.encoder, "encoder"), "decoder": _mlp(model.decoder, "decoder")}


def _params(model) -> list[torch.Tensor]:
    return [p.detach() for p in model.parameters()]


def _b64(a: np.ndarray, dtype: str) -> str:
    return base64.b64encode(np.ascontiguousarray(a, dtype="<f2" if dtype == "float16" else "<f4").tobytes()).decode()


def _layer(lin: nn.Linear, act: dict, dtype: str) -> dict:
    w = lin.weight.detach().to(torch.float32).numpy()
    b = (lin.bias.detach().to(torch.float32).numpy() if lin.bias is not None
         else np.zeros(lin.out_features, np.float32))
    return {"in": lin.in_features, "out": lin.out_features, "wt": _b64(w.T, dtype), "b": _b64(b, dtype), "act": act}


def _fingerprint(model) -> str:
    h = hashlib.sha256()
    for p in _params(model):
        h.update(p.to(torch.float32).contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def export_model(model, name: str = "model", check: bool = True, family: str | None = None) -> dict:
    """The JSON payload the page builds its MLP from (see live_assets/mlp.js ``buildModel``).

    Layers are listed as ``{"in", "out", "wt": base64 of W.T (in x out, little-endian), "b", "act"}``;
    ``dtype`` is "float16" when every parameter is exactly a float16 number, else "float32". With
    ``check`` the payload is decoded again and run by :func:`reference_decode` / :func:`reference_encode`
    against the model's own ``decode`` / ``encode``; a mismatch raises :class:`LiveUnsupported`. ``head`` and
    ``renderer`` come from the registry entry of ``family`` (the checkpoint JSON's; None = the digit VAE).
    """
    view = family_view(family)
    parts = _parts(model)
    params = _params(model)
    f16 = all(torch.equal(p.to(torch.float32).half().to(torch.float32), p.to(torch.float32)) for p in params)
    dtype = "float16" if f16 else "float32"
    payload = {
        "key": f"{name}:{_fingerprint(model)}",
        "dtype": dtype,
        "latent_dim": int(model.latent_dim),
        "num_classes": int(getattr(model, "num_classes", 0) or 0),
        "input_dim": int(model.input_dim),
        "encoder": [_layer(lin, act, dtype) for lin, act in parts["encoder"]],
        "mu": _layer(model.fc_mu, {"name": "identity"}, dtype),
        "logvar": _layer(model.fc_logvar, {"name": "identity"}, dtype),
        "decoder": [_layer(lin, act, dtype) for lin, act in parts["decoder"]],
        "out": _layer(model.fc_out, _out_activation(model), dtype),
        **view,
    }
    if getattr(model, "image_shape", None) is not None:  # the page draws H×W (a user's data set); else square
        payload["image_shape"] = [int(model.image_shape[0]), int(model.image_shape[1])]
    if check:
        _check_payload(model, payload)
    return payload


# --------------------------------------------- the payload run in numpy (the page's maths, for checks)
def _unpack(layer: dict, dtype: str) -> tuple[np.ndarray, np.ndarray, dict]:
    dt = "<f2" if dtype == "float16" else "<f4"
    wt = np.frombuffer(base64.b64decode(layer["wt"]), dt).astype(np.float64).reshape(layer["in"], layer["out"])
    b = np.frombuffer(base64.b64decode(layer["b"]), dt).astype(np.float64)
    return wt, b, layer["act"]


def _act_np(x: np.ndarray, act: dict) -> np.ndarray:
    name = act["name"]
    if name == "relu":
        return np.maximum(x, 0.0)
    if name == "tanh":
        return np.tanh(x)
    if name == "sigmoid":
        return 1.0 / (1.0 + np.exp(-x))
    if name == "identity":
        return x
    if name == "range":
        return act["c"] + act["h"] * np.tanh((x - act["c"]) / act["h"])
    if name == "elu":
        return np.where(x > 0, x, act["alpha"] * np.expm1(np.minimum(x, 0.0)))
    if name == "softplus":
        bx = act["beta"] * x
        return np.where(bx > act["threshold"], x, np.log1p(np.exp(np.minimum(bx, act["threshold"]))) / act["beta"])
    if name == "gelu":
        if act.get("approximate") == "tanh":
            return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))
        from scipy.special import erf

        return 0.5 * x * (1 + erf(x / math.sqrt(2)))
    raise LiveUnsupported(f"the page has no {name} activation")


def _run(layers: list[dict], x: np.ndarray, dtype: str) -> np.ndarray:
    for layer in layers:
        wt, b, act = _unpack(layer, dtype)
        x = _act_np(x @ wt + b, act)
    return x


def _with_label(payload: dict, v: np.ndarray, y) -> np.ndarray:
    c = payload["num_classes"]
    if not c:
        return v
    y = np.broadcast_to(np.asarray(0 if y is None else y, dtype=int).reshape(-1), (len(v),))
    return np.concatenate([v, np.eye(c)[y]], axis=1)


def reference_decode(payload: dict, z, y=None) -> np.ndarray:
    """Decode with the exported payload in float64 numpy: (N, input_dim) outputs of its head (Bernoulli means
    for the digit VAE's sigmoid head)."""
    z = np.atleast_2d(np.asarray(z, dtype=np.float64))
    logits = _run([*payload["decoder"], payload["out"]], _with_label(payload, z, y), payload["dtype"])
    return head_np(payload.get("head", "sigmoid"), logits)


def reference_encode(payload: dict, x, y=None) -> tuple[np.ndarray, np.ndarray]:
    """Encode with the exported payload in float64 numpy: (mu, logvar), each (N, d)."""
    x = np.atleast_2d(np.asarray(x, dtype=np.float64))
    h = _run(payload["encoder"], _with_label(payload, x, y), payload["dtype"])
    return _run([payload["mu"]], h, payload["dtype"]), _run([payload["logvar"]], h, payload["dtype"])


def _check_payload(model, payload: dict) -> None:
    g = torch.Generator().manual_seed(0)
    d, c = payload["latent_dim"], payload["num_classes"]
    z = torch.randn(8, d, generator=g) * 2
    x = torch.rand(4, payload["input_dim"], generator=g)
    y = torch.arange(8) % c if c else None
    with torch.no_grad():
        ref = model.decode(z, y).double().numpy() if c else model.decode(z).double().numpy()
        mu, _ = model.encode(x, y[:4]) if c else model.encode(x)
    # the MLP is checked through the model's own decode, a Bernoulli mean: the sigmoid of the logits (the page then
    # applies the family's head to the same logits)
    mlp = {**payload, "head": "sigmoid"}
    err = float(np.abs(reference_decode(mlp, z.numpy(), None if y is None else y.numpy()) - ref).max())
    if not err < 1e-4:
        raise LiveUnsupported(f"the page's MLP does not reproduce this model's decoder (max error {err:.2g})")
    mu_p, _ = reference_encode(payload, x.numpy(), None if y is None else y[:4].numpy())
    err = float(np.abs(mu_p - mu.double().numpy()).max())
    if not err < 1e-3:
        raise LiveUnsupported(f"the page's MLP does not reproduce this model's encoder (max error {err:.2g})")


_EXPORTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def model_payload(model, name: str = "model", family: str | None = None) -> dict:
    """:func:`export_model`, cached per model object (and redone if its weights change in place)."""
    version = (tuple(p._version for p in model.parameters()), family)
    hit = _EXPORTS.get(model)
    if hit is not None and hit[0] == (name, version):
        if isinstance(hit[1], LiveUnsupported):
            raise hit[1]
        return hit[1]
    try:
        out: dict | LiveUnsupported = export_model(model, name, family=family)
    except LiveUnsupported as exc:
        out = exc
    _EXPORTS[model] = ((name, version), out)
    if isinstance(out, LiveUnsupported):
        raise out
    return out


def live_support(model, family: str | None = None) -> tuple[bool, str]:
    """(True, "") if the page can run ``model``, else (False, the reason in words)."""
    try:
        model_payload(model, "check", family)
    except LiveUnsupported as exc:
        return False, str(exc)
    return True, ""
