"""Live view frame rate: the pointer sweeps the in-page latent map continuously, in headless Chromium.

Starts a Streamlit server on tests/browser/live_harness_app.py (the live map alone, ``--points`` test
digits on it; or ``--app`` for the app's own Latent Map page), opens ``--sessions`` browser pages and
moves the pointer back and forth over each map for ``--seconds``. The figures come from the page's own
clock: every frame the component draws is stamped with performance.now() and its decode+draw time
(root.__live, set by record() in ui/live_assets/base.js). Reports, per model:

* frames drawn per second during the sweep (frames / sweep time, per session) and the p95 gap between
  frames;
* decode + draw time per frame, p50 / p95 / max (ms);
* the server process's CPU time during the sweep (as % of one core) and its resident memory before and
  after (MB), read from /proc; Streamlit reruns during the sweep (should be 0).

No assertions: figures go in the README.  Run from the repository root:

    VAE_DATA_DIR=... .venv/bin/python -m bench.live_fps [--models mnist-z2,mnist-z20] [--seconds 5] [--sessions 1]
    VAE_DATA_DIR=... .venv/bin/python -m bench.live_fps --sessions 6
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import statistics
import time
from pathlib import Path

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, ROOT, start_server, stop_server

HARNESS = ROOT / "tests" / "browser" / "live_harness_app.py"
SEL = '[data-testid="live-latent-map"][data-frames]'
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    if not xs:
        return float("nan")
    return xs[min(len(xs) - 1, max(0, round(q / 100 * (len(xs) - 1))))]


async def open_map(ctx, url: str, model: str, points: int, app: bool):
    page = await ctx.new_page()
    page.sent = []  # websocket messages the page sends to the server (a rerun request is one)
    page.on("websocket", lambda ws: ws.on("framesent", lambda payload: page.sent.append(payload)))
    if app:
        await page.goto(f"{url}/latent_map")
    else:
        await page.goto(f"{url}/?model={model}&mode=map&n={points}")
    await page.wait_for_selector(SEL, timeout=180_000)
    await page.locator(SEL).scroll_into_view_if_needed()
    return page


async def sweep(page, seconds: float, driver: str, rate: float) -> dict:
    """Zig-zag over the whole map, one small step per pointer event. driver "cdp": real mouse events
    sent through the DevTools protocol at ``rate`` per second without waiting for each to be handled
    (a hand moving a mouse does not wait for frames either); "playwright": page.mouse.move, which waits
    for each event's round trip (so the event rate, not the page, caps the frame rate)."""
    box = await page.locator(SEL + ' [data-role="map"]').bounding_box()
    x0, x1 = box["x"] + 50, box["x"] + box["width"] - 15
    y0, y1 = box["y"] + 15, box["y"] + box["height"] - 40
    await page.mouse.move(x0, y0)
    cdp = await page.context.new_cdp_session(page) if driver == "cdp" else None
    pending: list = []
    t_start = await page.evaluate("performance.now()")
    start = time.perf_counter()
    end = start + seconds
    k = 0
    while time.perf_counter() < end:
        u = (k % 200) / 200
        row = (k // 200) % 10
        x = x0 + (u if row % 2 == 0 else 1 - u) * (x1 - x0)
        y = y0 + (row + u) / 10 * (y1 - y0)
        if cdp is None:
            await page.mouse.move(x, y)
        else:
            pending.append(asyncio.ensure_future(
                cdp.send("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": x, "y": y, "button": "none"})))
            await asyncio.sleep(max(0.0, start + (k + 1) / rate - time.perf_counter()))
        k += 1
    if pending:
        await asyncio.gather(*pending)
    t_end = await page.evaluate("performance.now()")
    live = await page.evaluate("(sel) => { const s = document.querySelector(sel).__live;"
                               " return {ms: s.ms, stamps: s.stamps}; }", SEL)
    stamps = [s for s in live["stamps"] if t_start <= s <= t_end]
    ms = [m for m, s in zip(live["ms"], live["stamps"], strict=True) if t_start <= s <= t_end]
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    return {"frames": len(stamps), "seconds": (t_end - t_start) / 1000, "ms": ms, "gaps": gaps, "moves": k}


async def run_model(browser, url: str, proc, model: str, args) -> None:
    ctxs = [await browser.new_context(viewport={"width": 1280, "height": 900}) for _ in range(args.sessions)]
    pages = [await open_map(c, url, model, args.points, args.app) for c in ctxs]
    await asyncio.sleep(1.0)
    sent0 = sum(len(p.sent) for p in pages)
    rss0, cpu0, t0 = rss_mb(proc.pid), cpu_seconds(proc.pid), time.perf_counter()
    results = await asyncio.gather(*(sweep(p, args.seconds, args.driver, args.rate) for p in pages))
    cpu1, t1, rss1 = cpu_seconds(proc.pid), time.perf_counter(), rss_mb(proc.pid)
    sent = sum(len(p.sent) for p in pages) - sent0
    for c in ctxs:
        await c.close()
    fps = [r["frames"] / r["seconds"] for r in results]
    ms = [m for r in results for m in r["ms"]]
    gaps = [g for r in results for g in r["gaps"]]
    moves = sum(r["moves"] for r in results) / sum(r["seconds"] for r in results)
    print(f"{model}: {args.sessions} session(s), {args.points if not args.app else 'app'} points, "
          f"{args.seconds:.0f} s sweep, {moves:.0f} pointer moves/s per session ({args.driver})")
    print(f"  frames drawn per second: {', '.join(f'{f:.1f}' for f in fps)}"
          f" (median {statistics.median(fps):.1f}); gap between frames p50 {pct(gaps, 50):.1f} ms,"
          f" p95 {pct(gaps, 95):.1f} ms")
    print(f"  decode+draw per frame: p50 {pct(ms, 50):.2f} ms, p95 {pct(ms, 95):.2f} ms, max {max(ms):.2f} ms"
          f" ({len(ms)} frames)")
    print(f"  server during the sweep: CPU {100 * (cpu1 - cpu0) / (t1 - t0):.1f} % of one core,"
          f" RSS {rss0:.0f} -> {rss1:.0f} MB; messages from the pages to the server: {sent}")


async def main_async(args) -> None:
    from playwright.async_api import async_playwright

    proc, url = start_server(script=ROOT / "app.py" if args.app else HARNESS)
    try:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for model in args.models.split(","):
                await run_model(browser, url, proc, model, args)
            await browser.close()
    finally:
        stop_server(proc)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="mnist-z2,mnist-z20")
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--sessions", type=int, default=1)
    ap.add_argument("--points", type=int, default=5000)
    ap.add_argument("--driver", choices=["cdp", "playwright"], default="cdp")
    ap.add_argument("--rate", type=float, default=250.0, help="pointer events per second (cdp driver)")
    ap.add_argument("--app", action="store_true", help="the app's Latent Map page (its default model) instead")
    asyncio.run(main_async(ap.parse_args()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
