"""Every page in the navigation renders without an exception with each shipped model (AppTest)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
PAGES = sorted({p for p in re.findall(r'"(app_pages/\w+\.py)"', (ROOT / "app.py").read_text())
                if (ROOT / p).is_file()})
MODELS = ["mnist-z2", "mnist-z20", "mnist-cvae-z2", "mnist-z2-beta16"]


def test_navigation_lists_pages():
    assert "app_pages/home.py" in PAGES
    assert len(PAGES) >= 10


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("page", PAGES)
def test_page_renders(page: str, model: str):
    assert (ROOT / "checkpoints" / f"{model}.safetensors").is_file(), f"shipped model {model} missing"
    at = AppTest.from_file(APP, default_timeout=180)
    at.session_state["model_key"] = f"shipped/{model}"
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    at.switch_page(page).run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.session_state["_active"].name == model
    # the page put real content on screen (not just the sidebar)
    assert len(at.main.children) > 0
    assert not at.error, [e.value for e in at.error]


@pytest.mark.parametrize("model", sorted(p.stem for p in (ROOT / "checkpoints").glob("*.safetensors")))
def test_every_shipped_model_loads_in_the_sidebar(model: str):
    """Each shipped checkpoint is offered by the picker and loads (names may contain dots: mnist-z2-beta0.5)."""
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["model_key"] = f"shipped/{model}"
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert not at.sidebar.error, [e.value for e in at.sidebar.error]
    assert at.session_state["_active"].name == model
    assert at.session_state["_active"].meta["name"] == model
