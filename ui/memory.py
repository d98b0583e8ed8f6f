"""Give freed memory back to the operating system.

Each Streamlit session runs its script in its own thread, so glibc's allocator spreads the server's heap over
several arenas and keeps what a closed session freed (plus the torch buffers of its runs) as free space inside
them: the process's RSS then stays at its peak long after the sessions are gone (bench/load.py measured it).
``malloc_trim(0)`` returns the free pages of every arena.  A daemon thread calls it every ``INTERVAL_S`` seconds;
ctypes releases the GIL during the call, so no script run waits for it.  Only on glibc (elsewhere a no-op)."""

from __future__ import annotations

import ctypes
import ctypes.util
import threading
import time

INTERVAL_S = 30.0
_started = False
_lock = threading.Lock()


def _libc_trim():
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        fn = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return None
    fn.argtypes, fn.restype = [ctypes.c_size_t], ctypes.c_int
    return fn


def trim() -> bool:
    """One malloc_trim(0) now; False where the C library has none."""
    fn = _libc_trim()
    return bool(fn is not None and fn(0) is not None)


def start_janitor(interval_s: float = INTERVAL_S) -> bool:
    """Start the trimming thread once per process; returns whether it runs (False without glibc)."""
    global _started
    with _lock:
        if _started:
            return True
        fn = _libc_trim()
        if fn is None:
            return False

        def loop() -> None:
            while True:
                time.sleep(interval_s)
                fn(0)

        threading.Thread(target=loop, name="malloc-trim", daemon=True).start()
        _started = True
        return True
