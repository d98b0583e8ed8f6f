"""Prior samples from a shipped or saved checkpoint.

    python -m vae_core.sample checkpoints/words-z16 --n 10 --seed 0

Text and SMILES models (family "seq-vae") print N samples, one per line:
z ~ N(0, I) decoded greedily (``--mode sample`` draws each token from the
softmax at ``--temperature`` instead).  The checkpoint's ``family`` (read from
its JSON) picks the sampler declared in :mod:`vae_core.families`; image families
write a PNG grid to ``--out``.
"""

from __future__ import annotations

import argparse
import sys

import torch

from . import families
from .pair_read import CheckpointError


def sample_seq(path: str, args: argparse.Namespace) -> int:
    from .sequence.checkpoint import load_seq_checkpoint
    from .sequence.metrics import prior_samples

    model, _ = load_seq_checkpoint(path)
    for s in prior_samples(model, args.n, args.seed, mode=args.mode, temperature=args.temperature):
        print(s)
    return 0


def checkpoint_family(path: str) -> str:
    from .families import checkpoint_family as family_of

    return family_of(path)


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m vae_core.sample", description="Print prior samples of a checkpoint.")
    p.add_argument("checkpoint", help="checkpoint path (stem, .json or .safetensors)")
    p.add_argument("--n", type=int, default=10, help="number of samples (1-100000)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--mode", choices=("greedy", "sample"), default="greedy", help="text/SMILES decoding")
    p.add_argument("--temperature", type=float, default=1.0, help="softmax temperature for --mode sample")
    p.add_argument("--out", default=None, help="PNG grid path (image models)")
    p.add_argument("--threads", type=int, default=1)
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if not 1 <= args.n <= 100_000:
        print("error: --n must be between 1 and 100000", file=sys.stderr)
        return 2
    if not args.temperature > 0:
        print("error: --temperature must be positive", file=sys.stderr)
        return 2
    torch.set_num_threads(max(1, args.threads))
    try:
        family = checkpoint_family(args.checkpoint)
        fam = families.get(family) if family in families.names() else None
        sampler = fam.resolve("sampler") if fam is not None else None
        if sampler is None:
            known = ", ".join(n for n in families.names() if families.get(n).sampler)
            print(f"error: no sampler for checkpoint family {family!r} (known: {known})", file=sys.stderr)
            return 2
        return sampler(args.checkpoint, args)
    except CheckpointError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
