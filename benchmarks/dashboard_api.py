"""Dashboard API latency with many finished tasks, and the memory holding them costs.

    uv run python benchmarks/dashboard_api.py [--tasks 1000000] [--requests 50]

Runs `--tasks` tiny tasks on an embedded cluster (2 CPUs), then times each list endpoint
of the dashboard (p50/p95 over `--requests` calls, keep-alive client, token sent) and
reports the driver's RSS before and after the tasks (the node manager, which holds the
task history, lives in the driver of an embedded cluster). Prints a markdown table.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from typing import Any

import httpx

import ember


def rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


@ember.remote
def noop(i):
    return i


def run_tasks(n: int, batch: int = 20_000) -> float:
    start = time.perf_counter()
    done = 0
    while done < n:
        k = min(batch, n - done)
        ember.get([noop.remote(i) for i in range(k)])
        done += k
        print(f"  {done:,} tasks finished ({done / (time.perf_counter() - start):,.0f}/s)",
              flush=True)
    return time.perf_counter() - start


def timed(client: httpx.Client, path: str, params: dict, n: int) -> tuple[float, float, Any]:
    samples = []
    body = None
    for _ in range(n):
        t = time.perf_counter()
        r = client.get(path, params=params)
        samples.append((time.perf_counter() - t) * 1000)
        assert r.status_code == 200, r.text[:200]
        body = r
    samples.sort()
    p95 = samples[min(len(samples) - 1, int(round(0.95 * (len(samples) - 1))))]
    return statistics.median(samples), p95, body


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tasks", type=int, default=1_000_000)
    p.add_argument("--requests", type=int, default=50)
    a = p.parse_args()
    info = ember.init(num_cpus=2, include_dashboard=True, dashboard_port=0)
    with open(os.path.join(info["session_dir"], "token")) as f:
        token = f.read()
    client = httpx.Client(base_url=info["dashboard_url"], timeout=120,
                          headers={"Authorization": f"Bearer {token}"})
    client.get("/api/version")  # loads the web stack
    before = rss_mib()
    print(f"driver RSS with the dashboard loaded, before tasks: {before:.0f} MiB")
    seconds = run_tasks(a.tasks)
    after = rss_mib()
    print(f"{a.tasks:,} tasks in {seconds:.1f} s; driver RSS {after:.0f} MiB "
          f"(+{after - before:.0f} MiB)")
    first = client.get("/api/v0/tasks", params={"limit": 1}).json()["data"]["result"]
    some_id = first["result"][0]["task_id"]
    total = first["total"]
    cases = [
        ("tasks, first page (limit 100)", "/api/v0/tasks", {"limit": 100}),
        ("tasks, middle page", "/api/v0/tasks", {"limit": 100, "offset": total // 2}),
        ("tasks, name = noop, last page", "/api/v0/tasks",
         {"limit": 100, "offset": max(0, total - 100), "filter_keys": "name",
          "filter_predicates": "=", "filter_values": "noop"}),
        ("tasks, state = FAILED (none)", "/api/v0/tasks",
         {"limit": 100, "filter_keys": "state", "filter_predicates": "=",
          "filter_values": "FAILED"}),
        ("tasks, task_id = one", "/api/v0/tasks",
         {"filter_keys": "task_id", "filter_predicates": "=", "filter_values": some_id}),
        ("tasks summary", "/api/v0/tasks/summarize", {}),
        ("actors", "/api/v0/actors", {"limit": 100}),
        ("nodes", "/api/v0/nodes", {}),
        ("objects", "/api/v0/objects", {"limit": 100}),
        ("/metrics", "/metrics", {}),
    ]
    print(f"\n| endpoint ({total:,} finished tasks held) | p50 (ms) | p95 (ms) |")
    print("|---|---:|---:|")
    for label, path, params in cases:
        p50, p95, _ = timed(client, path, params, a.requests)
        print(f"| {label} | {p50:.1f} | {p95:.1f} |", flush=True)
    print(f"\ndriver RSS at the end: {rss_mib():.0f} MiB")
    client.close()
    ember.shutdown()


if __name__ == "__main__":
    main()
