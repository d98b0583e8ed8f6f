"""The process state a training run touches, kept per run: named random streams derived from one seed, and
the torch thread count set for a block and restored after it (torch's thread count is process-wide)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager

import torch

__all__ = ["stream_seed", "torch_threads"]


def stream_seed(seed: int, stream: str) -> int:
    """A 63-bit seed for one named random stream of a run (``"data"`` order, ``"noise"``), derived from the
    config's seed so that the streams are independent of each other and reproducible."""
    digest = hashlib.sha256(f"{int(seed)}:{stream}".encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run the block with ``n`` torch threads (0 = leave the setting alone) and restore the previous count."""
    prev = torch.get_num_threads()
    if not n or n == prev:
        yield
        return
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(prev)
