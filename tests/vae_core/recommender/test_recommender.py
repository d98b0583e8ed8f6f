"""Mult-VAE recommender family: data, metrics (independent re-implementation on hand examples), EASE vs a
direct solve, model shapes, checkpoint validation, shipped numbers re-measured from the weights."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from vae_core import families
from vae_core.digits.checkpoint import CheckpointError
from vae_core.recommender import data as D
from vae_core.recommender.baselines import ease_weights
from vae_core.recommender.checkpoint import load_multvae, save_multvae
from vae_core.recommender.metrics import ndcg_at_k, recall_at_k
from vae_core.recommender.model import MultVAE

ROOT = Path(__file__).resolve().parents[3]
CK = ROOT / "checkpoints"
HAVE_DATA = D.recbole_folder() is not None or D.grouplens_folder() is not None
needs_data = pytest.mark.skipif(not HAVE_DATA, reason=D.HOW_TO_GET)


# ---- independent metric code: plain loops, the paper's definitions ----
def _ndcg_loop(scores, fold_in, held, k):
    out = []
    for s, f, h in zip(scores, fold_in, held, strict=True):
        if h.sum() == 0:
            continue
        cand = [i for i in sorted(range(len(s)), key=lambda i: (-s[i], i)) if f[i] == 0][:k]
        dcg = sum(1 / math.log2(r + 2) for r, i in enumerate(cand) if h[i])
        idcg = sum(1 / math.log2(r + 2) for r in range(min(k, int(h.sum()))))
        out.append(dcg / idcg)
    return np.array(out)


def _recall_loop(scores, fold_in, held, k):
    out = []
    for s, f, h in zip(scores, fold_in, held, strict=True):
        if h.sum() == 0:
            continue
        cand = [i for i in sorted(range(len(s)), key=lambda i: (-s[i], i)) if f[i] == 0][:k]
        out.append(sum(h[i] for i in cand) / min(k, h.sum()))
    return np.array(out)


def test_metrics_hand_example():
    # items 0..4; item 0 folded in; held out {1, 3}; ranking by score: 0 (excluded), 2, 1, 4, 3
    s = np.array([[9.0, 7.0, 8.0, 1.0, 5.0]])
    f = np.array([[1, 0, 0, 0, 0]])
    h = np.array([[0, 1, 0, 1, 0]])
    # top-2 = [2, 1] -> 1 hit / min(2, 2)
    assert recall_at_k(s, f, h, 2)[0] == pytest.approx(0.5)
    # DCG@4 = 1/log2(3) + 1/log2(5); IDCG = 1 + 1/log2(3)
    want = (1 / math.log2(3) + 1 / math.log2(5)) / (1 + 1 / math.log2(3))
    assert ndcg_at_k(s, f, h, 4)[0] == pytest.approx(want)
    # Recall divides by min(K, #held-out): K = 1, top-1 = [2] -> 0; K=3 -> 1 hit... [2,1,4] -> 1/2
    assert recall_at_k(s, f, h, 1)[0] == 0.0
    assert recall_at_k(s, f, h, 3)[0] == pytest.approx(0.5)


def test_metrics_match_loops_on_random():
    rng = np.random.default_rng(1)
    s = rng.normal(size=(30, 60))
    f = (rng.random((30, 60)) < 0.2).astype(int)
    h = ((rng.random((30, 60)) < 0.15) & (f == 0)).astype(int)
    for k in (5, 20):
        assert np.allclose(ndcg_at_k(s, f, h, k), _ndcg_loop(s, f, h, k))
        assert np.allclose(recall_at_k(s, f, h, k), _recall_loop(s, f, h, k))


def test_ease_matches_direct_constrained_solve():
    rng = np.random.default_rng(0)
    x = (rng.random((40, 8)) < 0.3).astype(float)
    lam = 5.0
    b = ease_weights(x, lam)
    g = x.T @ x + lam * np.eye(8)
    # column j: minimise ||x_j - X_{-j} b||^2 + lam ||b||^2 with b_j = 0 -> ridge on the other columns
    for j in range(8):
        o = [i for i in range(8) if i != j]
        bj = np.linalg.solve(g[np.ix_(o, o)], (x.T @ x)[o, j])
        assert np.allclose(b[o, j], bj, atol=1e-8)
        assert b[j, j] == 0


def test_malformed_ratings_file_clear_message(tmp_path):
    (tmp_path / "ml-100k.inter").write_text("user_id:token\titem_id:token\trating:float\n1\t2\t4\n1\tx\t5\n")
    header = "item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq\n"
    (tmp_path / "ml-100k.item").write_text(header)
    with pytest.raises(D.DataError, match="line 3 of the ratings file is malformed"):
        D.load_ratings(tmp_path)
    (tmp_path / "ml-100k.inter").write_text("a\tb\n")
    with pytest.raises(D.DataError, match="header"):
        D.load_ratings(tmp_path)
    with pytest.raises(D.DataError, match="neither"):
        D.load_ratings(tmp_path / "nowhere")


def test_both_formats_read_rating_lines_alike():
    """RecBole's .inter and GroupLens' u.data go through one reader of "user, item, rating" lines: the same
    triples, a malformed line named by its number in its file, a rating outside 0..5 refused in both."""
    inter = "user_id:token\titem_id:token\trating:float\n1\t2\t4\n\n3\t5\t1.5\n"
    item = "item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq\n"
    a = D._parse_recbole(inter, item, "recbole")
    b = D._parse_grouplens("1\t2\t4\t881250949\n\n3\t5\t1.5\t0\n", "", "grouplens")
    for x, y in ((a.users, b.users), (a.items, b.items), (a.ratings, b.ratings)):
        assert np.array_equal(x, y)
    assert a.users.tolist() == [1, 3] and a.ratings.tolist() == [4.0, 1.5]
    with pytest.raises(D.DataError, match="line 2 of u.data is malformed"):
        D._parse_grouplens("1\t2\t4\n1\tx\t5\n", "", "grouplens")
    with pytest.raises(D.DataError, match="line 1: rating 7.0 is outside 0..5"):
        D._parse_grouplens("1\t2\t7\n", "", "grouplens")
    with pytest.raises(D.DataError, match="line 2: rating -1.0 is outside 0..5"):
        D._parse_recbole("user_id:token\titem_id:token\trating:float\n1\t2\t-1\n", item, "recbole")


@needs_data
def test_data_counts_and_split():
    r = D.load_ratings()
    assert len(np.unique(r.users)) == 943 and len(r.titles) == 1682 and len(r.ratings) == 100_000
    sp = D.split(r)
    assert len(sp.test_users) == len(sp.vad_users) == 100
    assert not set(sp.test_users) & set(sp.train_users) and not set(sp.vad_users) & set(sp.train_users)
    assert not (sp.test_in * sp.test_out).any()
    n_in, n_out = sp.test_in.sum(1), sp.test_out.sum(1)
    frac = n_out[n_out > 0] / (n_in + n_out)[n_out > 0]
    assert abs(frac.mean() - 0.2) < 0.03
    sp2 = D.split(r)
    assert (sp2.test_out == sp.test_out).all()  # seeded


def test_model_shapes():
    m = MultVAE(50, 16, 3)
    x = (torch.rand(4, 50) < 0.3).float()
    mu, lv = m.encode(x)
    assert mu.shape == lv.shape == (4, 3)
    assert m.decode_logits(mu).shape == (4, 50)
    assert torch.isfinite(m.loss(x, 0.2))


def test_checkpoint_item_ids_mismatch(tmp_path):
    m = MultVAE(10, 8, 2)
    meta = {"item_ids": list(range(10))}
    save_multvae(tmp_path / "ok", m, meta)
    m2, meta2 = families.load(tmp_path / "ok")
    assert isinstance(m2, MultVAE) and meta2["item_ids"] == list(range(10))
    with pytest.raises(CheckpointError, match="item_ids"):
        save_multvae(tmp_path / "bad", m, {"item_ids": list(range(9))})
        load_multvae(tmp_path / "bad")


SHIPPED = ["movielens-multvae-z200", "movielens-multvae-z2", "movielens-bernoulli-z200"]


@needs_data
@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_metrics_remeasured(name):
    model, meta = families.load(CK / name)
    assert meta["family"] == "mult-vae" and meta["rating_threshold"] == 4.0
    sp = D.split(D.load_ratings(), seed=meta["split_seed"])
    assert [int(i) for i in sp.item_ids] == meta["item_ids"]
    assert [int(u) for u in sp.test_users] == meta["test_users"]
    with torch.no_grad():
        mu, _ = model.encode(torch.from_numpy(sp.test_in))
        s = model.decode_logits(mu).numpy()
    nd = _ndcg_loop(s, sp.test_in, sp.test_out, 100).mean()
    r20 = _recall_loop(s, sp.test_in, sp.test_out, 20).mean()
    assert nd == pytest.approx(meta["metrics"]["test"]["ndcg@100"], abs=1e-4)
    assert r20 == pytest.approx(meta["metrics"]["test"]["recall@20"], abs=1e-4)


@needs_data
def test_shipped_z200_beats_baselines():
    meta = json.loads((CK / "movielens-multvae-z200.json").read_text())
    b = meta["metrics"]["baselines"]
    nd = meta["metrics"]["test"]["ndcg@100"]
    assert nd >= 1.3 * b["popularity"]["ndcg@100"]
    assert nd >= 0.95 * b["ease"]["ndcg@100"]
    bern = json.loads((CK / "movielens-bernoulli-z200.json").read_text())
    assert bern["metrics"]["baselines"] == b  # same run


def test_ties_are_ranked_by_column():
    s = np.array([[1.0, 2.0, 2.0, 2.0, 0.0]])
    f = np.zeros((1, 5), int)
    h = np.array([[0, 0, 0, 1, 0]])
    # ranking 1, 2, 3 (tied, by column), 0, 4: the held-out item 3 is third
    assert recall_at_k(s, f, h, 2)[0] == 0.0 and recall_at_k(s, f, h, 3)[0] == 1.0
    assert ndcg_at_k(s, f, h, 5)[0] == pytest.approx(1 / math.log2(4))


def _ratings(titles: dict) -> D.Ratings:
    return D.Ratings(np.array([1]), np.array([1]), np.array([5.0]), titles, {i: [] for i in titles}, "test copy")


def test_catalog_names_items_the_data_lacks_and_unknown_titles():
    from vae_core.recommender import explore as E

    r = _ratings({1: "A (1990)", 2: "B (1991)", 3: "A (1990)"})
    cat = E.catalog(r, [3, 1, 2])
    assert cat.labels == ["A (1990) · id 3", "A (1990) · id 1", "B (1991)"]  # duplicates told apart
    assert E.columns_for(["B (1991)", "A (1990) · id 1"], cat) == [2, 1]
    with pytest.raises(D.DataError, match=r"unknown title: Nope \(2000\) \(not among the 3 movies"):
        E.columns_for(["Nope (2000)"], cat)
    assert E.resolve_pasted("b (1991)\n\n  Nope  \n", cat) == (["B (1991)"], ["Nope"])
    with pytest.raises(D.DataError, match=r"item_ids name 2 movies that the installed MovieLens copy \(test copy\)"):
        E.catalog(r, [1, 7, 8])


def test_train_cli_entry_writes_a_loadable_checkpoint_with_the_issue_fields(tmp_path, monkeypatch):
    """vae_core.recommender.train:main(argv) (the old flags, an alias of python -m vae_core train --family mult-vae,
    whose registered train is run(args)), on a tiny synthetic data set."""
    from vae_core.recommender import train as T

    rng = np.random.default_rng(0)
    n_users, n_items = 260, 40
    users = np.repeat(np.arange(1, n_users + 1), 8)
    items = rng.integers(1, n_items + 1, len(users))
    r = D.Ratings(users, items, np.full(len(users), 5.0), {i: f"m{i}" for i in range(1, n_items + 1)},
                  {i: [] for i in range(1, n_items + 1)}, "synthetic")
    monkeypatch.setattr(D, "load_ratings", lambda folder=None: r)
    assert families.get("mult-vae").resolve("train") is T.run
    assert T.main(["--latent", "2", "--hidden", "16", "--epochs", "2", "--out", str(tmp_path / "m")]) == 0
    model, meta = families.load(tmp_path / "m")
    assert meta["command"] == f"python -m vae_core train --family mult-vae --latent-dim 2 --hidden-dims 16 " \
                              f"--epochs 2 --out {tmp_path / 'm'}" and meta["recipe"]["latent_dim"] == 2
    for k in ("family", "item_ids", "test_users", "rating_threshold", "metrics", "recipe", "beta_curve"):
        assert k in meta, k
    assert meta["family"] == "mult-vae" and len(meta["item_ids"]) == model.n_items
    assert set(meta["metrics"]["test"]) == {"recall@20", "recall@50", "ndcg@100"}
    mu, lv = model.encode(torch.zeros(3, model.n_items).index_fill_(1, torch.tensor([0]), 1.0))
    assert mu.shape == lv.shape == (3, 2) and model.decode_logits(mu).shape == (3, model.n_items)


def test_train_cli_without_data_says_how_to_get_it(monkeypatch, capsys):
    from vae_core.recommender import train as T

    monkeypatch.setattr(D, "recbole_folder", lambda: None)
    monkeypatch.setattr(D, "grouplens_folder", lambda: None)
    assert T.main(["--out", "/nonexistent/x"]) == 2
    assert "MovieLens-100k is not installed" in capsys.readouterr().err


def test_checkpoint_json_edited_to_other_item_ids_is_refused_on_load(tmp_path):
    m = MultVAE(10, 8, 2)
    save_multvae(tmp_path / "m", m, {"item_ids": list(range(10))})
    meta = json.loads((tmp_path / "m.json").read_text())
    meta["item_ids"] = list(range(11))
    (tmp_path / "m.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="item_ids list 11 ids .* but the model scores 10 items"):
        families.load(tmp_path / "m")
    meta["item_ids"] = [0] * 10
    (tmp_path / "m.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match=r"\(1 distinct\)"):
        families.load(tmp_path / "m")
