"""Background training jobs, shared by every session of one app process.

A :class:`Job` trains one or more models (the β/KL Lab trains a sweep in
lockstep, one step of each model in turn, so their curves advance together) in
a daemon thread.  The :class:`JobManager` caps how many jobs run at once across
all sessions; ``submit`` raises :class:`CapacityError` with a plain message when
the cap is reached.  Nothing here imports Streamlit: a page polls ``job.snapshot()``.

Hardening (a server shared by strangers):

* **one active job per owner** (a session's stable identity): a second ``submit`` raises
  :class:`OwnerBusyError` (a :class:`CapacityError`) and the first job keeps running and stays
  findable (``latest_for(owner, kind)``), so pressing Start twice orphans nothing;
* **owner liveness**: the UI calls ``touch(owner)`` while the owner's session exists; a job
  whose owner has not been seen for ``owner_ttl_s`` seconds (the UI passes Streamlit's
  ``server.disconnectedSessionTTL``) stops itself after the current step;
* **a maximum run time** (``max_seconds``, ``VAE_MAX_TRAIN_SECONDS``, default 30 min);
* **bounded sizes**: every model of a job is checked against ``JOB_LIMITS`` before anything
  is built (``parse_hidden_dims`` for the free-text field);
* **slots freed on every path**: the job leaves the active states whatever ends its thread
  (completion, stop, exception, even a BaseException), and a thread that cannot start is
  removed again;
* **memory freed with the session**: a finished job keeps its reports, result figures and test
  metrics (what the pages show), but its models only while the owner's session exists: once the
  owner has been gone for ``owner_ttl_s`` (``release_abandoned``, called by the UI on every run,
  and at the end of a job stopped because its session was closed) the model weights are dropped.
  The training data, the optimizer and the trainer are never kept past the end of the job.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from .objectives import evaluate
from .train import Report, TrainConfig, Trainer, TrainResult


class CapacityError(RuntimeError):
    """Too many trainings are running on this server."""


class OwnerBusyError(CapacityError):
    """This session already has a training running."""


# limits of trainings started from the app (the CLI has none): sizes a 2-core CPU server trains in minutes
JOB_LIMITS = {"max_width": 1024, "max_layers": 4, "max_latent": 256, "max_epochs": 200, "max_models": 8}
DEFAULT_MAX_SECONDS = 30 * 60
KEPT = "; the weights reached so far are kept"  # the end of a stopped job's message while its models are kept
RELEASED = "; its weights were released with its browser session"


def parse_hidden_dims(text: str, max_width: int = JOB_LIMITS["max_width"],
                      max_layers: int = JOB_LIMITS["max_layers"]) -> tuple[int, ...]:
    """'512, 256' -> (512, 256); ValueError with a plain message for anything else or too large."""
    parts = [p.strip() for p in str(text).split(",")]
    if len(str(text)) > 200 or not parts or any(not p.isdigit() for p in parts):
        raise ValueError("hidden layers must be whole numbers separated by commas, e.g. 512,256")
    dims = tuple(int(p) for p in parts)
    if not 1 <= len(dims) <= max_layers:
        raise ValueError(f"give 1 to {max_layers} hidden layers (got {len(dims)})")
    if any(not 1 <= d <= max_width for d in dims):
        raise ValueError(f"each hidden layer must have 1 to {max_width:,} units (got {', '.join(map(str, dims))})")
    return dims


def check_job_config(cfg: TrainConfig) -> None:
    """Refuse a model larger than the app allows, before anything is built (ValueError naming the setting)."""
    lim = JOB_LIMITS
    if len(cfg.hidden_dims) > lim["max_layers"] or max(cfg.hidden_dims) > lim["max_width"]:
        raise ValueError(f"hidden layers {list(cfg.hidden_dims)}: at most {lim['max_layers']} layers of at most "
                         f"{lim['max_width']:,} units on this server")
    if cfg.latent_dim > lim["max_latent"]:
        raise ValueError(f"latent size {cfg.latent_dim}: at most {lim['max_latent']} on this server")
    if cfg.epochs > lim["max_epochs"]:
        raise ValueError(f"{cfg.epochs} epochs: at most {lim['max_epochs']} on this server")


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
                 test_images: torch.Tensor | None = None, test_labels: torch.Tensor | None = None,
                 kind: str = "", max_seconds: float | None = None,
                 owner_alive: Callable[[], bool] | None = None) -> None:
        self.id = job_id
        self.title = title
        self.members = members
        self.images, self.labels = images, labels
        self.n_train = int(images.shape[0])
        self.test_images, self.test_labels = test_images, test_labels
        self.owner = owner
        self.kind = kind  # which view started it (e.g. the session_state key of its page)
        self.max_seconds = max_seconds
        self.owner_alive = owner_alive
        self.stop_reason = ""
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
        self.released = False  # the models were dropped (the owner's session is gone)

    # -------------------------------------------------------------- control
    def stop(self, reason: str = "stopped by request") -> None:
        if not self._stop.is_set():
            self.stop_reason = reason
        self._stop.set()

    def _check_limits(self) -> None:
        """Stop at the maximum run time or when the owner's session is gone (checked between steps)."""
        if self.max_seconds is not None and self.started is not None and time.time() - self.started > self.max_seconds:
            self.stop(f"stopped at this server's maximum run time of {self.max_seconds / 60:g} min")
        elif self.owner_alive is not None and not self.owner_alive():
            self.stop("stopped because its browser session was closed")

    def release_models(self) -> bool:
        """Drop the weights of a finished job (its models, the trained one and the result's reference), keeping
        the reports, result figures and test metrics; True when something was released.  A running job keeps
        its models (the thread is training them)."""
        if self.active or self.released:
            return False
        with self._lock:
            for m in self.members:
                m.model = m.live_model = None
                if m.result is not None:
                    m.result = dataclasses.replace(m.result, model=None)
            self.released = True
            self.message = self.message.removesuffix(KEPT) + RELEASED
        return True

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
                "n_train": self.n_train,
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
                self._check_limits()
                if self._stop.is_set():
                    for t in trainers:
                        t.stop()
                    break
                for t in trainers:
                    t.step()
                self.progress = sum(t.step_no for t in trainers) / total
            for m, t in zip(self.members, trainers, strict=True):
                metrics = None
                if self.test_images is not None:
                    metrics = evaluate(t.model, self.test_images, self.test_labels, iwae_k=0)
                with self._lock:
                    m.result, m.model, m.test_metrics = t.result, t.model, metrics
            diverged = [m.label for m, t in zip(self.members, trainers, strict=True) if t.result.diverged]
            if diverged:
                self.status = "diverged"
                self.message = "; ".join(f"{m.label}: {m.result.message}" for m in self.members if m.result.diverged)
            elif self._stop.is_set():
                self.status = "stopped"
                self.message = f"{self.stop_reason or 'stopped by request'}{KEPT}"
            else:
                self.status = "done"
                self.message = "finished"
        except Exception as exc:  # surfaced in the UI, never lost silently
            self.status = "error"
            self.message = f"{type(exc).__name__}: {exc}"
        finally:
            if self.status in ("queued", "running"):  # a BaseException: the slot is freed all the same
                self.status = "error"
                self.message = self.message or "the training thread ended unexpectedly"
            # the data is only needed while training: do not keep a copy per finished job
            self.images = self.labels = self.test_images = self.test_labels = None
            self.finished = time.time()
            if self.owner_alive is not None and not self.owner_alive():  # nobody is left to use the models
                self.release_models()


class JobManager:
    def __init__(self, max_running: int | None = None, keep: int = 30, max_seconds: float | None = None,
                 owner_ttl_s: float | None = None) -> None:
        self.max_running = max_running or int(os.environ.get("VAE_MAX_TRAININGS", "2"))
        self.max_seconds = max_seconds or float(os.environ.get("VAE_MAX_TRAIN_SECONDS", DEFAULT_MAX_SECONDS))
        self.owner_ttl_s = owner_ttl_s  # None: owners are never considered gone (the CLI, tests)
        self.keep = keep
        self.jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._seen: dict[str, float] = {}

    def running(self) -> list[Job]:
        return [j for j in list(self.jobs.values()) if j.active]

    # ------------------------------------------------------------ owners
    def touch(self, owner: str) -> None:
        """The owner's session is alive now (the UI calls this on every run of an owner's page and from a
        slow heartbeat while the owner has an active job)."""
        self._seen[owner] = time.time()

    def owner_alive(self, owner: str) -> bool:
        if self.owner_ttl_s is None or not owner:
            return True
        return time.time() - self._seen.get(owner, 0.0) <= self.owner_ttl_s

    def release_abandoned(self) -> list[Job]:
        """Drop the models of finished jobs whose owner's session is gone (see the module's notes); returns the
        jobs released now."""
        return [j for j in list(self.jobs.values())
                if not j.active and j.owner and not self.owner_alive(j.owner) and j.release_models()]

    def active_for(self, owner: str) -> Job | None:
        return next((j for j in list(self.jobs.values()) if j.owner == owner and j.active), None)

    def latest_for(self, owner: str, kind: str | None = None) -> Job | None:
        """The owner's most recent job (of this kind): how a reloaded session finds its training again."""
        mine = [j for j in list(self.jobs.values()) if j.owner == owner and (kind is None or j.kind == kind)]
        return max(mine, key=lambda j: j.created) if mine else None

    def submit(self, title: str, configs: list[tuple[str, TrainConfig]], images: torch.Tensor,
               labels: torch.Tensor | None = None, owner: str = "", data_description: str = "",
               test_images: torch.Tensor | None = None, test_labels: torch.Tensor | None = None,
               kind: str = "") -> Job:
        """Start a job training ``configs`` ([(label, config), ...]) in lockstep in a new thread.

        Raises ValueError for a model beyond ``JOB_LIMITS``, :class:`OwnerBusyError` when ``owner``
        already has an active job and :class:`CapacityError` when every slot is taken."""
        if not configs or len(configs) > JOB_LIMITS["max_models"]:
            raise ValueError(f"a job trains 1 to {JOB_LIMITS['max_models']} models")
        for _, cfg in configs:
            check_job_config(cfg)
        with self._lock:
            mine = self.active_for(owner) if owner else None
            if mine is not None:
                raise OwnerBusyError(
                    f"this session is already training '{mine.title}' ({mine.progress:.0%} done); one training "
                    "per session: wait for it or stop it, then start another.")
            busy = self.running()
            if len(busy) >= self.max_running:
                raise CapacityError(
                    f"{len(busy)} trainings are already running on this server (the limit is {self.max_running}, "
                    f"one per CPU core). Wait for one to finish or stop one, then try again.")
            if owner:
                self.touch(owner)
            job = Job(f"job{next(self._ids)}", title, [Member(lbl, c) for lbl, c in configs], images, labels,
                      owner, data_description, test_images, test_labels, kind=kind, max_seconds=self.max_seconds,
                      owner_alive=(lambda: self.owner_alive(owner)) if owner else None)
            self.jobs[job.id] = job
            self._prune()
            job.thread = threading.Thread(target=job.run, name=f"train-{job.id}", daemon=True)
            try:
                job.thread.start()
            except RuntimeError as exc:  # no thread could be started: give the slot back
                self.jobs.pop(job.id, None)
                raise CapacityError(f"the server could not start a training thread ({exc})") from None
            return job

    def _prune(self) -> None:
        done = [j for j in self.jobs.values() if not j.active]
        for j in sorted(done, key=lambda j: j.created)[: max(0, len(self.jobs) - self.keep)]:
            self.jobs.pop(j.id, None)

    def get(self, job_id: str | None) -> Job | None:
        return self.jobs.get(job_id) if job_id else None

    def for_owner(self, owner: str) -> list[Job]:
        return [j for j in list(self.jobs.values()) if j.owner == owner]


_manager: JobManager | None = None
_mlock = threading.Lock()


def get_manager() -> JobManager:
    """The process-wide manager (one app server = one manager, shared by all sessions)."""
    global _manager
    with _mlock:
        if _manager is None:
            _manager = JobManager()
        return _manager
