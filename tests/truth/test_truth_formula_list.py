"""tests/truth/FORMULAS.md lists every formula a digit page shows with the test that checks it; this keeps the
list honest: every test it names must exist (file and function), and every page in it must exist."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LIST = Path(__file__).with_name("FORMULAS.md")


def test_every_named_test_exists():
    text = LIST.read_text(encoding="utf-8")
    refs = re.findall(r"(tests/[\w/]+\.py)(?:::(\w+))?", text)
    assert len(refs) > 30
    for path, func in refs:
        f = ROOT / path
        assert f.is_file(), path
        if func:
            assert re.search(rf"^def {func}\(", f.read_text(encoding="utf-8"), re.M), f"{path}::{func}"


def test_every_section_is_a_page():
    from ui.nav import PAGES

    titles = {p.title.split(" (")[0] for p in PAGES}
    for sec in re.findall(r"^## (.+)$", LIST.read_text(encoding="utf-8"), re.M):
        name = sec.split(" (")[0]
        assert name == "Other digit pages" or name in titles, sec
