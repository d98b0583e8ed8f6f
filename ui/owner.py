"""Who owns a session's work: a secret kept in the browser, never in a link (#21).

A browser's **owner secret** (64 hex digits, 256 random bits) lives in a cookie (``vae_owner``, SameSite=Strict,
Path=/) that the page itself writes (a tiny components-v2 script: the secret reaches the page over the websocket,
never in a URL) and that the browser sends back with the websocket handshake of every later tab or reload, where
``st.context.cookies`` reads it. The URL carries nothing of it, so a copied, bookmarked or shared link (the page's
own section anchors included) hands over nothing.

What the secret authorises, always through its SHA-256 (``owner_hash``), never the secret itself:

* the background jobs of this browser (``vae_core.jobs`` owner strings): a reloaded tab finds its training again,
  and only the owner sees it, stops it, uses its weights or saves them;
* deleting a model this browser saved on the server: the save records the hash in a side file
  (``user_models/.<name>.owner``: the owner's hash and a stamp of that one save), the delete checks both.

A browser without cookies still works; only a reload then starts a new owner.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import secrets
from pathlib import Path

import streamlit as st

from vae_core.pair_io import atomic_write_bytes

COOKIE = "vae_owner"
COOKIE_MAX_AGE_S = 365 * 24 * 3600
SECRET_KEY = "_owner_secret"  # session_state: this session's secret (server side only)
_SECRET_RE = re.compile(r"^[0-9a-f]{64}$")

_WRITER_JS = """
export default function (component) {
  const { data, setTriggerValue } = component;
  if (!data || typeof data.secret !== "string" || !/^[0-9a-f]{64}$/.test(data.secret)) return;
  const name = data.name;
  const m = document.cookie.match(new RegExp("(?:^|; )" + name + "=([0-9a-f]{64})(?:;|$)"));
  if (m && m[1] !== data.secret) { setTriggerValue("found", m[1]); return; }  // another tab set it first
  if (!m) {
    document.cookie = name + "=" + data.secret + "; Path=/; Max-Age=" + data.max_age + "; SameSite=Strict" +
      (location.protocol === "https:" ? "; Secure" : "");
  }
}
"""

_WRITER = st.components.v2.component("vae_owner_cookie", html="<span></span>", js=_WRITER_JS)


def valid_secret(value) -> bool:
    return isinstance(value, str) and _SECRET_RE.fullmatch(value) is not None


def owner_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def browser_secret() -> str | None:
    """The secret the browser sent with this session's connection (its cookie), or None."""
    try:
        value = st.context.cookies.get(COOKIE)
    except Exception:  # noqa: BLE001 - no browser context (bare mode): no cookie
        return None
    return value if valid_secret(value) else None


def owner_secret() -> str:
    """This session's owner secret: the browser's cookie, else a new random one (the page then stores it)."""
    secret = st.session_state.get(SECRET_KEY)
    if not valid_secret(secret):
        secret = browser_secret() or secrets.token_hex(32)
        st.session_state[SECRET_KEY] = secret
    return secret


def session_owner() -> str:
    """The owner string of this session's jobs: the SHA-256 of the browser's secret (64 hex digits)."""
    return owner_hash(owner_secret())


def _adopt() -> None:
    """The page found the cookie of another tab of this browser (set after this session started): use it, unless
    this session already owns a job under its own secret."""
    from vae_core.jobs import get_manager

    found = (st.session_state.get("_vae_owner_cookie") or {}).get("found")
    if not valid_secret(found) or found == st.session_state.get(SECRET_KEY):
        return
    if not get_manager().for_owner(session_owner()):
        st.session_state[SECRET_KEY] = found


def store_in_browser() -> None:
    """Called once per run (the sidebar): until the browser has sent this session's secret back as its cookie,
    a hidden component writes it (a later tab or reload then sends it). Also drops an old ``?sid=`` from the URL."""
    if "sid" in st.query_params:
        del st.query_params["sid"]
    secret = owner_secret()
    if browser_secret() == secret:
        return
    with st.sidebar:
        _WRITER(key="_vae_owner_cookie", data={"name": COOKIE, "secret": secret, "max_age": COOKIE_MAX_AGE_S},
                height=0, on_found_change=_adopt)


# ------------------------------------------------------------------ saved models: who may delete them
def _owner_file(folder: Path, name: str) -> Path:
    return folder / f".{name}.owner"


def _pair_stamp(folder: Path, name: str) -> str | None:
    """What identifies one save of ``name``: the SHA-256 of its JSON (which holds the weights' SHA-256) and the
    JSON's modification time in ns, so a later save of the same name, even of the same weights, differs."""
    try:
        path = folder / f"{name}.json"
        body, mtime = path.read_bytes(), path.stat().st_mtime_ns
    except OSError:
        return None
    return f"{hashlib.sha256(body).hexdigest()}:{mtime}"


def record_saved(folder: Path, name: str) -> None:
    """After a successful save: who saved ``name`` (the owner's hash) and which save (``_pair_stamp``), written
    atomically. A failure here leaves the model saved but deletable by nobody from the app (the operator can)."""
    stamp = _pair_stamp(folder, name)
    if stamp is None:
        return
    body = json.dumps({"owner_sha256": session_owner(), "saved": stamp}).encode()
    with contextlib.suppress(OSError):
        atomic_write_bytes(_owner_file(folder, name), body)


def owns_saved(folder: Path, name: str) -> bool:
    """This session's browser saved ``name`` (and the files are still the ones it saved)."""
    try:
        rec = json.loads(_owner_file(folder, name).read_bytes())
    except (OSError, ValueError):
        return False
    if not isinstance(rec, dict):
        return False
    stamp = _pair_stamp(folder, name)
    return (stamp is not None and rec.get("saved") == stamp
            and secrets.compare_digest(str(rec.get("owner_sha256", "")), session_owner()))


def delete_saved(folder: Path, name: str) -> bool:
    """Delete a model this browser saved: the JSON first (the model leaves every list at once), then its weights
    and the owner record, under the folder's write lock. False when it is not this browser's or is gone."""
    from vae_core.pair_io import _folder_lock

    with _folder_lock(folder):
        if not owns_saved(folder, name):
            return False
        (folder / f"{name}.json").unlink()
        for p in (folder / f"{name}.safetensors", _owner_file(folder, name)):
            with contextlib.suppress(FileNotFoundError):
                p.unlink()
    return True
