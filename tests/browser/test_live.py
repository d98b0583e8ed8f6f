"""Real-browser tests of the live view (ui/live.py): the model run by the page's JavaScript against
PyTorch, on every shipped model, read back from the canvas pixels; hover / slider / scrub / drawing
without a server round trip; the drawing path's μ against the server's for the same strokes.

One Streamlit server (tests/browser/live_harness_app.py, each view on its own) for the module."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from vae_core import load_checkpoint
from vae_core.digits.drawing import preprocess_drawing
from vae_core.latent import lerp, slerp

from .conftest import CHROMIUM, ROOT, start_server, stop_server

pytestmark = pytest.mark.browser
HARNESS = ROOT / "tests" / "browser" / "live_harness_app.py"
CKPT = Path(os.environ.get("VAE_CHECKPOINT_DIR", ROOT / "checkpoints"))


def _digit_vae(meta_path: Path) -> bool:
    """A shipped MLP VAE / CVAE of MNIST digits (the models the digit pages offer)."""
    meta = json.loads(meta_path.read_text())
    model = meta.get("model")
    return (meta.get("family") in (None, "mlp-vae") and (meta.get("dataset") or {}).get("name") == "mnist"
            and isinstance(model, dict) and model.get("kind") in ("vae", "cvae") and model.get("input_dim") == 784)


SHIPPED = sorted(p.stem for p in CKPT.glob("*.json") if _digit_vae(p))
ROOTS = {"map": "live-latent-map", "decoder": "live-decoder", "interp": "live-interpolation", "draw": "live-drawing"}


@pytest.fixture(scope="module")
def harness():
    if not Path(CHROMIUM).exists():
        (pytest.fail if os.environ.get("CI") else pytest.skip)(f"{CHROMIUM} is missing (apt-get install chromium)")
    proc, url = start_server(script=HARNESS)
    yield url
    stop_server(proc)


@pytest.fixture(scope="module")
def browser(_browser, harness):
    """The suite's one Chromium (tests/browser/conftest.py): a second sync Playwright cannot run beside it."""
    return _browser


@pytest.fixture
def page(browser):
    ctx = browser.new_context(viewport={"width": 1280, "height": 1000})
    pg = ctx.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.js_errors = errors
    yield pg
    ctx.close()
    assert not errors, errors


@pytest.fixture(scope="module")
def models():
    cache = {}

    def get(name):
        if name not in cache:
            cache[name] = load_checkpoint(CKPT / name)[0].eval()
        return cache[name]

    return get


def open_view(page, url: str, model: str, mode: str, n: int = 1000):
    page.goto(f"{url}/?model={model}&mode={mode}&n={n}")
    sel = f'[data-testid="{ROOTS[mode]}"][data-frames]'
    page.wait_for_selector(sel, timeout=90_000)
    return sel


def attr(page, sel: str, name: str):
    return page.get_attribute(sel, name)


def frames(page, sel: str) -> int:
    return int(attr(page, sel, "data-frames") or 0)


def wait_frames(page, sel: str, above: int, timeout_s: float = 10) -> None:
    deadline = time.time() + timeout_s
    while frames(page, sel) <= above:
        assert time.time() < deadline, "the page drew no new frame"
        time.sleep(0.02)


def pixels(page, sel: str, role: str = "digit") -> np.ndarray:
    """The canvas's backing-store pixels (grey = red channel), flattened; checks it is 28×28 and opaque."""
    out = page.evaluate("""([sel, role]) => {
        const c = document.querySelector(sel + ' canvas[data-role="' + role + '"]');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        const g = [], a = [];
        for (let i = 0; i < d.length; i += 4) { g.push(d[i]); a.push(d[i + 3]); }
        return {w: c.width, h: c.height, g, a, css: getComputedStyle(c).imageRendering};
    }""", [sel, role])
    assert (out["w"], out["h"]) == (28, 28) and out["css"] == "pixelated"
    assert min(out["a"]) == 255
    return np.asarray(out["g"], dtype=np.float64)


def torch_decode(model, z, y=None) -> np.ndarray:
    with torch.no_grad():
        zt = torch.as_tensor(np.atleast_2d(z), dtype=torch.float32)
        out = model.decode(zt, torch.tensor([y])) if model.conditional else model.decode(zt)
    return out[0].double().numpy()


def state(page) -> dict:
    return json.loads(page.locator('[data-testid="stCode"]').last.inner_text())


def wait_state(page, pred, timeout_s: float = 30):
    deadline = time.time() + timeout_s
    while True:
        try:
            s = state(page)
            if pred(s):
                return s
        except (ValueError, AssertionError):
            pass
        assert time.time() < deadline, "the server did not answer"
        time.sleep(0.1)


def count_sent_frames(page) -> list:
    sent: list = []
    page.on("websocket", lambda ws: ws.on("framesent", lambda payload: sent.append(payload)))
    return sent


# ------------------------------------------------------------------ equality with PyTorch
@pytest.mark.parametrize("name", SHIPPED)
def test_page_digit_equals_torch_decode_for_20_random_z(page, harness, models, name):
    model = models(name)
    sel = open_view(page, harness, name, "decoder", n=200)
    assert attr(page, sel, "data-model").startswith(name + ":")
    rng = np.random.default_rng(7)
    worst = 0.0
    for k in range(20):
        z = rng.normal(size=model.latent_dim) * 1.5
        y = int(rng.integers(0, model.num_classes)) if model.conditional else None
        before = frames(page, sel)
        page.evaluate("([sel, z, y]) => document.querySelector(sel).__setZ(z, y === null ? undefined : y)",
                      [sel, z.tolist(), y])
        wait_frames(page, sel, before)
        assert np.allclose(json.loads(attr(page, sel, "data-z")), z, atol=1e-5)
        grey = pixels(page, sel)
        ref = torch_decode(model, z, y) * 255
        worst = max(worst, float(np.abs(grey - ref).max()))
        assert np.abs(grey - ref).max() <= 1.0, (k, float(np.abs(grey - ref).max()))
    assert worst <= 1.0


@pytest.mark.parametrize("name", ["mnist-z2", "mnist-z20", "mnist-cvae-z2"])
def test_hover_decodes_under_the_pointer_without_the_server(page, harness, models, name):
    model = models(name)
    sent = count_sent_frames(page)
    sel = open_view(page, harness, name, "map", n=5000)
    runs = state(page)["runs"]
    box = page.locator(sel + ' [data-role="map"]').bounding_box()
    time.sleep(0.5)
    n_sent = len(sent)
    f0 = frames(page, sel)
    page.mouse.move(box["x"] + 60, box["y"] + 60)
    page.mouse.move(box["x"] + box["width"] - 40, box["y"] + box["height"] - 60, steps=40)
    time.sleep(0.3)
    assert frames(page, sel) >= f0 + 10  # a frame per animation frame of the sweep, not one per rerun
    assert len(sent) == n_sent, "the page sent messages to the server while hovering"
    assert state(page)["runs"] == runs
    # the last frame: its z and digit
    z = np.asarray(json.loads(attr(page, sel, "data-z")))
    assert z.shape == (model.latent_dim,)
    y = 0 if model.conditional else None
    assert np.abs(pixels(page, sel) - torch_decode(model, z, y) * 255).max() <= 1.0
    assert float(attr(page, sel, "data-decode-ms")) >= 0
    # a click sends that z back to Python (one rerun)
    page.mouse.click(box["x"] + box["width"] - 40, box["y"] + box["height"] - 60)
    s = wait_state(page, lambda s: s["clicked"] is not None)
    assert s["runs"] == runs + 1
    assert np.allclose(s["clicked"], z, atol=1e-5)


def test_hover_on_a_20d_map_moves_in_the_pca_plane(page, harness, models):
    sel = open_view(page, harness, "mnist-z20", "map", n=1000)
    box = page.locator(sel + ' [data-role="map"]').bounding_box()
    zs = []
    for dx in (100, 200, 300):
        f = frames(page, sel)
        page.mouse.move(box["x"] + dx, box["y"] + 150)
        wait_frames(page, sel, f)
        zs.append(np.asarray(json.loads(attr(page, sel, "data-z"))))
    # moving along the map's x axis only moves z along one fixed direction (PC1)
    d1, d2 = zs[1] - zs[0], zs[2] - zs[1]
    cos = d1 @ d2 / np.linalg.norm(d1) / np.linalg.norm(d2)
    assert cos > 0.9999 and np.count_nonzero(np.abs(d1) > 1e-4) > 2


def test_sliders_decode_on_input_and_report_on_release(page, harness, models):
    model = models("mnist-z2")
    sel = open_view(page, harness, "mnist-z2", "decoder", n=500)
    runs = state(page)["runs"]
    slider = page.locator(sel + ' input[data-role="slider"][data-dim="0"]')
    box = slider.bounding_box()
    f0 = frames(page, sel)
    page.mouse.move(box["x"] + 4, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.8, box["y"] + box["height"] / 2, steps=20)
    time.sleep(0.2)
    assert frames(page, sel) >= f0 + 5  # drawn while dragging
    assert state(page)["runs"] == runs  # no rerun before release
    z = np.asarray(json.loads(attr(page, sel, "data-z")))
    assert np.abs(pixels(page, sel) - torch_decode(model, z) * 255).max() <= 1.0
    page.mouse.up()
    s = wait_state(page, lambda s: s["released"] is not None)
    assert np.allclose(s["released"], z, atol=1e-6) and np.allclose(s["callback_z"], z, atol=1e-6)
    # the pad: a drag on the map sets (z1, z2)
    pad = page.locator(sel + ' [data-role="pad"]').bounding_box()
    f1 = frames(page, sel)
    page.mouse.move(pad["x"] + 80, pad["y"] + 80)
    page.mouse.down()
    page.mouse.move(pad["x"] + 200, pad["y"] + 220, steps=10)
    wait_frames(page, sel, f1 + 3)
    page.mouse.up()
    z2 = np.asarray(json.loads(attr(page, sel, "data-z")))
    assert not np.allclose(z2, z)
    assert np.abs(pixels(page, sel) - torch_decode(model, z2) * 255).max() <= 1.0


@pytest.mark.parametrize("method", ["lerp", "slerp"])
def test_scrubbing_follows_vae_core_lerp_and_slerp(page, harness, models, method):
    name = "mnist-z20"
    model = models(name)
    sel = open_view(page, harness, name, "interp", n=200)
    page.locator(f'{sel} input[data-role="method"][value="{method}"]').check()
    z0 = np.asarray(json.loads(attr(page, sel, "data-z0")))
    z1 = np.asarray(json.loads(attr(page, sel, "data-z1")))
    steps = 11
    path = (slerp if method == "slerp" else lerp)(z0, z1, steps)
    for k in (0, 3, 7, 10):
        t = k / (steps - 1)
        f = frames(page, sel)
        page.evaluate("""([sel, t]) => { const r = document.querySelector(sel + ' input[data-role="scrub"]');
                         r.value = String(t); r.dispatchEvent(new Event('input', {bubbles: true})); }""", [sel, t])
        wait_frames(page, sel, f)
        assert attr(page, sel, "data-method") == method
        z = np.asarray(json.loads(attr(page, sel, "data-z")))
        assert np.allclose(z, path[k], atol=1e-5), (k, np.abs(z - path[k]).max())
        assert np.abs(pixels(page, sel) - torch_decode(model, path[k]) * 255).max() <= 1.0
    # dragging along the strip scrubs too
    strip = page.locator(sel + ' [data-role="strip"]').bounding_box()
    f = frames(page, sel)
    page.mouse.move(strip["x"] + 5, strip["y"] + 10)
    page.mouse.down()
    page.mouse.move(strip["x"] + strip["width"] / 2, strip["y"] + 10, steps=8)
    page.mouse.up()
    wait_frames(page, sel, f + 2)
    assert 0.3 < float(attr(page, sel, "data-t")) < 0.7


# ------------------------------------------------------------------ drawing: live μ vs the server's
STROKES = [
    [(90, 60), (190, 60), (120, 230)],  # a "7"
    [(140, 40), (140, 240)],  # a "1"
    [(100, 80), (140, 50), (180, 80), (100, 220), (190, 220)],  # a "2"
]


def _draw(page, sel, strokes):
    box = page.locator(sel + ' canvas[data-role="draw"]').bounding_box()
    for stroke in strokes:
        page.mouse.move(box["x"] + stroke[0][0], box["y"] + stroke[0][1])
        page.mouse.down()
        for x, y in stroke[1:]:
            page.mouse.move(box["x"] + x, box["y"] + y, steps=12)
        page.mouse.up()


@pytest.mark.parametrize("name", ["mnist-z2", "mnist-z20", "mnist-cvae-z2"])
def test_live_drawing_mu_equals_the_servers(page, harness, models, name):
    model = models(name)
    sel = open_view(page, harness, name, "draw", n=1000)
    runs = state(page)["runs"]
    box = page.locator(sel + ' canvas[data-role="draw"]').bounding_box()
    # during a stroke: μ moves in the page and the server hears nothing
    page.mouse.move(box["x"] + 90, box["y"] + 60)
    page.mouse.down()
    page.mouse.move(box["x"] + 190, box["y"] + 60, steps=12)
    mu_mid = attr(page, sel, "data-mu")
    page.mouse.move(box["x"] + 120, box["y"] + 230, steps=12)
    time.sleep(0.2)
    assert mu_mid is not None and attr(page, sel, "data-mu") != mu_mid
    assert state(page)["runs"] == runs
    page.mouse.up()
    for stroke in STROKES[1:] if name != "mnist-z20" else STROKES[2:]:
        _draw(page, sel, [stroke])
    time.sleep(0.3)
    s = wait_state(page, lambda s: s["server_mu"] is not None and s["runs"] >= runs + 1)
    time.sleep(1.0)  # the last stroke's rerun
    s = state(page)
    live_mu = np.asarray(json.loads(attr(page, sel, "data-mu")))
    assert np.abs(live_mu - np.asarray(s["server_mu"])).max() < 1e-3
    # the same canvas preprocessed here: the page's 28×28 input and μ agree with vae_core
    grey = page.evaluate("""(sel) => { const c = document.querySelector(sel + ' canvas[data-role="draw"]');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; const g = [];
        for (let i = 0; i < d.length; i += 4) g.push(d[i]); return g; }""", sel)
    x = preprocess_drawing(np.asarray(grey, dtype=np.uint8).reshape(280, 280))
    assert np.abs(pixels(page, sel, "input") - x * 255).max() <= 1.0
    with torch.no_grad():
        xt = torch.as_tensor(x).reshape(1, -1)
        mu = (model.encode(xt, torch.tensor([0])) if model.conditional else model.encode(xt))[0][0].numpy()
    assert np.abs(live_mu - mu).max() < 1e-3
    # the reconstruction beside it is decode(μ)
    assert np.abs(pixels(page, sel) - torch_decode(model, live_mu, 0 if model.conditional else None) * 255).max() <= 1
    # undo / clear
    page.locator(sel + ' [data-role="clear"]').click()
    wait_state(page, lambda s: s["server_mu"] is None)
    assert attr(page, sel, "data-mu") is None


# ------------------------------------------------------------------ in the app's pages
def test_app_latent_map_hover_click_and_open_in_decoder_sliders(app_url, page):
    from .conftest import wait_idle

    page.goto(app_url + "/latent_map")
    wait_idle(page, 120)
    sel = '[data-testid="live-latent-map"][data-frames]'
    page.wait_for_selector(sel, timeout=60_000)
    page.locator(sel).scroll_into_view_if_needed()
    box = page.locator(sel + ' [data-role="map"]').bounding_box()
    f0 = frames(page, sel)
    page.mouse.move(box["x"] + 120, box["y"] + 120)
    page.mouse.move(box["x"] + 260, box["y"] + 200, steps=15)
    wait_frames(page, sel, f0 + 5)
    assert page.locator('[data-testid="stStatusWidget"]').count() == 0  # no rerun while hovering
    page.mouse.click(box["x"] + 260, box["y"] + 200)
    z = np.asarray(json.loads(attr(page, sel, "data-z")))
    page.get_by_text("Kept z", exact=True).wait_for(timeout=30_000)
    page.get_by_role("button", name="Open in Decoder Sliders").click()
    dsel = '[data-testid="live-decoder"][data-frames]'
    page.wait_for_selector(dsel, timeout=60_000)
    deadline = time.time() + 20
    while not np.allclose(json.loads(attr(page, dsel, "data-z")), z, atol=1e-4):
        assert time.time() < deadline, (attr(page, dsel, "data-z"), z)
        time.sleep(0.2)


def test_app_drawing_board_draws_live_and_the_server_agrees(app_url, page):
    from .conftest import wait_idle

    page.goto(app_url + "/drawing_board")
    wait_idle(page, 120)
    sel = '[data-testid="live-drawing"][data-frames]'
    page.wait_for_selector(sel, timeout=60_000)
    _draw(page, sel, STROKES[:1])
    wait_idle(page, 60)
    page.get_by_text("reconstruction decode(μ)").first.wait_for(timeout=60_000)
    live_mu = np.asarray(json.loads(attr(page, sel, "data-mu")))
    text = page.locator('[data-testid="stMain"]').inner_text()
    line = next(s for s in text.splitlines() if s.startswith("μ = ("))  # the server's μ (2-D model: printed)
    server_mu = np.asarray([float(v.replace("−", "-")) for v in line[5:line.index(")")].split(",")])
    assert np.abs(live_mu - server_mu).max() <= 0.006  # the page prints 2 decimals
