"""Text from users and files shown as plain text.

Streamlit renders the body of ``st.error`` / ``st.success`` / ``st.caption`` / ``st.markdown`` … as Markdown, so
a model name, a file name, an uploaded file's metadata or an error message that quotes them could carry
``![](http://…)`` (an image every visitor's browser fetches) or a link.  :func:`plain` backslash-escapes every
Markdown / HTML punctuation character (CommonMark lets any ASCII punctuation be escaped), so the text is shown
literally.  Bare addresses (``http://…``, ``www.…``, ``a@b.c``), which the Markdown renderer turns into links even
when escaped, get an invisible word joiner (U+2060) after ``:``, ``www`` and ``@``, so they stay text as well.
Use it for anything that did not come from this code base."""

from __future__ import annotations

import re

_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:&\"'=^%@/])")
_WJ = "\u2060"  # word joiner: invisible, breaks the renderer's automatic links
_NO_LINK = re.compile(r"(?i)(:/|www\.|@.)")


def plain(text: object) -> str:
    """``text`` made inert for Markdown: shown exactly as written, never as an image, link, HTML or formatting."""
    s = str(text).replace("\r", " ").replace("\n", " ")
    s = _NO_LINK.sub(lambda m: m.group(0)[:-1] + _WJ + m.group(0)[-1], s)
    return _SPECIAL.sub(r"\\\1", s)
