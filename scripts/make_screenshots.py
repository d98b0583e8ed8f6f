"""README pictures from headless Chromium: screenshots of the main pages and an animated GIF of the
pointer moving over the live latent map (the browser decoding under the pointer).

Starts the app (app.py, shipped mnist-z2 by default) on a free port, drives Debian's Chromium with
Playwright and writes, into --out (default docs/images/):

    latent_map_live.png, decoder_sliders.png, interpolation.png, drawing_board.png, beta_lab.png, home.png
    live_map.gif   the pointer sweeping the Latent Map's live tab (Pillow assembles the frames)

    VAE_DATA_DIR=... python scripts/make_screenshots.py [--out docs/images] [--frames 36]
"""

from __future__ import annotations

import argparse
import io
import math
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from PIL import Image  # noqa: E402

from tests.browser.conftest import launch_chromium, start_server, stop_server, wait_idle  # noqa: E402

MAP = '[data-testid="live-latent-map"]'


def shot(page, path: Path, scroll_to: str | None = None) -> None:
    if scroll_to:  # that element at the top, below Streamlit's header bar
        page.locator(scroll_to).first.evaluate("e => e.scrollIntoView({block: 'start'})")
        page.mouse.wheel(0, -70)
        time.sleep(0.5)
    page.screenshot(path=str(path))
    print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")


def open_page(page, url: str, path: str) -> None:
    page.goto(f"{url}/{path}")
    wait_idle(page, 120)
    time.sleep(0.5)


def sweep_points(box: dict, n: int) -> list[tuple[float, float]]:
    """A loop over the map's central area: a slow figure-of-eight through the digit clusters."""
    cx, cy = box["x"] + box["width"] * 0.55, box["y"] + box["height"] * 0.47
    rx, ry = box["width"] * 0.30, box["height"] * 0.30
    return [(cx + rx * math.sin(2 * math.pi * k / n), cy + ry * math.sin(4 * math.pi * k / n)) for k in range(n)]


def live_map_gif(page, url: str, out: Path, frames: int) -> None:
    open_page(page, url, "latent_map")
    root = page.locator(MAP)
    root.wait_for(timeout=60_000)
    root.scroll_into_view_if_needed()
    time.sleep(0.5)
    box = page.locator(MAP + ' [data-role="map"]').bounding_box()
    clip = root.bounding_box()
    clip = {"x": clip["x"], "y": clip["y"], "width": min(clip["width"], 720), "height": clip["height"]}
    images = []
    for x, y in sweep_points(box, frames):
        n0 = int(page.get_attribute(MAP, "data-frames") or 0)
        page.mouse.move(x, y, steps=3)
        deadline = time.time() + 2
        while int(page.get_attribute(MAP, "data-frames") or 0) <= n0 and time.time() < deadline:
            time.sleep(0.01)
        images.append(Image.open(io.BytesIO(page.screenshot(clip=clip))).convert("RGB"))
    pal = images[0].quantize(colors=96, method=Image.Quantize.MEDIANCUT)
    gif = [im.quantize(palette=pal, dither=Image.Dither.NONE) for im in images]
    gif[0].save(out, save_all=True, append_images=gif[1:], duration=90, loop=0, optimize=True)
    print(f"wrote {out} ({len(gif)} frames, {out.stat().st_size / 1e3:.0f} kB)")


def draw_seven(page) -> None:
    pad = page.locator('[data-testid="live-drawing"] canvas[data-role="draw"]')
    pad.scroll_into_view_if_needed()
    b = pad.bounding_box()
    page.mouse.move(b["x"] + 70, b["y"] + 60)
    page.mouse.down()
    for x, y in [(210, 60), (200, 90), (150, 170), (120, 240)]:
        page.mouse.move(b["x"] + x, b["y"] + y, steps=15)
    page.mouse.up()
    wait_idle(page, 60)
    time.sleep(0.5)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    ap.add_argument("--frames", type=int, default=36)
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    from playwright.sync_api import sync_playwright

    proc, url = start_server()
    try:
        with sync_playwright() as pw:
            browser = launch_chromium(pw)
            page = browser.new_page(viewport={"width": 1280, "height": 860})
            open_page(page, url, "")
            shot(page, args.out / "home.png")
            # the live map, pointer over a cluster
            open_page(page, url, "latent_map")
            page.locator(MAP).scroll_into_view_if_needed()
            b = page.locator(MAP + ' [data-role="map"]').bounding_box()
            page.mouse.move(b["x"] + b["width"] * 0.35, b["y"] + b["height"] * 0.4, steps=5)
            time.sleep(0.3)
            shot(page, args.out / "latent_map_live.png")
            open_page(page, url, "decoder_sliders")
            shot(page, args.out / "decoder_sliders.png")
            open_page(page, url, "interpolation")
            shot(page, args.out / "interpolation.png", 'h3:has-text("Scrub the path")')
            open_page(page, url, "drawing_board")
            draw_seven(page)
            shot(page, args.out / "drawing_board.png", '[data-testid="stMain"] [data-testid="stRadio"]')
            open_page(page, url, "beta_lab")
            shot(page, args.out / "beta_lab.png")
            live_map_gif(page, url, args.out / "live_map.gif", args.frames)
            browser.close()
    finally:
        stop_server(proc)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
