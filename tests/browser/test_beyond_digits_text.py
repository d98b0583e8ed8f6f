"""Real-browser tests of the text and molecule pages: clicking a word on the Word Map decodes it, the collapse
page shows both models, clicking a molecule on the Molecule VAE map draws it."""

from __future__ import annotations

import re

import pytest

from .conftest import wait_idle

pytestmark = pytest.mark.browser
MAIN = '[data-testid="stMain"]'


def _open(page, url: str):
    page.goto(url)
    wait_idle(page, 120)
    main = page.locator(MAIN)
    assert page.locator('[data-testid="stException"]').count() == 0, main.inner_text()[:2000]
    return main


def _outlier(page) -> int:
    """Index of the rightmost point but the first (picked at the start) of the first plotly chart's first trace
    (no other point on top of it)."""
    return page.evaluate(f"() => {{ const x = document.querySelector('{MAIN} .js-plotly-plot')._fullData[0].x;"
                         " let k = 1; for (let i = 2; i < x.length; i++) if (x[i] > x[k]) k = i; return k; }")


def _click_point(page, n: int) -> None:
    """Click the n-th marker of the first scatter trace of the first plotly chart."""
    point = page.locator(f"{MAIN} .js-plotly-plot .scatterlayer .trace").first.locator(".points path").nth(n)
    point.wait_for(timeout=30000)
    point.scroll_into_view_if_needed()
    box = point.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)


def test_word_map_click_decodes_the_clicked_word(app_url, browser_page):
    page = browser_page
    main = _open(page, app_url + "/words_map")
    assert "Decode a point" in main.inner_text()
    n = _outlier(page)
    word = page.evaluate(f"() => document.querySelector('{MAIN} .js-plotly-plot')._fullData[0].text[{n}]")
    assert re.fullmatch(r"[a-z]{1,16}", word)
    texts = main.locator('[data-testid="stText"]')
    assert word not in [texts.nth(i).inner_text().strip() for i in range(texts.count())]
    _click_point(page, n)
    # the click moves z to that word's μ: the nearest test word shown is the clicked word itself
    page.wait_for_function(
        "(w) => Array.from(document.querySelectorAll('[data-testid=\"stMain\"] [data-testid=\"stText\"]'))"
        ".some(e => e.innerText.trim() === w)", arg=word, timeout=30000)
    wait_idle(page, 60)
    assert page.locator('[data-testid="stException"]').count() == 0
    box = main.get_by_label("from word")
    box.fill("lem0n")
    box.press("Enter")
    page.wait_for_function("() => document.querySelector('[data-testid=\"stMain\"]').innerText"
                           ".includes('1–16 letters')", timeout=30000)
    box.fill("lemon")
    box.press("Enter")
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stMain\"]').innerText"
                           ".includes('1–16 letters')", timeout=30000)
    assert page.locator('[data-testid="stException"]').count() == 0


def test_collapse_page_shows_both_models(app_url, browser_page):
    page = browser_page
    main = _open(page, app_url + "/words_collapse")
    text = main.inner_text()
    assert "KL annealing + word dropout" in text and "no word dropout" in text
    assert text.count("nats") >= 4
    assert main.locator(".js-plotly-plot").count() == 2
    assert "Gumbel-softmax" in text and "REINFORCE" in text


def test_molecule_map_click_draws_the_molecule(app_url, browser_page):
    page = browser_page
    main = _open(page, app_url + "/molecules")
    svgs = main.locator('img[src^="data:image/svg+xml"]')
    assert svgs.count() >= 1  # the picked test molecule, drawn by RDKit as an image
    assert "Test molecule #0" in main.inner_text()
    before = {svgs.nth(i).get_attribute("src") for i in range(svgs.count())}
    _click_point(page, _outlier(page))
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stMain\"]').innerText"
                           ".includes('Test molecule #0')", timeout=30000)
    wait_idle(page, 60)
    assert re.search(r"Test molecule #\d+", main.inner_text())
    after = {svgs.nth(i).get_attribute("src") for i in range(svgs.count())}
    assert after - before  # the newly picked molecule's drawing
    assert page.locator('[data-testid="stException"]').count() == 0
