"""Sequence VAE: GRU encoder → Gaussian z → autoregressive GRU decoder.

The same interface idea as the digit VAE (``encode`` / ``decode`` / ``sample`` /
``loss``), over token sequences instead of pixels:

* ``encode(ids)`` → (μ, log σ²) of q(z|x), a diagonal Gaussian; a bidirectional
  GRU reads the tokens and its two final states go through one linear layer.
* the decoder is a language model conditioned on z: its initial state is
  tanh(W z + b) and z is also fed next to every input token, so
  p(x|z) = Π_t p(x_t | x_<t, z) with a softmax over the vocabulary per step.
* ``loss`` is the negative ELBO per sequence in nats: the summed token
  cross-entropy (including the end token) + β · KL(q(z|x) ‖ N(0, I)).
  *Word dropout* (Bowman et al. 2016) replaces each decoder input token by
  ``<unk>`` with probability p during training, so the decoder cannot predict
  the next token from the previous ones alone and has to use z.
* ``decode(z)`` spells strings greedily (the most probable token at each step)
  or by sampling (``mode="sample"``, softmax with a temperature).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from ..objectives import gaussian_kl_per_dim
from .vocab import BOS, EOS, PAD, UNK, Vocab


class SeqLoss(NamedTuple):
    loss: torch.Tensor        # scalar: mean over the batch of recon + β·KL (what is minimised)
    recon: torch.Tensor       # (N,) summed token cross-entropy per sequence, nats
    kl: torch.Tensor          # (N,) KL(q(z|x) ‖ p(z)) per sequence, nats
    kl_per_dim: torch.Tensor  # (latent_dim,) batch-mean KL per latent dimension, nats
    token_correct: torch.Tensor  # (N,) teacher-forced tokens predicted exactly (argmax)
    tokens: torch.Tensor      # (N,) number of target tokens (incl. <eos>)


def lengths_of(ids: torch.Tensor) -> torch.Tensor:
    """Number of non-pad tokens per row (the tokens + <eos>)."""
    return (ids != PAD).sum(dim=1)


class SeqVAE(nn.Module):
    family = "seq-vae"

    def __init__(self, vocab: Vocab, latent_dim: int = 16, embed_dim: int = 32, enc_hidden: int = 128,
                 dec_hidden: int = 256, dec_layers: int = 1, max_len: int = 20) -> None:
        super().__init__()
        if latent_dim < 1 or min(embed_dim, enc_hidden, dec_hidden, dec_layers, max_len) < 1:
            raise ValueError("all sizes must be positive")
        self.vocab = vocab
        self.latent_dim = int(latent_dim)
        self.embed_dim = int(embed_dim)
        self.enc_hidden = int(enc_hidden)
        self.dec_hidden = int(dec_hidden)
        self.dec_layers = int(dec_layers)
        self.max_len = int(max_len)  # tokens including <eos>
        v = len(vocab)
        self.enc_embed = nn.Embedding(v, embed_dim, padding_idx=PAD)
        self.enc_rnn = nn.GRU(embed_dim, enc_hidden, batch_first=True, bidirectional=True)
        self.enc_out = nn.Linear(2 * enc_hidden, 2 * latent_dim)
        self.dec_embed = nn.Embedding(v, embed_dim, padding_idx=PAD)
        self.dec_init = nn.Linear(latent_dim, dec_layers * dec_hidden)
        self.dec_rnn = nn.GRU(embed_dim + latent_dim, dec_hidden, num_layers=dec_layers, batch_first=True)
        self.dec_out = nn.Linear(dec_hidden, v)

    # ------------------------------------------------------------ metadata
    def config(self) -> dict:
        return {"family": self.family, "latent_dim": self.latent_dim, "embed_dim": self.embed_dim,
                "enc_hidden": self.enc_hidden, "dec_hidden": self.dec_hidden, "dec_layers": self.dec_layers,
                "max_len": self.max_len, "vocab": self.vocab.to_dict()}

    @classmethod
    def from_config(cls, cfg: dict) -> SeqVAE:
        return cls(Vocab.from_dict(cfg["vocab"]), latent_dim=int(cfg["latent_dim"]),
                   embed_dim=int(cfg["embed_dim"]), enc_hidden=int(cfg["enc_hidden"]),
                   dec_hidden=int(cfg["dec_hidden"]), dec_layers=int(cfg["dec_layers"]),
                   max_len=int(cfg["max_len"]))

    # ------------------------------------------------------------ encoder
    def to_ids(self, strings: list[str]) -> torch.Tensor:
        return self.vocab.batch(strings, None).to(self.dec_out.weight.device)

    def encode(self, ids: torch.Tensor | list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """(μ, log σ²), each (N, latent_dim), for token ids (N, T) or a list of strings."""
        if isinstance(ids, list):
            ids = self.to_ids(ids)
        lens = lengths_of(ids).clamp(min=1).cpu()
        packed = pack_padded_sequence(self.enc_embed(ids), lens, batch_first=True, enforce_sorted=False)
        _, h = self.enc_rnn(packed)             # h: (2, N, H), forward and backward final states
        stats = self.enc_out(torch.cat([h[0], h[1]], dim=1))
        mu, logvar = stats.chunk(2, dim=1)
        return mu, logvar.clamp(-12.0, 8.0)

    @staticmethod
    def reparameterize(mu: torch.Tensor, logvar: torch.Tensor,
                       generator: torch.Generator | None = None) -> torch.Tensor:
        eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
        return mu + (0.5 * logvar).exp() * eps

    # ------------------------------------------------------------ decoder
    def _h0(self, z: torch.Tensor) -> torch.Tensor:
        h = torch.tanh(self.dec_init(z))  # (N, L*H)
        return h.view(z.shape[0], self.dec_layers, self.dec_hidden).transpose(0, 1).contiguous()

    def decode_logits(self, z: torch.Tensor, ids: torch.Tensor, word_dropout: float = 0.0,
                      generator: torch.Generator | None = None) -> torch.Tensor:
        """Teacher-forced logits (N, T, V): step t sees <bos>, x_1 … x_{t-1} and z."""
        n, t = ids.shape
        inputs = torch.cat([torch.full((n, 1), BOS, dtype=ids.dtype, device=ids.device), ids[:, :-1]], dim=1)
        if word_dropout > 0.0:
            drop = torch.rand(inputs.shape, generator=generator, device=ids.device) < word_dropout
            drop[:, 0] = False  # the <bos> stays
            inputs = torch.where(drop & (inputs != PAD), torch.full_like(inputs, UNK), inputs)
        emb = self.dec_embed(inputs)
        zz = z.unsqueeze(1).expand(n, t, self.latent_dim)
        out, _ = self.dec_rnn(torch.cat([emb, zz], dim=2), self._h0(z))
        return self.dec_out(out)

    @torch.no_grad()
    def decode_ids(self, z: torch.Tensor, mode: str = "greedy", temperature: float = 1.0,
                   generator: torch.Generator | None = None, max_len: int | None = None) -> torch.Tensor:
        """Token ids (N, T) spelt from z one step at a time (greedy argmax or sampled)."""
        if mode not in ("greedy", "sample"):
            raise ValueError("mode must be 'greedy' or 'sample'")
        if mode == "sample" and not temperature > 0:
            raise ValueError("the temperature must be positive")
        max_len = max_len or self.max_len
        n = z.shape[0]
        h = self._h0(z)
        tok = torch.full((n,), BOS, dtype=torch.long, device=z.device)
        out = torch.full((n, max_len), PAD, dtype=torch.long, device=z.device)
        done = torch.zeros(n, dtype=torch.bool, device=z.device)
        for t in range(max_len):
            x = torch.cat([self.dec_embed(tok), z], dim=1).unsqueeze(1)
            y, h = self.dec_rnn(x, h)
            logits = self.dec_out(y[:, 0])
            logits[:, PAD] = float("-inf")
            logits[:, BOS] = float("-inf")
            logits[:, UNK] = float("-inf")
            if mode == "greedy":
                tok = logits.argmax(dim=1)
            else:
                probs = F.softmax(logits / temperature, dim=1)
                tok = torch.multinomial(probs, 1, generator=generator).squeeze(1)
            tok = torch.where(done, torch.full_like(tok, PAD), tok)
            out[:, t] = tok
            done = done | (tok == EOS)
            if bool(done.all()):
                break
        return out

    def decode(self, z: torch.Tensor, mode: str = "greedy", temperature: float = 1.0,
               generator: torch.Generator | None = None, require_end: bool = False) -> list[str]:
        """Strings decoded from latent codes z (N, latent_dim).

        With ``require_end`` a decoding that has not produced ``<eos>`` within ``max_len`` tokens is
        returned as "" (unfinished: e.g. for SMILES it must not count as a molecule)."""
        ids = self.decode_ids(z, mode, temperature, generator)
        out = self.vocab.decode_batch(ids)
        if require_end:
            finished = (ids == EOS).any(dim=1).tolist()
            out = [s if f else "" for s, f in zip(out, finished, strict=True)]
        return out

    def sample(self, n: int, generator: torch.Generator | None = None, mode: str = "greedy",
               temperature: float = 1.0) -> list[str]:
        """n strings from the prior: z ~ N(0, I), then decoded (greedy by default)."""
        z = torch.randn((n, self.latent_dim), generator=generator)
        return self.decode(z.to(self.dec_out.weight.device), mode, temperature, generator)

    # ------------------------------------------------------------ objective
    def loss(self, ids: torch.Tensor, beta: float = 1.0, word_dropout: float = 0.0,
             generator: torch.Generator | None = None, sample_z: bool = True, free_bits: float = 0.0) -> SeqLoss:
        """Negative ELBO terms for a batch of token ids (N, T) (one reparameterised z each).

        With ``free_bits`` λ > 0 the minimised KL term is Σ_j max(λ, batch-mean KL_j) (Kingma et al.
        2016): a dimension's first λ nats are free.  The returned ``kl`` is always the true KL."""
        mu, logvar = self.encode(ids)
        z = self.reparameterize(mu, logvar, generator) if sample_z else mu
        logits = self.decode_logits(z, ids, word_dropout, generator)
        mask = ids != PAD
        ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), ids.reshape(-1),
                             reduction="none").view(ids.shape)
        recon = (ce * mask).sum(dim=1)
        kld = gaussian_kl_per_dim(mu, logvar)
        kl = kld.sum(dim=1)
        correct = ((logits.argmax(dim=2) == ids) & mask).sum(dim=1)
        if free_bits > 0.0:
            total = recon.mean() + beta * kld.mean(dim=0).clamp(min=free_bits).sum()
        else:
            total = (recon + beta * kl).mean()
        return SeqLoss(total, recon, kl, kld.mean(dim=0), correct, mask.sum(dim=1))
