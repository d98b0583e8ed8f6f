"""Load: N headless Chromium sessions drag sliders and switch pages while one training runs.

One server (``streamlit run app.py`` on 127.0.0.1), Debian's Chromium driven by Playwright (async: every session
acts at the same time).  Phases:

1. idle: the server up, no session;
2. all shipped digit models loaded: one session picks each digit model in the sidebar on the Latent Map (model,
   test-set encodings and map cached), then closes; the level once that session is dropped is the cold baseline;
3. ``--warmup`` rounds (default 1) of the load below: they fill the server-wide caches the pages fill once (the
   binarised test set, the engine's client, …; the training split is loaded by the engine's worker, not the
   server); the level after them is the
   baseline the rounds are compared with (both baselines are printed);
4. ``--rounds`` rounds of load: a trainer session starts a training on Train & Models (784-512-256-2, 200 epochs
   on 10,000 digits: it runs through the round), and ``--sessions`` sessions each loop for ``--seconds``: press
   a Decoder Sliders slider several times (each press timed until the server-drawn image changes), switch to
   another page through the sidebar, switch back.  Then the training is stopped and every tab closed;
5. after each round, once Streamlit has dropped the closed sessions (``--ttl``, passed to the server as
   ``server.disconnectedSessionTTL``, plus ``DROP_MARGIN_S``: ui.memory's janitor reaps and collects them), the
   server's RSS again.

Reports: exception boxes seen, errors in the server log, slider p50/p95 under load, the server's RSS (idle, all
models loaded, baselines, peak during load, after each round's sessions closed, against both baselines and the
previous round, and the largest deviation from the baseline against issue #13's 10 %).  No assertions: the figures
go in the README.

    VAE_DATA_DIR=... python -m bench.load [--sessions 6] [--seconds 60] [--rounds 2] [--warmup 1] [--ttl 10]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import threading
import time
from pathlib import Path

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, start_server, stop_server

IMG = '[data-testid="stMain"] [data-testid="stImage"] img'
SLIDER = '[data-testid="stMain"] [data-testid="stSlider"] input[type="range"]'
OTHER_PAGES = ["Latent Map", "Interpolation", "ELBO & Bounds", "Compression", "Anomaly Detection", "Home"]


DROP_MARGIN_S = 15  # after the TTL: ui.memory's janitor (every 5 s) drops the expired sessions and collects


def digit_models() -> list[str]:
    """The shipped checkpoints of the digit family (the ones the sidebar offers)."""
    import json

    from vae_core.digits.checkpoint import list_checkpoints

    root = Path(__file__).resolve().parents[1] / "checkpoints"
    return [p.name for p in list_checkpoints(root)
            if json.loads(p.with_name(p.name + ".json").read_text()).get("family", "mlp-vae") == "mlp-vae"]


# ------------------------------------------------------------------ server memory
def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class RssSampler:
    """The server's RSS every 0.25 s in a thread; ``peak`` since the last reset."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self._stop = pid, 0.0, threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.peak = max(self.peak, rss_mb(self.pid))
            except OSError:
                return
            time.sleep(0.25)

    def reset(self) -> None:
        self.peak = rss_mb(self.pid)

    def stop(self) -> None:
        self._stop.set()


# ------------------------------------------------------------------ browser helpers
async def wait_idle(page, timeout_s: float = 60.0) -> None:
    await page.wait_for_selector('[data-testid="stSidebar"]', timeout=timeout_s * 1000)
    deadline, quiet = time.time() + timeout_s, 0
    while time.time() < deadline:
        busy = 0
        for sel in ('[data-testid="stStatusWidget"]', '[data-testid="stSkeleton"]', '[data-testid="stSpinner"]'):
            busy += await page.locator(sel).count()
        quiet = 0 if busy else quiet + 1
        if quiet >= 4:
            return
        await asyncio.sleep(0.25)


async def goto_page(page, title: str) -> None:
    await page.locator('[data-testid="stSidebarNav"] a').filter(has_text=title).first.click()
    await wait_idle(page)


async def exceptions(page, seen: dict | None = None) -> int:
    boxes = page.locator('[data-testid="stException"]')
    n = await boxes.count()
    if n and seen is not None:
        first = (await boxes.first.inner_text()).strip().splitlines()
        seen["exception_texts"].add(f"{page.url.split('?')[0].rsplit('/', 1)[-1] or 'home'}: "
                                    f"{' '.join(first[:2])[:160]}")
    return n


async def pick_model(page, label: str) -> None:
    """Type the model's label into the sidebar's searchable picker and press Enter."""
    box = page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').first
    await box.click()
    await page.keyboard.type(label)
    await page.keyboard.press("Enter")
    await wait_idle(page, 300)


async def slider_presses(page, n: int, times: list[float]) -> None:
    """Press the first server slider n times (right, then left), timing each until the image's src changes."""
    thumb = page.locator(SLIDER).first
    await thumb.wait_for(state="attached", timeout=30_000)
    img = page.locator(IMG).first
    for k in range(n):
        before = await img.get_attribute("src")
        await thumb.focus()
        t = time.perf_counter()
        await thumb.press("ArrowRight" if k % 2 == 0 else "ArrowLeft")
        try:
            await page.wait_for_function(
                f"(prev) => {{ const i = document.querySelector('{IMG}'); return i && i.src !== prev; }}",
                arg=before, timeout=20_000, polling="raf")
            times.append((time.perf_counter() - t) * 1000)
        except Exception:  # noqa: BLE001 - a press without a new image within 20 s is counted, not fatal
            times.append(float("inf"))


async def user(browser, url: str, i: int, go: asyncio.Event, seconds: float, times: list[float], seen: dict,
               ready: list) -> None:
    ctx = await browser.new_context(viewport={"width": 1280, "height": 800})
    page = await ctx.new_page()
    try:
        await page.goto(url + "/decoder_sliders", wait_until="commit", timeout=300_000)
        await wait_idle(page, 300)
        ready.append(i)
        await go.wait()  # every session starts its load at the same moment
        deadline = time.time() + seconds
        k = i
        while time.time() < deadline:
            await slider_presses(page, 4, times)
            seen["exceptions"] += await exceptions(page, seen)
            await goto_page(page, OTHER_PAGES[k % len(OTHER_PAGES)])
            seen["exceptions"] += await exceptions(page, seen)
            seen["switches"] += 1
            k += 1
            await goto_page(page, "Decoder Sliders")
            seen["switches"] += 1
    except Exception as exc:  # noqa: BLE001
        seen["failures"].append(f"session {i}: {type(exc).__name__}: {str(exc)[:200]}")
    finally:
        await ctx.close()


async def trainer(browser, url: str, started: asyncio.Event, stop: asyncio.Event, seen: dict) -> None:
    ctx = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await ctx.new_page()
    try:
        await page.goto(url + "/train_models", wait_until="commit", timeout=300_000)
        await wait_idle(page, 300)
        epochs = page.get_by_role("spinbutton", name="epochs")
        await epochs.fill("200")
        await epochs.press("Enter")
        name = page.get_by_role("textbox", name="name for the model")
        await name.fill(f"load-{int(time.time())}")
        await page.get_by_role("button", name="Start training").click()
        try:  # the first start starts the training engine: slow on a loaded machine
            await page.get_by_role("button", name="Stop training").wait_for(timeout=180_000)
        except Exception as exc:  # noqa: BLE001 - say what the page showed instead
            alerts = await page.locator('[data-testid="stAlert"]').all_inner_texts()
            raise RuntimeError(f"the training did not start; the page shows: {alerts}") from exc
        seen["training"] = "running"
        started.set()
        await stop.wait()
        seen["exceptions"] += await exceptions(page, seen)
        stop_button = page.get_by_role("button", name="Stop training")
        if await stop_button.count():
            await stop_button.first.click()
            await asyncio.sleep(2)
            seen["training"] = "ran throughout; stopped by the bench"
        else:
            seen["training"] = "finished before the end of the round"
    except Exception as exc:  # noqa: BLE001
        seen["failures"].append(f"trainer: {type(exc).__name__}: {str(exc)[:200]}")
        started.set()
    finally:
        await ctx.close()


async def load_models(browser, url: str) -> None:
    ctx = await browser.new_context(viewport={"width": 1280, "height": 800})
    page = await ctx.new_page()
    await page.goto(url + "/latent_map", wait_until="commit", timeout=300_000)
    await wait_idle(page, 300)
    for name in digit_models():
        if name != "mnist-z2":  # the default, already loaded by the first visit
            await pick_model(page, f"{name} (shipped)")
    await ctx.close()


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))] if xs else float("nan")


def log_errors(log_path: Path, start: int) -> list[str]:
    text = log_path.read_text(errors="replace")[start:]
    return [ln for ln in text.splitlines() if re.search(r"Traceback|Error|Exception", ln)]


async def one_round(browser, url: str, args, sampler: RssSampler, proc, label: str) -> float:
    """One round of load (a training and ``--sessions`` sessions), then every tab closed; prints its figures and
    returns the server's RSS once Streamlit has dropped the closed sessions."""
    seen = {"exceptions": 0, "switches": 0, "failures": [], "training": "not started", "exception_texts": set()}
    times: list[float] = []
    sampler.reset()
    started, stop = asyncio.Event(), asyncio.Event()
    tr = asyncio.create_task(trainer(browser, url, started, stop, seen))
    await asyncio.wait_for(started.wait(), 180)
    go, ready = asyncio.Event(), []
    users = []
    for i in range(args.sessions):  # opened one after the other, then all start together
        users.append(asyncio.create_task(user(browser, url, i, go, args.seconds, times, seen, ready)))
        while len(ready) + len(seen["failures"]) <= i:
            await asyncio.sleep(0.25)
    go.set()
    await asyncio.gather(*users)
    stop.set()
    await tr
    peak = sampler.peak
    await asyncio.sleep(args.ttl + DROP_MARGIN_S)  # Streamlit drops a closed tab's session after the TTL
    after = rss_mb(proc.pid)
    lost = sum(1 for x in times if x == float("inf"))
    ok = [x for x in times if x != float("inf")]
    print(f"{label}: {args.sessions} sessions x {args.seconds:g} s with one training "
          f"({seen['training']}): {len(times)} slider presses ({lost} without a new image in 20 s), "
          f"{seen['switches']} page switches")
    print(f"  slider -> new image under load: p50 {pct(ok, 0.5):.0f} ms, p95 {pct(ok, 0.95):.0f} ms, "
          f"max {max(ok) if ok else float('nan'):.0f} ms")
    print(f"  exception boxes: {seen['exceptions']}; bench failures: {len(seen['failures'])}; "
          f"machine load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    for e in sorted(seen["exception_texts"]):
        print("    exception box on", e)
    for f in seen["failures"]:
        print("   ", f)
    print(f"  server RSS: peak {peak:,.0f} MB; after the sessions closed {after:,.0f} MB")
    return after


async def run(args) -> None:
    from playwright.async_api import async_playwright

    env = {"STREAMLIT_SERVER_DISCONNECTED_SESSION_TTL": str(args.ttl)}
    proc, url = start_server(env=env)
    log_path = Path(f"/tmp/vae-explorer-streamlit-{url.rsplit(':', 1)[1]}.log")
    sampler = RssSampler(proc.pid)
    try:
        await asyncio.sleep(3)
        idle = rss_mb(proc.pid)
        print(f"server RSS idle (no session): {idle:,.0f} MB")
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            t = time.perf_counter()
            await load_models(browser, url)
            loaded = rss_mb(proc.pid)
            print(f"server RSS with all {len(digit_models())} shipped digit models loaded and encoded: "
                  f"{loaded:,.0f} MB ({time.perf_counter() - t:.0f} s)")
            await asyncio.sleep(args.ttl + DROP_MARGIN_S)
            cold = rss_mb(proc.pid)
            print(f"cold baseline once that session was dropped: {cold:,.0f} MB")
            log_start = len(log_path.read_text(errors="replace"))
            base = cold
            for w in range(1, args.warmup + 1):
                base = await one_round(browser, url, args, sampler, proc, f"warm-up round {w}")
            if args.warmup:
                print(f"baseline after {args.warmup} warm-up round(s): {base:,.0f} MB "
                      f"({(base / cold - 1) * 100:+.1f} % on the cold baseline: the server-wide caches the rounds fill "
                      "once: the pages' caches and the engine's client; the training split is loaded by the "
                      "engine's worker, not the server)")
            afters = []
            for r in range(1, args.rounds + 1):
                after = await one_round(browser, url, args, sampler, proc, f"round {r}")
                step = f"; {after - afters[-1]:+,.0f} MB on round {r - 1}" if afters else ""
                print(f"  {(after / base - 1) * 100:+.1f} % against the baseline {base:,.0f} MB "
                      f"({(after / cold - 1) * 100:+.1f} % against the cold baseline {cold:,.0f} MB){step}")
                afters.append(after)
            worst = max(abs(a / base - 1) for a in afters) * 100
            print(f"RSS after the sessions closed, rounds 1-{args.rounds}: "
                  + " / ".join(f"{a:,.0f}" for a in afters)
                  + f" MB; largest deviation from the baseline {worst:.1f} % "
                  + ("(within 10 %)" if worst <= 10 else "(NOT within 10 %)"))
            errs = log_errors(log_path, log_start)
            print(f"server-log error lines during the rounds: {len(errs)}")
            for e in errs[:20]:
                print("   ", e[:200])
            await browser.close()
    finally:
        sampler.stop()
        stop_server(proc)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sessions", type=int, default=6)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--ttl", type=int, default=10, help="server.disconnectedSessionTTL for this server, s")
    ap.add_argument("--warmup", type=int, default=1,
                    help="rounds of the same load before the baseline is taken (0: the baseline is the cold level)")
    args = ap.parse_args()
    t = time.perf_counter()
    asyncio.run(run(args))
    print(f"bench time: {time.perf_counter() - t:.0f} s")


if __name__ == "__main__":
    main()
