"""#21, faults: ``kill -9`` of the server process during a training.  Afterwards its training workers do not live on
(no orphan burning the CPU), and a restarted server on the same folders starts cleanly: the model saved before the
crash is listed and loads, nothing half-written appears, and a new training starts (the old one is gone with the
server that ran it, as the README says)."""

from __future__ import annotations

import contextlib
import os
import signal
import time

import psutil
import pytest

from tests.browser.conftest import start_server, stop_server, wait_idle

pytestmark = pytest.mark.browser


def _start_training(page, epochs: str = "100") -> None:
    box = page.get_by_label("epochs", exact=True)
    box.fill(epochs)
    box.press("Tab")
    page.get_by_role("button", name="Start training").click()
    page.get_by_text("— running").first.wait_for(timeout=120_000)


def test_kill_9_of_the_server_during_a_training(tmp_path, _browser):
    """(The suite's one Chromium, tests/browser/conftest.py: a second sync Playwright cannot run beside it.)"""
    from vae_core import load_checkpoint

    env = {"VAE_USER_MODELS": str(tmp_path), "VAE_JOBS_NAMESPACE": "faults-test"}
    proc, url = start_server(env=env)
    children: list[psutil.Process] = []
    try:
        ctx = _browser.new_context(viewport={"width": 1280, "height": 800})
        try:
            page = ctx.new_page()
            page.goto(url + "/train_models")
            wait_idle(page)
            page.get_by_role("tab", name="Save · upload · download").click()
            page.locator('input[aria-label="save as"]').fill("before-crash")
            page.get_by_role("button", name="Save on this server").click()
            page.get_by_text("Saved as before-crash").wait_for(timeout=60_000)
            page.get_by_role("tab", name="Train a model").click()
            _start_training(page)
            children = psutil.Process(proc.pid).children(recursive=True)
            busy = [c for c in children if c.cpu_percent(interval=0.5) > 20]
            assert children, "the training runs in worker processes of the server"

            os.kill(proc.pid, signal.SIGKILL)  # the server only, as a crash would: not its process group
            proc.wait(30)
            deadline = time.time() + 60
            while time.time() < deadline and any(c.is_running() and c.status() != psutil.STATUS_ZOMBIE
                                                 for c in children):
                time.sleep(1)
            alive = [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
            assert not alive, f"{len(alive)} of the server's {len(children)} processes outlived it ({len(busy)} busy)"

            # restart on the same folders
            names = {p.name for p in tmp_path.iterdir()}
            assert {"before-crash.json", "before-crash.safetensors"} <= names
            assert not [n for n in names if n.endswith(".tmp")]
            load_checkpoint(tmp_path / "before-crash")
            proc, url = start_server(env=env)
            page.goto(url + "/train_models")
            wait_idle(page)
            assert page.locator('[data-testid="stException"]').count() == 0
            page.get_by_text("No training started in this session yet").wait_for(timeout=30_000)
            page.get_by_role("tab", name="Save · upload · download").click()
            page.get_by_text("before-crash (saved)").first.wait_for(state="attached", timeout=30_000)  # in the table
            page.get_by_role("tab", name="Train a model").click()
            _start_training(page, "1")
            page.get_by_role("button", name="Stop training").click()
        finally:
            ctx.close()
    finally:
        stop_server(proc)
        for c in children:  # whatever outlived the crash (the assertion above reports it)
            with contextlib.suppress(psutil.Error):
                c.kill()
