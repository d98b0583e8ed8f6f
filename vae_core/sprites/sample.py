"""Prior samples of a sprites model as a PNG grid.

    python -m vae_core sample checkpoints/sprites-beta4 --n 36 --out sprites.png
"""

from __future__ import annotations

import argparse

from ..digits.sample import sample_images


def sample_sprites(path: str, args: argparse.Namespace) -> int:
    return sample_images(path, args, "sprites-vae")
