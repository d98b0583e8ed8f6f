"""Shared AppTest helpers for the page tests (imported by name: pytest puts this folder on sys.path)."""

from __future__ import annotations

import os
from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
SHIPPED = Path(os.environ.get("VAE_CHECKPOINT_DIR", ROOT / "checkpoints"))  # as ui.SHIPPED_DIR


def shipped(name: str) -> bool:
    return (SHIPPED / f"{name}.safetensors").exists()


def ok(at: AppTest) -> None:
    assert not at.exception, [e.message for e in at.exception]


def open_page(page: str, name: str, **state) -> AppTest:
    """Run the app with shipped model ``name`` and ``state`` in session_state, then switch to ``page``."""
    assert shipped(name), f"shipped checkpoint {name} missing"
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["model_key"] = f"shipped/{name}"
    for k, v in state.items():
        at.session_state[k] = v
    at.run()  # the home page first: app.py must register the navigation before a page can be switched to
    ok(at)
    at.switch_page(page).run()
    ok(at)
    return at
