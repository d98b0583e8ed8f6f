"""English word corpus for the text VAE: wordfreq's frequency-ranked English list.

``wordfreq`` (PyPI, code Apache-2.0) ships word frequencies compiled from
Wikipedia, subtitles, news, books, web text, Twitter and Reddit; its data is
licensed CC BY-SA 4.0 (see the package's README).  We take the most frequent
``n_words`` entries of ``wordfreq.top_n_list("en", …)`` that are lowercase
a–z only (no digits, apostrophes or accents) and at most ``max_chars`` long,
so common words come first.  The train/test split is deterministic and does
not depend on the list's order: a word is in the test split when the first
byte of its SHA-1 digest is below 26 (≈ 10 %).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

WORD_RE = re.compile(r"^[a-z]+$")
SOURCE = "wordfreq 3.1.1, top_n_list('en') (frequency-ranked English words)"
LICENCE = "wordfreq data: CC BY-SA 4.0 (code: Apache-2.0); https://github.com/rspeer/wordfreq"


@dataclass(frozen=True)
class WordCorpus:
    train: list[str]
    test: list[str]
    source: str = SOURCE
    licence: str = LICENCE

    @property
    def description(self) -> str:
        return (f"{len(self.train) + len(self.test):,} most frequent lowercase a-z English words "
                f"({len(self.train):,} train / {len(self.test):,} test)")


def is_test_word(word: str) -> bool:
    return hashlib.sha1(word.encode()).digest()[0] < 26


def split_words(words: list[str]) -> tuple[list[str], list[str]]:
    train = [w for w in words if not is_test_word(w)]
    test = [w for w in words if is_test_word(w)]
    return train, test


def select_words(ranked: list[str], n_words: int, max_chars: int) -> list[str]:
    out, seen = [], set()
    for w in ranked:
        if WORD_RE.match(w) and len(w) <= max_chars and w not in seen:
            seen.add(w)
            out.append(w)
            if len(out) == n_words:
                break
    return out


def load_words(n_words: int = 30_000, max_chars: int = 16) -> WordCorpus:
    """The ``n_words`` most frequent lowercase English words, split train/test."""
    try:
        import wordfreq
    except ImportError as exc:  # pragma: no cover - it is in requirements.txt
        raise RuntimeError("the word corpus needs the 'wordfreq' package (pip install wordfreq)") from exc
    ranked = wordfreq.top_n_list("en", int(n_words * 1.2) + 1000)
    words = select_words(ranked, n_words, max_chars)
    train, test = split_words(words)
    return WordCorpus(train, test)
