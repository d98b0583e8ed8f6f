"""Give the memory of closed sessions back: to Python, then to the operating system.

What kept a closed session's memory (measured with bench/load.py and a dump of the server's heap after each round):

1. **Streamlit keeps expired sessions.**  A closed tab's session waits ``server.disconnectedSessionTTL`` seconds in
   Streamlit's session storage for a reconnect; that storage (a TTL cache) drops an expired entry only on its next
   write, i.e. when another tab closes.  Until then the session, its ``session_state``, its fragments (with their
   page's namespace: a Train & Models run holds its 10,000-digit training subset, 30 MB) stay referenced.
   :func:`reap_expired_sessions` drops them once they have expired.
2. **The sessions are reference cycles** (session ↔ script runner ↔ fragments ↔ page namespaces), freed only by a
   full collection.  Streamlit's post-run ``gc.collect()`` is off in this app (``.streamlit/config.toml``: it held
   the GIL 200–400 ms after every slider move) and the automatic collector rarely runs a full collection with
   ~500,000 long-lived objects (torch, plotly) in the process, so one ``gc.collect()`` runs here after sessions
   were dropped (not after every run).
3. **glibc keeps freed memory.**  Each script run and training runs in its own thread; glibc gives busy threads
   their own arenas (up to 8 per core) and keeps what they free as free space inside them, and its dynamic mmap
   threshold (raised to the size of each mapped block freed, up to 32 MB) puts later large blocks such as torch
   tensors into those arenas too.  Measured with the reaping and collection below in place: +116 and +86 MB a
   round without this tuning, +49 and +7 MB with it (3 sessions, bench/load.py).  :func:`tune_malloc`
   caps the arenas at ``ARENA_MAX`` and fixes the mmap threshold (blocks of ``MMAP_THRESHOLD`` bytes or more are
   mapped and unmapped on their own), and ``malloc_trim(0)`` returns the free pages of every arena.

A daemon thread (:func:`start_janitor`, started from the sidebar) does 1–3 every ``INTERVAL_S`` seconds: it reaps
expired sessions, drops the models of finished trainings whose session is gone (``vae_core.jobs``), collects once
when something was dropped, and trims.  ctypes releases the GIL during ``malloc_trim``.  Everything that touches the
C library is a no-op where it is not glibc; the session storage is a Streamlit internal, read defensively (a
Streamlit without it makes :func:`reap_expired_sessions` return 0 and nothing else changes).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import threading
import time

INTERVAL_S = 5.0  # how often the janitor looks for expired sessions (a dict scan; cheap)
TRIM_EVERY_S = 30.0  # malloc_trim at least this often even when no session went away
ARENA_MAX = 2  # glibc arenas (M_ARENA_MAX); its default is 8 per core
MMAP_THRESHOLD = 1 << 20  # bytes (M_MMAP_THRESHOLD); setting it also switches glibc's dynamic threshold off

_M_MMAP_THRESHOLD, _M_ARENA_MAX = -3, -8  # mallopt parameters, glibc's malloc.h
_started = False
_lock = threading.Lock()
# held by the janitor thread for each pass; a caller holding it keeps the thread off (tests that install a
# fake Streamlit runtime hold it, so the thread cannot reap their sessions first)
janitor_lock = threading.Lock()
_libc = None


def _glibc():
    """glibc through ctypes (with malloc_trim and mallopt), or None elsewhere."""
    global _libc
    if _libc is None:
        name = ctypes.util.find_library("c")
        try:
            lib = ctypes.CDLL(name) if name else None
            lib.malloc_trim.argtypes, lib.malloc_trim.restype = [ctypes.c_size_t], ctypes.c_int
            lib.mallopt.argtypes, lib.mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
        except (OSError, AttributeError):
            lib = False
        _libc = lib
    return _libc or None


def trim() -> bool:
    """One malloc_trim(0) now; False where the C library has none."""
    lib = _glibc()
    if lib is None:
        return False
    lib.malloc_trim(0)
    return True


def tune_malloc(arena_max: int = ARENA_MAX, mmap_threshold: int = MMAP_THRESHOLD) -> bool:
    """Cap glibc's arenas and fix its mmap threshold for the rest of the process (arenas that exist already stay;
    the cap holds for new ones).  True when both settings were accepted."""
    lib = _glibc()
    if lib is None:
        return False
    return bool(lib.mallopt(_M_ARENA_MAX, arena_max)) & bool(lib.mallopt(_M_MMAP_THRESHOLD, mmap_threshold))


def _session_storage():
    """Streamlit's storage of disconnected sessions and the lock its session manager writes it under (internals:
    None, None when this Streamlit has no such objects or no runtime runs)."""
    try:
        from streamlit import runtime

        if not runtime.exists():
            return None, None
        mgr = runtime.get_instance()._session_mgr
        return mgr._session_storage, getattr(mgr, "_storage_lock", None)
    except Exception:  # noqa: BLE001 - an internal that moved: nothing to reap
        return None, None


def reap_expired_sessions() -> int:
    """Drop the sessions whose reconnect time (``server.disconnectedSessionTTL``) has passed; Streamlit's storage
    would keep them until the next tab closes.  Returns how many were dropped."""
    storage, lock = _session_storage()
    expire = getattr(getattr(storage, "_cache", None), "expire", None)
    if expire is None:
        return 0
    if lock is None:
        removed = expire()
    else:
        with lock:  # the session manager writes the storage under this lock (from its event loop)
            removed = expire()
    n = len(removed)
    del removed  # outside the lock: a session whose last reference goes shuts itself down (AppSession.__del__)
    return n


def _release_finished_trainings() -> int:
    from vae_core.jobs import get_manager

    return len(get_manager().release_abandoned())


def sweep(trim_anyway: bool = True) -> dict:
    """One janitor pass: reap expired sessions and release the models of trainings whose session is gone; when
    something was dropped, one full ``gc.collect()`` (the sessions are reference cycles) and ``malloc_trim``;
    otherwise a trim only when ``trim_anyway``.  Returns what it did."""
    reaped = reap_expired_sessions()
    released = _release_finished_trainings()
    dropped = bool(reaped or released)
    collected = gc.collect() if dropped else None
    trimmed = trim() if dropped or trim_anyway else False
    return {"sessions": reaped, "trainings": released, "collected": collected, "trimmed": trimmed}


def start_janitor(interval_s: float = INTERVAL_S) -> bool:
    """Tune malloc and start the janitor thread once per process; returns whether it runs (False without glibc)."""
    global _started
    with _lock:
        if _started:
            return True
        if _glibc() is None:
            return False
        tune_malloc()

        def loop() -> None:
            last_trim = time.monotonic()
            while True:
                time.sleep(interval_s)
                try:
                    with janitor_lock:
                        done = sweep(trim_anyway=time.monotonic() - last_trim >= TRIM_EVERY_S)
                except Exception:  # noqa: BLE001, S112 - the janitor must outlive any one failed pass
                    continue
                if done["trimmed"]:
                    last_trim = time.monotonic()

        threading.Thread(target=loop, name="malloc-trim", daemon=True).start()
        _started = True
        return True
