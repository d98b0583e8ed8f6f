"""What the Recommender page computes, without Streamlit: the catalogue in a checkpoint's column order, every
user's posterior, the most-watched genre of each user, titles -> columns (clear messages for unknown titles),
top-K lists, and the test metrics of a model and of the two baselines re-measured from weights and data.

Definitions used by the page (tests/truth/FORMULAS.md, "Recommender"):

* most-watched genre of a user: argmax over the 18 MovieLens genres of the number of movies the user rated
  (any rating) that carry the genre (a movie with several genres counts for each; ties go to the genre listed
  first in :data:`data.GENRES`);
* π = softmax(decode_logits(z)): the multinomial's item probabilities; a top-K list ranks items by logit
  (the same order as π), excluding the columns given (already picked / folded in), ties by column.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
import torch

from . import data as D
from .baselines import ease_weights, popularity_scores
from .metrics import all_metrics


@dataclass
class Catalog:
    item_ids: list[int]     # raw MovieLens ids, the model's column order
    titles: list[str]       # "Title (year)", column order
    labels: list[str]       # unique display labels (a duplicated title gets " · id N")
    genres: list[list[str]]  # column order

    def column_of(self) -> dict[str, int]:
        return {t: k for k, t in enumerate(self.labels)}


def catalog(ratings: D.Ratings, item_ids) -> Catalog:
    """The titles of a checkpoint's columns; DataError when the checkpoint names items this copy lacks."""
    ids = [int(i) for i in item_ids]
    missing = [i for i in ids if i not in ratings.titles]
    if missing:
        raise D.DataError(f"the checkpoint's item_ids name {len(missing)} movies that the installed MovieLens "
                          f"copy ({ratings.source}) does not have (e.g. ids {missing[:5]}): the checkpoint was "
                          "made from other data")
    titles = [ratings.titles[i] for i in ids]
    dup = {t for t, c in Counter(titles).items() if c > 1}
    labels = [f"{t} · id {i}" if t in dup else t for t, i in zip(titles, ids, strict=True)]
    return Catalog(ids, titles, labels, [list(ratings.genres.get(i, [])) for i in ids])


def columns_for(labels, cat: Catalog) -> list[int]:
    """Columns of the given display labels; DataError naming the unknown ones."""
    col = cat.column_of()
    unknown = [str(t) for t in labels if str(t) not in col]
    if unknown:
        raise D.DataError(f"unknown title{'s' if len(unknown) > 1 else ''}: " + "; ".join(unknown[:5])
                          + (" …" if len(unknown) > 5 else "")
                          + f" (not among the {len(cat.labels):,} movies this model scores; titles are written "
                            "'Title (year)', as in the list)")
    return [col[str(t)] for t in labels]


def resolve_pasted(text: str, cat: Catalog) -> tuple[list[str], list[str]]:
    """(known labels, unknown lines) of a pasted list, one title a line (blank lines skipped, case kept;
    a line matching a title case-insensitively is accepted)."""
    col = cat.column_of()
    lower = {t.lower(): t for t in cat.labels}
    known, unknown = [], []
    for line in str(text).splitlines():
        s = line.strip()
        if not s:
            continue
        hit = s if s in col else lower.get(s.lower())
        (known if hit else unknown).append(hit or s)
    return known, unknown


def genre_labels(ratings: D.Ratings, users) -> tuple[np.ndarray, list[str], np.ndarray]:
    """(label per user as an index into the names, the genre names used (most common first), the per-user
    genre counts (n_users, 18)) -- the most-watched genre of each user (see the module docstring)."""
    gi = {g: k for k, g in enumerate(D.GENRES)}
    row = {int(u): k for k, u in enumerate(users)}
    counts = np.zeros((len(row), len(D.GENRES)), np.int64)
    for u, i in zip(ratings.users, ratings.items, strict=True):
        k = row.get(int(u))
        if k is None:
            continue
        for g in ratings.genres.get(int(i), []):
            counts[k, gi[g]] += 1
    top = counts.argmax(1)
    order = [g for g, _ in Counter(top.tolist()).most_common()]
    names = [D.GENRES[g] for g in order]
    remap = {g: k for k, g in enumerate(order)}
    return np.array([remap[g] for g in top.tolist()]), names, counts


@torch.no_grad()
def posteriors(model, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mu, logvar) of the rows of a 0/1 (users x items) matrix, in eval mode (no dropout)."""
    model.eval()
    mu, lv = model.encode(torch.as_tensor(np.asarray(x), dtype=torch.float32))
    return mu.double().numpy(), lv.double().numpy()


@torch.no_grad()
def item_logits(model, z) -> np.ndarray:
    return model.decode_logits(torch.as_tensor(np.atleast_2d(z), dtype=torch.float32)).double().numpy()


def softmax(logits: np.ndarray) -> np.ndarray:
    a = np.asarray(logits, np.float64)
    e = np.exp(a - a.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def top_k(logits, k: int = 10, exclude=()) -> list[int]:
    """Columns of the k largest logits (descending; ties by column), excluding ``exclude``."""
    s = np.asarray(logits, np.float64).reshape(-1).copy()
    s[list(exclude)] = -np.inf
    order = np.lexsort((np.arange(len(s)), -s))
    return [int(i) for i in order[:k] if np.isfinite(s[i])]


def pick_vector(n_items: int, cols) -> np.ndarray:
    x = np.zeros((1, n_items), np.float32)
    x[0, list(cols)] = 1.0
    return x


def model_test_metrics(model, sp: D.Split) -> dict:
    """Recall@20, Recall@50, NDCG@100 on the test users: logits at the posterior mean of the fold-in clicks."""
    mu, _ = posteriors(model, sp.test_in)
    return all_metrics(item_logits(model, mu), sp.test_in, sp.test_out)


def baseline_test_metrics(sp: D.Split, ease_lambda: float) -> dict:
    """{"popularity": metrics, "ease": metrics} on the test users (EASE at the given λ)."""
    pop = all_metrics(popularity_scores(sp.train, sp.test_in), sp.test_in, sp.test_out)
    b = ease_weights(sp.train, float(ease_lambda))
    return {"popularity": pop, "ease": all_metrics(sp.test_in.astype(np.float64) @ b, sp.test_in, sp.test_out)}
