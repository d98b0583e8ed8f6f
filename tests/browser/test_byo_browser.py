"""Real browser, bring your own (#19): a VAE trained by the command line on scikit-learn's 8×8 digits, saved in the
server's folder with its data set, picked in the sidebar: the Latent Map's live view decodes under the pointer at
8×8 (the canvas is 8×8, its pixels equal ``model.decode(z)`` within 1/255), with the file's label names in the
legend, no exception box and no server round trip while hovering; Decoder Sliders and Interpolation then draw
8×8 in the page with no exception box; a model of 12×16 PNGs in class folders draws a 16-wide, 12-high canvas equal to
its decoder.  With ``VAE_SCREENSHOT_DIR`` set it also
writes ``byo_latent_map.png`` there (the README's picture)."""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from vae_core import load_checkpoint

from .conftest import CHROMIUM, ROOT, start_server, stop_server, wait_idle

pytestmark = pytest.mark.browser
NAME = "digits8-z2"


@pytest.fixture(scope="module")
def server():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    sys.path.insert(0, str(ROOT / "tests" / "vae_core" / "digits"))
    from test_user_data import png_zip, sk_digits_npz

    from vae_core.digits.cli import main

    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        sk_digits_npz(d / "digits8.npz")
        assert main(["--data", str(d / "digits8.npz"), "--latent-dim", "2", "--hidden-dims", "128", "--epochs", "40",
                     "--batch-size", "64", "--iwae-k", "0", "--threads", "1", "--name", NAME,
                     "--out", str(d / "models" / NAME)]) == 0
        png_zip(d / "shapes.zip")  # 12×16 PNGs in two class folders: a non-square image
        assert main(["--data", str(d / "shapes.zip"), "--latent-dim", "2", "--hidden-dims", "16", "--epochs", "2",
                     "--iwae-k", "0", "--threads", "1", "--out", str(d / "models" / "shapes-z2")]) == 0
        proc, url = start_server(env={"VAE_USER_MODELS": str(d / "models")})
        try:
            yield url, d / "models" / NAME
        finally:
            stop_server(proc)


def pick_model(page, label: str, expect: str) -> None:
    """Type ``label`` into the sidebar's searchable model picker and press Enter (as bench/load.py does; again if
    a rerun of the first load got in the way) until the sidebar shows ``expect``."""
    for _ in range(4):
        page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').first.click()
        page.keyboard.type(label)
        page.keyboard.press("Enter")
        wait_idle(page, 120)
        if expect in page.locator('[data-testid="stSidebar"]').inner_text():
            return
    raise AssertionError(f"could not pick {label} in the sidebar")


def pixels(page, sel: str) -> tuple[int, int, np.ndarray]:
    out = page.evaluate("""(sel) => {
        const c = document.querySelector(sel + ' canvas[data-role="digit"]');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        const g = [];
        for (let i = 0; i < d.length; i += 4) g.push(d[i]);
        return {w: c.width, h: c.height, g};
    }""", sel)
    return out["h"], out["w"], np.asarray(out["g"], dtype=np.float64)


def test_latent_map_of_your_own_8x8_digits_decodes_in_the_page(server, screenshot_dir, chromium):
    url, ckpt = server
    model, _ = load_checkpoint(ckpt)
    ctx = chromium.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = ctx.new_page()
        sent: list = []
        page.on("websocket", lambda ws: ws.on("framesent", lambda payload: sent.append(payload)))
        page.goto(url + "/latent_map")
        wait_idle(page, 120)
        pick_model(page, NAME, "your data set digits8.npz: 1,797 images of 8×8 pixels")
        sel = '[data-testid="live-latent-map"][data-frames]'
        page.wait_for_selector(sel, timeout=60_000)
        assert page.locator('[data-testid="stException"]').count() == 0
        legend = page.locator(sel + " .vl-legend").inner_text()
        assert "digit 0" in legend and "digit 9" in legend
        page.locator(sel).scroll_into_view_if_needed()
        box = page.locator(sel + ' [data-role="map"]').bounding_box()
        time.sleep(0.5)
        n_sent = len(sent)
        f0 = int(page.locator(sel).get_attribute("data-frames"))
        page.mouse.move(box["x"] + 80, box["y"] + 80)
        page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.45, steps=25)
        deadline = time.time() + 10
        while int(page.locator(sel).get_attribute("data-frames")) < f0 + 5:
            assert time.time() < deadline, "the page did not decode while hovering"
            time.sleep(0.05)
        time.sleep(0.3)
        assert len(sent) == n_sent, "the page sent messages to the server while hovering"
        z = np.asarray(json.loads(page.locator(sel).get_attribute("data-z")))
        h, w, grey = pixels(page, sel)
        assert (h, w) == (8, 8)
        with torch.no_grad():
            ref = model.decode(torch.as_tensor(z, dtype=torch.float32)[None])[0].double().numpy() * 255
        assert np.abs(grey - ref).max() <= 1.0
        page.screenshot(path=str(screenshot_dir / "byo_latent_map.png"))
        # the other explore pages, reached through the navigation (the session keeps the model)
        for title, root in (("Decoder Sliders", "live-decoder"), ("Interpolation", "live-interpolation")):
            page.locator('[data-testid="stSidebarNav"]').get_by_text(title, exact=True).click()
            wait_idle(page, 120)
            lsel = f'[data-testid="{root}"][data-frames]'
            page.wait_for_selector(lsel, timeout=60_000)
            assert page.locator('[data-testid="stException"]').count() == 0, title
            assert pixels(page, lsel)[:2] == (8, 8), title
            assert "digits8.npz" in page.locator('[data-testid="stSidebar"]').inner_text()
    finally:
        ctx.close()


def test_latent_map_of_non_square_pngs_draws_16_wide_12_high(server, chromium):
    url, ckpt = server
    model, _ = load_checkpoint(ckpt.parent / "shapes-z2")
    ctx = chromium.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = ctx.new_page()
        page.goto(url + "/latent_map")
        wait_idle(page, 120)
        pick_model(page, "shapes-z2", "shapes.zip: 24 images of 12×16 pixels")
        sel = '[data-testid="live-latent-map"][data-frames]'
        page.wait_for_selector(sel, timeout=60_000)
        assert page.locator('[data-testid="stException"]').count() == 0
        box = page.locator(sel + ' [data-role="map"]').bounding_box()
        f0 = int(page.locator(sel).get_attribute("data-frames"))
        page.mouse.move(box["x"] + 90, box["y"] + 90)
        page.mouse.move(box["x"] + 220, box["y"] + 160, steps=12)
        deadline = time.time() + 10
        while int(page.locator(sel).get_attribute("data-frames")) < f0 + 3:
            assert time.time() < deadline, "the page did not decode while hovering"
            time.sleep(0.05)
        time.sleep(0.3)
        z = np.asarray(json.loads(page.locator(sel).get_attribute("data-z")))
        h, w, grey = pixels(page, sel)
        assert (h, w) == (12, 16)  # rows × columns of the data set, not a square
        with torch.no_grad():
            ref = model.decode(torch.as_tensor(z, dtype=torch.float32)[None])[0].double().numpy() * 255
        assert np.abs(grey - ref).max() <= 1.0
    finally:
        ctx.close()
