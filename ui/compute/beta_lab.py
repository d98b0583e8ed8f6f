"""β/KL Lab: the trainings the lab starts — a sweep of β, and the collapsing preset next to its fixed twin."""

from __future__ import annotations

import math

from ui.fmt import fmt_beta
from vae_core.digits.analysis import COLLAPSE_LATENT, LAB_HIDDEN, LAB_LOG_EVERY
from vae_core.digits.train import TrainConfig


def sweep_configs(betas, latent: int, epochs: int) -> list[tuple[str, TrainConfig]]:
    """One lab model per β (sorted), all with the lab's architecture and seed."""
    return [(f"β={fmt_beta(b)}", TrainConfig(latent_dim=int(latent), hidden_dims=LAB_HIDDEN, beta=float(b),
                                             epochs=int(epochs), log_every=LAB_LOG_EVERY, seed=0))
            for b in sorted(betas)]


def collapse_configs(n_train: int, epochs: int, beta: float, anneal: str | None = None, warmup_share: float = 0.5,
                     free_bits: float | None = None, batch_size: int = 128) -> list[tuple[str, TrainConfig]]:
    """The collapsing preset (z = COLLAPSE_LATENT at a heavy β) as it is, and with the chosen fixes: KL annealing
    (``anneal`` = "linear" | "cyclical", warm-up T = ``warmup_share`` of all steps) and / or free bits λ."""
    if not anneal and not free_bits:
        raise ValueError("turn on at least one fix: otherwise both runs are the same")
    total = math.ceil(n_train / min(batch_size, n_train)) * int(epochs)
    base = dict(latent_dim=COLLAPSE_LATENT, hidden_dims=LAB_HIDDEN, beta=float(beta), epochs=int(epochs),
                log_every=LAB_LOG_EVERY, seed=0)
    fixes: dict = {}
    what = []
    if anneal:
        fixes.update(kl_schedule=anneal, warmup_steps=max(1, int(warmup_share * total)))
        what.append(f"{anneal} annealing")
    if free_bits:
        fixes["free_bits"] = float(free_bits)
        what.append(f"free bits λ={free_bits:g}")
    return [(f"collapsed: β = {beta:g}, no fix", TrainConfig(**base)),
            (f"fixed: {' + '.join(what)}", TrainConfig(**base, **fixes))]


def planned_steps(n_train: int, epochs: int, batch_size: int = 128) -> int:
    """Optimisation steps of a training run (the warm-up preview's horizontal axis)."""
    return math.ceil(n_train / batch_size) * int(epochs)
