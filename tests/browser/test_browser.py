"""Real-browser tests: the app starts, every page renders, a slider updates the decoded image."""

from __future__ import annotations

import time

import pytest

from ui.nav import PAGES as NAV

from .conftest import screenshot_full, wait_idle

pytestmark = pytest.mark.browser
PAGES = [p.stem for p in NAV]  # the one page list (ui.nav)


def test_app_starts(app_url, browser_page):
    t0 = time.perf_counter()
    browser_page.goto(app_url + "/")
    wait_idle(browser_page)
    assert "VAE Latent Explorer" in browser_page.locator('[data-testid="stMain"]').inner_text()
    assert "latent size" in browser_page.locator('[data-testid="stSidebar"]').inner_text()
    print(f"first page interactive after {time.perf_counter() - t0:.1f} s")


@pytest.mark.parametrize("page_name", PAGES)
def test_page_renders(app_url, browser_page, screenshot_dir, page_name):
    path = "/" if page_name == "home" else f"/{page_name}"
    browser_page.goto(app_url + path)  # a deep link, as a user would bookmark it
    wait_idle(browser_page, 90)
    main = browser_page.locator('[data-testid="stMain"]')
    assert browser_page.locator('[data-testid="stException"]').count() == 0, main.inner_text()[:2000]
    assert "Pick or train a model first" not in main.inner_text()
    assert len(main.inner_text().strip()) > 50
    overflow = browser_page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"horizontal scroll of {overflow}px at 1280px"
    screenshot_full(browser_page, screenshot_dir / f"{page_name}.png")


def test_slider_updates_image(app_url, browser_page):
    browser_page.goto(app_url + "/decoder_sliders")
    wait_idle(browser_page)
    img = browser_page.locator('[data-testid="stMain"] [data-testid="stImage"] img').first
    img.wait_for(timeout=30000)
    before = img.get_attribute("src")
    thumb = browser_page.locator('[data-testid="stSlider"] input[type="range"]').first
    thumb.focus()
    for _ in range(10):
        thumb.press("ArrowRight")
    browser_page.wait_for_function(
        "(prev) => { const i = document.querySelector('[data-testid=\"stMain\"] [data-testid=\"stImage\"] img');"
        " return i && i.src !== prev; }", arg=before, timeout=15000)
    assert img.get_attribute("src") != before
