"""Attack suite (#13) in a real browser: a checkpoint upload whose metadata carries a Markdown image
(``![](http://127.0.0.1:<port>/pwn.png)``) is refused with a message, the text is shown literally, and the
browser never fetches that address (no <img> for it, no request to it); a reload keeps the owner cookie, and
the URL carries no token."""

from __future__ import annotations

import json
import socket

import pytest
import torch

from tests.browser.conftest import wait_idle

pytestmark = pytest.mark.browser


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_markdown_in_an_uploaded_checkpoint_is_plain_text(app_url, browser_page):
    from vae_core.digits.checkpoint import checkpoint_bytes
    from vae_core.digits.model import VAE

    evil = f"http://127.0.0.1:{_dead_port()}/pwn.png"
    torch.manual_seed(0)
    w, j = checkpoint_bytes(VAE(latent_dim=2, hidden_dims=(16,)), {"name": "x"})
    meta = json.loads(j)
    meta["epochs"] = f"![]({evil}) [click]({evil})"
    page = browser_page
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(app_url + "/train_models")
    wait_idle(page)
    page.wait_for_function("document.cookie.includes('vae_owner=')", timeout=30_000)
    secret = [c["value"] for c in page.context.cookies() if c["name"] == "vae_owner"]
    assert len(secret) == 1 and len(secret[0]) == 64  # the owner secret that lets a reloaded tab find its training
    assert "sid=" not in page.url and secret[0] not in page.url  # kept in the browser, not in the link (#21)
    page.get_by_role("tab", name="Save · upload · download").click()
    inputs = page.locator('[data-testid="stFileUploaderDropzoneInput"]')
    inputs.nth(0).set_input_files({"name": "x.safetensors", "mimeType": "application/octet-stream", "buffer": w})
    wait_idle(page)
    inputs.nth(1).set_input_files({"name": "x.json", "mimeType": "application/json",
                                   "buffer": json.dumps(meta).encode()})
    page.get_by_text("This upload was rejected").wait_for(timeout=30_000)
    wait_idle(page)
    alert = page.locator('[data-testid="stAlert"]', has_text="This upload was rejected").inner_text()
    assert "'epochs' must be a whole number" in alert
    assert f"![]({evil})" in alert.replace("\u2060", "")  # shown literally (word joiners break auto-links)
    assert page.locator(f'img[src="{evil}"]').count() == 0
    assert page.locator(f'a[href="{evil}"]').count() == 0
    assert not [u for u in requests if u.startswith(evil.rsplit("/", 1)[0])], requests
    assert page.locator('[data-testid="stException"]').count() == 0
    # reload: the browser keeps the same secret, and the URL still carries none
    page.reload()
    wait_idle(page)
    assert [c["value"] for c in page.context.cookies() if c["name"] == "vae_owner"] == secret
    assert "sid=" not in page.url and secret[0] not in page.url
