"""Training isolation: a server-path slider's latency with and without a training running, in one run.

Starts the app (embedded training engine), opens Decoder Sliders in headless Chromium and measures, like
``bench.ui_latency``'s isolated series, the time from a slider key press to the new decoded image (the
server's ``st.image``, so every press is a script run on the server): first with no training, then while a
second browser tab trains a 784-512-256-2 VAE on 10,000 digits from Train & Models. Meanwhile it reads the
CPU time of the server process and of its worker processes (psutil), to say where the training ran.

Last line: ``slider_p95_idle_ms=A slider_p95_training_ms=B ratio=R worker_separate=yes|no`` (R = B / A;
worker_separate = yes when the training's CPU time was spent in processes other than the server's: the
workers used more CPU than the server during the training window and the server's share stayed below a
quarter).  Run from the repository root:

    VAE_DATA_DIR=... .venv/bin/python -m bench.train_isolation [--n 30] [--pause 0.3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import psutil

from bench.slider_presses import p95, slider_presses
from tests.browser.conftest import launch_chromium, start_server, stop_server, wait_idle


def cpu_times(server: psutil.Process) -> tuple[float, float]:
    """CPU seconds (user + system) of the server process and of all its descendants (the engine's processes)."""
    def cpu(p: psutil.Process) -> float:
        try:
            t = p.cpu_times()
            return t.user + t.system
        except psutil.Error:
            return 0.0
    return cpu(server), sum(cpu(c) for c in server.children(recursive=True))


def rss_mb(server: psutil.Process) -> tuple[float, list[float]]:
    """Unique memory (USS: what the process alone holds; its RSS also counts the torch libraries every process maps
    and shares) of the server process and of each of its descendants (the embedded engine's processes), MB."""
    def rss(p: psutil.Process) -> float:
        try:
            return p.memory_full_info().uss / 2**20
        except psutil.Error:
            return 0.0
    return rss(server), sorted((rss(c) for c in server.children(recursive=True)), reverse=True)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=30, help="presses per series")
    ap.add_argument("--pause", type=float, default=0.3, help="seconds of idle before each press")
    ap.add_argument("--epochs", type=int, default=60, help="epochs of the training (it is stopped at the end)")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    proc, url = start_server()
    server = psutil.Process(proc.pid)
    try:
        with sync_playwright() as pw:
            browser = launch_chromium(pw)
            sliders = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
            sliders.goto(url + "/decoder_sliders")
            wait_idle(sliders)
            idle = slider_presses(sliders, args.n, args.pause)
            mem_idle = rss_mb(server)

            trainer = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
            trainer.goto(url + "/train_models")
            wait_idle(trainer)
            epochs = trainer.get_by_label("epochs", exact=True)
            epochs.fill(str(args.epochs))
            epochs.press("Tab")
            trainer.get_by_role("button", name="Start training").click()  # 784-512-256-2, 10,000 digits (defaults)
            trainer.get_by_text("— running").first.wait_for(timeout=120000)
            trainer.get_by_text("speed").first.wait_for(timeout=120000)  # its first reports have arrived
            s0, w0 = cpu_times(server)
            t0 = time.perf_counter()
            busy = slider_presses(sliders, args.n, args.pause)
            wall = time.perf_counter() - t0
            s1, w1 = cpu_times(server)
            mem_busy = rss_mb(server)
            still = trainer.get_by_text("— running").count() > 0
            trainer.get_by_role("button", name="Stop training").click()
            browser.close()
    finally:
        stop_server(proc)
    a, b = p95(idle), p95(busy)
    server_cpu, worker_cpu = s1 - s0, w1 - w0
    separate = still and worker_cpu > server_cpu and server_cpu < 0.25 * (server_cpu + worker_cpu)
    print(f"idle:     n={len(idle)} p50={statistics.median(idle):.0f} ms p95={a:.0f} ms max={max(idle):.0f} ms")
    print(f"training: n={len(busy)} p50={statistics.median(busy):.0f} ms p95={b:.0f} ms max={max(busy):.0f} ms")
    print(f"during the {wall:.0f} s with training: server process {server_cpu:.1f} CPU s, engine processes "
          f"{worker_cpu:.1f} CPU s; the training was {'still' if still else 'no longer'} running at the end")
    for label, (srv, kids) in (("idle", mem_idle), ("training", mem_busy)):
        print(f"USS {label}: server {srv:,.0f} MB; engine processes " + ", ".join(f"{k:,.0f}" for k in kids) + " MB")
    print(f"slider_p95_idle_ms={a:.0f} slider_p95_training_ms={b:.0f} ratio={b / a:.2f} "
          f"worker_separate={'yes' if separate else 'no'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
