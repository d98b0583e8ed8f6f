"""Scale-out (issue #20): two ``streamlit run app.py`` servers on one Dask cluster (VAE_CLUSTER pointing at a
scheduler this test starts) see the same jobs.  A training started from server A is found from server B by the
same owner secret (the browsers' cookie), shown with its Stop button there, and stopped from B; A sees it stopped."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.browser.conftest import ROOT, start_server, stop_server, wait_idle


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """An existing cluster started as the README's "Serving a class" says, in processes of their own: ``dask
    scheduler`` (allowed failures 0) and ``dask worker --nthreads 1 --preload vae_core.jobs`` from this
    checkout."""
    dask = Path(sys.executable).with_name("dask")
    sched_file = tmp_path_factory.mktemp("cluster") / "scheduler.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "0"}
    procs = [subprocess.Popen([str(dask), "scheduler", "--host", "127.0.0.1", "--port", "0", "--dashboard-address",
                               ":0", "--scheduler-file", str(sched_file)], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)]
    try:
        deadline = time.time() + 60
        while not sched_file.is_file() and time.time() < deadline:
            time.sleep(0.2)
        addr = json.loads(sched_file.read_text())["address"]
        procs.append(subprocess.Popen([str(dask), "worker", "--scheduler-file", str(sched_file), "--nthreads", "1",
                                       "--nworkers", "1", "--preload", "vae_core.jobs", "--host", "127.0.0.1"],
                                      cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                      start_new_session=True))
        from distributed import Client

        with Client(addr, timeout="30s") as c:
            c.wait_for_workers(1, timeout=60)
        yield addr
    finally:
        for p in reversed(procs):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGTERM)
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)


def test_a_job_started_on_server_a_is_found_and_stopped_from_server_b(cluster, tmp_path, chromium):
    env = {"VAE_CLUSTER": cluster, "VAE_USER_MODELS": str(tmp_path), "VAE_JOBS_NAMESPACE": "scale-out-test"}
    contexts: list = []
    a, url_a = start_server(env=env)
    try:
        b, url_b = start_server(env=env)
        try:
            token = "5ca1e0a1" * 8  # the owner secret both browsers hold in their cookie (ui.owner, #21)

            def browser_with_token(url: str):
                ctx = chromium.new_context()
                contexts.append(ctx)
                ctx.add_cookies([{"name": "vae_owner", "value": token, "url": url}])
                return ctx.new_page()

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
        finally:
            for ctx in contexts:
                ctx.close()
            stop_server(b)
    finally:
        stop_server(a)
