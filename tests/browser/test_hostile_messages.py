"""#21 in a real browser, over the page's own websocket: component messages a hostile page could send.

The test wraps the page's WebSocket.send, moves a live decoder slider once to capture the real BackMsg that
carries the component's value, and sends copies of it with that value replaced:

* malformed JSON (``{{{{ not json``) and 100,000 nested ``[`` raise inside Streamlit before any app code; the page
  must show no traceback, no exception type and no server path (``client.showErrorDetails = "none"``), while the
  server log keeps the error;
* well-formed but hostile values (bools for numbers, a 4-million-element array, a 40 MB string) are ignored by the
  app's strict checks (ui/component_values.py): no exception box; the server's RSS is measured before and after
  (printed; run with -s) and must come back once the session's value is replaced by a normal one.
"""

from __future__ import annotations

import base64
import json
import os
import time
from pathlib import Path

import psutil
import pytest

from tests.browser.conftest import CHROMIUM, start_server, stop_server, wait_idle

pytestmark = pytest.mark.browser

HOOK = """
(() => {
  const send = WebSocket.prototype.send;
  window.__sent = [];
  WebSocket.prototype.send = function (d) {
    window.__ws = this;
    try {
      const u = d instanceof ArrayBuffer ? new Uint8Array(d)
        : (ArrayBuffer.isView(d) ? new Uint8Array(d.buffer, d.byteOffset, d.byteLength) : null);
      if (u) {
        let s = "";
        for (let i = 0; i < u.length; i++) s += String.fromCharCode(u[i]);
        window.__sent.push(btoa(s));
      }
    } catch (e) {}
    return send.call(this, d);
  };
  window.__send = (b64) => { const s = atob(b64); const u = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) u[i] = s.charCodeAt(i); window.__ws.send(u); };
})();
"""
SLIDER = '[data-testid="live-decoder"] input[data-role="slider"][data-dim="0"]'
LEAKS = ("Traceback", "JSONDecodeError", "RecursionError", "TypeError", 'File "', ".py", "site-packages", "/lib/python")


@pytest.fixture(scope="module")
def server():
    if not Path(CHROMIUM).exists():
        (pytest.fail if os.environ.get("CI") else pytest.skip)(f"{CHROMIUM} is missing (apt-get install chromium)")
    proc, url = start_server()
    yield proc, url, Path(f"/tmp/vae-explorer-streamlit-{url.rsplit(':', 1)[1]}.log")
    stop_server(proc)


def _rss_mb(pid: int) -> float:
    return psutil.Process(pid).memory_info().rss / 2**20


def _capture(page) -> tuple[object, str]:
    """Move the live decoder's first slider; return the BackMsg that carried its value and the widget's id."""
    from streamlit.proto.BackMsg_pb2 import BackMsg

    page.evaluate("window.__sent = []")
    page.evaluate("""(sel) => { const i = document.querySelector(sel); i.value = "1.25";
        i.dispatchEvent(new Event('input', {bubbles: true}));
        i.dispatchEvent(new Event('change', {bubbles: true})); }""", SLIDER)
    deadline = time.time() + 30
    while time.time() < deadline:
        for b64 in page.evaluate("window.__sent"):
            msg = BackMsg()
            msg.ParseFromString(base64.b64decode(b64))
            if msg.WhichOneof("type") != "rerun_script":
                continue
            for w in msg.rerun_script.widget_states.widgets:
                if w.WhichOneof("value") == "json_value" and '"z"' in w.json_value:
                    return msg, w.id
        time.sleep(0.2)
    raise AssertionError("no BackMsg with the decoder's value was sent")


def _send(page, msg, wid: str, json_text: str) -> None:
    from streamlit.proto.BackMsg_pb2 import BackMsg

    out = BackMsg()
    out.CopyFrom(msg)
    for w in out.rerun_script.widget_states.widgets:
        if w.id == wid:
            w.json_value = json_text
    page.evaluate("(b) => window.__send(b)", base64.b64encode(out.SerializeToString()).decode())
    time.sleep(1.0)
    wait_idle(page, 120)


def _page_text(page) -> str:
    return page.locator("body").inner_text()


def test_malformed_and_hostile_component_messages(server, _browser):
    proc, url, log = server
    ctx = _browser.new_context(viewport={"width": 1280, "height": 800})
    ctx.add_init_script(HOOK)
    page = ctx.new_page()
    try:
        # 1. malformed messages: Streamlit raises before the app runs; the visitor sees no detail, the log does
        for bad, error in (("{{{{ not json", "JSONDecodeError"), ("[" * 100_000, "RecursionError")):
            page.goto(url + "/decoder_sliders")  # a fresh session each time: the app works again after the error
            wait_idle(page)
            page.wait_for_selector(SLIDER, timeout=60_000)
            msg, wid = _capture(page)
            wait_idle(page)
            assert page.locator('[data-testid="stException"]').count() == 0
            _send(page, msg, wid, bad)
            text = _page_text(page)
            assert not [w for w in LEAKS if w in text], (bad[:20], [w for w in LEAKS if w in text], text[-2000:])
            assert error in log.read_text(errors="replace"), f"the server log lost the {error}"
        page.goto(url + "/decoder_sliders")
        wait_idle(page)
        page.wait_for_selector(SLIDER, timeout=60_000)
        msg, wid = _capture(page)
        wait_idle(page)

        # 2. well-formed hostile values: ignored by the app's checks, memory measured
        rss = {"before": _rss_mb(proc.pid)}
        hostile = {
            "bools": json.dumps({"z": [True, True], "y": True}),
            "4M-array": json.dumps({"z": [0] * 4_000_000}),
            "40MB-string": json.dumps({"z": "x" * (40 * 2**20)}),
            "nested": json.dumps({"z": [[[[1.0]]]] * 2, "y": {"a": [1]}}),
        }
        for rnd in (1, 2):  # the same attacks twice: what stays after round 1 must not grow in round 2
            for name, value in hostile.items():
                _send(page, msg, wid, value)
                assert page.locator('[data-testid="stException"]').count() == 0, name
                assert not [w for w in LEAKS if w in _page_text(page)], name
                rss[f"{name} #{rnd}"] = _rss_mb(proc.pid)
            _send(page, msg, wid, json.dumps({"z": [0.5, -0.5], "y": None}))  # a normal value replaces the last one
            time.sleep(2)
            rss[f"normal value #{rnd}"] = _rss_mb(proc.pid)
        print("\nserver RSS (MB):", {k: round(v) for k, v in rss.items()})
        assert page.locator('[data-testid="stException"]').count() == 0
        assert rss["normal value #2"] - rss["normal value #1"] < 40, rss  # no accumulation per attack round
        assert rss["normal value #2"] - rss["before"] < 150, rss  # the 40 MB string held twice would be above
    finally:
        ctx.close()
