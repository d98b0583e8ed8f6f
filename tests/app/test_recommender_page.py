"""The Recommender page (app_pages/recommender.py) in AppTest: what goes to the in-page model (weights once,
the map, the picks as columns), the picks widget and the pasted-titles path (unknown titles get a clear
message), the z = 200 map on the users' PCA plane, the measured table against the checkpoints' JSON, and the
page without MovieLens installed."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from apptest_helpers import SHIPPED, ok, open_page

from ui.views import recommender as rv
from vae_core import families
from vae_core.recommender import data as D

PAGE = "app_pages/recommender.py"
pytestmark = pytest.mark.skipif(D.recbole_folder() is None and D.grouplens_folder() is None, reason=D.HOW_TO_GET)


def _items(at) -> dict:
    els = [e for e in at.main if type(e).__name__ == "UnknownElement" and e.proto.DESCRIPTOR.name == "BidiComponent"]
    assert len(els) == 1
    return json.loads(els[0].proto.json)


def _columns(name: str, titles) -> list[int]:
    ratings = D.load_ratings()
    ids = json.loads((SHIPPED / f"{name}.json").read_text())["item_ids"]
    return sorted(ids.index(next(i for i, t in ratings.titles.items() if t == title)) for title in titles)


def test_page_mounts_the_items_model_with_the_default_picks_and_sends_weights_once():
    at = open_page(PAGE, "mnist-z2")
    assert not at.error, [e.value for e in at.error]
    d = _items(at)
    assert d["mode"] == "items" and d["k"] == 10 and d["plane"] is None  # the z = 2 model: the map is z
    assert "weights" in d["model"]
    w = d["model"]["weights"]
    assert w["head"] == "softmax" and w["input_norm"] == "l2" and w["n_items"] == len(w["titles"]) == 1415
    assert d["picks"] == _columns("movielens-multvae-z2", rv.DEFAULT_PICKS)
    assert len(d["map"]["x"]) == 942 and d["map"]["label_names"][0] == "Drama"
    at.multiselect(key="rec_picks").select("Fargo (1996)").run()
    ok(at)
    d2 = _items(at)
    assert d2["model"] == {"key": d["model"]["key"]}  # the page has the weights already
    assert d2["picks"] == _columns("movielens-multvae-z2", [*rv.DEFAULT_PICKS, "Fargo (1996)"])
    at.multiselect(key="rec_picks").unselect("Star Wars (1977)").run()
    assert _items(at)["picks"] == _columns("movielens-multvae-z2", ["Raiders of the Lost Ark (1981)",
                                                                    "Toy Story (1995)", "Fargo (1996)"])


def test_pasted_titles_add_the_known_ones_and_name_the_unknown_ones():
    at = open_page(PAGE, "mnist-z2")
    at.text_area(key="rec_paste").input("contact (1997)\nNo Such Movie (2099)\n\nFargo (1996)").run()
    at.button(key="rec_add").click().run()
    ok(at)
    assert at.session_state["rec_picks"][-2:] == ["Contact (1997)", "Fargo (1996)"]  # case-insensitive match
    warn = [w.value for w in at.warning]
    assert any("unknown title" in w and "No Such Movie" in w for w in warn), warn
    assert _items(at)["picks"] == _columns("movielens-multvae-z2",
                                           [*rv.DEFAULT_PICKS, "Contact (1997)", "Fargo (1996)"])


def test_z200_map_is_the_pca_plane_of_every_users_mu():
    at = open_page(PAGE, "mnist-z2")
    at.radio(key="rec_model").set_value("movielens-multvae-z200").run()
    ok(at)
    d = _items(at)
    assert "weights" in d["model"] and d["model"]["weights"]["latent_dim"] == 200
    model, meta = families.load(SHIPPED / "movielens-multvae-z200")
    sp = D.split(D.load_ratings(), seed=meta["split_seed"])
    with torch.no_grad():
        mu = model.eval().encode(torch.from_numpy(sp.full))[0].double().numpy()
    # independent PCA: eigenvectors of the covariance (not the SVD the page uses), signs aligned
    c = mu - mu.mean(0)
    w, v = np.linalg.eigh(np.cov(c.T))
    top = v[:, np.argsort(w)[::-1][:2]].T
    u = np.asarray([d["plane"]["u"], d["plane"]["v"]])
    sign = np.sign((top * u).sum(1))
    assert np.allclose(top * sign[:, None], u, atol=1e-6)
    assert np.allclose(np.asarray(d["plane"]["mean"]), mu.mean(0), atol=1e-9)
    xy = np.stack([d["map"]["x"], d["map"]["y"]], 1)
    assert np.abs(xy - c @ u.T).max() < 1e-4  # rounded to 4 decimals


def test_measured_table_equals_the_checkpoints_json():
    at = open_page(PAGE, "mnist-z2")
    tables = [getattr(d.value, "data", d.value) for d in at.dataframe]  # what the page shows (a Styler: its data)
    table = next(t for t in tables if "NDCG@100" in t.columns)
    rows = dict(zip(["movielens-multvae-z200", "movielens-bernoulli-z200", "movielens-multvae-z2", "ease",
                     "popularity"], table.to_dict("records"), strict=True))
    cols = {"recall@20": "Recall@20", "recall@50": "Recall@50", "ndcg@100": "NDCG@100"}
    for name in ("movielens-multvae-z200", "movielens-bernoulli-z200", "movielens-multvae-z2"):
        want = json.loads((SHIPPED / f"{name}.json").read_text())["metrics"]
        for k, col in cols.items():
            assert rows[name][col] == pytest.approx(want["test"][k], abs=1e-6), (name, k)
            for b in ("popularity", "ease"):
                assert rows[b][col] == pytest.approx(want["baselines"][b][k], abs=1e-9), (b, k)
    text = " ".join(m.value for m in at.markdown)
    assert "The notes' version is worse on 3 of the 3 metrics" in text
    assert "1.61×" in text and "0.957×" in text


def test_page_without_movielens_says_how_to_install_it(monkeypatch):
    monkeypatch.setattr(D, "recbole_folder", lambda: None)
    monkeypatch.setattr(D, "grouplens_folder", lambda: None)
    rv.ratings.clear()
    try:
        at = open_page(PAGE, "mnist-z2")
        errs = [e.value.replace("\\", "") for e in at.error]  # shown with ui.text.plain's escapes
        assert any("MovieLens-100k is not installed" in e and "requirements-nodeps.txt" in e for e in errs), errs
        assert at.get("plotly_chart")  # the β story (from the checkpoints' JSON) is still there
        assert not [e for e in at.main if type(e).__name__ == "UnknownElement"
                    and e.proto.DESCRIPTOR.name == "BidiComponent"]
    finally:
        rv.ratings.clear()


def test_page_with_a_malformed_ratings_file_names_the_line(monkeypatch, tmp_path):
    (tmp_path / "ml-100k.inter").write_text("user_id:token\titem_id:token\trating:float\n1\t2\t4\n1\tx\t5\n")
    header = "item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq\n"
    (tmp_path / "ml-100k.item").write_text(header)
    monkeypatch.setattr(D, "recbole_folder", lambda: tmp_path)
    rv.ratings.clear()
    try:
        at = open_page(PAGE, "mnist-z2")
        errs = [e.value.replace("\\", "") for e in at.error]
        assert any("line 3 of the ratings file is malformed" in e for e in errs), errs
        assert at.get("plotly_chart")
    finally:
        rv.ratings.clear()
