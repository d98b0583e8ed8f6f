"""A tab that watches its own training keeps it alive (issue #13: "a closed tab's training is stopped", not an open
one).  The job view polls in a fragment; a fragment's run does not run the sidebar's keep_alive, and on the run
that pressed Start the sidebar ran before the job existed, so the poll itself must say the owner is alive."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

SCRIPT = '''
import streamlit as st
from ui.jobs_view import job_fragment
from ui.state import session_id


class Job:
    id, members = "job1", []

    def __init__(self, active):
        self.active = active
        # this browser's own job (ui.owner), or another's when the test says so (#21: never shown, never touched)
        self.owner = st.session_state.get("other_owner") or session_id()


class Manager:
    def get(self, job_id):
        return Job(st.session_state["active"]) if job_id == "job1" else None

    def touch(self, owner):
        st.session_state.setdefault("touched", []).append(owner)


st.session_state.setdefault("active", True)
st.session_state["train_job"] = "job1"
job_fragment(Manager(), "train_job", lambda job: st.write("job" if job else "none"), rerun_at_end=False)
'''


def test_the_polling_job_view_keeps_its_owner_alive():
    from ui.owner import SECRET_KEY, owner_hash

    at = AppTest.from_string(SCRIPT).run()
    assert not at.exception
    owner = owner_hash(at.session_state[SECRET_KEY])
    assert at.session_state["touched"] == [owner]  # the fragment's run touched the owner
    at.session_state["active"] = False  # a finished job: nothing to keep alive
    at.run()
    assert at.session_state["touched"] == [owner]


def test_the_job_view_shows_and_touches_only_this_browsers_job():
    at = AppTest.from_string(SCRIPT)
    at.session_state["other_owner"] = "f" * 64  # session_state naming another browser's job
    at.run()
    assert not at.exception
    assert "touched" not in at.session_state
    assert [m.value for m in at.markdown] == ["none"]
