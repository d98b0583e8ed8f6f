"""UI latency: slider change -> new decoded image, in headless Chromium.

Starts the app, opens Decoder Sliders, presses ArrowRight / ArrowLeft on the first slider and measures,
for each press, the time until the decoded image's src changes.  Two series:

* isolated: each press is made once the page is idle again (the previous update fully drawn, map
  included) plus a short pause, as a person tapping a key or releasing a dragged slider does; this is the
  latency a user sees.
* back-to-back: the next press follows as soon as the image has changed, while the browser may still be
  redrawing the map of the previous one; this measures sustained update rate more than latency.

Prints p50 / p95 in ms for both, and the cold start: server launch -> first page interactive.
No assertions: figures go in the README.  Run from the repository root:

    VAE_DATA_DIR=... .venv/bin/python -m bench.ui_latency [--n 40] [--pause 0.3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

from bench.slider_presses import p95, slider_presses
from tests.browser.conftest import launch_chromium, start_server, stop_server, wait_idle


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=40)
    ap.add_argument("--pause", type=float, default=0.3, help="seconds of idle before each isolated press")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    t0 = time.perf_counter()
    proc, url = start_server()
    t_server = time.perf_counter() - t0
    try:
        with sync_playwright() as pw:
            browser = launch_chromium(pw)
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(url + "/")
            wait_idle(page)
            t_cold = time.perf_counter() - t0
            print(f"cold start: server healthy after {t_server:.1f} s, first page interactive after {t_cold:.1f} s")
            page.goto(url + "/decoder_sliders")
            wait_idle(page)
            series = {"isolated": slider_presses(page, args.n, args.pause, idle_s=30, timeout_ms=15000),
                      "back-to-back": slider_presses(page, args.n, None, timeout_ms=15000)}
            browser.close()
    finally:
        stop_server(proc)
    for name, times in series.items():
        times.sort()
        p50 = statistics.median(times)
        print(f"slider -> new image, {name}: n={len(times)}  p50={p50:.0f} ms  p95={p95(times):.0f} ms  "
              f"max={times[-1]:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
