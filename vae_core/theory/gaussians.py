"""Drawing Gaussians: a 1-D density, the n-sigma ellipse of a 2-D one, and a covariance from (and
to) log-variances and a correlation -- the parameters the theory pages' sliders set.
"""

from __future__ import annotations

import math

import torch

from ._common import DTYPE, _t

__all__ = ["cov_from_params", "cov_to_params", "gaussian_ellipse", "gaussian_pdf"]


def gaussian_pdf(z, mean: float, var: float) -> torch.Tensor:
    """Density of N(mean, var) at the points ``z`` (1-D), float64."""
    z = _t(z)
    var = float(var)
    if var <= 0:
        raise ValueError("var must be > 0")
    return torch.exp(-0.5 * (z - float(mean)) ** 2 / var) / math.sqrt(2 * math.pi * var)


def gaussian_ellipse(mean, cov, n_std: float = 1.0, n: int = 100) -> torch.Tensor:
    """(n, 2) points of the n_std-sigma contour {z : (z - m)^T cov^-1 (z - m) = n_std^2} of a 2-D Gaussian
    (any full covariance), closed (first point repeated at the end)."""
    m, C = _t(mean).reshape(2), _t(cov).reshape(2, 2)
    L = torch.linalg.cholesky(0.5 * (C + C.T))
    t = torch.linspace(0, 2 * math.pi, n, dtype=DTYPE)
    circle = torch.stack([torch.cos(t), torch.sin(t)], 1)
    return m + float(n_std) * circle @ L.T


def cov_from_params(log_vars, rho: float = 0.0) -> torch.Tensor:
    """Covariance (d, d) from log-variances (d,) and, for d = 2, a correlation ``rho`` in (-1, 1)."""
    lv = _t(log_vars).reshape(-1)
    sd = torch.exp(0.5 * lv)
    R = torch.eye(lv.shape[0], dtype=DTYPE)
    if lv.shape[0] == 2:
        if not -1 < float(rho) < 1:
            raise ValueError("rho must lie in (-1, 1)")
        R[0, 1] = R[1, 0] = float(rho)
    elif float(rho) != 0.0:
        raise ValueError("a correlation needs d = 2")
    return sd[:, None] * R * sd[None, :]


def cov_to_params(cov) -> tuple[list[float], float]:
    """Inverse of :func:`cov_from_params`: (log-variances as a list, correlation; 0 for d = 1)."""
    C = _t(cov)
    C = C.reshape(1, 1) if C.ndim < 2 else C
    v = torch.diagonal(C)
    rho = float(C[0, 1] / torch.sqrt(v[0] * v[1])) if C.shape[0] == 2 else 0.0
    return torch.log(v).tolist(), rho
