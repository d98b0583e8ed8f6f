"""Inpainting: the page's chains (vae_core.digits.applications.inpaint) and the numbers shown beside them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from vae_core.digits.applications import completion_spread, inpaint, known_pixel_change, missing_pixel_error

TOL = 1e-4  # a chain stops when its hole changes by less than this per pixel between passes


@dataclass(frozen=True)
class Completions:
    completions: np.ndarray  # (n, 784) the filled-in images
    mask: np.ndarray  # (784,) bool, True = missing
    known_change: float  # max |completion - original| over the known pixels (0 by construction)
    hole_error: float  # mean |completion - original| over the missing pixels and the completions (0-1 per pixel)
    spread: float  # pixel-wise std across the completions, averaged over the hole
    iterations: np.ndarray  # (n,) steps each chain ran
    converged: np.ndarray  # (n,) bool: stopped below the tolerance
    chain_trace: np.ndarray  # (T, n) mean |x_t - x_{t-1}| over the hole per chain, NaN after it stopped
    trace: np.ndarray  # (T,) its mean over the chains still running
    random_steps: int  # steps with z ~ q(z|x) before the steady z = μ steps

    @property
    def n_hole(self) -> int:
        return int(self.mask.sum())


def random_steps(requested: int, n_iter: int) -> int:
    """The random steps a chain takes: as requested, but no more than the iteration limit."""
    return min(int(requested), int(n_iter))


def complete(model, x, mask, n_iter: int, n_samples: int, stochastic_steps: int, fill: str, seed: int,
             y: int | None = None, tol: float = TOL) -> Completions:
    """Run ``n_samples`` chains of at most ``n_iter`` steps (the first ``stochastic_steps`` random) on image ``x``
    with ``mask`` (1 = missing), the hole starting ``"black"`` (0) or ``"noise"`` (U(0, 1) per chain); a CVAE
    completes it as class ``y``.  Draws come from a generator seeded with ``seed``."""
    steps = random_steps(stochastic_steps, n_iter)
    res = inpaint(model, x, mask, n_iter=int(n_iter), n_samples=int(n_samples), y=y,
                  generator=torch.Generator().manual_seed(int(seed)), tol=tol,
                  fill=0.0 if fill == "black" else "random", stochastic_steps=steps)
    comp, miss = res["completions"], res["mask"]
    return Completions(
        completions=comp.numpy(), mask=miss.numpy(), known_change=known_pixel_change(comp, x, miss),
        hole_error=float(np.nanmean(missing_pixel_error(comp, x, miss).numpy())),
        spread=completion_spread(comp, miss), iterations=res["iterations"].numpy(),
        converged=res["converged"].numpy(), chain_trace=res["chain_trace"].numpy(), trace=res["trace"].numpy(),
        random_steps=steps)
