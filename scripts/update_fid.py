"""Recompute the MNIST FID / IS of every shipped digit model and write them into its JSON.

    VAE_DATA_DIR=/path/to/datasets python scripts/update_fid.py [--folder checkpoints] [--n 10000] [--models A B]

For each digit checkpoint (family ``mlp-vae``) in the folder: 10,000 prior samples (seed 0; the decoder's
pixel means; a CVAE cycles through the ten classes) scored by the shipped classifier
(``checkpoints/mnist-classifier``) against the 10,000 MNIST test digits.  Only ``test_metrics.fid`` and
``test_metrics.inception_score`` of the JSON change (read, set, written atomically); the weights are never
touched.  The sanity references (training digits, uniform noise, the test set's own IS) go into the
classifier's JSON as ``test_metrics.fid_train_vs_test``, ``fid_noise_vs_test``, ``is_test``, ``is_train``,
``is_noise``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vae_core.digits.checkpoint import load_checkpoint  # noqa: E402
from vae_core.digits.data import load_dataset  # noqa: E402
from vae_core.digits.quality import (  # noqa: E402
    classify,
    fid_from_features,
    inception_score,
    load_classifier,
    noise_images,
    prior_samples,
)
from vae_core.pair_io import atomic_write_bytes, pair_paths, parse_metadata  # noqa: E402


def set_metrics(path: Path, values: dict) -> None:
    """Set ``test_metrics[k] = v`` for each item in the pair's JSON, nothing else; atomic rename."""
    _, jpath = pair_paths(path)
    raw = jpath.read_bytes()
    parse_metadata(raw)  # a valid checkpoint JSON
    meta = json.loads(raw)
    meta.setdefault("test_metrics", {}).update({k: float(v) for k, v in values.items()})
    atomic_write_bytes(jpath, (json.dumps(meta, indent=2, sort_keys=True, allow_nan=False) + "\n").encode())


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--folder", default=str(ROOT / "checkpoints"))
    p.add_argument("--n", type=int, default=10_000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--models", nargs="*", default=None, help="only these checkpoints (names); default: every one")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    folder = Path(args.folder)
    test = load_dataset("mnist", "test")
    train = load_dataset("mnist", "train")
    if test.is_sample:
        print("error: the full MNIST is needed (set VAE_DATA_DIR)", file=sys.stderr)
        return 2
    clf, _ = load_classifier(folder / "mnist-classifier")
    f_test, p_test = classify(clf, test.images)
    f_train, p_train = classify(clf, train.subset(10_000, seed=args.seed).images)
    f_noise, p_noise = classify(clf, noise_images(args.n, seed=args.seed))
    refs = {"fid_train_vs_test": fid_from_features(f_train, f_test),
            "fid_noise_vs_test": fid_from_features(f_noise, f_test),
            "is_test": inception_score(p_test), "is_train": inception_score(p_train),
            "is_noise": inception_score(p_noise)}
    set_metrics(folder / "mnist-classifier", refs)
    print("references: " + ", ".join(f"{k} {v:.3f}" for k, v in refs.items()))
    for jpath in sorted(folder.glob("*.json")):
        stem = jpath.with_suffix("")
        meta = json.loads(jpath.read_text())
        if meta.get("family", "mlp-vae") != "mlp-vae" or not stem.with_name(stem.name + ".safetensors").exists():
            continue
        if args.models is not None and stem.name not in args.models:
            continue
        model, meta = load_checkpoint(stem)
        x = prior_samples(model, args.n, seed=args.seed, likelihood=meta.get("likelihood", "bernoulli"))
        f, pr = classify(clf, x)
        fid, isc = fid_from_features(f, f_test), inception_score(pr)
        set_metrics(stem, {"fid": fid, "inception_score": isc})
        print(f"{stem.name}: FID {fid:.2f}, IS {isc:.2f} ({args.n:,} prior samples)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
