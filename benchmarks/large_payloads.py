"""Large payloads against the memcpy floor: a task taking a 100 MB and a 1 GB `bytes`
argument, and a 100 MB HTTP body through Serve, each compared with a plain copy of the
same size made in the same run; plus how long small requests to the same replica wait
while large uploads go on.

    uv run python benchmarks/large_payloads.py [--out table.md]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
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


_UPLOADER = """
import sys, httpx
url, size = sys.argv[1], int(sys.argv[2])
body = bytes(size)
with httpx.Client(timeout=120) as c:
    for _ in range(5):
        assert c.post(url, content=body).json() == size
"""


def curl_post_s(url: str, size: int) -> float:
    """Best of 3: one POST of `size` bytes by curl (a client that costs little itself)."""
    with tempfile.NamedTemporaryFile() as f:
        f.write(bytes(size))
        f.flush()
        cmd = ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--data-binary",
               f"@{f.name}", "-H", "Content-Type: application/octet-stream", url]

        def post() -> None:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
            assert out.stdout == "200", out.stdout + out.stderr

        post()
        return best_of(3, post)


_BARE = """
import asyncio, socket, sys, uvicorn
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    chunks = []
    while True:
        m = await receive()
        chunks.append(m.get("body", b""))
        if not m.get("more_body"):
            break
    body = str(len(b"".join(chunks))).encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
sock.bind(("127.0.0.1", 0))
print(sock.getsockname()[1], flush=True)
uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off")).run(sockets=[sock])
"""


def bare_uvicorn_s(size: int) -> float:
    """The same POST to a bare uvicorn app that only reads the body: the HTTP floor."""
    proc = subprocess.Popen([sys.executable, "-c", _BARE], stdout=subprocess.PIPE, text=True)
    try:
        port = int(proc.stdout.readline())
        url = f"http://127.0.0.1:{port}/"
        for _ in range(100):
            try:
                httpx.get(url)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        return curl_post_s(url, size)
    finally:
        proc.terminate()
        proc.wait()


def serve_rows(size: int) -> tuple[float, float, float]:
    """(seconds per large POST, p50 and max seconds of small requests meanwhile)."""
    serve.start(http_options={"host": "127.0.0.1", "port": 0,
                              "max_request_body_bytes": 2 * size})
    serve.run(body_length.bind(), name="b", route_prefix="/b")
    from ember.serve._client import get_controller

    url = ember.get(get_controller().get_status.remote())["proxy_address"] + "/b"
    per_post = curl_post_s(url, size)
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
    # The uploads come from another process, so that the client's own work does not
    # delay the small requests being timed.
    subprocess.run([sys.executable, "-c", _UPLOADER, url, str(size)], check=True,
                   timeout=300)
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
    ember.shutdown()
    bare = bare_uvicorn_s(100 * MB)
    lines = ["| row | ember (s) | memcpy (s) | ratio |", "|---|---:|---:|---:|"]
    for name, t, m in rows:
        lines.append(f"| {name} | {t:.3f} | {m:.3f} | {t / m:.1f}× |")
    m = memcpy_s(100 * MB)
    lines.append(f"| Serve: 100 MB HTTP body (curl) | {post:.3f} | {m:.3f} | {post / m:.1f}× |")
    lines.append(f"| bare uvicorn: the same POST | {bare:.3f} | {m:.3f} | {bare / m:.1f}× |")
    lines.append("")
    lines.append(f"Serve / bare uvicorn for the 100 MB body: {post / bare:.2f}×.")
    lines.append(f"Small requests to the same replica: p50 {quiet_p50 * 1e3:.1f} ms when idle, "
                 f"slowest {worst * 1e3:.1f} ms while 100 MB uploads go on.")
    emit("\n".join(lines), a.out)


if __name__ == "__main__":
    main()
