"""Real-browser test of the Drawing Board: a stroke drawn with the mouse on the streamlit-drawable-canvas
component reaches the app (update_streamlit=True sends it on mouse up), the empty-canvas prompt goes away and a
reconstruction appears; the toolbar's undo and reset work."""

from __future__ import annotations

import time

import pytest

from .conftest import wait_idle

pytestmark = pytest.mark.browser
PROMPT = "Nothing to look at yet"
MAIN = '[data-testid="stMain"]'


def _stroke(page, points) -> None:
    page.mouse.move(*points[0])
    page.mouse.down()
    for p in points[1:]:
        page.mouse.move(*p, steps=4)
    page.mouse.up()


def _wait_text(page, text: str, present: bool, timeout_s: float = 30.0) -> None:
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        if (text in page.locator(MAIN).inner_text()) == present:
            wait_idle(page, timeout_s)
            if (text in page.locator(MAIN).inner_text()) == present:
                return
        time.sleep(0.25)
    raise AssertionError(f"{text!r} {'never appeared' if present else 'did not go away'}")


def _recon_src(page) -> str | None:
    img = page.locator(f'{MAIN} [data-testid="stImage"]', has_text="reconstruction").locator("img")
    return img.first.get_attribute("src") if img.count() else None


def test_draw_a_digit(app_url, browser_page):
    page = browser_page
    page.goto(app_url + "/drawing_board")
    wait_idle(page, 90)
    page.locator(MAIN).get_by_text("draw on the canvas", exact=True).click()  # this canvas; the live one: test_live.py
    wait_idle(page, 90)
    assert PROMPT in page.locator(MAIN).inner_text()
    canvas = page.locator(f"{MAIN} canvas").last
    canvas.wait_for(timeout=30000)
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    assert box and box["width"] >= 200 and box["height"] >= 200
    x0, y0 = box["x"], box["y"]

    # a "7": top bar, then the diagonal, in one stroke of many small moves
    pts = [(x0 + 70 + 10 * i, y0 + 50) for i in range(15)]
    pts += [(x0 + 210 - 6 * i, y0 + 50 + 13 * i) for i in range(1, 15)]
    _stroke(page, pts)
    _wait_text(page, PROMPT, present=False)
    _wait_text(page, "reconstruction", present=True)
    assert page.locator('[data-testid="stException"]').count() == 0
    first = _recon_src(page)
    assert first, "no reconstruction image"
    assert "μ" in page.locator(MAIN).inner_text()

    # a second stroke changes the digit; undo brings the first one back
    _stroke(page, [(x0 + 100 + 8 * i, y0 + 150) for i in range(10)])
    deadline = time.time() + 30
    while _recon_src(page) == first and time.time() < deadline:
        time.sleep(0.25)
    wait_idle(page)
    second = _recon_src(page)
    assert second != first
    page.get_by_title("Undo").click()
    deadline = time.time() + 30
    while _recon_src(page) == second and time.time() < deadline:
        time.sleep(0.25)
    wait_idle(page)
    assert _recon_src(page) == first  # same digit again -> the very same image

    # reset (clear) empties the canvas: the prompt is back
    page.get_by_title("Reset canvas & history").click()
    _wait_text(page, PROMPT, present=True)
    assert page.locator('[data-testid="stException"]').count() == 0
