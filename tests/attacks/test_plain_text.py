"""ui.text.plain: text from users and files made inert for Streamlit's Markdown (the browser test
tests/browser/test_attack_upload.py checks the rendering itself)."""

from __future__ import annotations

import re

import pytest

from ui.text import plain

PAYLOADS = ["![](http://127.0.0.1:9/x.png)", "[click](javascript:alert(1))", "<img src=x onerror=alert(1)>",
            "**bold** _it_ `code` ~~s~~", ":red[colour] :material/home:", "$x^2$", "# heading", "> quote",
            "see http://evil.example/a and www.evil.example and me@evil.example", "a\nb\r\nc", "| a | b |"]


@pytest.mark.parametrize("text", PAYLOADS)
def test_every_markdown_character_is_escaped_and_no_address_can_be_auto_linked(text):
    out = plain(text)
    # every punctuation character Markdown or HTML acts on is preceded by a backslash
    assert not re.search(r"(?<!\\)[\[\]()!<>*_`~$#|:]", out.replace("\\\\", "")), out
    assert "\n" not in out and "\r" not in out
    assert not re.search(r"(?i)https?\\:/|www\\\.|@[^\u2060]", out)  # word joiner after ':', 'www' and '@'
    # what a reader sees: the same characters (backslashes consumed by Markdown, word joiners invisible)
    shown = re.sub(r"\\(.)", r"\1", out).replace("\u2060", "")
    assert shown == text.replace("\r", " ").replace("\n", " ")
