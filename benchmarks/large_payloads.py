"""Large payloads against the memcpy floor: a task taking a 100 MB and a 1 GB `bytes`
argument, and a 100 MB HTTP body through Serve, each compared with a plain copy of the
same size made in the same run; plus how long small requests to the same replica wait
while large uploads go on.

    uv run python benchmarks/large_payloads.py [--out table.md]
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time

import httpx
import numpy as np
from _runner import emit

import ember
from ember import serve

MB = 1_000_000


def best_of(n: int, fn) -> float:
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def memcpy_s(size: int) -> float:
    src = np.ones(size, dtype=np.uint8)
    return best_of(3, lambda: np.copy(src))


@ember.remote
def length(x: bytes) -> int:
    return len(x)


def task_s(size: int) -> float:
    b = bytes(size)

    def run() -> None:
        assert ember.get(length.remote(b)) == size

    run()
    return best_of(3, run)


@serve.deployment(ray_actor_options={"num_cpus": 0}, max_ongoing_requests=100)
async def body_length(request) -> int:
    return len(await request.body())


def serve_rows(size: int) -> tuple[float, float, float]:
    """(seconds per large POST, p50 and max seconds of small requests meanwhile)."""
    serve.start(http_options={"host": "127.0.0.1", "port": 0,
                              "max_request_body_bytes": 2 * size})
    serve.run(body_length.bind(), name="b", route_prefix="/b")
    from ember.serve._client import get_controller

    url = ember.get(get_controller().get_status.remote())["proxy_address"] + "/b"
    body = bytes(size)
    with httpx.Client(timeout=120) as c:
        c.post(url, content=body)

        def post() -> None:
            assert c.post(url, content=body).json() == size

        per_post = best_of(3, post)
    done = threading.Event()
    lat: list[float] = []

    def small() -> None:
        with httpx.Client(timeout=60) as c:
            while not done.is_set():
                t = time.perf_counter()
                c.post(url, content=b"x")
                lat.append(time.perf_counter() - t)

    with httpx.Client(timeout=120) as c:
        quiet = []
        for _ in range(50):
            t = time.perf_counter()
            c.post(url, content=b"x")
            quiet.append(time.perf_counter() - t)
        th = threading.Thread(target=small)
        th.start()
        for _ in range(5):
            c.post(url, content=body)
        done.set()
        th.join()
    serve.shutdown()
    return per_post, statistics.median(quiet), max(lat)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--out")
    a = p.parse_args()
    ember.init(num_cpus=2, object_store_memory=3 * 1024**3)
    rows = []
    for size, label in ((100 * MB, "100 MB"), (1000 * MB, "1 GB")):
        m, t = memcpy_s(size), task_s(size)
        rows.append((f"task with a {label} bytes argument", t, m))
    post, quiet_p50, worst = serve_rows(100 * MB)
    rows.append(("Serve: 100 MB HTTP body", post, memcpy_s(100 * MB)))
    ember.shutdown()
    lines = ["| row | ember (s) | memcpy (s) | ratio |", "|---|---:|---:|---:|"]
    for name, t, m in rows:
        lines.append(f"| {name} | {t:.3f} | {m:.3f} | {t / m:.1f}× |")
    lines.append("")
    lines.append(f"Small requests to the same replica: p50 {quiet_p50 * 1e3:.1f} ms when idle, "
                 f"slowest {worst * 1e3:.1f} ms while 100 MB uploads go on.")
    emit("\n".join(lines), a.out)


if __name__ == "__main__":
    main()
