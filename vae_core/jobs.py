"""Background training jobs on a Dask distributed cluster, shared by every app server that uses it.

A job trains one or more models (the β/KL Lab trains a sweep in lockstep, one step of each model in turn, so
their curves advance together) in a **worker process** of a Dask cluster, never in the web server: by default
an embedded cluster started on first use (:class:`EmbeddedCluster`: Dask's own scheduler and worker processes as
children of the app server, one worker process per training slot, one thread each);
``VAE_CLUSTER=tcp://host:port`` connects to an existing scheduler instead (its workers need this repository on
their ``PYTHONPATH`` and ``DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES=0`` on the scheduler, so that a job
whose worker died is reported, not restarted).  Nothing here imports Streamlit: a page polls ``job.snapshot()``.

Why Dask and not Ray (measured on this 2-core machine, README "Training engine"): a 2-worker LocalCluster
starts in 1.2 s and its three processes hold 108 MB idle, where ``ray.init`` took 2.5 s and ten processes held
620 MB; both stream progress with a few ms per round trip and both report a ``kill -9``-ed worker at once.

State lives in the engine (the scheduler's named Variables, namespace ``VAE_JOBS_NAMESPACE``): the job index,
each job's head (status, progress, message, report counts), its reports in chunks of ``CHUNK`` per model, its
stop request, the owners' last-seen times, the task's future (its result holds the final weights, on the
worker) and, for the Lab's live views, a future of the weights being trained.  So two app servers on one
cluster see the same jobs, and a reload on either finds its job again.

Guarantees (a server shared by strangers):

* **one active job per owner** (an opaque string naming a session): a second ``submit`` raises
  :class:`OwnerBusyError` (a :class:`CapacityError`); the first keeps running and stays findable
  (``latest_for(owner, kind)``); the check and the submit hold one engine-wide Lock;
* **owner liveness**: the UI calls ``touch(owner)``; a job whose owner has not been seen for ``owner_ttl_s``
  seconds stops itself after the current step (the worker watches);
* **a maximum run time** (``max_seconds``, ``VAE_MAX_TRAIN_SECONDS``, default 30 min);
* **bounded sizes**: every model is checked against ``JOB_LIMITS`` before anything is built or sent;
* **slots freed on every path**: completion, stop, an exception, a worker over its memory limit (the worker's
  own guard raises MemoryError at ``MEMORY_GUARD`` of the limit; beyond it the nanny kills the process) or
  killed (``kill -9``): the job's future errs and whichever app server looks next marks the job "failed" with
  the reason.  Workers never write saved models, so nothing half-written can appear among them;
* **memory freed with the session**: a finished job keeps its reports, result and test metrics, but its
  weights only while the owner's session exists (``release_abandoned``).
* workers run at a lower CPU priority than the web server (``VAE_WORKER_NICE``, default 10) and load the
  training data themselves (:class:`DataSpec`).
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import hashlib
import json
import logging
import os
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from .digits.data import load_dataset
from .digits.model import build_model
from .digits.train import Report, TrainConfig, Trainer, TrainResult
from .objectives import evaluate

log = logging.getLogger(__name__)


class CapacityError(RuntimeError):
    """Too many trainings are running on this server."""


class OwnerBusyError(CapacityError):
    """This session already has a training running."""


# limits of trainings started from the app (the CLI has none): sizes a 2-core CPU server trains in minutes
JOB_LIMITS = {"max_width": 1024, "max_layers": 4, "max_latent": 256, "max_epochs": 200, "max_models": 8}
DEFAULT_MAX_SECONDS = 30 * 60
KEPT = "; the weights reached so far are kept"  # the end of a stopped job's message while its models are kept
RELEASED = "; its weights were released with its browser session"
CLOSED = "stopped because its browser session was closed"
ACTIVE = ("queued", "running")
CHUNK = 200  # reports per chunk Variable (full chunks never change: each app server fetches them once)
PUBLISH_S = 0.5  # how often a worker publishes its job's head and newest chunk
LIVE_S = 3.0  # how often a worker publishes the weights being trained (jobs with live_weights)
WATCH_S = 0.2  # how often a worker looks at the stop request, the owner's last-seen time and its memory
MEMORY_GUARD = 0.85  # a training stops with MemoryError at this share of its worker's memory limit
DIED = ("its worker process died during training (killed, or beyond the worker's memory limit): {exc}")


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


@dataclass(frozen=True)
class DataSpec:
    """Which training data a worker loads itself (the web process does not hold the training split)."""

    name: str = "mnist"
    n: int | None = None  # a random subset of the training split (seeded), or all of it
    seed: int = 0
    test: bool = True  # also load the test split and report test metrics at the end
    # a user's data set (#19, name "user"): the stored file (written atomically by the app into its data folder,
    # vae_core.digits.user_data.store_dataset) and its SHA-256, checked by the worker.  A path, not the arrays: the file
    # is on disk already for the pages, the scheduler never carries the images, and the worker reads it with
    # the same checks as every upload (for a remote VAE_CLUSTER the data folder must be shared with the workers)
    path: str | None = None
    sha256: str | None = None
    file_name: str | None = None  # the user's name of the file (for the descriptions; the stored one is its hash)

    def load(self):
        if self.path is not None:
            from .digits.user_data import UserDataError, load_user_data

            ud = load_user_data(self.path, self.file_name)
            if self.sha256 is not None and ud.sha256 != self.sha256:
                raise UserDataError("the stored data set file changed since the training was asked for")
            train, test = ud.split()
            if self.n is not None:
                train = train.subset(int(self.n), seed=self.seed)
            return train, (test if self.test else None)
        train = load_dataset(self.name, "train")
        if self.n is not None:
            train = train.subset(int(self.n), seed=self.seed)
        return train, (load_dataset(self.name, "test") if self.test else None)


# ------------------------------------------------------------------------------------------------ the engine
_engine_lock = threading.Lock()
_client = None
_cluster = None
_registered: list[bool] = []

# the settings every process of the engine runs with (the scheduler's and the workers' environment)
ENGINE_CONFIG = {
    "distributed.scheduler.allowed-failures": 0,  # a job whose worker died fails; it is not started again
    "distributed.worker.memory.target": False, "distributed.worker.memory.spill": False,
    "distributed.worker.memory.pause": False, "distributed.worker.memory.terminate": 0.95,
    "distributed.worker.daemon": True,
    "distributed.admin.large-graph-warning-threshold": "100MB",
}
PARENT_ENV = "VAE_ENGINE_PARENT"  # the app server's pid, in the environment of an embedded engine's processes


def _dask_config() -> None:
    import dask

    dask.config.set(ENGINE_CONFIG)


def _config_env() -> dict[str, str]:
    """ENGINE_CONFIG as Dask's environment variables (DASK_DISTRIBUTED__WORKER__MEMORY__TARGET=False, ...)."""
    return {"DASK_" + key.upper().replace(".", "__").replace("-", "_"): str(value)
            for key, value in ENGINE_CONFIG.items()}


class EmbeddedCluster:
    """The default engine: Dask's own ``dask scheduler`` and ``dask worker`` processes (the README's "Serving a
    class" commands) started as children of the app server, one worker process per training slot.

    Not a ``LocalCluster``: that runs the scheduler inside the web server's process, where its bookkeeping of
    every job's progress shares the server's GIL with the pages (``python -m bench.train_isolation``: slider p95
    ratio 2.3-2.7 with the scheduler in the server, 1.8 with it outside).  The processes end with the server:
    ``close`` on a normal exit, and each process watches the server's pid (``PARENT_ENV``) and ends its process
    group when the server is gone, also after a ``kill -9`` that no exit handler sees."""

    def __init__(self, n_workers: int, memory_limit: str) -> None:
        import sys
        import tempfile

        root = str(Path(__file__).resolve().parent.parent)
        self.dir = Path(tempfile.mkdtemp(prefix="vae-engine-"))
        sched_file = self.dir / "scheduler.json"
        env = {**os.environ, **_config_env(), PARENT_ENV: str(os.getpid()),
               "PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH", "")) if p)}
        dask = [sys.executable, "-m", "dask"]
        self.log = self.dir / "engine.log"
        self.procs = []
        with self.log.open("ab") as out:
            def start(args: list[str]):
                self.procs.append(subprocess.Popen(dask + args, cwd=root, env=env, stdin=subprocess.DEVNULL,
                                                   stdout=out, stderr=subprocess.STDOUT, start_new_session=True))

            start(["scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard", "--scheduler-file",
                   str(sched_file), "--preload", "vae_core.jobs"])
            deadline = time.monotonic() + 60
            while not sched_file.is_file():
                if self.procs[0].poll() is not None or time.monotonic() > deadline:
                    self.close()
                    raise RuntimeError(f"the training engine's scheduler did not start (see {self.log})")
                time.sleep(0.05)
            start(["worker", "--scheduler-file", str(sched_file), "--host", "127.0.0.1", "--nworkers",
                   str(n_workers), "--nthreads", "1", "--memory-limit", memory_limit, "--no-dashboard",
                   "--death-timeout", "60", "--preload", "vae_core.jobs", "--preload-nanny", "vae_core.jobs"])
        self.address = json.loads(sched_file.read_text())["address"]

    def close(self) -> None:
        import signal

        for p in reversed(self.procs):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGTERM)
        for p in reversed(self.procs):
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(p.pid, signal.SIGKILL)
                p.wait(timeout=5)
        self.procs = []


def _watch_parent() -> None:
    """In a process of an embedded engine: end this process's group once the app server that started it is gone."""
    parent = int(os.environ.get(PARENT_ENV, "0") or 0)
    if not parent or any(t.name == "vae-parent-watch" for t in threading.enumerate()):
        return

    def watch() -> None:
        import signal

        while True:
            try:
                os.kill(parent, 0)
            except ProcessLookupError:
                os.killpg(os.getpgid(0), signal.SIGKILL)
            except PermissionError:  # a pid reused by another user's process: the server is gone too
                os.killpg(os.getpgid(0), signal.SIGKILL)
            time.sleep(1.0)

    threading.Thread(target=watch, name="vae-parent-watch", daemon=True).start()


def n_workers() -> int:
    return int(os.environ.get("VAE_MAX_TRAININGS", "2"))


def engine():
    """The process-wide Dask client: to ``VAE_CLUSTER`` if set, else to an :class:`EmbeddedCluster` started now."""
    global _client, _cluster
    from distributed import Client

    with _engine_lock:
        if _client is not None and _client.status == "running":
            return _client
        _dask_config()
        addr = os.environ.get("VAE_CLUSTER", "").strip()
        if not addr:
            if _cluster is not None:
                _cluster.close()
            _cluster = EmbeddedCluster(n_workers(), os.environ.get("VAE_WORKER_MEMORY", "3GiB"))
            addr = _cluster.address
        _client = Client(addr, direct_to_workers=True, set_as_default=False, timeout="60s")
        if not _registered:
            atexit.register(close_engine)
            _registered.append(True)
        return _client


def close_engine() -> None:
    global _client, _cluster
    with _engine_lock:
        if _client is not None:
            with contextlib.suppress(Exception):  # shutting down: nothing left to tell
                _client.close()
        if _cluster is not None:
            _cluster.close()
        _client = _cluster = None


def lower_priority(nice: int | None = None) -> None:
    """Every thread of this process at least ``nice`` (Linux niceness is per thread; new threads inherit it)."""
    target = int(os.environ.get("VAE_WORKER_NICE", "10")) if nice is None else nice
    try:
        tids = [int(t.name) for t in Path("/proc/self/task").iterdir()]
    except OSError:
        tids = [0]
    for tid in tids:
        try:
            if os.getpriority(os.PRIO_PROCESS, tid) < target:
                os.setpriority(os.PRIO_PROCESS, tid, target)
        except OSError:
            pass


def _warm_up() -> None:
    """Build and step one tiny Trainer: torch's first Trainer in a process costs ~2 s of lazy imports (measured),
    paid here at the worker's start instead of by the first training's first report."""
    with contextlib.suppress(Exception):
        Trainer(torch.rand(8, 784), TrainConfig(latent_dim=2, hidden_dims=(8,), epochs=1, batch_size=8)).step()


def _tune_malloc() -> None:
    """Undo, in a worker, what Dask's nanny sets for it (``MALLOC_TRIM_THRESHOLD_=65536``, which also switches glibc's
    dynamic mmap threshold off): every tensor above 128 KiB (a batch of 128 images is 400 KB) was then mmap-ed and
    unmapped again at each step.  glibc's own steady state for large blocks instead: 32 MiB mmap threshold (its
    dynamic maximum), trimming beyond twice that (``python -m bench.train_throughput --worker`` measures it)."""
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    if not name:
        return
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(name)
        libc.mallopt.argtypes, libc.mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
        libc.mallopt(-3, 32 << 20)  # M_MMAP_THRESHOLD
        libc.mallopt(-1, 64 << 20)  # M_TRIM_THRESHOLD


def dask_setup(server) -> None:
    """Dask's preload hook (``--preload vae_core.jobs``, ``--preload-nanny vae_core.jobs``): every process of an
    embedded engine ends with its app server; a worker also lowers its priority and warms torch up."""
    from distributed import Worker

    _watch_parent()
    if isinstance(server, Worker):
        _tune_malloc()
        lower_priority()
        threading.Thread(target=_warm_up, name="warm-up", daemon=True).start()


def _var(name: str, client=None):
    from distributed import Variable

    return Variable(name, client=client or engine())


def _get(name: str, client=None, default=None):
    """A Variable's value, or ``default`` when it was never set (Variable.get would wait for it)."""
    try:
        return _var(name, client).get(timeout=0.5)
    except TimeoutError:
        return default


def _owner_key(owner: str) -> str:
    return hashlib.sha256(owner.encode()).hexdigest()[:24]


# ------------------------------------------------------------------------------------------- in the worker
def _busy_on_host(dask_scheduler, host: str) -> int:
    """Tasks being processed now by the workers on ``host`` (run on the scheduler)."""
    return sum(len(ws.processing) for ws in dask_scheduler.workers.values() if ws.host == host)


def job_threads(client, worker) -> int:
    """Torch threads for a job: the cores of its machine shared by the jobs running there now (this one included),
    at least 1.  A lone training gets every core (at the workers' low priority the web server still comes first),
    two at once one each on this 2-core machine.  ``VAE_WORKER_THREADS`` fixes the number instead."""
    fixed = int(os.environ.get("VAE_WORKER_THREADS", "0") or 0)
    if fixed > 0:
        return fixed
    try:
        busy = client.run_on_scheduler(_busy_on_host, host=worker.address.rsplit("://", 1)[-1].rsplit(":", 1)[0])
    except Exception:  # noqa: BLE001 - no answer: assume the worst, every slot busy
        busy = n_workers()
    return max(1, (os.cpu_count() or 1) // max(1, int(busy)))


def _run_job(spec: dict) -> dict:
    """The task a worker runs: load the data, train the models in lockstep, publish progress, return the weights."""
    from distributed import get_client, get_worker

    lower_priority()
    client = get_client()
    torch.set_num_threads(job_threads(client, get_worker()))  # a config's own num_threads still wins per step
    p = spec["prefix"]
    head = {"status": "running", "message": "", "progress": 0.0, "started": time.time(), "finished": None,
            "counts": [0] * len(spec["members"]), "data": spec["data_description"], "n_train": 0,
            "live_version": 0, "released": False, "worker": get_worker().address, "pid": os.getpid()}
    reports: list[list] = [[] for _ in spec["members"]]
    lock = threading.Lock()
    stop = threading.Event()
    why: list[str] = []
    published = [0] * len(reports)
    limit = get_worker().memory_manager.memory_limit

    def publish() -> None:
        with lock:
            counts = [len(r) for r in reports]
            chunks = {}
            for i, r in enumerate(reports):
                for c in range(published[i] // CHUNK, (counts[i] - 1) // CHUNK + 1 if counts[i] else 0):
                    chunks[f"{p}-r{i}-{c}"] = r[c * CHUNK:(c + 1) * CHUNK]
                published[i] = counts[i]
            h = dict(head, counts=counts)
        for name, chunk in chunks.items():
            _var(name, client).set(chunk)
        _var(f"{p}-head", client).set(h)

    def request_stop(reason: str) -> None:
        if not stop.is_set():
            why.append(reason)
            stop.set()

    def watch() -> None:
        import psutil

        proc, last_pub = psutil.Process(), 0.0
        while not done.is_set():
            try:
                asked = _get(f"{p}-stop", client, "")
                seen = _get(f"{spec['ns']}-owner-{spec['owner_key']}", client) if spec["owner_key"] else None
                ttl = _get(f"{spec['ns']}-ttl", client, spec["owner_ttl_s"])
                now = time.time()
                if asked:
                    request_stop(asked)
                elif spec["max_seconds"] is not None and now - head["started"] > spec["max_seconds"]:
                    request_stop(f"stopped at this server's maximum run time of {spec['max_seconds'] / 60:g} min")
                elif ttl is not None and seen is not None and now - seen > ttl:
                    request_stop(CLOSED)
                if limit and proc.memory_info().rss > MEMORY_GUARD * limit:
                    why.insert(0, "memory")
                    stop.set()
                if now - last_pub >= PUBLISH_S:
                    publish()
                    last_pub = now
            except Exception as exc:  # noqa: BLE001 - the scheduler is briefly away: try again next time
                log.debug("job watcher: %s", exc)
            done.wait(WATCH_S)

    done = threading.Event()
    watcher = threading.Thread(target=watch, name=f"watch-{spec['id']}", daemon=True)
    trainers: list[Trainer] = []
    payload: dict = {"members": None}
    try:
        publish()
        watcher.start()
        data = spec["data"]
        if isinstance(data, DataSpec):
            train, test = data.load()
            images, labels = train.images, train.labels
            test_images, test_labels = (test.images, test.labels) if test is not None else (None, None)
            head["data"] = train.description
        else:
            images, labels, test_images, test_labels = data
        head["n_train"] = int(images.shape[0])
        for i, (_, cfg_d) in enumerate(spec["members"]):
            def cb(r: Report, i=i) -> None:
                with lock:
                    reports[i].append(list(dataclasses.astuple(r)))

            trainers.append(Trainer(images, TrainConfig(**cfg_d), labels, callback=cb))
        total = sum(t.total_steps for t in trainers)
        last_live = 0.0
        while not all(t.done for t in trainers):
            if stop.is_set():
                if why and why[0] == "memory":
                    raise MemoryError(f"the training used more than {MEMORY_GUARD:.0%} of its worker's memory "
                                      f"limit of {limit / 2**20:,.0f} MiB")
                for t in trainers:
                    t.stop()
                break
            for t in trainers:
                t.step()
            head["progress"] = sum(t.step_no for t in trainers) / total
            if spec["live_weights"] and time.monotonic() - last_live >= LIVE_S:
                last_live = time.monotonic()
                sds = [{"state_dict": {k: v.detach().clone() for k, v in t.model.state_dict().items()},
                        "input_dim": int(t.images.shape[1])} for t in trainers]
                fut = client.scatter([sds], workers=[get_worker().address], hash=False)[0]
                _var(f"{p}-live", client).set(fut)
                head["live_version"] += 1
        members = []
        for t in trainers:
            metrics = None
            if test_images is not None:
                metrics = evaluate(t.model, test_images, test_labels, iwae_k=0)
            r = t.result
            members.append({"state_dict": {k: v.detach().clone() for k, v in t.model.state_dict().items()},
                            "input_dim": int(images.reshape(images.shape[0], -1).shape[1]),
                            "result": {f.name: getattr(r, f.name) for f in dataclasses.fields(r)
                                       if f.name not in ("model", "history")},
                            "test_metrics": metrics})
        head["results"] = [[m.pop("result"), m.pop("test_metrics")] for m in members]  # numbers: in the head
        payload = {"members": members}
        diverged = [(lbl, t.result.message) for (lbl, _), t in zip(spec["members"], trainers, strict=True)
                    if t.result.diverged]
        if diverged:
            head["status"], head["message"] = "diverged", "; ".join(f"{lbl}: {msg}" for lbl, msg in diverged)
        elif stop.is_set() and why and why[0] == CLOSED:  # nobody is left to use the weights: not kept
            head["status"], head["message"], head["released"] = "stopped", CLOSED + RELEASED, True
            for m in members:
                m["state_dict"] = None
        elif stop.is_set():
            head["status"], head["message"] = "stopped", f"{why[0] if why else 'stopped by request'}{KEPT}"
        else:
            head["status"], head["message"] = "done", "finished"
    except Exception as exc:  # surfaced in the UI, never lost silently
        head["status"], head["message"] = "failed", f"{type(exc).__name__}: {exc}"
        payload = {"members": None}
    finally:
        if head["status"] in ACTIVE:  # a BaseException: the slot is freed all the same
            head["status"], head["message"] = "failed", head["message"] or "the training ended unexpectedly"
        head["finished"] = time.time()
        done.set()
        if watcher.is_alive():
            watcher.join(5)
        trainers.clear()
        publish()
    return payload


# ------------------------------------------------------------------------------------------ in the web app
_REPORT_FIELDS = [f.name for f in dataclasses.fields(Report)]


def _report(row) -> Report:
    """A Report from its published row (msgpack gives tuples back for lists)."""
    d = dict(zip(_REPORT_FIELDS, row, strict=True))
    d["kl_per_dim"] = list(d["kl_per_dim"])
    return Report(**d)


class Member:
    """One model of a job, as an app server sees it."""

    def __init__(self, job: Job, index: int, label: str, config: TrainConfig) -> None:
        self._job, self.index, self.label, self.config = job, index, label, config

    @property
    def reports(self) -> list[Report]:
        return self._job._reports(self.index)

    def _part(self, key: str):
        return self._job.snapshot()["members"][self.index][key]

    @property
    def model(self):
        return self._part("model")

    @property
    def live_model(self):
        return self._part("live_model")

    @property
    def result(self) -> TrainResult | None:
        return self._part("result")

    @property
    def test_metrics(self) -> dict | None:
        return self._part("test_metrics")


class Job:
    """An app server's handle on a job that runs in the engine (state fetched from it, at most every 0.2 s)."""

    def __init__(self, manager: JobManager, meta: dict) -> None:
        self.manager = manager
        self.id, self.title, self.owner, self.kind = meta["id"], meta["title"], meta["owner"], meta["kind"]
        self.created = meta["created"]
        self.prefix = f"{manager.ns}-{self.id}"
        self.members = [Member(self, i, lbl, TrainConfig(**c)) for i, (lbl, c) in enumerate(meta["members"])]
        self._head: dict = {"status": "queued", "message": "", "progress": 0.0, "started": None, "finished": None,
                            "counts": [0] * len(self.members), "data": meta["data"], "n_train": meta["n_train"],
                            "live_version": 0, "released": False}
        self._t = 0.0
        self._lock = threading.RLock()
        self._chunks: dict[tuple[int, int], list[Report]] = {}
        self._future = None
        self._models: list | None = None
        self._live: tuple[int, list] | None = None

    # ---------------------------------------------------------------- state
    def refresh(self, force: bool = False) -> dict:
        with self._lock:
            if not force and (time.monotonic() - self._t < 0.2 or self._head["status"] not in ACTIVE):
                return self._head
            head = _get(f"{self.prefix}-head", self.manager.client)
            if head is not None:
                self._head = head
            self._t = time.monotonic()
            if self._head["status"] in ACTIVE:
                fut = self.future()
                if fut is None or fut.status in ("error", "cancelled", "lost"):
                    exc = "the engine lost it" if fut is None or fut.status != "error" else fut.exception()
                    self._head = dict(self._head, status="failed", message=DIED.format(exc=exc),
                                      finished=time.time())
                    self._future = None
                    _var(f"{self.prefix}-head", self.manager.client).set(self._head)
            return self._head

    def future(self):
        if self._future is None:
            self._future = _get(f"{self.prefix}-future", self.manager.client)
        return self._future

    def _reports(self, i: int) -> list[Report]:
        head = self.refresh()
        n = head["counts"][i]
        out: list[Report] = []
        for c in range((n + CHUNK - 1) // CHUNK):
            got = self._chunks.get((i, c))
            if got is None or (len(got) < CHUNK and c * CHUNK + len(got) < n):
                raw = _get(f"{self.prefix}-r{i}-{c}", self.manager.client, [])
                got = [_report(r) for r in raw]
                self._chunks[(i, c)] = got
            out.extend(got)
        return out[:n]

    @property
    def status(self) -> str:
        return self.refresh()["status"]

    @property
    def message(self) -> str:
        return self.refresh()["message"]

    @property
    def progress(self) -> float:
        return self.refresh()["progress"]

    @property
    def active(self) -> bool:
        return self.refresh()["status"] in ACTIVE

    @property
    def released(self) -> bool:
        return bool(self.refresh()["released"])

    @property
    def n_train(self) -> int:
        return int(self.refresh()["n_train"])

    def wait(self, timeout: float = 60.0) -> bool:
        """Wait until the job has ended (True) or ``timeout`` seconds passed (False)."""
        deadline = time.monotonic() + timeout
        while self.active and time.monotonic() < deadline:
            time.sleep(0.1)
        return not self.active

    # ---------------------------------------------------------------- control
    def stop(self, reason: str = "stopped by request") -> None:
        """Ask the worker to stop after its current step (it looks every WATCH_S seconds)."""
        if self.active:
            _var(f"{self.prefix}-stop", self.manager.client).set(reason)

    def _build(self, members: list[dict]) -> list:
        out = []
        for m, mem in zip(members, self.members, strict=True):
            if m["state_dict"] is None:
                out.append(None)
                continue
            model = build_model(mem.config.model_config(m["input_dim"]))
            model.load_state_dict(m["state_dict"])
            model.eval()
            out.append(model)
        return out

    def _final(self) -> tuple[list | None, list | None]:
        """The trained models (fetched from the worker once; None once released) and the results (numbers, from
        the job's head); (None, None) while the job runs or when it failed."""
        with self._lock:
            head = self.refresh()
            if head["status"] in ACTIVE or not head.get("results"):
                return None, None
            if self._models is None:
                members = None
                if not head["released"]:
                    fut = self.future()
                    try:
                        members = fut.result(timeout=60)["members"] if fut is not None else None
                    except Exception as exc:  # noqa: BLE001 - the worker holding the weights is gone
                        log.warning("job %s: weights lost: %s", self.id, exc)
                self._models = self._build(members) if members else [None] * len(self.members)
            return self._models, head["results"]

    def _live_models(self) -> list | None:
        head = self.refresh()
        if head["status"] not in ACTIVE or not head["live_version"]:
            return None
        with self._lock:
            if self._live is None or self._live[0] != head["live_version"]:
                fut = _get(f"{self.prefix}-live", self.manager.client)
                try:
                    sds = fut.result(timeout=10) if fut is not None else None
                except Exception:  # noqa: BLE001 - the training moved on or ended meanwhile
                    sds = None
                if sds is None:
                    return None if self._live is None else self._live[1]
                self._live = (head["live_version"], self._build(sds))
            return self._live[1]

    def release_models(self) -> bool:
        """Drop the weights of a finished job (here and on the worker), keeping reports, results and test metrics;
        True when something was released.  A running job keeps its models."""
        with self._lock:
            head = self.refresh(force=True)
            if head["status"] in ACTIVE or head["released"]:
                return False
            self._models = [None] * len(self.members)
            self._live, self._future = None, None
            self._head = dict(head, released=True, message=head["message"].removesuffix(KEPT) + RELEASED)
            c = self.manager.client
            _var(f"{self.prefix}-head", c).set(self._head)
            for name in (f"{self.prefix}-future", f"{self.prefix}-live"):
                _var(name, c).delete()
            return True

    def snapshot(self) -> dict:
        """A consistent copy of the job's state for a UI to render (the same shape as before the engine)."""
        head = dict(self.refresh())
        models, results = self._final()
        live = self._live_models() if head["status"] in ACTIVE else None
        members = []
        for i, m in enumerate(self.members):
            reps = m.reports
            model = models[i] if models else None
            res = tm = None
            if results and results[i] is not None:
                rd, tm = results[i]
                res = TrainResult(model=model, history=list(reps), **rd)
                tm = dict(tm) if tm is not None else None
            members.append({"label": m.label, "config": m.config, "reports": reps, "result": res,
                            "test_metrics": tm, "model": model, "live_model": live[i] if live else None})
        return {"id": self.id, "title": self.title, "status": head["status"], "message": head["message"],
                "progress": head["progress"], "started": head["started"], "finished": head["finished"],
                "data": head["data"], "n_train": head["n_train"], "members": members}


class JobManager:
    """The jobs of one namespace of the engine, as seen from one app server (several servers may share one)."""

    def __init__(self, max_running: int | None = None, keep: int = 30, max_seconds: float | None = None,
                 owner_ttl_s: float | None = None, namespace: str | None = None) -> None:
        self.max_running = max_running or int(os.environ.get("VAE_MAX_TRAININGS", "2"))
        self.max_seconds = max_seconds or float(os.environ.get("VAE_MAX_TRAIN_SECONDS", DEFAULT_MAX_SECONDS))
        self.keep = keep
        self.ns = namespace or os.environ.get("VAE_JOBS_NAMESPACE", "vae-jobs")
        self.client = engine()
        self._ttl: float | None = None
        self._ttl_set = False
        self.owner_ttl_s = owner_ttl_s  # None: owners are never considered gone (the CLI, tests)
        self._cache: dict[str, Job] = {}
        self._touched: dict[str, float] = {}
        self._alive: dict[str, tuple[float, bool]] = {}
        name = f"{self.ns}-index"

        def has_index(dask_scheduler, name=name) -> bool:
            return name in dask_scheduler.extensions["variables"].variables

        if not self.client.run_on_scheduler(has_index):  # (Variable.get of a name never set waits, then logs)
            with self._lock():
                if not self.client.run_on_scheduler(has_index):
                    _var(name, self.client).set({"next": 1, "jobs": []})

    def _lock(self):
        from distributed import Lock

        return Lock(f"{self.ns}-lock", scheduler_rpc=self.client.scheduler, loop=self.client.loop)

    @property
    def owner_ttl_s(self) -> float | None:
        return self._ttl

    @owner_ttl_s.setter
    def owner_ttl_s(self, value: float | None) -> None:
        """The owner TTL, also told to the engine (running jobs' workers read it; the UI sets it on every run)."""
        if value != self._ttl or not self._ttl_set:
            _var(f"{self.ns}-ttl", self.client).set(value)
            self._ttl, self._ttl_set = value, True

    # ------------------------------------------------------------ the index
    def _index(self) -> dict:
        return _get(f"{self.ns}-index", self.client, None) or {"next": 1, "jobs": []}

    @property
    def jobs(self) -> dict[str, Job]:
        """Every job of this namespace on the engine (id -> Job), oldest first."""
        out = {}
        for meta in self._index()["jobs"]:
            job = self._cache.get(meta["id"])
            if job is None:
                job = self._cache[meta["id"]] = Job(self, meta)
            out[job.id] = job
        return out

    def running(self) -> list[Job]:
        return [j for j in self.jobs.values() if j.active]

    def get(self, job_id: str | None) -> Job | None:
        return self.jobs.get(job_id) if job_id else None

    def for_owner(self, owner: str) -> list[Job]:
        return [j for j in self.jobs.values() if j.owner == owner]

    def active_for(self, owner: str) -> Job | None:
        return next((j for j in self.for_owner(owner) if j.active), None)

    def latest_for(self, owner: str, kind: str | None = None) -> Job | None:
        """The owner's most recent job (of this kind): how a reloaded session finds its training again."""
        mine = [j for j in self.for_owner(owner) if kind is None or j.kind == kind]
        return max(mine, key=lambda j: j.created) if mine else None

    # ------------------------------------------------------------ owners
    def touch(self, owner: str) -> None:
        """The owner's session is alive now (sent to the engine at most every 0.1 s per owner)."""
        now = time.time()
        if owner and now - self._touched.get(owner, 0.0) >= 0.1:
            self._touched[owner] = now
            _var(f"{self.ns}-owner-{_owner_key(owner)}", self.client).set(now)

    def owner_alive(self, owner: str) -> bool:
        if self.owner_ttl_s is None or not owner:
            return True
        t, seen = self._alive.get(owner, (0.0, 0.0))
        if time.monotonic() - t > 1.0:  # the owner's last-seen time, asked of the engine at most once a second
            seen = _get(f"{self.ns}-owner-{_owner_key(owner)}", self.client, 0.0)
            self._alive[owner] = (time.monotonic(), seen)
        return time.time() - seen <= self.owner_ttl_s

    def release_abandoned(self) -> list[Job]:
        """Drop the weights of finished jobs whose owner's session is gone; returns the jobs released now."""
        return [j for j in self.jobs.values()
                if j.owner and not j.active and not j.released and not self.owner_alive(j.owner)
                and j.release_models()]

    # ------------------------------------------------------------ submit
    def submit(self, title: str, configs: list[tuple[str, TrainConfig]], images: torch.Tensor | None = None,
               labels: torch.Tensor | None = None, owner: str = "", data_description: str = "",
               test_images: torch.Tensor | None = None, test_labels: torch.Tensor | None = None,
               kind: str = "", data: DataSpec | None = None, live_weights: bool = False) -> Job:
        """Start a job training ``configs`` ([(label, config), ...]) in lockstep on a worker of the engine, on
        ``data`` (loaded by the worker) or the given tensors.  ``live_weights``: publish the weights being
        trained every LIVE_S seconds (the Lab's live views).

        Raises ValueError for a model beyond ``JOB_LIMITS``, :class:`OwnerBusyError` when ``owner`` already has
        an active job and :class:`CapacityError` when every slot is taken."""
        if not configs or len(configs) > JOB_LIMITS["max_models"]:
            raise ValueError(f"a job trains 1 to {JOB_LIMITS['max_models']} models")
        for _, cfg in configs:
            check_job_config(cfg)
        if data is None and images is None:
            raise ValueError("no training data")
        with self._lock():
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
                self._touched.pop(owner, None)
                self.touch(owner)
            index = self._index()
            job_id = f"job{index['next']}"
            n_train = int(data.n or 0) if data is not None else int(images.shape[0])
            meta = {"id": job_id, "title": title, "owner": owner, "kind": kind, "created": time.time(),
                    "members": [(lbl, c.to_dict()) for lbl, c in configs], "n_train": n_train,
                    "data": data_description or (f"{n_train:,} training digits" if n_train else "")}
            prefix = f"{self.ns}-{job_id}"
            spec = {"ns": self.ns, "id": job_id, "prefix": prefix, "members": meta["members"],
                    "data": data if data is not None else (images, labels, test_images, test_labels),
                    "data_description": meta["data"], "max_seconds": self.max_seconds,
                    "owner_key": _owner_key(owner) if owner else "", "owner_ttl_s": self.owner_ttl_s,
                    "live_weights": live_weights}
            _var(f"{prefix}-stop", self.client).set("")
            job = Job(self, meta)
            _var(f"{prefix}-head", self.client).set(job._head)
            try:
                fut = self.client.submit(_run_job, spec, key=f"{prefix}-train", pure=False)
                _var(f"{prefix}-future", self.client).set(fut)
            except Exception as exc:  # noqa: BLE001 - the engine refused: give the slot back
                raise CapacityError(f"the training engine could not start this training ({exc})") from None
            job._future = fut
            self._cache[job_id] = job
            index["jobs"] = [*index["jobs"], meta]
            index["next"] += 1
            index["jobs"] = self._prune(index["jobs"])
            _var(f"{self.ns}-index", self.client).set(index)
            return job

    def _prune(self, metas: list[dict]) -> list[dict]:
        """Forget the oldest finished jobs beyond ``keep`` (their Variables deleted, weights freed)."""
        extra = len(metas) - self.keep
        if extra <= 0:
            return metas
        drop = set()
        for meta in metas:
            if len(drop) >= extra:
                break
            job = self._cache.get(meta["id"]) or Job(self, meta)
            if not job.active:
                drop.add(meta["id"])
                head = job.refresh()
                names = [f"{job.prefix}-{s}" for s in ("head", "stop", "future", "live")]
                names += [f"{job.prefix}-r{i}-{c}" for i, n in enumerate(head["counts"])
                          for c in range((n + CHUNK - 1) // CHUNK)]
                for name in names:
                    _var(name, self.client).delete()
                self._cache.pop(meta["id"], None)
        return [m for m in metas if m["id"] not in drop]


_manager: JobManager | None = None
_mlock = threading.Lock()


def get_manager() -> JobManager:
    """The process-wide manager (one app server = one client of the engine, shared by all its sessions)."""
    global _manager
    with _mlock:
        if _manager is None:
            _manager = JobManager()
        return _manager
