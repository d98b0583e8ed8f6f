"""What a checkpoint's stored test numbers are, named by its likelihood and data (issue #11: no number is
called a log-likelihood unless it is one).  Pure functions of the metadata, used by the sidebar."""

from __future__ import annotations


def metric_names(meta: dict) -> dict[str, tuple[str, str]]:
    """{"neg_elbo": (label, help), "iwae_nll": (label, help)} for the stored ``test_metrics`` of ``meta``."""
    tm = meta.get("test_metrics") or {}
    k = tm.get("iwae_k", "—")
    lik = meta.get("likelihood") or "bernoulli"
    binar = (meta.get("binarization") or "none") != "none"
    if lik == "continuous_bernoulli":
        return {"neg_elbo": ("test −ELBO", "nats per image on the test split: continuous-Bernoulli −log density "
                             "term + KL, an upper bound on −log p(x) (a log-density)"),
                "iwae_nll": ("−log p(x) ≤", f"−(IWAE bound, k = {k}) on the continuous-Bernoulli log-density, nats "
                             "per image: −log p(x) of a density on [0, 1]^784 lies below it (in expectation)")}
    if binar:
        return {"neg_elbo": ("test −ELBO", "nats per image on the binarised test digits: Bernoulli −log P(x|z) + "
                             "KL, an upper bound on −log P(x)"),
                "iwae_nll": ("−log P(x) ≤", f"−(IWAE bound, k = {k}) on the fixed binarised test set, nats per "
                             "image: −log P(x), a log-probability, lies below it (in expectation)")}
    return {"neg_elbo": ("test −ELBO (BCE)", "nats per image on the test split: Bernoulli cross-entropy summed over "
                         "784 grey pixels + KL. A training objective; on grey pixels not a bound on any −log p(x)"),
            "iwae_nll": ("IWAE bound (BCE)", f"−(IWAE bound, k = {k}) computed with the Bernoulli cross-entropy on "
                         "grey pixels, nats per image: not a bound on a log-likelihood of the images (see ELBO & "
                         "Bounds, Which likelihood?)")}
