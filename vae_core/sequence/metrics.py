"""Headline test metrics of sequence VAEs (what each checkpoint's JSON records)."""

from __future__ import annotations

import torch

from .model import SeqVAE
from .train import decode_all, encode_all, evaluate


@torch.no_grad()
def prior_samples(model: SeqVAE, n: int, seed: int = 0, mode: str = "greedy", temperature: float = 1.0,
                  require_end: bool = False) -> list[str]:
    """n strings decoded from z ~ N(0, I) (seeded); with ``require_end`` unfinished decodings are ""."""
    g = torch.Generator().manual_seed(seed)
    z = torch.randn((n, model.latent_dim), generator=g)
    return decode_all(model, z, mode, generator=g, temperature=temperature, require_end=require_end)


def word_metrics(model: SeqVAE, train: list[str], test: list[str], n_prior: int = 1000, seed: int = 0) -> dict:
    """Test ``word_accuracy`` (greedy decoding of μ equals the word), ``kl`` (nats per word),
    ``recon`` and ``neg_elbo`` (nats per word), and the fraction of prior samples that are
    words of the corpus (``prior_in_corpus``) or new (``prior_novel``)."""
    m = evaluate(model, test, seed=seed)
    known = set(train) | set(test)
    samples = prior_samples(model, n_prior, seed)
    return {"word_accuracy": m["word_accuracy"], "kl": m["kl"], "recon": m["recon"], "neg_elbo": m["neg_elbo"],
            "n_test": m["n"], "prior_in_corpus": sum(s in known for s in samples) / max(len(samples), 1),
            "prior_unique": len(set(samples)) / max(len(samples), 1), "n_prior": len(samples),
            "prior_decoding": "greedy"}


def smiles_metrics(model: SeqVAE, train: list[str], test: list[str], n_prior: int = 1000, seed: int = 0) -> dict:
    """``recon_validity``: fraction of test molecules whose greedy decoding of μ is a valid SMILES;
    ``recon_exact``: … whose decoding is the same molecule; ``validity`` / ``uniqueness`` /
    ``novelty`` of ``n_prior`` greedy decodings of z ~ N(0, I), and the same for sampled decoding
    (temperature 1) under ``sampled_*``; ``kl`` in nats per molecule.  A decoding that does not end
    within the model's ``max_len`` tokens counts as invalid."""
    from .smiles import canonical, generation_metrics

    m = evaluate(model, test, seed=seed)
    mu, _ = encode_all(model, model.vocab.batch(test, None))
    decoded = decode_all(model, mu, require_end=True)
    canon = [canonical(s) for s in decoded]
    recon_validity = sum(c is not None for c in canon) / max(len(test), 1)
    recon_exact = sum(c == t for c, t in zip(canon, test, strict=True)) / max(len(test), 1)
    train_set = set(train)
    greedy = generation_metrics(prior_samples(model, n_prior, seed, require_end=True), train_set)
    sampled = generation_metrics(prior_samples(model, n_prior, seed, mode="sample", require_end=True), train_set)
    out = {"recon_validity": recon_validity, "recon_exact": recon_exact, "kl": m["kl"], "recon": m["recon"],
           "neg_elbo": m["neg_elbo"], "n_test": m["n"], "validity": greedy["validity"],
           "uniqueness": greedy["uniqueness"], "novelty": greedy["novelty"], "n_prior": greedy["n"],
           "prior_decoding": "greedy"}
    out.update({f"sampled_{k}": sampled[k] for k in ("validity", "uniqueness", "novelty")})
    return out


def seq_test_metrics(model: SeqVAE, dataset: str, train: list[str], test: list[str], n_prior: int = 1000,
                     seed: int = 0) -> dict:
    if dataset == "words":
        return word_metrics(model, train, test, n_prior, seed)
    if dataset == "smiles":
        return smiles_metrics(model, train, test, n_prior, seed)
    raise ValueError(f"unknown dataset {dataset!r}")
