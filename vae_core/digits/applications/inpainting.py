"""Inpainting by iterated encode-decode (seed §2, ``ImageInpaintingVAE.inpaint`` run to a fixed point).

Masks use 1 / True for a MISSING pixel: :func:`make_mask` (halves, centre, boxes, random pixels or
an array), :func:`mask_from_canvas` (a drawn canvas).  :func:`inpaint` runs the chains; the other
functions measure the result: known pixels untouched, error on the missing ones, spread between
completions, and a picture of what the model was given.
"""

from __future__ import annotations

import numpy as np
import torch

from ...images import PIXELS, SIDE, as_image_rows

__all__ = [
    "MASKS", "completion_spread", "inpaint", "known_pixel_change", "make_mask", "mask_from_canvas", "mask_overlay",
    "missing_pixel_error"
]


MASKS = ("top", "bottom", "left", "right", "centre", "random box", "random pixels")


def make_mask(kind, seed: int | None = None, box: tuple[int, int, int, int] | None = None) -> torch.Tensor:
    """A (784,) float32 mask with 1 = MISSING pixel, 0 = known.

    ``kind`` is one of :data:`MASKS` -- the "top"/"bottom"/"left"/"right" half, the "centre" 14x14
    square, a "random box" (``box=(top, left, height, width)``, else a seeded random box of 8..16
    pixels a side), "random pixels" (each pixel missing with probability 1/2, seeded) -- or a
    user-supplied (28, 28) / (784,) array whose non-zero entries are missing.
    """
    if not isinstance(kind, str):
        a = np.asarray(kind.detach().cpu() if hasattr(kind, "detach") else kind)
        if a.size != PIXELS:
            raise ValueError(f"a mask array needs 784 entries (28 x 28), got shape {a.shape}")
        return torch.from_numpy((a.reshape(-1) != 0).astype(np.float32))
    m = torch.zeros(SIDE, SIDE)
    rng = np.random.default_rng(seed)
    half = SIDE // 2
    if kind == "top":
        m[:half] = 1
    elif kind == "bottom":
        m[half:] = 1
    elif kind == "left":
        m[:, :half] = 1
    elif kind == "right":
        m[:, half:] = 1
    elif kind == "centre":
        m[7:21, 7:21] = 1
    elif kind == "random box":
        if box is None:
            h, w = (int(v) for v in rng.integers(8, 17, size=2))
            top, left = int(rng.integers(0, SIDE - h + 1)), int(rng.integers(0, SIDE - w + 1))
        else:
            top, left, h, w = (int(v) for v in box)
        m[max(top, 0):max(top + h, 0), max(left, 0):max(left + w, 0)] = 1
    elif kind == "random pixels":
        m = torch.from_numpy((rng.random((SIDE, SIDE)) < 0.5).astype(np.float32))
    else:
        raise ValueError(f"unknown mask kind {kind!r}; choose one of {MASKS} or pass a 28x28 array")
    return m.reshape(-1)


@torch.no_grad()
def inpaint(model, x, mask, n_iter: int = 50, n_samples: int = 8, y=None, generator: torch.Generator | None = None,
            tol: float = 1e-4, fill: float | str = 0.0, stochastic_steps: int | None = None,
            final: str = "mean") -> dict:
    """Fill the missing pixels of one image by iterating the seed's ``ImageInpaintingVAE.inpaint``.

    ``n_samples`` independent chains start from ``x`` with its missing pixels set to ``fill`` (a
    number, or ``"random"`` for U(0, 1) noise drawn per chain).  Each step encodes the current image,
    takes a z, decodes, and replaces ONLY the missing pixels::

        x_{t+1} = where(mask, decode(z), x_known),   z ~ q(z | x_t)  (first ``stochastic_steps`` steps)
                                                     z = mu(x_t)     (the steps after those)

    * Sampled steps (the default: ``stochastic_steps = n_iter``) are the pseudo-Gibbs chain of Rezende
      et al. (2014): every chain draws its own z, so the completions differ -- the diversity the seed
      promises.  Their step-to-step change stays at a noise floor unless q(z|x) is very sharp.
    * Deterministic steps (z = mu) are a fixed-point iteration: the change falls geometrically and the
      chain stops early, but chains tend to merge into the same completion (with a 2-D latent space
      they typically all do).  ``stochastic_steps=0`` runs only these; a mix explores, then settles.

    A chain stops as soon as the mean absolute change of its missing pixels is below ``tol``.
    ``final="mean"`` finishes every chain with one extra deterministic step (missing pixels =
    decode(mu(x_T)), the Bernoulli-mean image rather than one noisy draw; not counted in
    ``iterations``); ``final="sample"`` returns x_T as it is.  ``n_iter=1, final="sample"`` is the
    seed's one-shot inpainting.  Known pixels are copied with ``torch.where``, so they are bit-for-bit
    those of ``x`` (in x's dtype).

    Returns a dict: ``completions`` (n_samples, 784); ``iterations`` (n_samples,) steps each chain
    ran (<= n_iter); ``converged`` (n_samples,) bool, True if the chain stopped on ``tol``;
    ``trace`` (T,) mean change over the chains still running at each step, T = max(iterations);
    ``chain_trace`` (T, n_samples), NaN after a chain has stopped; ``mask`` (784,) bool (True =
    missing); ``masked`` (784,) x with the missing pixels set to ``fill`` (0.5 shown for "random").
    """
    if n_iter < 1 or n_samples < 1:
        raise ValueError("n_iter and n_samples must be >= 1")
    if final not in ("mean", "sample"):
        raise ValueError("final must be 'mean' or 'sample'")
    model.eval()
    x = torch.as_tensor(x).reshape(-1)
    if x.numel() != model.input_dim:
        raise ValueError(f"inpaint takes one image of {model.input_dim} pixels, got {tuple(x.shape)}")
    miss = torch.as_tensor(mask).reshape(-1) != 0
    if miss.numel() != x.numel():
        raise ValueError("mask and image sizes differ")
    yy = model.check_labels(y, n_samples)
    known = x.unsqueeze(0).expand(n_samples, -1)
    if isinstance(fill, str):
        if fill != "random":
            raise ValueError("fill must be a number or 'random'")
        noise = torch.rand(n_samples, x.numel(), generator=generator).to(x.dtype)
        cur = torch.where(miss, noise, known)
        start = torch.where(miss, torch.full_like(x, 0.5), x)
    else:
        start = torch.where(miss, torch.full_like(x, float(fill)), x)
        cur = start.unsqueeze(0).expand(n_samples, -1).clone()
    stochastic_steps = n_iter if stochastic_steps is None else max(0, int(stochastic_steps))
    iterations = torch.zeros(n_samples, dtype=torch.long)
    active = torch.ones(n_samples, dtype=torch.bool)
    converged = torch.zeros(n_samples, dtype=torch.bool)
    chain_trace: list[torch.Tensor] = []
    n_miss = int(miss.sum())
    for t in range(1, n_iter + 1):
        idx = active.nonzero().reshape(-1)
        if idx.numel() == 0:
            break
        yb = None if yy is None else yy[idx]
        mu, logvar = model.encode(cur[idx].float(), yb)
        z = model.reparameterize(mu, logvar, generator) if t <= stochastic_steps else mu
        new = torch.where(miss, model.decode(z, yb).to(x.dtype), known[idx])
        change = (new - cur[idx]).abs()[:, miss].mean(1) if n_miss else torch.zeros(idx.numel())
        cur[idx] = new
        iterations[idx] = t
        row = torch.full((n_samples,), float("nan"))
        row[idx] = change.float()
        chain_trace.append(row)
        done = change < tol
        converged[idx[done]] = True
        active[idx[done]] = False
    if final == "mean":
        mu, _ = model.encode(cur.float(), yy)
        cur = torch.where(miss, model.decode(mu, yy).to(x.dtype), known)
    ct = torch.stack(chain_trace)
    return {"completions": cur, "iterations": iterations, "converged": converged, "trace": torch.nanmean(ct, dim=1),
            "chain_trace": ct, "mask": miss, "masked": start}


def mask_from_canvas(rgba, side: int = SIDE, coverage: float = 0.2) -> torch.Tensor:
    """A (side*side,) float32 mask (1 = MISSING) from a drawn canvas image.

    ``rgba`` is the (H, W, 4) uint8 canvas (strokes opaque, background transparent; H and W
    multiples of ``side`` work best).  Each cell of the side x side grid is missing when the mean
    stroke opacity over it is at least ``coverage`` (0-1).  Without an alpha channel the brightness
    of an (H, W) / (H, W, 3) image is used."""
    a = np.asarray(rgba, dtype=np.float64)
    if a.ndim == 3 and a.shape[2] == 4:
        ink = a[..., 3]
    elif a.ndim == 3:
        ink = a[..., :3].mean(2)
    elif a.ndim == 2:
        ink = a
    else:
        raise ValueError(f"expected an (H, W) or (H, W, C) image, got shape {a.shape}")
    ink = ink / 255.0 if ink.max(initial=0.0) > 1.0 else ink
    h, w = ink.shape
    if h < side or w < side:
        raise ValueError(f"canvas {h}x{w} is smaller than {side}x{side}")
    rows = np.linspace(0, h, side + 1).round().astype(int)
    cols = np.linspace(0, w, side + 1).round().astype(int)
    cells = np.add.reduceat(np.add.reduceat(ink, rows[:-1], axis=0), cols[:-1], axis=1)
    area = np.outer(np.diff(rows), np.diff(cols))
    return torch.from_numpy((cells / area >= coverage).astype(np.float32).reshape(-1))


def known_pixel_change(completions, x, mask) -> float:
    """max |completion - x| over the KNOWN pixels (mask == 0) of every completion; 0.0 if none known.

    Inpainting copies the known pixels, so this is exactly 0."""
    c = torch.as_tensor(completions).reshape(-1, PIXELS).double()
    xx = torch.as_tensor(x).reshape(1, PIXELS).double()
    known = torch.as_tensor(mask).reshape(-1) == 0
    if not bool(known.any()):
        return 0.0
    return float((c[:, known] - xx[:, known]).abs().max())


def missing_pixel_error(completions, x, mask) -> torch.Tensor:
    """Mean |completion - x| over the MISSING pixels, per completion (N,) -- against the truth, which
    the chains never saw; NaN if nothing is missing."""
    c = torch.as_tensor(completions).reshape(-1, PIXELS).float()
    xx = torch.as_tensor(x).reshape(1, PIXELS).float()
    miss = torch.as_tensor(mask).reshape(-1) != 0
    if not bool(miss.any()):
        return torch.full((c.shape[0],), float("nan"))
    return (c[:, miss] - xx[:, miss]).abs().mean(1)


def completion_spread(completions, mask) -> float:
    """How much the completions disagree: the pixel-wise standard deviation across completions,
    averaged over the missing pixels (0 = all identical; NaN if nothing is missing)."""
    c = torch.as_tensor(completions).reshape(-1, PIXELS).double()
    miss = torch.as_tensor(mask).reshape(-1) != 0
    if not bool(miss.any()):
        return float("nan")
    if c.shape[0] < 2:
        return 0.0
    return float(c[:, miss].std(0, unbiased=False).mean())


def mask_overlay(x, mask, color=(0.85, 0.2, 0.2)) -> np.ndarray:
    """An (28, 28, 3) RGB picture of what the model is given: the known pixels in grey levels and
    every missing pixel painted ``color`` (RGB in [0, 1]) so the hole is visible on any background."""
    g = np.clip(np.asarray(as_image_rows(x)).reshape(SIDE, SIDE), 0.0, 1.0)
    miss = np.asarray(torch.as_tensor(mask).reshape(SIDE, SIDE) != 0)
    rgb = np.repeat(g[..., None], 3, axis=2).astype(np.float32)
    rgb[miss] = np.asarray(color, dtype=np.float32)
    return rgb
