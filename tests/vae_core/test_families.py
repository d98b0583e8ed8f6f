"""The family registry: every declared import string resolves, the JSON's family picks loader and validator."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from vae_core import families

ROOT = Path(__file__).resolve().parents[2]
CHECKPOINTS = ROOT / "checkpoints"
FIELDS = ("validator", "loader", "loader_bytes", "saver", "sampler", "evaluate", "evaluate_flags", "metrics", "train",
          "train_flags")


@pytest.mark.parametrize("name", families.names())
def test_every_declared_entry_resolves(name):
    fam = families.get(name)
    assert fam.name == name and fam.head in ("sigmoid", "softmax")
    assert fam.renderer in ("image", "items", "text", "none")
    for what in FIELDS:
        ref = getattr(fam, what)
        if ref is not None:
            assert fam.resolve(what) is not None, (name, what)
    for flag in (*fam.flags(), *fam.flags("evaluate_flags")):
        assert isinstance(flag, families.Flag) and flag.name.startswith("--")


def test_unknown_family_names_the_known_ones():
    with pytest.raises(KeyError, match="mlp-vae"):
        families.get("no-such-family")


@pytest.mark.parametrize("stem,family", [("mnist-z2", "mlp-vae"), ("words-z2", "seq-vae"),
                                         ("sprites-beta4", "sprites-vae"), ("mnist-classifier", "mnist-classifier")])
def test_load_dispatches_on_the_json_family(stem, family):
    path = CHECKPOINTS / stem
    assert families.checkpoint_family(path) == family
    model, meta = families.load(path)
    assert meta["family"] == family and model is not None
    assert path in families.models_of(family, CHECKPOINTS)


def test_validator_runs_without_importing_the_family_first():
    # a fresh interpreter reads a sprites checkpoint with the generic reader only: the registry supplies the
    # family's validator, which must refuse metadata whose architecture does not fit the tensors
    code = (
        "import json, sys\n"
        "from vae_core.pair_read import read_checkpoint_pair_bytes, CheckpointError\n"
        f"stem = {str(CHECKPOINTS / 'sprites-beta4')!r}\n"
        "w = open(stem + '.safetensors', 'rb').read(); m = json.loads(open(stem + '.json').read())\n"
        "m['model']['latent_dim'] = 3; m.pop('weights_sha256', None)\n"
        "try:\n"
        "    read_checkpoint_pair_bytes(w, json.dumps(m).encode())\n"
        "except CheckpointError as e:\n"
        "    print('refused:', e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert "refused:" in out.stdout, out.stderr


def test_vae_core_load_checkpoint_loads_every_shipped_family():
    """``vae_core.load_checkpoint(path)``: the JSON's family picks the loader (issue #18: a Mult-VAE checkpoint gives
    a model with encode(x) -> (mu, logvar) over a users x items 0/1 matrix and decode_logits(z) -> (N, n_items))."""
    import torch

    import vae_core

    seen = set()
    for json_path in sorted(CHECKPOINTS.glob("*.json")):
        model, meta = vae_core.load_checkpoint(json_path.with_suffix(""))
        fam = meta.get("family", families.DEFAULT_FAMILY)
        assert fam == families.checkpoint_family(json_path.with_suffix("")), json_path.name
        seen.add(fam)
        if fam == "mult-vae":
            n_items = len(meta["item_ids"])
            x = (torch.rand(3, n_items) < 0.05).float()
            with torch.no_grad():
                mu, logvar = model.encode(x)
                logits = model.decode_logits(mu)
            assert mu.shape == logvar.shape == (3, meta["latent_dim"]) and logits.shape == (3, n_items)
    assert {"mlp-vae", "seq-vae", "sprites-vae", "mult-vae", "mnist-classifier"} <= seen
