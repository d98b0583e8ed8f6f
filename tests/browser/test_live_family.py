"""Real browser (#17 item 6): the live view takes its output head and renderer from the model's family.

* A family declared with head "softmax" and renderer "items" (tests/browser/live_family_harness.py registers one
  over a digit-layout VAE): hovering the Latent Map's live view lists, every frame, the 10 outputs with the
  largest logits at the z under the pointer -- the same columns, in the same order, and the same π = softmax
  (to the 0.01 % printed) as the payload replayed in numpy (ui.live_export.reference_decode); no canvas image.
* The map's palette: 120 classes -> 100 coloured legend entries (all different colours) and one grey entry
  counting the 100 points of classes 100-119.
"""

from __future__ import annotations

import importlib.util
import json
import os
import time
from pathlib import Path

import numpy as np
import pytest

from ui.live_export import export_model, reference_decode
from vae_core import families

from .conftest import CHROMIUM, ROOT, start_server, stop_server

pytestmark = pytest.mark.browser
HARNESS = ROOT / "tests" / "browser" / "live_family_harness.py"
SEL = '[data-testid="live-latent-map"][data-frames]'


def _harness_module():
    spec = importlib.util.spec_from_file_location("live_family_harness", HARNESS)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def harness():
    if not Path(CHROMIUM).exists():
        (pytest.fail if os.environ.get("CI") else pytest.skip)(f"{CHROMIUM} is missing (apt-get install chromium)")
    proc, url = start_server(script=HARNESS)
    yield url
    stop_server(proc)


@pytest.fixture
def page(_browser, harness):
    ctx = _browser.new_context(viewport={"width": 1280, "height": 1000})
    pg = ctx.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    yield pg
    ctx.close()
    assert not errors, errors


def test_items_family_lists_the_top_10_of_the_softmax_under_the_pointer(page, harness):
    mod = _harness_module()
    families.register(mod.ITEMS_FAMILY)
    try:
        payload = export_model(mod.model(), "ref", family=mod.ITEMS_FAMILY.name)
    finally:
        families._REGISTRY.pop(mod.ITEMS_FAMILY.name, None)
    assert (payload["head"], payload["renderer"]) == ("softmax", "items")
    page.goto(f"{harness}/?family={mod.ITEMS_FAMILY.name}&classes=10")
    page.wait_for_selector(SEL, timeout=90_000)
    assert page.locator(SEL + ' canvas[data-role="digit"]').count() == 0  # the renderer is the list, not an image
    box = page.locator(SEL + ' [data-role="map"]').bounding_box()
    for k, (fx, fy) in enumerate([(0.2, 0.3), (0.7, 0.6), (0.45, 0.85)]):
        f = int(page.get_attribute(SEL, "data-frames"))
        page.mouse.move(box["x"] + fx * box["width"], box["y"] + fy * box["height"], steps=3)
        deadline = time.time() + 10
        while int(page.get_attribute(SEL, "data-frames")) <= f:
            assert time.time() < deadline, "no frame drawn"
            time.sleep(0.02)
        time.sleep(0.1)
        z = np.asarray(json.loads(page.get_attribute(SEL, "data-z")))
        rows = page.eval_on_selector_all(SEL + ' ol[data-role="digit"] li',
                                         "ls => ls.map(l => [+l.dataset.col, l.querySelector('.vl-prob').textContent])")
        pi = reference_decode(payload, z)[0]
        want = np.argsort(-pi, kind="stable")[:10]
        assert [c for c, _ in rows] == want.tolist(), k
        for c, text in rows:
            assert abs(float(text.rstrip(" %")) - 100 * pi[c]) <= 0.005 + 1e-9, (c, text, 100 * pi[c])


def test_map_palette_colours_100_classes_and_counts_the_rest_grey(page, harness):
    page.goto(f"{harness}/?family=mlp-vae&classes=120")
    page.wait_for_selector(SEL, timeout=90_000)
    keys = page.eval_on_selector_all(SEL + " .vl-legend .vl-key", """ks => ks.map(k => [k.textContent,
        getComputedStyle(k.querySelector('.vl-swatch')).backgroundColor, k.dataset.role || ''])""")
    assert len(keys) == 101
    classes, other = keys[:100], keys[100]
    assert [t for t, _, _ in classes] == [f"c{k}" for k in range(100)]
    colours = [c for _, c, _ in classes]
    assert len(set(colours)) == 100 and "rgb(136, 136, 136)" not in colours
    assert other[2] == "legend-other" and other[1] == "rgb(136, 136, 136)"
    n_other = int((_harness_module().points(120)[1] >= 100).sum())  # 600 points, labels i % 120: 20 classes x 5
    assert n_other == 100 and other[0] == f"{n_other} points of a class beyond the first 100 (grey)"
