"""Decoder Sliders' server path, timed in a browser: the one helper of bench.ui_latency and bench.train_isolation.

``slider_presses`` presses ArrowRight / ArrowLeft (ten each, alternating) on the page's first slider and times
each press until the decoded image (the server's ``st.image``) changes, the first three presses being warm-up."""

from __future__ import annotations

import time

from tests.browser.conftest import wait_idle

IMG = '[data-testid="stMain"] [data-testid="stImage"] img'


def p95(times: list[float]) -> float:
    times = sorted(times)
    return times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]


def slider_presses(page, n: int, pause: float | None, idle_s: float = 60, timeout_ms: int = 60000) -> list[float]:
    """n press -> new image times in ms. ``pause`` seconds after the page is idle again (at most ``idle_s``)
    before each press (isolated presses, the latency a user sees), or None: the next press as soon as the image
    has changed (back-to-back, while the browser may still be redrawing)."""
    img = page.locator(IMG).first
    img.wait_for(timeout=30000)
    thumb = page.locator('[data-testid="stSlider"] input[type="range"]').first
    thumb.focus()
    out = []
    for i in range(n + 3):
        if pause is not None:
            wait_idle(page, idle_s)
            time.sleep(pause)
        before = img.get_attribute("src")
        key = "ArrowRight" if (i // 10) % 2 == 0 else "ArrowLeft"
        t = time.perf_counter()
        thumb.press(key)
        page.wait_for_function(
            f"(prev) => {{ const i = document.querySelector('{IMG}'); return i && i.src !== prev; }}",
            arg=before, timeout=timeout_ms, polling="raf")
        if i >= 3:  # warm-up presses excluded
            out.append((time.perf_counter() - t) * 1000)
    return out
