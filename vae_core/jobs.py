"""Background training jobs, shared by every session of one app process.

A :class:`Job` trains one or more models (the β/KL Lab trains a sweep in
lockstep, one step of each model in turn, so their curves advance together) in
a daemon thread.  The :class:`JobManager` caps how many jobs run at once across
all sessions; ``submit`` raises :class:`CapacityError` with a plain message when
the cap is reached.  Nothing here imports Streamlit: a page polls ``job.snapshot()``.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from dataclasses import dataclass, field

import torch

from .objectives import evaluate
from .train import Report, TrainConfig, Trainer, TrainResult


class CapacityError(RuntimeError):
    """Too many trainings are running on this server."""


@dataclass
class Member:
    """One model inside a job."""

    label: str
    config: TrainConfig
    reports: list[Report] = field(default_factory=list)
    result: TrainResult | None = None
    test_metrics: dict | None = None
    model: torch.nn.Module | None = None
    live_model: torch.nn.Module | None = None  # the model being trained (read-only for UIs; weights still moving)


class Job:
    def __init__(self, job_id: str, title: str, members: list[Member], images: torch.Tensor,
                 labels: torch.Tensor | None, owner: str, data_description: str,
                 test_images: torch.Tensor | None = None, test_labels: torch.Tensor | None = None) -> None:
        self.id = job_id
        self.title = title
        self.members = members
        self.images, self.labels = images, labels
        self.test_images, self.test_labels = test_images, test_labels
        self.owner = owner
        self.data_description = data_description
        self.status = "queued"  # queued | running | done | stopped | diverged | error
        self.message = ""
        self.created = time.time()
        self.started: float | None = None
        self.finished: float | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.thread: threading.Thread | None = None
        self.progress = 0.0

    # -------------------------------------------------------------- control
    def stop(self) -> None:
        self._stop.set()

    @property
    def active(self) -> bool:
        return self.status in ("queued", "running")

    def snapshot(self) -> dict:
        """A consistent copy of the job's state for a UI to render."""
        with self._lock:
            return {
                "id": self.id, "title": self.title, "status": self.status, "message": self.message,
                "progress": self.progress, "started": self.started, "finished": self.finished,
                "data": self.data_description,
                "n_train": int(self.images.shape[0]),
                "members": [
                    {"label": m.label, "config": m.config, "reports": list(m.reports), "result": m.result,
                     "test_metrics": m.test_metrics, "model": m.model, "live_model": m.live_model}
                    for m in self.members
                ],
            }

    # ------------------------------------------------------------------ run
    def run(self) -> None:
        self.started = time.time()
        self.status = "running"
        try:
            trainers = []
            for m in self.members:
                def cb(r: Report, m=m) -> None:
                    with self._lock:
                        m.reports.append(r)

                trainers.append(Trainer(self.images, m.config, self.labels, callback=cb))
                with self._lock:
                    m.live_model = trainers[-1].model
            total = sum(t.total_steps for t in trainers)
            while not all(t.done for t in trainers):
                if self._stop.is_set():
                    for t in trainers:
                        t.stop()
                    break
                for t in trainers:
                    t.step()
                self.progress = sum(t.step_no for t in trainers) / total
            for m, t in zip(self.members, trainers):
                metrics = None
                if self.test_images is not None:
                    metrics = evaluate(t.model, self.test_images, self.test_labels, iwae_k=0)
                with self._lock:
                    m.result, m.model, m.test_metrics = t.result, t.model, metrics
            diverged = [m.label for m, t in zip(self.members, trainers) if t.result.diverged]
            if diverged:
                self.status = "diverged"
                self.message = "; ".join(f"{m.label}: {m.result.message}" for m in self.members if m.result.diverged)
            elif self._stop.is_set():
                self.status = "stopped"
                self.message = "stopped by request; the weights reached so far are kept"
            else:
                self.status = "done"
                self.message = "finished"
        except Exception as exc:  # surfaced in the UI, never lost silently
            self.status = "error"
            self.message = f"{type(exc).__name__}: {exc}"
        finally:
            self.finished = time.time()


class JobManager:
    def __init__(self, max_running: int | None = None, keep: int = 30) -> None:
        self.max_running = max_running or int(os.environ.get("VAE_MAX_TRAININGS", "2"))
        self.keep = keep
        self.jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._ids = itertools.count(1)

    def running(self) -> list[Job]:
        return [j for j in self.jobs.values() if j.active]

    def submit(self, title: str, configs: list[tuple[str, TrainConfig]], images: torch.Tensor,
               labels: torch.Tensor | None = None, owner: str = "", data_description: str = "",
               test_images: torch.Tensor | None = None, test_labels: torch.Tensor | None = None) -> Job:
        """Start a job training ``configs`` ([(label, config), ...]) in lockstep in a new thread."""
        with self._lock:
            busy = self.running()
            if len(busy) >= self.max_running:
                raise CapacityError(
                    f"{len(busy)} trainings are already running on this server (the limit is {self.max_running}, "
                    f"one per CPU core). Wait for one to finish or stop one, then try again.")
            job = Job(f"job{next(self._ids)}", title, [Member(lbl, c) for lbl, c in configs], images, labels,
                      owner, data_description, test_images, test_labels)
            self.jobs[job.id] = job
            self._prune()
            job.thread = threading.Thread(target=job.run, name=f"train-{job.id}", daemon=True)
            job.thread.start()
            return job

    def _prune(self) -> None:
        done = [j for j in self.jobs.values() if not j.active]
        for j in sorted(done, key=lambda j: j.created)[: max(0, len(self.jobs) - self.keep)]:
            self.jobs.pop(j.id, None)

    def get(self, job_id: str | None) -> Job | None:
        return self.jobs.get(job_id) if job_id else None

    def for_owner(self, owner: str) -> list[Job]:
        return [j for j in self.jobs.values() if j.owner == owner]


_manager: JobManager | None = None
_mlock = threading.Lock()


def get_manager() -> JobManager:
    """The process-wide manager (one app server = one manager, shared by all sessions)."""
    global _manager
    with _mlock:
        if _manager is None:
            _manager = JobManager()
        return _manager
