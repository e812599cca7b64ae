"""How long a submitted job takes from submit to its end, with and without entrypoint
resources, and how soon the WebSocket log tail delivers a job's first line.

    uv run python benchmarks/job_start.py [--runs 7]

An embedded cluster with 2 CPUs and its dashboard; each job is `echo hi`. A job with
`entrypoint_num_cpus` runs under a supervisor actor (an extra attached driver), so the
difference between the two rows is what holding the resources costs. ember only: Ray's
every job starts a supervisor actor, so it has no row without one.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from typing import Any

import ember
from ember.job_submission import JobSubmissionClient


def submit_to_end(client: JobSubmissionClient, **resources: Any) -> float:
    start = time.perf_counter()
    sid = client.submit_job(entrypoint="echo hi", **resources)
    while not client.get_job_status(sid).is_terminal():
        time.sleep(0.01)
    return time.perf_counter() - start


async def first_tail_message(client: JobSubmissionClient) -> float:
    sid = client.submit_job(entrypoint="echo hi; sleep 0.3")
    start = time.perf_counter()
    async for _ in client.tail_job_logs(sid):
        return time.perf_counter() - start
    raise RuntimeError("the tail ended without a message")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    info = ember.init(num_cpus=2, include_dashboard=True, dashboard_port=0)
    client = JobSubmissionClient(info["dashboard_url"])
    try:
        for label, resources in (("no entrypoint resources", {}),
                                 ("entrypoint_num_cpus=2", {"entrypoint_num_cpus": 2})):
            times = [submit_to_end(client, **resources) for _ in range(args.runs)]
            print(f"{label:24} submit to SUCCEEDED: median {statistics.median(times) * 1e3:.0f} "
                  f"ms (min {min(times) * 1e3:.0f}, max {max(times) * 1e3:.0f})")
        firsts = [asyncio.run(first_tail_message(client)) for _ in range(args.runs)]
        print(f"{'websocket log tail':24} first line after submit: median "
              f"{statistics.median(firsts) * 1e3:.0f} ms")
    finally:
        client.close()
        ember.shutdown()


if __name__ == "__main__":
    main()
