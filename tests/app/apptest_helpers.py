"""The AppTest helpers every page test uses (imported by name: pytest puts this folder on sys.path)."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import Image

from ui.state import SHIPPED_DIR

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
SHIPPED = SHIPPED_DIR


def shipped(name: str) -> bool:
    return (SHIPPED / f"{name}.safetensors").exists()


def ok(at: AppTest) -> None:
    assert not at.exception, [e.message for e in at.exception]


def image_captions(at: AppTest) -> list[str]:
    """The caption of every st.image in the page's main area, in page order."""
    return [img.caption for e in at.main if isinstance(e, Image) for img in e.proto.imgs]


def new_app(name: str, timeout: float = 180, **state) -> AppTest:
    """The app (not yet run) with shipped model ``name`` picked and ``state`` in session_state."""
    assert shipped(name), f"shipped checkpoint {name} missing"
    at = AppTest.from_file(APP, default_timeout=timeout)
    at.session_state["model_key"] = f"shipped/{name}"
    for k, v in state.items():
        at.session_state[k] = v
    return at


def open_page(page: str, name: str, **state) -> AppTest:
    """Run the app with shipped model ``name`` and ``state`` in session_state, then switch to ``page``."""
    at = new_app(name, timeout=120, **state)
    at.run()  # the home page first: app.py must register the navigation before a page can be switched to
    ok(at)
    at.switch_page(page).run()
    ok(at)
    return at
