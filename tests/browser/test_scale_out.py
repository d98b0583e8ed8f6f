"""Scale-out (issue #20): two ``streamlit run app.py`` servers on one Dask cluster (VAE_CLUSTER pointing at a
scheduler this test starts) see the same jobs.  A training started from server A is found from server B by the
same owner secret (the browsers' cookie), shown with its Stop button there, and stopped from B; A sees it stopped."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.browser.conftest import ROOT, launch_chromium, start_server, stop_server, wait_idle

_CLUSTER = """
import sys, time
from vae_core import jobs
from distributed import LocalCluster
jobs._dask_config()  # allowed-failures 0: a job whose worker died is reported, not restarted
jobs._spawn_without_main()
c = LocalCluster(n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=":0",
                 preload=["vae_core.jobs"])
print(c.scheduler_address, flush=True)
sys.stdin.read()  # until the test closes our stdin
c.close()
"""


@pytest.fixture(scope="module")
def cluster():
    """An existing cluster, as a class would run one: a scheduler and a worker in a process of their own (not in
    the test's process, whose main thread must stay free of event loops for Playwright's sync API)."""
    proc = subprocess.Popen([sys.executable, "-c", _CLUSTER], cwd=ROOT, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        addr = proc.stdout.readline().strip()
        assert addr.startswith("tcp://"), f"the cluster did not start ({addr!r})"
        yield addr
    finally:
        with contextlib.suppress(OSError):
            proc.stdin.close()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def test_a_job_started_on_server_a_is_found_and_stopped_from_server_b(cluster, tmp_path):
    from playwright.sync_api import sync_playwright

    env = {"VAE_CLUSTER": cluster, "VAE_USER_MODELS": str(tmp_path), "VAE_JOBS_NAMESPACE": "scale-out-test"}
    a, url_a = start_server(env=env)
    try:
        b, url_b = start_server(env=env)
        try:
            token = "5ca1e0a1" * 8  # the owner secret both browsers hold in their cookie (ui.owner, #21)

            def browser_with_token(url: str):
                ctx = browser.new_context()
                ctx.add_cookies([{"name": "vae_owner", "value": token, "url": url}])
                return ctx.new_page()

            with sync_playwright() as pw:
                browser = launch_chromium(pw)
                pa = browser_with_token(url_a)
                pa.goto(f"{url_a}/train_models")
                wait_idle(pa)
                epochs = pa.get_by_label("epochs", exact=True)
                epochs.fill("100")
                epochs.press("Tab")
                pa.get_by_role("button", name="Start training").click()
                pa.get_by_text("— running").first.wait_for(timeout=120000)

                pb = browser_with_token(url_b)  # another browser, another server, the same owner secret
                pb.goto(f"{url_b}/train_models")
                wait_idle(pb)
                pb.get_by_text("— running").first.wait_for(timeout=60000)
                stop = pb.get_by_role("button", name="Stop training")
                stop.wait_for(timeout=30000)
                stop.click()
                pb.get_by_text("stopped by request").first.wait_for(timeout=60000)
                deadline = time.time() + 60  # server A shows the same job as stopped
                while time.time() < deadline:
                    pa.reload()
                    wait_idle(pa)
                    if pa.get_by_text("stopped by request").count():
                        break
                    time.sleep(1)
                assert pa.get_by_text("stopped by request").count(), "server A did not see the job stopped"
                browser.close()
        finally:
            stop_server(b)
    finally:
        stop_server(a)
