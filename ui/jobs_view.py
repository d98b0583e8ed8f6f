"""The view of a background training job (vae_core.jobs), shared by the β/KL Lab and Train & Models: a
fragment that polls while the job runs, its progress line, the stop button, the end message and the
server's slot count."""

from __future__ import annotations

import time
from collections.abc import Callable

import streamlit as st

from ui.text import plain


def job_fragment(manager, state_key: str, body: Callable, poll_s: float = 1.0, rerun_at_end: bool = True) -> None:
    """Draw ``body(job)`` (job = the job whose id is in session_state[state_key], or None) in a fragment that
    redraws every ``poll_s`` seconds while the job is active and not at all otherwise. When the job ends
    during polling, one full rerun (``rerun_at_end``) stops the polling and redraws the rest of the page.

    Each poll also tells the manager the job's owner is alive: a fragment's run does not run the sidebar (whose
    ``keep_alive`` does that on full runs), and the session that pressed Start had no active job when its sidebar
    ran, so without this a tab watching its own training was taken for closed after ``owner_ttl_s`` and the job
    stopped itself (bench/load.py: "finished before the end of the round")."""
    def mine():  # only this browser's own job (its owner secret, ui.owner), whatever the session state says
        from ui.state import session_id

        job = manager.get(st.session_state.get(state_key))
        return job if job is not None and job.owner == session_id() else None

    started = mine()
    polling = started is not None and started.active

    @st.fragment(run_every=poll_s if polling else None)
    def live() -> None:
        job = mine()
        if job is not None and job.active and job.owner:
            manager.touch(job.owner)  # the browser polls: the tab is open
        if rerun_at_end and polling and job is not None and not job.active:
            st.rerun()
        body(job)

    live()


def wait_first_reports(job, timeout: float = 1.0) -> None:
    """Right after the start, give the training thread a moment (sleeping, so it gets the CPU) to emit its first
    reports (``python -m bench.lab_epoch`` measures that time), so that the first points are drawn in this run
    instead of the next poll."""
    deadline = time.monotonic() + timeout
    while job.active and time.monotonic() < deadline and not any(m.reports for m in job.members):
        time.sleep(0.03)


def progress_text(snap: dict) -> str:
    """'**title** — status · p% of E epoch(s) on <data> · step s …' for a job snapshot."""
    m0 = snap["members"][0]
    steps = [(m["reports"][-1].step if m["reports"] else 0) for m in snap["members"]]
    status = snap["status"]
    if status == "running" and snap["progress"] >= 1:
        status = "evaluating on the test split"
    each = " of each model" if len(steps) > 1 else ""
    return (f"**{snap['title']}** — {status} · {snap['progress']:.0%} of {m0['config'].epochs} epoch(s) on "
            f"{snap['data']} · step {min(steps)}{each}")


def progress_line(snap: dict) -> None:
    """The progress bar of a job and, for several models in lockstep, one caption per model."""
    st.progress(min(snap["progress"], 1.0), text=progress_text(snap))
    if len(snap["members"]) > 1:
        cols = st.columns(len(snap["members"]))
        for c, m in zip(cols, snap["members"], strict=True):
            r = m["reports"][-1] if m["reports"] else None
            c.caption(f"{m['label']}: " + (f"{r.progress:.0%} · KL {r.kl:.2f}" if r else "starting…"))


def stop_button(job, key: str) -> None:
    """A stop button while the job is queued or running; training stops after the current step."""
    if job.active and st.button("Stop training", key=key, icon=":material/stop:"):
        job.stop()
        st.toast("Stopping after the current step…")


def show_job_end(snap: dict) -> None:
    """The job's end: a failure with its reason, a divergence warning or the success message (none while it runs)."""
    if snap["status"] == "failed":
        st.error(plain(snap["message"]))
    elif snap["status"] == "diverged":
        st.warning(plain(snap["message"]))
    elif snap["status"] in ("done", "stopped"):
        st.success(f"Training {snap['status']}: {plain(snap['message'])}.")


def slots_caption(manager, extra: str = "") -> None:
    st.caption(f"Server: {len(manager.running())} of {manager.max_running} training slots in use." + extra)


# ------------------------------------------------- owners: find a session's jobs again, stop abandoned ones
HEARTBEAT_S = 20.0  # while a session owns an active job, its sidebar tells the manager it is alive this often


def owner_ttl_s() -> float:
    """How long a job's owner may go unseen before the job stops itself: Streamlit's
    ``server.disconnectedSessionTTL`` (the time a closed tab's session is kept) plus two heartbeats."""
    ttl = st.get_option("server.disconnectedSessionTTL")
    return float(ttl if ttl is not None else 120) + 2 * HEARTBEAT_S


@st.fragment(run_every=HEARTBEAT_S)
def _heartbeat(manager, owner: str) -> None:
    manager.touch(owner)


def keep_alive(manager, owner: str) -> None:
    """Called on every run (from the sidebar): the owner is alive; its jobs are put back into session_state
    under their ``kind`` (the page's state key) after a reload; while it owns an active job a small fragment
    keeps saying so every HEARTBEAT_S seconds (a closed tab stops saying it, and the job stops itself)."""
    manager.owner_ttl_s = owner_ttl_s()
    manager.touch(owner)
    for job in sorted(manager.for_owner(owner), key=lambda j: j.created):
        if job.kind and manager.get(st.session_state.get(job.kind)) is None:
            st.session_state[job.kind] = job.id
    if manager.active_for(owner) is not None:
        _heartbeat(manager, owner)
