"""Real-browser tests of the Beyond-digits image pages: choosing another β redraws the sprite traversals;
the FID/IS button measures the sidebar's model."""

from __future__ import annotations

import pytest

from .conftest import wait_idle

pytestmark = pytest.mark.browser


def _main(page):
    return page.locator('[data-testid="stMain"]')


def test_sprites_beta_switch_redraws_traversals(app_url, browser_page):
    page = browser_page
    page.goto(app_url + "/sprites_beta")
    wait_idle(page, 90)
    main = _main(page)
    assert page.locator('[data-testid="stException"]').count() == 0, main.inner_text()[:2000]
    assert "MIG against β" in main.inner_text()
    assert main.locator(".js-plotly-plot").count() >= 3  # MIG vs β, KL per dimension, MI heat map
    first = main.locator('[data-testid="stImage"] img').nth(1)  # the first traversal row
    before = first.get_attribute("src")
    assert main.locator('[data-testid="stButtonGroup"] button').count() >= 2
    other = main.locator('[data-testid="stButtonGroup"] button:not([data-selected])').first  # a β not shown now
    label = other.inner_text().strip()
    other.click()
    page.wait_for_function(
        "(prev) => { const i = document.querySelectorAll('[data-testid=\"stMain\"] [data-testid=\"stImage\"] img');"
        " return i.length > 1 && i[1].src !== prev; }", arg=before, timeout=30000)
    wait_idle(page, 60)
    active = main.locator('[data-testid="stButtonGroup"] button[data-selected]')
    assert active.inner_text().strip() == label
    assert page.locator('[data-testid="stException"]').count() == 0


def test_generation_quality_button_scores_the_model(app_url, browser_page):
    page = browser_page
    page.goto(app_url + "/generation_quality")
    wait_idle(page, 90)
    main = _main(page)
    assert "uniform noise" in main.inner_text()
    main.get_by_role("button", name="Compute FID and IS").click()
    page.wait_for_selector('[data-testid="stMain"] [data-testid="stMetric"]', timeout=60000)
    wait_idle(page, 60)
    text = main.inner_text()
    assert "FID" in text and "the first 32 prior samples of mnist-z2" in text
    assert page.locator('[data-testid="stException"]').count() == 0
