"""Which distributed engine runs the app's trainings: Dask distributed and Ray measured side by side here.

For each engine that imports, embedded on this machine with 2 worker processes as the app starts it, the bench
measures what the job layer (``vae_core.jobs``) needs of it:

* ``start``: from nothing to the first task's result (cluster start included);
* ``idle MB``: resident memory of the engine's own processes (every child of this process), idle after start,
  and ``driver +MB``: what starting it added to this process (Dask's embedded scheduler lives here);
* ``progress ms``: a running task publishes a counter; the driver's read of it (median of 50 reads): how the
  app's curves would come back;
* ``stop ms``: a running task polls a stop flag the driver sets; flag set -> task ended (median of 3);
* ``kill -9 ms``: a running task's worker process is killed with SIGKILL; the driver sees the task fail after.

Ray is not a dependency of the app: install it in a scratch venv to compare (``pip install ray psutil
distributed``) and run this file there; with only one engine importable it measures that one.

    python -m bench.engines            # or: /tmp/rayvenv/bin/python bench/engines.py
"""

from __future__ import annotations

import contextlib
import os
import signal
import statistics
import sys
import time

import psutil


def _rss_children_mb() -> float:
    total = 0
    for c in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.Error):
            total += c.memory_info().rss
    return total / 2**20


def _rss_self_mb() -> float:
    return psutil.Process().memory_info().rss / 2**20


def _median_ms(xs: list[float]) -> float:
    return statistics.median(xs) * 1000


# ------------------------------------------------------------------------------------------------------ Dask
def _dask_loop(prefix: str, n: int) -> int:
    from distributed import Variable, get_client

    client = get_client()
    Variable(f"{prefix}-pid", client=client).set(os.getpid())
    for i in range(n):
        if Variable(f"{prefix}-stop", client=client).get() == "stop":
            return i
        Variable(f"{prefix}-count", client=client).set(i)
        time.sleep(0.02)
    return n


def bench_dask() -> dict:
    import dask
    from distributed import Client, LocalCluster, Variable

    dask.config.set({"distributed.scheduler.allowed-failures": 0})
    base = _rss_self_mb()
    t0 = time.perf_counter()
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                           dashboard_address=None)
    client = Client(cluster)
    assert client.submit(lambda: 1).result() == 1
    out = {"start s": time.perf_counter() - t0}
    time.sleep(2)
    out["idle MB"] = _rss_children_mb()
    out["driver +MB"] = _rss_self_mb() - base

    def var(name):
        return Variable(name, client=client)

    reads, stops, kills = [], [], []
    for r in range(3):
        p = f"b{r}"
        var(f"{p}-stop").set("")
        var(f"{p}-count").set(-1)
        fut = client.submit(_dask_loop, p, 100_000, pure=False)
        while var(f"{p}-count").get() < 0:
            time.sleep(0.01)
        if r == 0:
            for _ in range(50):
                t = time.perf_counter()
                var(f"{p}-count").get()
                reads.append(time.perf_counter() - t)
        t = time.perf_counter()
        var(f"{p}-stop").set("stop")
        fut.result(timeout=30)
        stops.append(time.perf_counter() - t)
    p = "kill"
    var(f"{p}-stop").set("")
    var(f"{p}-count").set(-1)
    fut = client.submit(_dask_loop, p, 100_000, pure=False)
    while var(f"{p}-count").get() < 0:
        time.sleep(0.01)
    pid = var(f"{p}-pid").get()
    t = time.perf_counter()
    os.kill(pid, signal.SIGKILL)
    try:
        fut.result(timeout=60)
    except Exception:  # noqa: BLE001 - the point: it fails, and when
        kills.append(time.perf_counter() - t)
    out.update({"progress ms": _median_ms(reads), "stop ms": _median_ms(stops),
                "kill -9 ms": _median_ms(kills) if kills else float("nan")})
    client.close()
    cluster.close()
    return out


# ------------------------------------------------------------------------------------------------------- Ray
def bench_ray() -> dict:
    import ray

    @ray.remote
    class Board:
        def __init__(self):
            self.v = {"count": -1, "stop": "", "pid": 0}

        def set(self, k, v):
            self.v[k] = v

        def get(self, k):
            return self.v[k]

    @ray.remote(max_retries=0)
    def loop(board, n):
        ray.get(board.set.remote("pid", os.getpid()))
        for i in range(n):
            if ray.get(board.get.remote("stop")) == "stop":
                return i
            ray.get(board.set.remote("count", i))
            time.sleep(0.02)
        return n

    base = _rss_self_mb()
    t0 = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    one = ray.remote(lambda: 1)
    assert ray.get(one.remote()) == 1
    out = {"start s": time.perf_counter() - t0}
    time.sleep(2)
    out["idle MB"] = _rss_children_mb()
    out["driver +MB"] = _rss_self_mb() - base
    reads, stops, kills = [], [], []
    for r in range(3):
        board = Board.remote()
        ref = loop.remote(board, 100_000)
        while ray.get(board.get.remote("count")) < 0:
            time.sleep(0.01)
        if r == 0:
            for _ in range(50):
                t = time.perf_counter()
                ray.get(board.get.remote("count"))
                reads.append(time.perf_counter() - t)
        t = time.perf_counter()
        ray.get(board.set.remote("stop", "stop"))
        ray.get(ref, timeout=30)
        stops.append(time.perf_counter() - t)
    board = Board.remote()
    ref = loop.remote(board, 100_000)
    while ray.get(board.get.remote("count")) < 0:
        time.sleep(0.01)
    pid = ray.get(board.get.remote("pid"))
    t = time.perf_counter()
    os.kill(pid, signal.SIGKILL)
    try:
        ray.get(ref, timeout=60)
    except Exception:  # noqa: BLE001 - the point: it fails, and when
        kills.append(time.perf_counter() - t)
    out.update({"progress ms": _median_ms(reads), "stop ms": _median_ms(stops),
                "kill -9 ms": _median_ms(kills) if kills else float("nan")})
    ray.shutdown()
    return out


def main() -> int:
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    for name, fn in (("dask", bench_dask), ("ray", bench_ray)):
        try:
            __import__("distributed" if name == "dask" else name)
        except ImportError:
            print(f"{name}: not installed, skipped")
            continue
        r = fn()
        print(f"{name}: " + ", ".join(f"{k} {v:,.1f}" for k, v in r.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
