"""What a digit costs in bits, compared like with like (the Compression page).

* **Lossless baselines** of the same 8-bit digit: raw bytes, zlib (DEFLATE, level 9) and PNG (Pillow,
  ``optimize=True``) byte counts; and of its binarisation (1 bit per pixel).  These are lengths of real
  codes for the exact pixels.
* **Sending one z ~ q(z|x)** with randomness shared by sender and receiver: KL(q‖p)/ln 2 bits is the ideal
  (the expected cost cannot be lower on average: I(X;Z) <= E_x KL(q(z|x)‖p(z))).  Existing schemes pay
  more.  Li & El Gamal (2018, "Strong functional representation lemma and applications to coding theorems",
  IEEE Trans. Inf. Theory 64(11)) prove one-shot channel simulation with an expected length of at most
  I + log2(I + 1) + 5 bits (I = I(X;Z) in bits); since I <= rate R and the bound grows with I,
  R + log2(R + 1) + 5 bits, with R the average KL in bits, is an upper bound on what their scheme needs.
  Per image, relative-entropy coders (Flamich, Havasi & Hernández-Lobato 2020; Theis & Yosri 2022) pay an
  overhead of the order of log2(KL + 1) bits plus a constant over KL/ln 2.
* **Bits-back on binary images**: for binary pixels -ELBO/ln 2 is the net length of a bits-back code of the
  exact image (Frey & Hinton 1997; Townsend, Bird & Barber 2019, BB-ANS, which also pays a one-off start-up
  cost).  On grey pixels the BCE objective is not the length of any code for the 8-bit image.
"""

from __future__ import annotations

import io
import math
import zlib

import numpy as np
import torch
from PIL import Image

from ..images import SIDE, as_image_rows
from ..objectives import elbo_terms

__all__ = ["LN2", "binarize_at", "bits_back_bits", "li_el_gamal_bound_bits", "lossless_baselines", "png_bytes",
           "rec_overhead_bits", "to_uint8",
           "zlib_bytes"]

LN2 = math.log(2.0)


def to_uint8(x) -> np.ndarray:
    """(N, 28, 28) uint8 images, round(255 x): the 8-bit digits the data set stores."""
    rows = as_image_rows(x).numpy()
    return np.rint(rows * 255.0).astype(np.uint8).reshape(-1, SIDE, SIDE)


def zlib_bytes(img: np.ndarray, level: int = 9) -> int:
    """Length in bytes of zlib.compress(the raw pixel bytes) (a 2-byte header and 4-byte checksum included)."""
    a = np.ascontiguousarray(img)
    if a.dtype == bool:
        a = np.packbits(a.reshape(-1))
    return len(zlib.compress(a.tobytes(), level))


def png_bytes(img: np.ndarray) -> int:
    """Length in bytes of a PNG file of the image (8-bit grey 'L', or 1-bit '1' for a bool array)."""
    im = Image.fromarray(img.astype(bool) if img.dtype == bool else img, mode=None)
    if img.dtype == bool:
        im = im.convert("1")
    buf = io.BytesIO()
    im.save(buf, format="PNG", optimize=True)
    return len(buf.getvalue())


def binarize_at(x, threshold: float = 0.5) -> np.ndarray:
    """The 8-bit digits (N, 28, 28) as booleans: pixel >= round(255 * threshold).  The one threshold rule of the
    Compression page, for its lossless codes and its bits-back length alike."""
    return to_uint8(x) >= round(255 * threshold)


def bits_back_bits(model, x, y=None, threshold: float = 0.5, n_samples: int = 64, seed: int = 0) -> np.ndarray:
    """Per image (N,), bits: -ELBO / ln 2 of the digit binarised by :func:`binarize_at`, the net length of a
    bits-back code of that binary image (a Monte-Carlo estimate from ``n_samples`` draws, seeded)."""
    xb = torch.as_tensor(binarize_at(x, threshold).reshape(-1, SIDE * SIDE), dtype=torch.float32)
    labels = None if y is None else torch.as_tensor(np.atleast_1d(y), dtype=torch.long).expand(len(xb))
    terms = elbo_terms(model, xb, model.condition(labels), n_samples=n_samples,
                       generator=torch.Generator().manual_seed(seed))
    return terms["neg_elbo"].detach().numpy() / LN2


def lossless_baselines(x, threshold: float = 0.5) -> dict[str, np.ndarray]:
    """Per image (N,) byte counts of real lossless codes of the 8-bit digit and of its binarisation.

    ``raw8`` = 784, ``zlib8``, ``png8`` (8-bit grey); ``raw1`` = 98 (784 bits), ``zlib1``, ``png1`` (the digit
    binarised at ``threshold``, 1 bit per pixel).  Bits = 8 x bytes.
    """
    imgs = to_uint8(x)
    bins = binarize_at(x, threshold)
    return {"raw8": np.full(len(imgs), SIDE * SIDE), "zlib8": np.array([zlib_bytes(a) for a in imgs]),
            "png8": np.array([png_bytes(a) for a in imgs]), "raw1": np.full(len(imgs), SIDE * SIDE // 8),
            "zlib1": np.array([zlib_bytes(b) for b in bins]), "png1": np.array([png_bytes(b) for b in bins])}


def rec_overhead_bits(kl_nats) -> dict[str, np.ndarray]:
    """``ideal`` = KL / ln 2 bits and ``with_log_overhead`` = ideal + log2(ideal + 1) bits (the order of the
    per-image overhead of relative-entropy coding, before its constant).  Arrays of the input's shape."""
    k = np.asarray(torch.as_tensor(kl_nats, dtype=torch.float64).numpy() if torch.is_tensor(kl_nats) else kl_nats,
                   dtype=np.float64) / LN2
    return {"ideal": k, "with_log_overhead": k + np.log2(k + 1.0)}


def li_el_gamal_bound_bits(mean_rate_nats: float) -> float:
    """R + log2(R + 1) + 5 bits with R the average rate in bits: an upper bound on the expected length of Li &
    El Gamal's (2018) one-shot scheme for sending z ~ q(z|x) (their bound is I + log2(I + 1) + 5 with
    I = I(X;Z) <= R)."""
    r = float(mean_rate_nats) / LN2
    if r < 0:
        raise ValueError("the rate must be >= 0")
    return r + math.log2(r + 1.0) + 5.0
