"""MovieLens-100k: where it comes from, parsing, implicit clicks and the strong-generalisation split.

The data is never committed.  Two sources, tried in order:

1. the ``recbole==1.2.1`` wheel (installed with ``pip install --no-deps``; see requirements-nodeps.txt),
   which ships ``recbole/dataset_example/ml-100k/ml-100k.inter`` / ``.item`` (RecBole atomic files,
   tab-separated with typed headers).  It is located with importlib metadata; recbole is never imported.
2. the GroupLens archive ``files.grouplens.org/datasets/movielens/ml-100k.zip`` unpacked into
   ``$VAE_CACHE_DIR/ml-100k`` (``u.data`` / ``u.item``), downloaded only by :func:`download`.

Data: F. Maxwell Harper and Joseph A. Konstan (2015), The MovieLens Datasets: History and Context,
ACM TiiS 5(4).  GroupLens terms: research use, no redistribution.
"""

from __future__ import annotations

import importlib.util
import io
import os
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

GROUPLENS_URL = "https://files.grouplens.org/datasets/movielens/ml-100k.zip"
SOURCE = ("MovieLens-100k, GroupLens Research (F. Maxwell Harper and Joseph A. Konstan, 2015, "
          "'The MovieLens Datasets: History and Context', ACM TiiS 5(4)); research use, no redistribution")
HOW_TO_GET = ("MovieLens-100k is not installed. Run `.venv/bin/pip install --no-deps -r requirements-nodeps.txt` "
              "(the recbole==1.2.1 wheel ships it), or online: `python -m vae_core.recommender.data --download` "
              f"(fetches {GROUPLENS_URL} into $VAE_CACHE_DIR/ml-100k).")
GENRES = ["Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary", "Drama",
          "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller", "War",
          "Western"]
RATING_THRESHOLD = 4.0
N_HELDOUT = 100
SPLIT_SEED = 98765


class DataError(ValueError):
    """MovieLens files missing or malformed; the message says which and how to fix it."""


@dataclass
class Ratings:
    users: np.ndarray    # raw user ids (int64), one per rating
    items: np.ndarray    # raw item ids (int64)
    ratings: np.ndarray  # float64
    titles: dict         # item id -> title
    genres: dict         # item id -> list of genre names
    source: str


def cache_dir() -> Path:
    return Path(os.environ.get("VAE_CACHE_DIR", Path.home() / ".cache" / "vae-explorer"))


def recbole_folder() -> Path | None:
    """The wheel's ml-100k folder, found without importing recbole (None when absent)."""
    try:
        spec = importlib.util.find_spec("recbole")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for loc in spec.submodule_search_locations:
        p = Path(loc) / "dataset_example" / "ml-100k"
        if (p / "ml-100k.inter").is_file() and (p / "ml-100k.item").is_file():
            return p
    return None


def grouplens_folder() -> Path | None:
    p = cache_dir() / "ml-100k"
    return p if (p / "u.data").is_file() and (p / "u.item").is_file() else None


def download(dest: Path | None = None, timeout: float = 60.0) -> Path:
    """Fetch the GroupLens zip (online only) and unpack u.data / u.item into dest (atomic renames)."""
    dest = Path(dest) if dest else cache_dir() / "ml-100k"
    dest.mkdir(parents=True, exist_ok=True)
    with urllib.request.urlopen(GROUPLENS_URL, timeout=timeout) as r:  # noqa: S310 (fixed https URL)
        blob = r.read()
    with zipfile.ZipFile(io.BytesIO(blob)) as zf:
        for name in ("u.data", "u.item", "README"):
            data = zf.read(f"ml-100k/{name}")
            tmp = dest / f".{name}.tmp"
            tmp.write_bytes(data)
            tmp.replace(dest / name)
    return dest


def _rating_rows(lines: list[str], first: int, where: str, what: str,
                 hint: str = "") -> tuple[list[int], list[int], list[float]]:
    """(users, items, ratings) of tab-separated lines "user, item, rating, ..." numbered from ``first``; blank
    lines are skipped, a malformed line or a rating outside 0..5 raises DataError naming the line of ``what``."""
    u, i, r = [], [], []
    for n, line in enumerate(lines, start=first):
        if not line.strip():
            continue
        parts = line.split("\t")
        try:
            uu, ii, rr = int(parts[0]), int(parts[1]), float(parts[2])
        except (ValueError, IndexError):
            raise DataError(f"{where}: line {n} of {what} is malformed: {line[:80]!r}{hint}") from None
        if not 0.0 <= rr <= 5.0:
            raise DataError(f"{where}: line {n}: rating {rr} is outside 0..5")
        u.append(uu), i.append(ii), r.append(rr)
    return u, i, r


def _parse_recbole(inter: str, item: str, where: str) -> Ratings:
    lines = inter.splitlines()
    if not lines:
        raise DataError(f"{where}: the ratings file is empty")
    header = lines[0].split("\t")
    want = ["user_id:token", "item_id:token", "rating:float"]
    if header[:3] != want:
        raise DataError(f"{where}: the ratings file's header must start with {want}, found {header[:3]}")
    u, i, r = _rating_rows(lines[1:], 2, where, "the ratings file",
                           " (expected user id, item id, rating separated by tabs)")
    titles, genres = {}, {}
    for n, line in enumerate(item.splitlines()[1:], start=2):
        parts = line.split("\t")
        if len(parts) < 4:
            continue
        try:
            iid = int(parts[0])
        except ValueError:
            raise DataError(f"{where}: line {n} of the item file is malformed: {line[:80]!r}") from None
        year = parts[2].strip()
        titles[iid] = f"{parts[1]} ({year})" if year else parts[1]
        genres[iid] = [g for g in parts[3].split(" ") if g in GENRES or g == "Children's"]
    return Ratings(np.array(u, np.int64), np.array(i, np.int64), np.array(r, np.float64), titles, genres, where)


def _parse_grouplens(udata: str, uitem: str, where: str) -> Ratings:
    u, i, r = _rating_rows(udata.splitlines(), 1, where, "u.data")
    titles, genres = {}, {}
    for line in uitem.splitlines():
        parts = line.split("|")
        if len(parts) < 24:
            continue
        iid = int(parts[0])
        titles[iid] = parts[1]
        genres[iid] = [g for g, f in zip(GENRES, parts[6:24], strict=False) if f == "1"]
    return Ratings(np.array(u, np.int64), np.array(i, np.int64), np.array(r, np.float64), titles, genres, where)


def load_ratings(folder: str | os.PathLike | None = None) -> Ratings:
    """Ratings from ``folder`` (RecBole or GroupLens layout) or the first installed source."""
    if folder is None:
        folder = recbole_folder() or grouplens_folder()
        if folder is None:
            raise DataError(HOW_TO_GET)
    folder = Path(folder)
    if (folder / "ml-100k.inter").is_file():
        return _parse_recbole((folder / "ml-100k.inter").read_text(encoding="latin-1"),
                              (folder / "ml-100k.item").read_text(encoding="latin-1"), str(folder))
    if (folder / "u.data").is_file():
        return _parse_grouplens((folder / "u.data").read_text(encoding="latin-1"),
                                (folder / "u.item").read_text(encoding="latin-1"), str(folder))
    raise DataError(f"{folder} holds neither ml-100k.inter nor u.data. " + HOW_TO_GET)


@dataclass
class Split:
    item_ids: np.ndarray        # column order (raw item ids of items with >= 1 click among train users)
    train: np.ndarray           # (n_train, n_items) 0/1 float32
    train_users: np.ndarray
    vad_users: np.ndarray
    test_users: np.ndarray
    vad_in: np.ndarray
    vad_out: np.ndarray
    test_in: np.ndarray
    test_out: np.ndarray
    all_users: np.ndarray       # every user with a click, row order of ``full``
    full: np.ndarray            # (n_users, n_items) every user's clicks (for the map)


def clicks(r: Ratings, threshold: float = RATING_THRESHOLD) -> tuple[np.ndarray, np.ndarray]:
    keep = r.ratings >= threshold
    return r.users[keep], r.items[keep]


def split(r: Ratings, seed: int = SPLIT_SEED, n_heldout: int = N_HELDOUT, frac_in: float = 0.8,
          threshold: float = RATING_THRESHOLD) -> Split:
    """Strong generalisation: held-out users never seen in training; 80 % of their clicks in, 20 % out."""
    cu, ci = clicks(r, threshold)
    users = np.unique(cu)
    rng = np.random.default_rng(seed)
    perm = rng.permutation(users)
    test_users = np.sort(perm[:n_heldout])
    vad_users = np.sort(perm[n_heldout:2 * n_heldout])
    train_users = np.sort(perm[2 * n_heldout:])
    item_ids = np.unique(ci[np.isin(cu, train_users)])
    col = {int(v): k for k, v in enumerate(item_ids)}

    def matrix(us):
        m = np.zeros((len(us), len(item_ids)), np.float32)
        row = {int(v): k for k, v in enumerate(us)}
        for uu, ii in zip(cu, ci, strict=True):
            if int(uu) in row and int(ii) in col:
                m[row[int(uu)], col[int(ii)]] = 1.0
        return m

    def fold(us):
        m = matrix(us)
        mi, mo = np.zeros_like(m), np.zeros_like(m)
        for k in range(len(us)):
            idx = np.flatnonzero(m[k])
            if len(idx) == 0:
                continue
            idx = rng.permutation(idx)
            n_out = max(1, int(round((1 - frac_in) * len(idx)))) if len(idx) >= 5 else 0
            mo[k, idx[:n_out]] = 1.0
            mi[k, idx[n_out:]] = 1.0
        return mi, mo

    vi, vo = fold(vad_users)
    ti, to = fold(test_users)
    return Split(item_ids, matrix(train_users), train_users, vad_users, test_users, vi, vo, ti, to,
                 users, matrix(users))


def main(argv=None) -> int:
    import argparse
    p = argparse.ArgumentParser(prog="python -m vae_core.recommender.data")
    p.add_argument("--download", action="store_true", help=f"fetch {GROUPLENS_URL} (online only)")
    a = p.parse_args(argv)
    if a.download:
        print("unpacked into", download())
    r = load_ratings()
    print(f"{r.source}: {len(np.unique(r.users))} users, {len(r.titles)} items, {len(r.ratings)} ratings")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
