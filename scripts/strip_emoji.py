"""Remove pictographic emoji (U+1F000-U+1FAFF, plus U+FE0F) from UI source strings.

Headless Chromium on Debian has no colour-emoji font, so they render as empty boxes;
the app uses Streamlit's bundled Material icons instead.  Usage: python scripts/strip_emoji.py FILES...
"""

import re
import sys

EMOJI = re.compile("[\U0001F000-\U0001FAFF\u2600-\u26FF\u2700-\u27BF][\uFE0F]? ?|\uFE0F")
KEEP = set("✕✓✗★☆")  # text symbols that every font has

for path in sys.argv[1:]:
    src = open(path, encoding="utf-8").read()
    out = EMOJI.sub(lambda m: m.group(0) if m.group(0)[0] in KEEP else "", src)
    if out != src:
        open(path, "w", encoding="utf-8").write(out)
        print("cleaned", path)
