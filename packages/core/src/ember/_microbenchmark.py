"""`ember microbenchmark`: the core microbenchmarks, with the row names of `ray microbenchmark`.

This file is self-contained on purpose: it uses only the runtime module handed to it
(`rt`, which is `ember` or `ray`) through the Ray-compatible public API, numpy and the
standard library. The same file can therefore be loaded by path under a Python that has
Ray installed and measure Ray with identical code:

    python -c "import importlib.util, sys; s = importlib.util.spec_from_file_location(
        'mb', '<path>/_microbenchmark.py'); m = importlib.util.module_from_spec(s);
        s.loader.exec_module(m); sys.exit(m.main(sys.argv[1:]))" --runtime ray

The workloads follow Ray's `ray_perf.py`; some sizes are scaled down (see SIZES) so that
a full run takes a few minutes on a small machine. Both runtimes use the same sizes.
Every remote function and actor class is defined inside `_define`, so it is pickled by
value and workers never need to import this file.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

import numpy as np

# Ray's sizes in comments; the scaled size is used by both runtimes.
SIZES = {
    # single_client_put_gigabytes: one int64 array (Ray: 100 Mi elements = 800 MiB)
    "put_large_elems": 100 * 1024 * 1024 // 8,  # 100 MiB
    # multi_client_put_gigabytes: 10 tasks x 10 puts (Ray: 10 Mi elements = 80 MiB each)
    "put_multi_elems": 10 * 1024 * 1024 // 8,  # 10 MiB
    # multi_client_tasks_async: m actors each submit n tasks (Ray: n=10000)
    "multi_task_n": 1000,
    # 1_n / n_n actor and async-actor rows: calls per client (Ray: 5000)
    "actor_n": 1000,
    # n_n_actor_calls_with_arg_async: calls per client (Ray: 1000)
    "actor_arg_n": 1000,
    # placement_group_create/removal: groups per call (Ray: 100)
    "num_pgs": 100,
}

ROWS = [
    "single_client_get_calls_Plasma_Store",
    "single_client_put_calls_Plasma_Store",
    "multi_client_put_calls_Plasma_Store",
    "single_client_put_gigabytes",
    "single_client_tasks_and_get_batch",
    "multi_client_put_gigabytes",
    "single_client_get_object_containing_10k_refs",
    "single_client_wait_1k_refs",
    "single_client_tasks_sync",
    "single_client_tasks_async",
    "multi_client_tasks_async",
    "1_1_actor_calls_sync",
    "1_1_actor_calls_async",
    "1_1_actor_calls_concurrent",
    "1_n_actor_calls_async",
    "n_n_actor_calls_async",
    "n_n_actor_calls_with_arg_async",
    "1_1_async_actor_calls_sync",
    "1_1_async_actor_calls_async",
    "1_1_async_actor_calls_with_args_async",
    "1_n_async_actor_calls_async",
    "n_n_async_actor_calls_async",
    "placement_group_create/removal",
]


def timeit(name: str, fn: Callable[[], Any], multiplier: float = 1.0,
           duration: float = 2.0, trials: int = 4) -> tuple[float, float]:
    """Ray's timeit, scaled to `duration` seconds: a warm-up, then `trials` timed trials.

    The warm-up runs `fn` at least once and for at least a quarter of `duration` (at most
    1 s). Each trial repeats `fn` in steps for duration/trials seconds and records
    multiplier * calls / elapsed. Prints and returns (mean, std) of the trials.
    """
    warmup = min(1.0, max(0.05, duration / 4))
    start = time.perf_counter()
    count = 0
    while True:
        fn()
        count += 1
        if time.perf_counter() - start >= warmup:
            break
    per_call = (time.perf_counter() - start) / count
    trial_len = duration / trials
    step = max(1, int(trial_len / max(per_call, 1e-9) / 20))
    stats = []
    for _ in range(trials):
        start = time.perf_counter()
        count = 0
        while time.perf_counter() - start < trial_len:
            for _ in range(step):
                fn()
            count += step
        end = time.perf_counter()
        stats.append(multiplier * count / (end - start))
    mean = float(np.mean(stats))
    sd = float(np.std(stats))
    print(name, "per second", round(mean, 2), "+-", round(sd, 2), flush=True)
    return mean, sd


def _define(rt: Any) -> dict[str, Any]:
    """The remote functions and actor classes of ray_perf.py, bound to runtime `rt`."""

    @rt.remote
    def small_value():
        return b"ok"

    @rt.remote(num_cpus=0)
    class Actor:
        def small_value(self):
            return b"ok"

        def small_value_arg(self, x):
            return b"ok"

        def small_value_batch(self, n):
            rt.get([small_value.remote() for _ in range(n)])

    @rt.remote
    class AsyncActor:
        async def small_value(self):
            return b"ok"

        async def small_value_with_arg(self, x):
            return b"ok"

        async def small_value_batch(self, n):
            await asyncio.wait([small_value.remote() for _ in range(n)])

    @rt.remote(num_cpus=0)
    class Client:
        def __init__(self, servers):
            if not isinstance(servers, list):
                servers = [servers]
            self.servers = servers

        def small_value_batch(self, n):
            results = []
            for s in self.servers:
                results.extend([s.small_value.remote() for _ in range(n)])
            rt.get(results)

        def small_value_batch_arg(self, n):
            x = rt.put(0)
            results = []
            for s in self.servers:
                results.extend([s.small_value_arg.remote(x) for _ in range(n)])
            rt.get(results)

    @rt.remote
    def create_object_containing_ref():
        obj_refs = []
        for _ in range(10000):
            obj_refs.append(rt.put(1))
        return obj_refs

    @rt.remote
    def do_put_small():
        for _ in range(100):
            rt.put(0)

    put_multi_elems = SIZES["put_multi_elems"]

    @rt.remote
    def do_put():
        for _ in range(10):
            rt.put(np.zeros(put_multi_elems, dtype=np.int64))

    @rt.remote
    def work(actors, n):
        k = len(actors)
        rt.get([actors[i % k].small_value.remote() for i in range(n)])

    return {"small_value": small_value, "Actor": Actor, "AsyncActor": AsyncActor,
            "Client": Client, "create_object_containing_ref": create_object_containing_ref,
            "do_put_small": do_put_small, "do_put": do_put, "work": work}


def _n_cpu() -> int:
    # ray_perf.py: multiprocessing.cpu_count() // 2
    return max(1, (os.cpu_count() or 1) // 2)


def _setup(name: str, rt: Any, d: dict[str, Any]) -> tuple[Callable[[], Any], float]:
    """Build the timed function of row `name`; returns (fn, multiplier)."""
    small_value = d["small_value"]
    Actor, AsyncActor, Client = d["Actor"], d["AsyncActor"], d["Client"]

    if name == "single_client_get_calls_Plasma_Store":
        value = rt.put(0)
        return (lambda: rt.get(value)), 1
    if name == "single_client_put_calls_Plasma_Store":
        return (lambda: rt.put(0)), 1
    if name == "multi_client_put_calls_Plasma_Store":
        do_put_small = d["do_put_small"]
        return (lambda: rt.get([do_put_small.remote() for _ in range(10)])), 1000
    if name == "single_client_put_gigabytes":
        arr = np.zeros(SIZES["put_large_elems"], dtype=np.int64)
        return (lambda: rt.put(arr)), arr.nbytes / 1e9
    if name == "single_client_tasks_and_get_batch":
        def small_value_batch():
            submitted = [small_value.remote() for _ in range(1000)]
            rt.get(submitted)
            return 0
        return small_value_batch, 1
    if name == "multi_client_put_gigabytes":
        do_put = d["do_put"]
        gb = 10 * 10 * SIZES["put_multi_elems"] * 8 / 1e9
        return (lambda: rt.get([do_put.remote() for _ in range(10)])), gb
    if name == "single_client_get_object_containing_10k_refs":
        obj_containing_ref = d["create_object_containing_ref"].remote()
        return (lambda: rt.get(obj_containing_ref)), 1
    if name == "single_client_wait_1k_refs":
        def wait_multiple_refs():
            num_objs = 1000
            not_ready = [small_value.remote() for _ in range(num_objs)]
            fetch_local = True
            for _ in range(num_objs):
                _ready, not_ready = rt.wait(not_ready, fetch_local=fetch_local)
                if fetch_local:
                    fetch_local = False
        return wait_multiple_refs, 1
    if name == "single_client_tasks_sync":
        return (lambda: rt.get(small_value.remote())), 1
    if name == "single_client_tasks_async":
        return (lambda: rt.get([small_value.remote() for _ in range(1000)])), 1000
    if name == "multi_client_tasks_async":
        n, m = SIZES["multi_task_n"], 4
        actors = [Actor.remote() for _ in range(m)]
        return (lambda: rt.get([a.small_value_batch.remote(n) for a in actors])), n * m
    if name == "1_1_actor_calls_sync":
        a = Actor.remote()
        return (lambda: rt.get(a.small_value.remote())), 1
    if name == "1_1_actor_calls_async":
        a = Actor.remote()
        return (lambda: rt.get([a.small_value.remote() for _ in range(1000)])), 1000
    if name == "1_1_actor_calls_concurrent":
        a = Actor.options(max_concurrency=16).remote()
        return (lambda: rt.get([a.small_value.remote() for _ in range(1000)])), 1000
    if name == "1_n_actor_calls_async":
        n = SIZES["actor_n"]
        actors = [Actor.remote() for _ in range(_n_cpu())]
        client = Client.remote(actors)
        return (lambda: rt.get(client.small_value_batch.remote(n))), n * len(actors)
    if name == "n_n_actor_calls_async":
        n, m = SIZES["actor_n"], 4
        a = [Actor.remote() for _ in range(_n_cpu())]
        work = d["work"]
        return (lambda: rt.get([work.remote(a, n) for _ in range(m)])), m * n
    if name == "n_n_actor_calls_with_arg_async":
        n = SIZES["actor_arg_n"]
        actors = [Actor.remote() for _ in range(_n_cpu())]
        clients = [Client.remote(a) for a in actors]
        return (lambda: rt.get([c.small_value_batch_arg.remote(n) for c in clients])), \
            n * len(clients)
    if name == "1_1_async_actor_calls_sync":
        a = AsyncActor.remote()
        return (lambda: rt.get(a.small_value.remote())), 1
    if name == "1_1_async_actor_calls_async":
        a = AsyncActor.remote()
        return (lambda: rt.get([a.small_value.remote() for _ in range(1000)])), 1000
    if name == "1_1_async_actor_calls_with_args_async":
        a = AsyncActor.remote()
        return (lambda: rt.get([a.small_value_with_arg.remote(i) for i in range(1000)])), 1000
    if name == "1_n_async_actor_calls_async":
        n = SIZES["actor_n"]
        actors = [AsyncActor.remote() for _ in range(_n_cpu())]
        client = Client.remote(actors)
        return (lambda: rt.get(client.small_value_batch.remote(n))), n * len(actors)
    if name == "n_n_async_actor_calls_async":
        n, m = SIZES["actor_n"], 4
        a = [AsyncActor.remote() for _ in range(_n_cpu())]
        work = d["work"]
        return (lambda: rt.get([work.remote(a, n) for _ in range(m)])), m * n
    if name == "placement_group_create/removal":
        num_pgs = SIZES["num_pgs"]

        def placement_group_create_removal():
            pgs = [rt.util.placement_group(bundles=[{"custom": 0.001}]) for _ in range(num_pgs)]
            [pg.wait(timeout_seconds=30) for pg in pgs]
            for pg in pgs:
                rt.util.remove_placement_group(pg)
        return placement_group_create_removal, num_pgs
    raise KeyError(f"unknown row {name!r}")


def select(filter: str = "", rows: list[str] | None = None) -> list[str]:
    """Rows to run: exact `rows` if given, else those containing any comma-separated term
    of `filter` (all rows when it is empty), in Ray's order."""
    if rows:
        unknown = [r for r in rows if r not in ROWS]
        if unknown:
            raise ValueError(f"unknown rows: {unknown}")
        return [r for r in ROWS if r in rows]
    terms = [t.strip() for t in filter.split(",") if t.strip()]
    return [r for r in ROWS if not terms or any(t in r for t in terms)]


def benchmark(rt: Any, names: list[str], duration: float = 2.0,
              json_path: str | None = None, num_cpus: int | None = None) -> dict[str, dict]:
    """Start `rt`, run rows `names` (errors are printed and recorded), shut down."""
    results: dict[str, dict] = {}
    if not names:
        return results

    def save() -> None:
        if json_path:
            tmp = json_path + ".tmp"
            with open(tmp, "w") as f:
                json.dump(results, f, indent=1)
            os.replace(tmp, json_path)

    # ray_perf.py starts a second cluster with resources={"custom": 100} for the placement
    # group row; one cluster with that resource serves every row here.
    rt.init(num_cpus=num_cpus, resources={"custom": 100})
    try:
        d = _define(rt)
        for name in names:
            fn = None
            try:
                fn, mult = _setup(name, rt, d)
                mean, sd = timeit(name, fn, mult, duration)
                results[name] = {"mean": mean, "std": sd}
            except Exception as e:  # noqa: BLE001 - one failing row must not stop the rest
                msg = f"{type(e).__name__}: {e}".strip().splitlines()[0][:300]
                print(f"{name} ERROR {msg}", flush=True)
                traceback.print_exc(file=sys.stderr)
                results[name] = {"error": msg}
            del fn
            gc.collect()
            save()
    finally:
        rt.shutdown()
    return results


def run(filter: str = "", duration: float = 2.0, json_path: str | None = None) -> int:
    """Entry point of `ember microbenchmark`."""
    import ember

    names = select(filter)
    if not names:
        print(f"no row matches {filter!r}; rows: {', '.join(ROWS)}", file=sys.stderr)
        return 2
    results = benchmark(ember, names, duration, json_path)
    return 1 if any("error" in r for r in results.values()) else 0


def main(argv: list[str] | None = None) -> int:
    """Script entry point, for running this file under either runtime."""
    p = argparse.ArgumentParser(description=(__doc__ or "").partition("\n")[0])
    p.add_argument("--runtime", choices=["ember", "ray"], default="ember")
    p.add_argument("--filter", default="", help="rows containing any of these (comma-separated)")
    p.add_argument("--rows", default="", help="exact row names (comma-separated)")
    p.add_argument("--duration", type=float, default=2.0, help="seconds per row")
    p.add_argument("--num-cpus", type=int, default=None)
    p.add_argument("--json", default=None, help="also write results to this JSON file")
    args = p.parse_args(argv)
    import importlib

    rt = importlib.import_module(args.runtime)
    importlib.import_module(f"{args.runtime}.util")
    rows = [r for r in args.rows.split(",") if r] or None
    names = select(args.filter, rows)
    if not names:
        print(f"no row matches; rows: {', '.join(ROWS)}", file=sys.stderr)
        return 2
    results = benchmark(rt, names, args.duration, args.json, args.num_cpus)
    return 1 if any("error" in r for r in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
