"""float64 helpers shared by the theory modules.
"""

from __future__ import annotations

import torch

__all__: list[str] = []


DTYPE = torch.float64


def _t(v) -> torch.Tensor:
    return torch.as_tensor(v, dtype=DTYPE)


def _chol_logdet(m: torch.Tensor) -> torch.Tensor:
    """log det of a (batch of) symmetric positive-definite matrices."""
    return 2.0 * torch.log(torch.diagonal(torch.linalg.cholesky(m), dim1=-2, dim2=-1)).sum(-1)
