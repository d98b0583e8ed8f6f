"""#21 in a real browser: the owner secret lives in a cookie the page writes, never in a link.  Browser A trains;
its URL and every link on the page (the section anchors included) carry nothing of the secret; a reload of A finds
the training again with its Stop button; browser B opening A's exact URL (or an old-style ``?sid=`` link with A's
secret in it) sees none of it and cannot stop it."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import wait_idle

pytestmark = pytest.mark.browser


def _secret(ctx) -> str:
    got = [c["value"] for c in ctx.cookies() if c["name"] == "vae_owner"]
    assert len(got) == 1 and re.fullmatch(r"[0-9a-f]{64}", got[0]), ctx.cookies()
    return got[0]


def _links(page) -> list[str]:
    return page.evaluate("Array.from(document.querySelectorAll('a[href]')).map(a => a.href)")


def test_a_leaked_link_hands_over_nothing_and_a_reload_finds_the_training(app_url, _browser):
    ca = _browser.new_context(viewport={"width": 1280, "height": 800})
    cb = _browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        pa = ca.new_page()
        pa.goto(app_url + "/train_models")
        wait_idle(pa)
        pa.wait_for_function("document.cookie.includes('vae_owner=')", timeout=30_000)
        secret = _secret(ca)
        cookie = next(c for c in ca.cookies() if c["name"] == "vae_owner")
        assert cookie["sameSite"] == "Strict" and cookie["path"] == "/"
        epochs = pa.get_by_label("epochs", exact=True)
        epochs.fill("100")
        epochs.press("Tab")
        pa.get_by_role("textbox", name="name for the model").fill("victim-model")
        pa.get_by_role("button", name="Start training").click()
        pa.get_by_text("— running").first.wait_for(timeout=120_000)
        links = _links(pa)
        assert any("#" in u for u in links), links  # the section anchors are there ...
        assert secret not in pa.url and "sid=" not in pa.url
        assert not [u for u in links if secret in u or "sid=" in u], links  # ... and carry nothing of the secret
        assert secret not in pa.content()

        # A reloads: the browser sends its cookie, the training is found again with its Stop button
        pa.reload()
        wait_idle(pa)
        pa.get_by_text("— running").first.wait_for(timeout=60_000)
        pa.get_by_role("button", name="Stop training").wait_for(timeout=30_000)
        assert _secret(ca) == secret

        # B gets A's link, and even an old-style link with A's secret in it: nothing of A's training
        pb = cb.new_page()
        for url in (pa.url, f"{app_url}/train_models?sid={secret}"):
            pb.goto(url)
            wait_idle(pb)
            pb.get_by_text("No training started in this session yet").wait_for(timeout=30_000)
            assert pb.get_by_text("victim-model").count() == 0
            assert pb.get_by_role("button", name="Stop training").count() == 0
            assert pb.get_by_role("button", name="Use this model now").count() == 0
            assert "sid=" not in pb.url
        pb.wait_for_function("document.cookie.includes('vae_owner=')", timeout=30_000)
        assert _secret(cb) != secret

        # A is still training and stops it
        pa.get_by_role("button", name="Stop training").click()
        pa.get_by_text("stopped by request").first.wait_for(timeout=60_000)
    finally:
        ca.close()
        cb.close()
