"""Short sidebar names for a checkpoint's stored test numbers (issue #11: no number is called a log-likelihood
unless it is one).  What the numbers are is decided once, by vae_core.likelihoods.metric_labels; this only
picks a label short enough for a metric tile and keeps the long description as its help."""

from __future__ import annotations

from vae_core.likelihoods import metric_labels

SHORT = {  # kind -> (label of neg_elbo, label of iwae_nll)
    "log-density": ("test −ELBO", "−log p(x) ≤"),
    "log-probability": ("test −ELBO", "−log P(x) ≤"),
    "cross-entropy": ("test −ELBO (BCE)", "IWAE bound (BCE)"),
}


def metric_names(meta: dict) -> dict[str, tuple[str, str]]:
    """{"neg_elbo": (label, help), "iwae_nll": (label, help)} for the stored ``test_metrics`` of ``meta``."""
    lab = metric_labels(meta)
    short = SHORT[lab["kind"]]
    return {"neg_elbo": (short[0], lab["neg_elbo"]), "iwae_nll": (short[1], lab["iwae_nll"])}
