"""The one page list (ui.nav.PAGES) against the files in app_pages/, and every listed page rendering without an
exception with each kind of shipped model (AppTest)."""

from __future__ import annotations

import pytest
from apptest_helpers import ROOT, SHIPPED, new_app, ok

from ui.nav import HOME, PAGES
from ui.state import model_facts

PAGE_PATHS = [p.path for p in PAGES]
MODELS = ["mnist-z2", "mnist-z20", "mnist-cvae-z2", "mnist-z2-beta16"]  # 2-D, 20-D, conditional, near-collapsed


def test_every_page_file_is_listed_once_and_exists():
    files = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "app_pages").glob("*.py") if p.name != "__init__.py")
    assert sorted(PAGE_PATHS) == files  # a page file missing from the list, or a listed page without its file
    assert len(set(PAGE_PATHS)) == len(PAGE_PATHS)
    assert len({p.title for p in PAGES}) == len(PAGES)
    assert PAGES[0].path == HOME


def test_home_links_every_other_page():
    at = new_app("mnist-z2")
    at.run()
    ok(at)
    links = [el.proto.page for el in at.main.get("page_link")]
    assert links == [p.stem for p in PAGES if p.path != HOME]


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("page", PAGE_PATHS)
def test_page_renders(page: str, model: str):
    at = new_app(model)
    at.run()
    ok(at)
    at.switch_page(page).run()
    ok(at)
    assert at.session_state["_active"].name == model
    assert len(at.main.children) > 0  # the page put content on screen, not just the sidebar
    assert not at.error, [e.value for e in at.error]


@pytest.mark.parametrize("model", sorted(p.stem for p in SHIPPED.glob("*.safetensors")))
def test_every_shipped_digit_model_loads_in_the_sidebar(model: str):
    """Each shipped digit checkpoint is offered by the picker and loads (names may contain dots:
    mnist-z2-beta0.5); checkpoints of other families (classifier, text, sprites) are not offered."""
    digit = model_facts(f"shipped/{model}") is not None
    at = new_app(model)
    at.run()
    ok(at)
    assert not at.sidebar.error, [e.value for e in at.sidebar.error]
    assert (f"{model} (shipped)" in at.sidebar.selectbox[0].options) == digit
    if digit:
        assert at.session_state["_active"].name == model
        assert at.session_state["_active"].meta["name"] == model
    else:
        assert at.session_state["_active"].name != model
