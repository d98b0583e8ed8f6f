"""A real Streamlit server and Debian's Chromium driven by Playwright (never a downloaded browser)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int | None = None, env: dict | None = None, script: Path | None = None,
                 ) -> tuple[subprocess.Popen, str]:
    """``streamlit run`` of ``script`` (default: the app) on a free local port, once its health check answers."""
    port = port or _free_port()
    cmd = [sys.executable, "-m", "streamlit", "run", str(script or ROOT / "app.py"), "--server.headless", "true",
           "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
           "--server.fileWatcherType", "none"]
    log = Path(tempfile.gettempdir()) / f"vae-explorer-streamlit-{port}.log"
    with log.open("w") as out:  # the server keeps its own copy of the descriptor
        proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **(env or {})}, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited early; see {log}")
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                if r.read().strip() == b"ok":
                    return proc, url
        except OSError:
            time.sleep(0.3)
    stop_server(proc)
    raise RuntimeError("streamlit did not become healthy within 90 s")


def stop_server(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)


def launch_chromium(pw):
    return pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def wait_idle(page, timeout_s: float = 60.0) -> None:
    """Wait until the app has rendered and no script run is in progress."""
    page.wait_for_selector('[data-testid="stSidebar"]', timeout=timeout_s * 1000)
    page.wait_for_selector('[data-testid="stMain"] [data-testid="stVerticalBlock"]', timeout=timeout_s * 1000)
    deadline = time.time() + timeout_s
    quiet = 0
    while time.time() < deadline:
        running = page.locator('[data-testid="stStatusWidget"]').count() > 0 or \
            page.locator('[data-testid="stSkeleton"]').count() > 0 or \
            page.locator('[data-testid="stSpinner"]').count() > 0
        quiet = 0 if running else quiet + 1
        if quiet >= 4:
            return
        time.sleep(0.25)


def screenshot_full(page, path) -> None:
    """Screenshot the whole page: Streamlit scrolls inside its main section, so Playwright's full_page
    sees only the viewport; grow the viewport to the content's height, shoot, and restore it."""
    size = page.viewport_size
    h = page.evaluate("Math.max(...Array.from(document.querySelectorAll("
                      "'[data-testid=stMain], [data-testid=stMainBlockContainer], section')).map(e => e.scrollHeight))")
    page.set_viewport_size({"width": size["width"], "height": min(int(h) + 40, 8000)})
    time.sleep(0.5)
    wait_idle(page, 30)
    page.screenshot(path=str(path))
    page.set_viewport_size(size)


def _need_chromium() -> None:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing (apt-get install chromium)")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")


@pytest.fixture(scope="session")
def app_url():
    _need_chromium()
    proc, url = start_server()
    yield url
    stop_server(proc)


@pytest.fixture(scope="session")
def chromium():
    """THE Chromium of the test session.  Playwright's sync API runs one event loop in the test thread while it is
    started, so a second ``with sync_playwright()`` in the same session fails ("Sync API inside the asyncio loop"):
    every test that needs a browser takes this one (and its own contexts) instead of starting Playwright again."""
    from playwright.sync_api import sync_playwright

    _need_chromium()
    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def _browser(chromium, app_url):  # noqa: ARG001 - the app's server is up for the pages of this browser
    return chromium


@pytest.fixture
def browser_page(_browser):
    ctx = _browser.new_context(viewport={"width": 1280, "height": 800})
    page = ctx.new_page()
    yield page
    ctx.close()


@pytest.fixture(scope="session")
def screenshot_dir(tmp_path_factory) -> Path:
    d = os.environ.get("VAE_SCREENSHOT_DIR")
    if d:
        Path(d).mkdir(parents=True, exist_ok=True)
        return Path(d)
    return tmp_path_factory.mktemp("screenshots")
