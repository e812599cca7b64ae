"""ember Serve vs bare uvicorn + FastAPI vs Ray Serve 2.60 on one machine, same app code.

    RAY_PYTHON=/path/to/ray-venv/bin/python uv run python benchmarks/serve_vs_ray.py \
        --n-warm 50 --n-conc 200 --n-batch 500 --timeout 300 --out table.md

(With the larger defaults Ray 2.60's concurrent-handle row can stall on a small machine;
--timeout stops a worker and keeps the rows it finished.)

One FastAPI app (`make_app`: `GET /` answers "ok", `GET /stream` streams 1,000 chunks of
16 bytes, one per event-loop turn) is served three ways, each in a fresh subprocess: by
uvicorn alone (the settings of ember's proxy; one process, and one process per core
sharing the port with SO_REUSEPORT), and as a Serve
deployment (`@serve.ingress(app)`, one replica per core) by ember and by Ray (this file,
run with `--worker ember` by this Python and `--worker ray` by $RAY_PYTHON /
--ray-python). The Serve scenario imports the runtime by name (`rt = __import__(name)`,
`serve = __import__(name + ".serve", fromlist=["serve"])`), calls `rt.init(num_cpus=<cores>)`
and starts Serve's HTTP proxy on 127.0.0.1 on a free port. Rows:

  * HTTP at 1 connection (`wrk -t1 -c1`): latency p50 and p99;
  * HTTP at 16 and 64 connections (`wrk -t2 -cN`): requests/s (after a 2 s warm-up);
  * streaming: wall time of `curl` reading the 1,000-chunk response (median of 20);

  The ember worker also starts the uvicorn anchors and takes these rows for ember and
  the anchors in turn, `--rounds` times (each row: the median over the rounds), so that
  a change in the machine's load hits all three alike; Ray's worker takes them once.
  * handle calls from the driver to a plain no-op deployment: sequential (N awaits one at
    a time) and concurrent (N responses issued, then awaited), calls/s;
  * @serve.batch (max_batch_size=32, batch_wait_timeout_s=0.01, max_ongoing_requests=64)
    with N concurrent calls through a handle, calls/s.

wrk and curl must be on PATH. The result is a markdown table on stdout (and --out).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from _runner import result_of, runtime_env

RUNTIMES = ["ember", "ray"]
LABEL = {"ember": "ember (with the uvicorn anchors)", "ray": "Ray 2.60"}
CHUNK = b"0123456789abcdef"
N_CHUNKS = 1000
CORES = os.cpu_count() or 1


def make_app():
    """The app every runtime serves: a no-op route and a 1,000-chunk stream."""
    import asyncio

    from fastapi import FastAPI
    from fastapi.responses import PlainTextResponse, StreamingResponse

    app = FastAPI()

    @app.get("/")
    async def noop():
        return PlainTextResponse("ok")

    @app.get("/stream")
    async def stream():
        async def chunks():
            for _ in range(N_CHUNKS):
                yield CHUNK
                await asyncio.sleep(0)  # each chunk is produced on its own loop turn

        return StreamingResponse(chunks(), media_type="text/plain")

    return app


# --------------------------------------------------------------------------- worker side

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _to_ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    value, unit = float(m.group(1)), m.group(2)
    return value * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}[unit]


def _wrk(url: str, duration: str, threads: int, conns: int) -> dict:
    out = subprocess.run(["wrk", f"-t{threads}", f"-c{conns}", f"-d{duration}", "--latency", url],
                         capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = _to_ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))
    p99 = _to_ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock_errors = re.search(r"Socket errors: (.*)", out)
    return {"rps": rps, "p50_ms": p50, "p99_ms": p99,
            "non2xx": int(errors.group(1)) if errors else 0,
            "socket_errors": sock_errors.group(1) if sock_errors else ""}


def _wait_ok(url: str, body: bytes, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                got = r.read()
            assert got == body, got[:100]
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _stream_ms(url: str, runs: int = 20) -> float:
    """Median wall time (ms) of curl reading the whole 1,000-chunk response."""
    times = []
    for i in range(runs + 3):
        out = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w",
                              "%{time_total} %{size_download}", url],
                             capture_output=True, text=True, check=True).stdout.split()
        assert int(out[1]) == N_CHUNKS * len(CHUNK), out
        if i >= 3:
            times.append(float(out[0]) * 1e3)
    return statistics.median(times)


def http_rows(base: str, duration: str) -> dict:
    """One round of the HTTP rows against the app served at `base` (no trailing slash)."""
    noop, stream = base + "/", base + "/stream"
    return {"c1": _wrk(noop, duration, 1, 1), "c16": _wrk(noop, duration, 2, 16),
            "c64": _wrk(noop, duration, 2, 64), "stream_ms": _stream_ms(stream)}


def _median_rows(rounds: list[dict]) -> dict:
    out: dict = {"rounds": len(rounds)}
    for key in ("c1", "c16", "c64"):
        out[key] = {m: statistics.median(r[key][m] for r in rounds)
                    for m in ("rps", "p50_ms", "p99_ms")}
        out[key]["non2xx"] = sum(r[key]["non2xx"] for r in rounds)
    out["stream_ms"] = statistics.median(r["stream_ms"] for r in rounds)
    return out


def interleaved(targets: dict[str, str], rounds: int, duration: str, result: dict) -> None:
    """The HTTP rows of every target, taken in turn `rounds` times (so that a change in
    the machine's load hits all alike); each row is the median over the rounds."""
    for base in targets.values():
        _wait_ok(base + "/", b"ok")
        _wait_ok(base + "/stream", CHUNK * N_CHUNKS)
        _wrk(base + "/", "2s", 2, 16)  # warm-up
    got: dict[str, list] = {name: [] for name in targets}
    try:
        for _ in range(rounds):
            for name, base in targets.items():
                got[name].append(http_rows(base, duration))
    except Exception as e:  # noqa: BLE001
        result["http_error"] = repr(e)
    for name, rows in got.items():
        if rows:
            result[name] = _median_rows(rows)


class _Partial(dict):
    """Prints what has been measured so far after every row, so that a worker stopped
    part-way still reports the rows it finished."""

    def __setitem__(self, key, value):
        super().__setitem__(key, value)
        print("PARTIAL " + json.dumps(self), flush=True)


def serve_uvicorn(port: int) -> None:
    """One uvicorn process serving make_app() with ember's proxy settings: a TCP socket
    (so that asyncio sets TCP_NODELAY), SO_REUSEPORT so that several processes share
    the port, httptools, no access log."""
    import asyncio

    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(2048)
    sock.setblocking(False)
    config = uvicorn.Config(make_app(), interface="asgi3", lifespan="off", http="httptools",
                            log_level="warning", access_log=False, log_config=None)
    asyncio.run(uvicorn.Server(config).serve(sockets=[sock]))


def start_uvicorn(workers: int) -> tuple[str, list[subprocess.Popen]]:
    """`workers` uvicorn processes sharing one port (see serve_uvicorn): (url, procs)."""
    port = _free_port()
    procs = [subprocess.Popen([sys.executable, str(Path(__file__).resolve()),
                               "--serve-uvicorn", str(port)]) for _ in range(workers)]
    return f"http://127.0.0.1:{port}", procs


def scenario(name: str, n_seq: int, n_conc: int, n_batch: int, wrk_duration: str,
             n_warm: int = 500, rounds: int = 3) -> dict:
    import asyncio

    rt = __import__(name)
    serve = __import__(name + ".serve", fromlist=["serve"])
    result = _Partial()

    rt.init(num_cpus=CORES)
    port = _free_port()
    serve.start(http_options={"host": "127.0.0.1", "port": port})

    app = make_app()

    @serve.deployment(num_replicas=CORES)
    @serve.ingress(app)
    class Api:
        pass

    @serve.deployment(num_replicas=1)
    class Noop:
        async def __call__(self, *args):
            return "ok"

    @serve.deployment(num_replicas=1, max_ongoing_requests=64)
    class Batched:
        @serve.batch(max_batch_size=32, batch_wait_timeout_s=0.01)
        async def __call__(self, xs):
            return [x + 1 for x in xs]

    serve.run(Api.bind(), name="api", route_prefix="/api")
    targets = {name: f"http://127.0.0.1:{port}/api"}
    procs: list[subprocess.Popen] = []
    if name == "ember":  # the anchors, measured in turn with ember
        for label, workers in (("uvicorn", 1), ("uvicorn-workers", CORES)):
            targets[label], started = start_uvicorn(workers)
            procs += started
    try:
        interleaved(targets, rounds if name == "ember" else 1, wrk_duration, result)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(30)
    serve.delete("api")

    noop = serve.run(Noop.bind(), name="noop", route_prefix="/noop")

    async def handle_rows():
        for _ in range(200):
            await noop.remote()
        t0 = time.perf_counter()
        for _ in range(n_seq):
            await noop.remote()
        result["handle_seq"] = n_seq / (time.perf_counter() - t0)

        await asyncio.gather(*[noop.remote() for _ in range(n_warm)])
        t0 = time.perf_counter()
        responses = [noop.remote() for _ in range(n_conc)]
        for r in responses:
            await r
        result["handle_conc"] = n_conc / (time.perf_counter() - t0)

    try:
        asyncio.run(handle_rows())
    except Exception as e:  # noqa: BLE001
        result["handle_error"] = repr(e)

    batched = serve.run(Batched.bind(), name="batched", route_prefix="/batched")

    async def batch_rows():
        assert await batched.remote(1) == 2
        await asyncio.gather(*[batched.remote(i) for i in range(n_warm)])
        t0 = time.perf_counter()
        responses = [batched.remote(i) for i in range(n_batch)]
        values = [await r for r in responses]
        result["batch"] = n_batch / (time.perf_counter() - t0)
        assert values == [i + 1 for i in range(n_batch)]

    try:
        asyncio.run(batch_rows())
    except Exception as e:  # noqa: BLE001
        result["batch_error"] = repr(e)

    serve.shutdown()
    rt.shutdown()
    return result


# --------------------------------------------------------------------------- driver side

def run_worker(python: str, runtime: str, args) -> dict:
    cmd = [python, str(Path(__file__).resolve()), "--worker", runtime,
           "--n-seq", str(args.n_seq), "--n-conc", str(args.n_conc),
           "--n-batch", str(args.n_batch), "--n-warm", str(args.n_warm),
           "--wrk-duration", args.wrk_duration, "--rounds", str(args.rounds)]
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout,
                              env=runtime_env())
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        proc = subprocess.CompletedProcess(cmd, -9, out, f"timed out after {args.timeout}s")
    res = result_of(proc.stdout)
    if res is not None:
        res["wall_s"] = time.perf_counter() - t0
        return res
    partial = result_of(proc.stdout, "PARTIAL")
    if partial is not None:
        partial["error"] = f"exit {proc.returncode} after the rows shown: {proc.stderr[-500:]}"
        return partial
    return {"error": f"exit {proc.returncode}: {proc.stderr[-2000:]}"}


def fmt(value, spec=",.0f"):
    return "—" if value is None else format(value, spec)


def _get(res, *keys):
    for k in keys:
        if not isinstance(res, dict) or k not in res:
            return None
        res = res[k]
    return res


HTTP_ROWS = [
    ("HTTP no-op, 1 connection: latency p50 (ms)", ("c1", "p50_ms"), ".3f"),
    ("HTTP no-op, 1 connection: latency p99 (ms)", ("c1", "p99_ms"), ".3f"),
    ("HTTP no-op, 16 connections: requests/s", ("c16", "rps"), ",.0f"),
    ("HTTP no-op, 16 connections: latency p99 (ms)", ("c16", "p99_ms"), ".2f"),
    ("HTTP no-op, 64 connections: requests/s", ("c64", "rps"), ",.0f"),
    ("HTTP stream of 1,000 chunks: time (ms)", ("stream_ms",), ".2f"),
]
SERVE_ROWS = [
    ("handle calls/s, sequential (await one at a time)", ("handle_seq",), ",.0f"),
    ("handle calls/s, concurrent (N issued, then awaited)", ("handle_conc",), ",.0f"),
    ("@serve.batch calls/s (max_batch_size=32, 10 ms wait)", ("batch",), ",.0f"),
]


def table(results: dict) -> str:
    ember, ray = results.get("ember", {}), results.get("ray", {})
    u, w = ember.get("uvicorn", {}), ember.get("uvicorn-workers", {})
    e, r = ember.get("ember", {}), ray.get("ray", {})
    lines = ["| row | uvicorn (1 process) | uvicorn "
             f"({CORES} processes) | ember | Ray 2.60 | ember / uvicorn (1 process) | ember / Ray |",
             "|---|---:|---:|---:|---:|---:|---:|"]

    def ratio(a, b):
        return f"{a / b:.2f}×" if a is not None and b else "—"

    for label, keys, spec in HTTP_ROWS:
        uv, wv, ev, rv = (_get(x, *keys) for x in (u, w, e, r))
        lines.append(f"| {label} | {fmt(uv, spec)} | {fmt(wv, spec)} | {fmt(ev, spec)} | "
                     f"{fmt(rv, spec)} | {ratio(ev, uv)} | {ratio(ev, rv)} |")
    for label, keys, spec in SERVE_ROWS:
        ev, rv = _get(ember, *keys), _get(ray, *keys)
        lines.append(f"| {label} | | | {fmt(ev, spec)} | {fmt(rv, spec)} | | {ratio(ev, rv)} |")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--worker", choices=RUNTIMES)
    p.add_argument("--serve-uvicorn", type=int, help=argparse.SUPPRESS)
    p.add_argument("--ray-python", default=os.environ.get("RAY_PYTHON"))
    p.add_argument("--n-seq", type=int, default=2000)
    p.add_argument("--n-conc", type=int, default=5000)
    p.add_argument("--n-batch", type=int, default=5000)
    p.add_argument("--n-warm", type=int, default=500, help="concurrent warm-up calls")
    p.add_argument("--wrk-duration", default="3s")
    p.add_argument("--rounds", type=int, default=3,
                   help="rounds of the HTTP rows, ember and uvicorn in turn (medians)")
    p.add_argument("--timeout", type=float, default=600)
    p.add_argument("--only", choices=RUNTIMES, action="append")
    p.add_argument("--out")
    p.add_argument("--json")
    args = p.parse_args()

    if args.serve_uvicorn:
        serve_uvicorn(args.serve_uvicorn)
        return
    if args.worker:
        res = scenario(args.worker, args.n_seq, args.n_conc, args.n_batch, args.wrk_duration,
                       args.n_warm, args.rounds)
        print("RESULT " + json.dumps(res), flush=True)
        return

    pythons = {"ember": sys.executable, "ray": args.ray_python}
    results = {}
    for runtime in RUNTIMES:
        if args.only and runtime not in args.only:
            continue
        if not pythons[runtime]:
            results[runtime] = {"error": "no Ray python: set RAY_PYTHON or --ray-python"}
            continue
        results[runtime] = run_worker(pythons[runtime], runtime, args)
        print(f"{LABEL[runtime]}: {json.dumps(results[runtime])}", file=sys.stderr, flush=True)
    text = table(results)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
