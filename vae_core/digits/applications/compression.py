"""A latent code as compression (seed §4): the rate KL(q(z|x) || p(z)) in nats and bits against
784 bytes of 8-bit pixels, per image (:func:`compression_report`) and over a data set
(:func:`rate_summary`).
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from ...images import PIXELS, as_image_rows
from ...objectives import gaussian_kl
from ._checks import _finite_1d

__all__ = ["compression_report", "rate_summary"]


LN2 = math.log(2.0)


@torch.no_grad()
def compression_report(model, x, y=None, bits_per_pixel: int = 8) -> dict:
    """How much a latent code "costs" compared with storing the pixels (seed §4).

    Per image (N,) tensors: ``rate_nats`` = KL(q(z|x) || p(z)) -- the bits-back rate of sending z --
    and ``rate_bits`` = rate_nats / ln 2; ``ratio`` = pixel_bits / rate_bits; ``recon`` (N, 784) =
    decode(mu); ``recon_bce`` (nats, summed over pixels) and ``recon_mse`` (mean over pixels) of it;
    ``total_bits`` = (KL + BCE of decode(mu)) / ln 2, roughly a lossless code length.
    Scalars: ``latent_dim`` d, ``pixel_bits`` = 784 * 8 = 6272, ``pixel_bytes`` = 784,
    ``dim_ratio`` = 784 / d (the seed's H*W*C / d) and ``float32_ratio`` = 6272 / (32 d), storing mu as floats.
    """
    model.eval()
    x = as_image_rows(x).float()
    yy = model.check_labels(y, x.shape[0])
    mu, logvar = model.encode(x, yy)
    rate = gaussian_kl(mu, logvar)
    logits = model.decode_logits(mu, yy)
    recon = torch.sigmoid(logits)
    bce = F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(1)
    d = int(model.latent_dim)
    pixel_bits = x.shape[1] * int(bits_per_pixel)
    rate_bits = rate / LN2
    return {
        "latent_dim": d,
        "pixel_bytes": x.shape[1] * int(bits_per_pixel) // 8,
        "pixel_bits": pixel_bits,
        "dim_ratio": x.shape[1] / d,
        "float32_ratio": pixel_bits / (32 * d),
        "rate_nats": rate,
        "rate_bits": rate_bits,
        "ratio": pixel_bits / rate_bits.clamp_min(1e-12),
        "recon": recon,
        "recon_bce": bce,
        "recon_mse": (recon - x).pow(2).mean(1),
        "total_bits": (rate + bce) / LN2,
    }


def rate_summary(rate_nats, bits_per_pixel: int = 8, pixels: int = PIXELS) -> dict:
    """Average rate over a data set from per-image KL values (nats): ``mean_nats``, ``mean_bits``,
    ``median_bits``, ``p10_bits``/``p90_bits``, ``n`` and ``ratio`` = pixel bits / mean bits."""
    r = _finite_1d(rate_nats, "rate_nats")
    bits = r / LN2
    pixel_bits = pixels * int(bits_per_pixel)
    return {"n": int(r.size), "mean_nats": float(r.mean()), "mean_bits": float(bits.mean()),
            "median_bits": float(np.median(bits)), "p10_bits": float(np.percentile(bits, 10)),
            "p90_bits": float(np.percentile(bits, 90)), "pixel_bits": pixel_bits,
            "ratio": pixel_bits / max(float(bits.mean()), 1e-12)}
