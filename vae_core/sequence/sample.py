"""Prior samples of a text / SMILES model, one per line (``python -m vae_core sample checkpoints/words-z16``).

z ~ N(0, I) decoded greedily; ``--mode sample`` draws each token from the softmax at ``--temperature`` instead.
"""

from __future__ import annotations

import argparse


def sample_seq(path: str, args: argparse.Namespace) -> int:
    from .checkpoint import load_seq_checkpoint
    from .metrics import prior_samples

    model, _ = load_seq_checkpoint(path)
    for s in prior_samples(model, args.n, args.seed, mode=args.mode, temperature=args.temperature):
        print(s)
    return 0
