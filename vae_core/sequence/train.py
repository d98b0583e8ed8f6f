"""Training and evaluation of sequence VAEs (no Streamlit).

KL annealing: the shared :class:`vae_core.objectives.KLSchedule` (β·min(1, s / warmup_steps) at step s
for "linear", β throughout for "constant", Fu et al.'s cycles for "cyclical").  Word dropout rate p
replaces decoder inputs with ``<unk>`` during training only.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import torch

from ..objectives import KLSchedule, gaussian_kl_per_dim
from .model import SeqVAE, lengths_of


@dataclass
class SeqTrainConfig:
    latent_dim: int = 16
    embed_dim: int = 32
    enc_hidden: int = 128
    dec_hidden: int = 256
    dec_layers: int = 1
    epochs: int = 10
    batch_size: int = 128
    lr: float = 2e-3
    beta: float = 1.0
    kl_schedule: str = "linear"   # "constant" | "linear" | "cyclical" (objectives.KLSchedule)
    warmup_steps: int = 2000
    word_dropout: float = 0.0
    free_bits: float = 0.0        # nats per latent dimension (0: off)
    grad_clip: float = 5.0
    seed: int = 0

    def to_dict(self) -> dict:
        return asdict(self)

    def validate(self) -> None:
        if self.kl_schedule not in ("constant", "linear", "cyclical"):
            raise ValueError("kl_schedule must be 'constant', 'linear' or 'cyclical'")
        if self.free_bits < 0:
            raise ValueError("free bits must be ≥ 0")
        if not 0.0 <= self.word_dropout < 1.0:
            raise ValueError("word dropout must be in [0, 1)")
        if self.epochs < 0 or self.batch_size < 1 or not self.lr > 0 or self.beta < 0:
            raise ValueError("epochs ≥ 0, batch size ≥ 1, lr > 0 and β ≥ 0 are required")

    @property
    def schedule(self) -> KLSchedule:
        """The KL term's weight at optimisation step s (0-based) is ``schedule.weight(s)``."""
        return KLSchedule(self.kl_schedule, self.beta, self.warmup_steps)


def length_batches(ids: torch.Tensor, batch_size: int, generator: torch.Generator) -> list[torch.Tensor]:
    """Shuffled index batches of similar length (less padding), in random order."""
    n = ids.shape[0]
    perm = torch.randperm(n, generator=generator)
    lens = lengths_of(ids)
    chunk = batch_size * 50
    batches = []
    for start in range(0, n, chunk):
        idx = perm[start:start + chunk]
        idx = idx[torch.argsort(lens[idx], stable=True)]
        batches.extend(idx[i:i + batch_size] for i in range(0, len(idx), batch_size))
    order = torch.randperm(len(batches), generator=generator).tolist()
    return [batches[i] for i in order]


def trim(ids: torch.Tensor) -> torch.Tensor:
    """Drop all-padding columns at the right."""
    width = int(lengths_of(ids).max()) if ids.shape[0] else 1
    return ids[:, :max(width, 1)]


def build_seq_model(vocab, cfg: SeqTrainConfig, max_len: int) -> SeqVAE:
    torch.manual_seed(cfg.seed)
    return SeqVAE(vocab, latent_dim=cfg.latent_dim, embed_dim=cfg.embed_dim, enc_hidden=cfg.enc_hidden,
                  dec_hidden=cfg.dec_hidden, dec_layers=cfg.dec_layers, max_len=max_len)


@dataclass
class SeqTrainResult:
    history: list[dict]
    steps: int
    epochs_done: int
    train_seconds: float
    stopped: bool


def train_seq(model: SeqVAE, train_ids: torch.Tensor, cfg: SeqTrainConfig,
              callback: Callable[[dict], None] | None = None,
              should_stop: Callable[[], bool] | None = None,
              epoch_data: Callable[[int], torch.Tensor] | None = None) -> SeqTrainResult:
    """Adam on the (annealed) negative ELBO; one history row per epoch (training-batch means).

    ``epoch_data(epoch)``, when given, supplies that epoch's token ids (e.g. augmented SMILES)."""
    cfg.validate()
    schedule = cfg.schedule
    gen = torch.Generator().manual_seed(cfg.seed)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    history: list[dict] = []
    step = 0
    t0 = time.perf_counter()
    stopped = False
    epoch = 0
    for epoch in range(1, cfg.epochs + 1):
        model.train()
        sums = torch.zeros(5, dtype=torch.float64)
        if epoch_data is not None:
            train_ids = epoch_data(epoch)
        for idx in length_batches(train_ids, cfg.batch_size, gen):
            batch = trim(train_ids[idx])
            w = schedule.weight(step)
            out = model.loss(batch, beta=w, word_dropout=cfg.word_dropout, generator=gen, free_bits=cfg.free_bits)
            opt.zero_grad(set_to_none=True)
            out.loss.backward()
            if cfg.grad_clip:
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            opt.step()
            step += 1
            with torch.no_grad():
                sums += torch.stack([out.recon.sum(), out.kl.sum(), out.token_correct.sum(),
                                     out.tokens.sum(), torch.tensor(float(len(idx)))]).double()
            if should_stop is not None and should_stop():
                stopped = True
                break
        n = max(float(sums[4]), 1.0)
        row = {"epoch": epoch, "step": step, "kl_weight": schedule.weight(step),
               "recon": float(sums[0]) / n, "kl": float(sums[1]) / n,
               "token_accuracy": float(sums[2]) / max(float(sums[3]), 1.0),
               "seconds": round(time.perf_counter() - t0, 2)}
        history.append(row)
        if callback is not None:
            callback(row)
        if stopped:
            break
    model.eval()
    return SeqTrainResult(history, step, epoch if not stopped else epoch, time.perf_counter() - t0, stopped)


@torch.no_grad()
def encode_all(model: SeqVAE, ids: torch.Tensor, batch: int = 1000) -> tuple[torch.Tensor, torch.Tensor]:
    mus, lvs = [], []
    for i in range(0, ids.shape[0], batch):
        mu, lv = model.encode(trim(ids[i:i + batch]))
        mus.append(mu)
        lvs.append(lv)
    return torch.cat(mus), torch.cat(lvs)


@torch.no_grad()
def decode_all(model: SeqVAE, z: torch.Tensor, mode: str = "greedy", batch: int = 1000,
               generator: torch.Generator | None = None, temperature: float = 1.0,
               require_end: bool = False) -> list[str]:
    out: list[str] = []
    for i in range(0, z.shape[0], batch):
        out.extend(model.decode(z[i:i + batch], mode, temperature, generator, require_end))
    return out


@torch.no_grad()
def evaluate(model: SeqVAE, strings: list[str], batch: int = 1000, seed: int = 0) -> dict:
    """Test metrics in nats per sequence and fractions.

    ``recon`` and ``elbo`` use one reparameterised z per sequence (seeded);
    ``kl`` is closed-form; ``word_accuracy`` is the fraction of sequences whose
    greedy decoding of the posterior mean μ equals the input exactly.
    """
    model.eval()
    ids = model.vocab.batch(strings, None)
    gen = torch.Generator().manual_seed(seed)
    recon = kl = 0.0
    for i in range(0, ids.shape[0], batch):
        out = model.loss(trim(ids[i:i + batch]), beta=1.0, generator=gen)
        recon += float(out.recon.sum())
        kl += float(out.kl.sum())
    n = max(len(strings), 1)
    mu, _ = encode_all(model, ids, batch)
    decoded = decode_all(model, mu, "greedy", batch)
    acc = sum(a == b for a, b in zip(decoded, strings, strict=True)) / n
    return {"recon": recon / n, "kl": kl / n, "neg_elbo": (recon + kl) / n, "word_accuracy": acc,
            "n": len(strings)}


def kl_per_dim(model: SeqVAE, strings: list[str]) -> torch.Tensor:
    """Mean KL per latent dimension over the strings (nats)."""
    ids = model.vocab.batch(strings, None)
    mu, lv = encode_all(model, ids)
    return gaussian_kl_per_dim(mu, lv).mean(dim=0)


