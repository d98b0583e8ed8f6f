"""Re-measure a sequence-VAE checkpoint's test metrics with the current code and write it (weights unchanged).

    python scripts/remeasure_seq.py SRC DEST [--command "python -m vae_core train --family seq-vae …"]

Used to move a model trained elsewhere into checkpoints/: the JSON's ``test_metrics`` are recomputed on the
stored weights (vae_core.sequence.metrics), ``command`` may be set to the command as run with ``--out DEST``,
and the previous metrics are kept under ``test_metrics_at_training`` when they differ.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from vae_core.sequence.checkpoint import load_seq_checkpoint, save_seq_checkpoint  # noqa: E402
from vae_core.sequence.metrics import seq_test_metrics  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("src")
    p.add_argument("dest")
    p.add_argument("--command", default=None)
    p.add_argument("--name", default=None, help="the model's name in its metadata (default: unchanged)")
    p.add_argument("--n-prior", type=int, default=1000)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    model, meta = load_seq_checkpoint(args.src)
    ds = meta["dataset"]["name"]
    if ds == "words":
        from vae_core.sequence.words import load_words

        corpus = load_words()
    else:
        from vae_core.sequence.smiles import load_molecules

        corpus = load_molecules()
    if (len(corpus.train), len(corpus.test)) != (meta["dataset"]["n_train"], meta["dataset"]["n_test"]):
        raise SystemExit("the corpus differs from the one the model was trained on")
    metrics = seq_test_metrics(model, ds, corpus.train, corpus.test, n_prior=args.n_prior, seed=meta.get("seed", 0))
    if metrics != meta.get("test_metrics"):
        meta["test_metrics_at_training"] = meta.get("test_metrics")
    meta["test_metrics"] = metrics
    if args.command:
        meta["command"] = args.command
    if args.name:
        meta["name"] = args.name
    for key in ("format", "format_version", "tensors", "weights_sha256", "weights_bytes"):
        meta.pop(key, None)
    save_seq_checkpoint(args.dest, model, meta, dtype=meta.get("dtype", "float32"))
    print({k: (round(v, 4) if isinstance(v, float) else v) for k, v in metrics.items()})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
