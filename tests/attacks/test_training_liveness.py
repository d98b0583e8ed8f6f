"""A tab that watches its own training keeps it alive (issue #13: "a closed tab's training is stopped", not an open
one).  The job view polls in a fragment; a fragment's run does not run the sidebar's keep_alive, and on the run
that pressed Start the sidebar ran before the job existed, so the poll itself must say the owner is alive."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

SCRIPT = '''
import streamlit as st
from ui.jobs_view import job_fragment


class Job:
    id, owner, members = "job1", "owner-1", []

    def __init__(self, active):
        self.active = active


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
    at = AppTest.from_string(SCRIPT).run()
    assert not at.exception
    assert at.session_state["touched"] == ["owner-1"]  # the fragment's run touched the owner
    at.session_state["active"] = False  # a finished job: nothing to keep alive
    at.run()
    assert at.session_state["touched"] == ["owner-1"]
