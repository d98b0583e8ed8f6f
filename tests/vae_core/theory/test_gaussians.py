"""vae_core.theory.gaussians: densities and ellipses for drawing Gaussians."""

from __future__ import annotations

import pytest
import torch


def test_gaussian_pdf_and_ellipse():
    from vae_core.theory import gaussian_ellipse, gaussian_pdf

    z = torch.linspace(-8, 10, 4001, dtype=torch.float64)
    p = gaussian_pdf(z, 1.0, 2.0)
    assert float(torch.trapezoid(p, z)) == pytest.approx(1.0, abs=1e-6)
    assert float((p * z).sum() / p.sum()) == pytest.approx(1.0, abs=1e-6)
    cov = torch.tensor([[2.0, 0.6], [0.6, 0.5]], dtype=torch.float64)
    e = gaussian_ellipse([1.0, -1.0], cov, n_std=2.0, n=50)
    assert e.shape == (50, 2)
    d = e - torch.tensor([1.0, -1.0], dtype=torch.float64)
    maha = torch.einsum("ni,ij,nj->n", d, torch.linalg.inv(cov), d)
    torch.testing.assert_close(maha, torch.full((50,), 4.0, dtype=torch.float64))
    with pytest.raises(ValueError):
        gaussian_pdf(z, 0.0, 0.0)
