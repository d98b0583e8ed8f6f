"""Token vocabularies for the sequence VAEs (characters of words, tokens of SMILES).

A vocabulary maps a string to a list of token ids and back.  Four special
tokens come first: ``<pad>`` (0, padding after the end), ``<bos>`` (1, the
decoder's first input), ``<eos>`` (2, the end of a sequence, which the decoder
must predict) and ``<unk>`` (3, an unknown symbol; word dropout also feeds it to
the decoder in place of the previous token, as in Bowman et al. 2016).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import torch

PAD, BOS, EOS, UNK = 0, 1, 2, 3
SPECIALS = ("<pad>", "<bos>", "<eos>", "<unk>")

# One SMILES token: a bracket atom, a two-letter halogen, a two-digit ring bond (%nn) or one character.
SMILES_TOKEN_RE = re.compile(r"(\[[^\]]+\]|Br|Cl|%\d{2}|.)")


def smiles_tokens(smiles: str) -> list[str]:
    """Split a SMILES string into tokens; joining them gives the string back."""
    return SMILES_TOKEN_RE.findall(smiles)


class Vocab:
    """A token vocabulary; ``kind`` is "chars" (one token per character) or "smiles"."""

    def __init__(self, tokens: Sequence[str], kind: str = "chars") -> None:
        if kind not in ("chars", "smiles"):
            raise ValueError("kind must be 'chars' or 'smiles'")
        tokens = list(tokens)
        if len(set(tokens)) != len(tokens) or any(t in SPECIALS for t in tokens):
            raise ValueError("tokens must be distinct and must not repeat a special token")
        self.kind = kind
        self.itos = list(SPECIALS) + tokens
        self.stoi = {t: i for i, t in enumerate(self.itos)}

    def __len__(self) -> int:
        return len(self.itos)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocab) and other.kind == self.kind and other.itos == self.itos

    @classmethod
    def build(cls, strings: Iterable[str], kind: str = "chars") -> Vocab:
        seen: set[str] = set()
        for s in strings:
            seen.update(cls._split(s, kind))
        return cls(sorted(seen), kind)

    @staticmethod
    def _split(s: str, kind: str) -> list[str]:
        return list(s) if kind == "chars" else smiles_tokens(s)

    def tokenize(self, s: str) -> list[str]:
        return self._split(s, self.kind)

    def encode(self, s: str) -> list[int]:
        """Token ids of ``s`` followed by ``<eos>`` (unknown symbols become ``<unk>``)."""
        return [self.stoi.get(t, UNK) for t in self.tokenize(s)] + [EOS]

    def batch(self, strings: Sequence[str], max_len: int | None = None) -> torch.Tensor:
        """(N, T) int64 ids, each row the tokens + ``<eos>``, right-padded with ``<pad>``.

        ``max_len`` counts the ``<eos>``; longer strings raise ValueError.
        """
        rows = [self.encode(s) for s in strings]
        longest = max((len(r) for r in rows), default=1)
        width = max_len if max_len is not None else longest
        if longest > width:
            raise ValueError(f"a sequence has {longest - 1} tokens; at most {width - 1} fit")
        out = torch.full((len(rows), width), PAD, dtype=torch.long)
        for i, r in enumerate(rows):
            out[i, : len(r)] = torch.tensor(r, dtype=torch.long)
        return out

    def decode(self, ids: Iterable[int]) -> str:
        """The string spelt by ids up to the first ``<eos>`` (or ``<pad>``); ``<unk>`` becomes '?'."""
        out = []
        for i in ids:
            i = int(i)
            if i in (EOS, PAD):
                break
            if i == BOS:
                continue
            out.append("?" if i == UNK or i >= len(self.itos) else self.itos[i])
        return "".join(out)

    def decode_batch(self, ids: torch.Tensor) -> list[str]:
        return [self.decode(row.tolist()) for row in ids]

    def to_dict(self) -> dict:
        return {"kind": self.kind, "tokens": self.itos[len(SPECIALS):]}

    @classmethod
    def from_dict(cls, d: dict) -> Vocab:
        if not isinstance(d, dict) or not isinstance(d.get("tokens"), list):
            raise ValueError("a vocabulary needs a list of tokens")
        if not all(isinstance(t, str) and 0 < len(t) <= 16 for t in d["tokens"]):
            raise ValueError("vocabulary tokens must be short strings")
        return cls(d["tokens"], d.get("kind", "chars"))
