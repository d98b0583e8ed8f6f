"""Real-browser tests of the Recommender page: the in-page model (items.js on live.js's MLP) ranks the movies
exactly as PyTorch's decode_logits for 20 random z on both map models; a hover sweep sends the server nothing;
the "You" list (picks encoded in the page) equals the server's encode -> decode_logits ranking, also after a
pick is added in the multiselect."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
import torch

from ui.live import map_extent
from vae_core import families
from vae_core.latent import PCA
from vae_core.recommender import data as D
from vae_core.recommender import explore as E

from .conftest import ROOT, wait_idle

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(D.recbole_folder() is None and D.grouplens_folder() is None, reason=D.HOW_TO_GET)]
CK = ROOT / "checkpoints"
SEL = '[data-testid="live-items"]'


def _model(name: str):
    model, meta = families.load(CK / name)
    return model.eval(), meta


def _torch_top(model, z, exclude=()) -> list[int]:
    with torch.no_grad():
        logits = model.decode_logits(torch.as_tensor(np.atleast_2d(z), dtype=torch.float32))[0].double()
    logits[list(exclude)] = -np.inf
    return torch.topk(logits, 10).indices.tolist()


def _open(page, url: str, name: str) -> str:
    page.goto(url + "/recommender")
    wait_idle(page, 120)
    assert page.locator('[data-testid="stException"]').count() == 0
    if name != "movielens-multvae-z2":
        page.get_by_text(f"{name} (", exact=False).first.click()
        wait_idle(page, 120)
    sel = f'{SEL}[data-model^="{name}:"][data-frames]'
    page.wait_for_selector(sel, timeout=120_000)
    return sel


def _you_reference(model, picks) -> tuple[list[int], np.ndarray]:
    x = E.pick_vector(model.n_items, picks)
    with torch.no_grad():
        mu, _ = model.encode(torch.from_numpy(x))
    return _torch_top(model, mu[0].numpy(), exclude=picks), mu[0].double().numpy()


@pytest.mark.parametrize("name", ["movielens-multvae-z2", "movielens-multvae-z200"])
def test_in_page_top10_equals_decode_logits_ranking_for_20_random_z(app_url, browser_page, name):
    page = browser_page
    model, meta = _model(name)
    cat = E.catalog(D.load_ratings(), meta["item_ids"])
    sel = _open(page, app_url, name)
    rng = np.random.default_rng(11)
    for k in range(20):
        z = rng.normal(size=model.latent_dim) * (1.5 if model.latent_dim == 2 else 1.0)
        page.evaluate("([sel, z]) => document.querySelector(sel).__setZ(z)", [sel, z.tolist()])
        assert np.allclose(json.loads(page.get_attribute(sel, "data-z")), z, atol=1e-5)
        top = json.loads(page.get_attribute(sel, "data-top"))
        assert top == _torch_top(model, z), k
        # the list renderer: titles in that order, π = softmax(logits) in %
        rows = page.locator(sel + ' [data-role="hover-list"] li')
        assert [int(rows.nth(i).get_attribute("data-col")) for i in range(10)] == top
        assert rows.nth(0).locator(".vl-title").inner_text() == cat.labels[top[0]]
        pi = E.softmax(E.item_logits(model, z)[0])
        assert rows.nth(0).locator(".vl-prob").inner_text() == f"{100 * pi[top[0]]:.2f} %"
    # "You": the default picks encoded in the page
    picks = json.loads(page.get_attribute(sel, "data-picks"))
    want, mu = _you_reference(model, picks)
    assert len(picks) == 3 and json.loads(page.get_attribute(sel, "data-you-top")) == want
    assert np.abs(np.asarray(json.loads(page.get_attribute(sel, "data-mu"))) - mu).max() < 1e-4
    # the 1σ ellipse: points p with (p − c)ᵀ Σ₂⁻¹ (p − c) = 1, Σ₂ = U diag(σ²) Uᵀ on the map's plane U
    with torch.no_grad():
        _, lv = model.encode(torch.from_numpy(E.pick_vector(model.n_items, picks)))
    var = np.exp(lv[0].double().numpy())
    if model.latent_dim == 2:
        u, mean = np.eye(2), np.zeros(2)
    else:
        sp = D.split(D.load_ratings(), seed=meta["split_seed"])
        allmu, _ = E.posteriors(model, sp.full)
        pca = PCA(allmu)
        u, mean = pca.components[:2], pca.mean
    c, cov = u @ (mu - mean), (u * var) @ u.T
    pts = np.asarray(json.loads(page.get_attribute(sel, "data-ellipse"))) - c
    assert np.allclose(np.einsum("ni,ij,nj->n", pts, np.linalg.inv(cov), pts), 1.0, rtol=1e-3)


@pytest.mark.parametrize("name", ["movielens-multvae-z2", "movielens-multvae-z200"])
def test_hovering_a_users_dot_decodes_that_users_own_mu(app_url, browser_page, name):
    page = browser_page
    model, meta = _model(name)
    sel = _open(page, app_url, name)
    sp = D.split(D.load_ratings(), seed=meta["split_seed"])
    mu, _ = E.posteriors(model, sp.full)
    xy = mu if model.latent_dim == 2 else PCA(mu).transform(mu)[:, :2]
    x0, x1, y0, y1 = map_extent(xy)
    inside = (xy[:, 0] > x0 + 0.05 * (x1 - x0)) & (xy[:, 0] < x1 - 0.05 * (x1 - x0)) & \
        (xy[:, 1] > y0 + 0.05 * (y1 - y0)) & (xy[:, 1] < y1 - 0.05 * (y1 - y0))
    gap = np.sort(np.linalg.norm(xy[:, None] - xy[None], axis=2), axis=1)[:, 1]
    i = int(np.argmax(np.where(inside, gap, -1)))  # the most isolated user on the map: no dot near it
    page.evaluate("(s) => document.querySelector(s + ' [data-role=\"map\"]').scrollIntoView({block: 'center'})", sel)
    time.sleep(0.3)
    x, y = page.evaluate("([sel, i]) => document.querySelector(sel).__pointPx(i)", [sel, i])
    page.mouse.move(x - 30, y)
    page.mouse.move(x, y, steps=5)
    page.wait_for_function("([s, u]) => document.querySelector(s).getAttribute('data-user') === u",
                           arg=[sel, str(int(sp.all_users[i]))], timeout=10_000)
    assert np.abs(np.asarray(json.loads(page.get_attribute(sel, "data-z"))) - mu[i]).max() < 1e-5
    assert json.loads(page.get_attribute(sel, "data-top")) == _torch_top(model, mu[i])
    box = page.locator(sel + ' [data-role="map"]').bounding_box()
    page.mouse.move(box["x"] + 47, box["y"] + 11)  # the plot's top-left corner, away from every dot
    page.wait_for_function("(s) => !document.querySelector(s).hasAttribute('data-user')", arg=sel, timeout=10_000)


def test_hover_sweep_sends_nothing_to_the_server(app_url, browser_page):
    page = browser_page
    sent: list = []
    page.on("websocket", lambda ws: ws.on("framesent", lambda payload: sent.append(payload)))
    sel = _open(page, app_url, "movielens-multvae-z2")
    model, _ = _model("movielens-multvae-z2")
    box = page.locator(sel + ' [data-role="map"]').bounding_box()
    time.sleep(0.5)
    n_sent, f0 = len(sent), int(page.get_attribute(sel, "data-frames"))
    page.mouse.move(box["x"] + 60, box["y"] + 60)
    page.mouse.move(box["x"] + box["width"] - 40, box["y"] + box["height"] - 60, steps=40)
    time.sleep(0.3)
    assert int(page.get_attribute(sel, "data-frames")) >= f0 + 10
    assert len(sent) == n_sent, "the page sent messages to the server while hovering"
    z = np.asarray(json.loads(page.get_attribute(sel, "data-z")))
    assert json.loads(page.get_attribute(sel, "data-top")) == _torch_top(model, z)


def test_adding_a_pick_updates_your_list_in_the_page(app_url, browser_page):
    page = browser_page
    sel = _open(page, app_url, "movielens-multvae-z2")
    model, meta = _model("movielens-multvae-z2")
    cat = E.catalog(D.load_ratings(), meta["item_ids"])
    before = json.loads(page.get_attribute(sel, "data-picks"))
    box = page.locator('[data-testid="stMultiSelect"] input').first
    box.click()
    box.fill("Fargo (1996)")
    box.press("Enter")
    page.wait_for_function("([s, n]) => { const e = document.querySelector(s);"
                           " return e && JSON.parse(e.getAttribute('data-picks') || '[]').length === n; }",
                           arg=[SEL, len(before) + 1], timeout=60_000)
    picks = json.loads(page.get_attribute(SEL, "data-picks"))
    assert cat.column_of()["Fargo (1996)"] in picks
    want, _ = _you_reference(model, picks)
    got = json.loads(page.get_attribute(SEL, "data-you-top"))
    assert got == want and not set(got) & set(picks)
    assert "Fargo (1996)" not in page.locator(SEL + ' [data-role="you-list"]').inner_text()
