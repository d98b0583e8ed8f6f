"""tests/vae_core mirrors vae_core/ (digits/, sequence/, sprites/, theory/, recommender/); the tiny models every
folder's tests build come from tests/vae_core/tiny_models.py."""

from __future__ import annotations

import sys
from pathlib import Path

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)
