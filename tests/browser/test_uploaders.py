"""#21: every st.file_uploader of the app appears at 1280×800 (inside the window once scrolled to, not behind
anything) and works with a real file: Train & Models' checkpoint pair, the Drawing Board's picture, and the
bring-your-own data set and model import.  (A drop zone sits in a tab that is not the first one: it appears once
that tab is opened, which is where the earlier attack script timed out.)"""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from tests.browser.conftest import wait_idle

pytestmark = pytest.mark.browser
DROP = '[data-testid="stFileUploaderDropzone"]'


def _visible_in_window(page, locator) -> None:
    locator.scroll_into_view_if_needed()
    box = locator.bounding_box()
    assert box is not None and box["width"] > 100 and box["height"] > 30, box
    assert box["x"] >= 0 and box["x"] + box["width"] <= 1280 and box["y"] >= 0 and box["y"] + box["height"] <= 800, box
    # the drop zone itself is what is under its own centre (nothing covers it)
    hit = page.evaluate("([x, y]) => { const e = document.elementFromPoint(x, y); "
                        "return !!(e && e.closest('[data-testid=\"stFileUploaderDropzone\"]')); }",
                        [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2])
    assert hit, "something covers the drop zone"


def _upload(page, label: str, name: str, mime: str, data: bytes) -> None:
    uploader = page.locator('[data-testid="stFileUploader"]:visible', has_text=label)  # the open tab's
    _visible_in_window(page, uploader.locator(DROP))
    uploader.locator('input[type="file"]').set_input_files({"name": name, "mimeType": mime, "buffer": data})
    wait_idle(page)


def test_every_uploader_appears_and_works_at_1280x800(app_url, browser_page):
    from safetensors.torch import save
    from sklearn.datasets import load_digits

    from vae_core.digits.checkpoint import checkpoint_bytes
    from vae_core.digits.model import VAE

    page = browser_page
    assert page.viewport_size == {"width": 1280, "height": 800}

    # Train & Models, "Save · upload · download": the checkpoint pair
    page.goto(app_url + "/train_models")
    wait_idle(page)
    page.get_by_role("tab", name="Save · upload · download").click()
    torch.manual_seed(0)
    w, j = checkpoint_bytes(VAE(latent_dim=2, hidden_dims=(16,)), {"name": "uploaded-pair"})
    _upload(page, "weights (.safetensors)", "uploaded-pair.safetensors", "application/octet-stream", w)
    _upload(page, "metadata (.json)", "uploaded-pair.json", "application/json", j)
    page.get_by_text("Loaded uploaded-pair").wait_for(timeout=30_000)

    # Train & Models, "Your own data · your own model": a data set, then a model import
    page.get_by_role("tab", name="Your own data · your own model").click()
    digits = load_digits()
    buf = io.BytesIO()
    np.savez(buf, x=(digits.images * 16).clip(0, 255).astype(np.uint8), y=digits.target.astype(np.int64))
    _upload(page, "data set (.npz, .npy or .zip)", "digits8x8.npz", "application/octet-stream", buf.getvalue())
    page.get_by_text("Split (seed 0)").first.wait_for(timeout=60_000)
    sd = {"fc1.weight": torch.randn(400, 784) * 0.01, "fc1.bias": torch.zeros(400),
          "fc21.weight": torch.randn(20, 400) * 0.01, "fc21.bias": torch.zeros(20),
          "fc22.weight": torch.randn(20, 400) * 0.01, "fc22.bias": torch.zeros(20),
          "fc3.weight": torch.randn(400, 20) * 0.01, "fc3.bias": torch.zeros(400),
          "fc4.weight": torch.randn(784, 400) * 0.01, "fc4.bias": torch.zeros(784)}
    n_alerts = page.locator('[data-testid="stAlert"]').count()
    _upload(page, "weights (.safetensors)", "vae.safetensors", "application/octet-stream", save(sd))
    page.wait_for_function(f"document.querySelectorAll('[data-testid=\"stAlert\"]').length > {n_alerts}",
                           timeout=60_000)
    alerts = page.locator('[data-testid="stAlert"]').all_inner_texts()
    assert not [a for a in alerts if "could not" in a.lower() or "rejected" in a.lower()], alerts
    assert page.locator('[data-testid="stException"]').count() == 0

    # Drawing Board, "upload": a picture of a digit
    page.goto(app_url + "/drawing_board")
    wait_idle(page)
    page.get_by_text("upload an image", exact=True).click()
    wait_idle(page)
    img = Image.new("L", (120, 120), 255)
    img.paste(0, (50, 15, 70, 105))  # a dark "1" on light paper
    png = io.BytesIO()
    img.save(png, "PNG")
    _upload(page, "A PNG or JPEG picture of one digit", "one.png", "image/png", png.getvalue())
    page.get_by_text("model input: 28×28").first.wait_for(timeout=60_000)
    assert page.locator('[data-testid="stException"]').count() == 0
