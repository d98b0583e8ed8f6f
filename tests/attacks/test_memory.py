"""ui.memory: freed memory goes back to the OS (the RSS of a server whose sessions closed falls back)."""

from __future__ import annotations

import ctypes.util
import threading

import pytest

from ui import memory


@pytest.mark.skipif(not ctypes.util.find_library("c"), reason="needs a C library with malloc_trim (glibc)")
def test_janitor_starts_once_and_trims():
    assert memory.trim() is True
    assert memory.start_janitor(interval_s=3600) is True
    assert memory.start_janitor(interval_s=3600) is True
    assert sum(t.name == "malloc-trim" for t in threading.enumerate()) == 1
