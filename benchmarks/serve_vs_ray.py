"""ember Serve vs Ray Serve 2.60 on one machine, with identical scenario code.

    RAY_PYTHON=/path/to/ray-venv/bin/python uv run python benchmarks/serve_vs_ray.py \
        --n-warm 50 --n-conc 200 --n-batch 500 --timeout 240 --out table.md

(With the larger defaults Ray 2.60's concurrent-handle row can stall on a small machine;
--timeout stops a worker and keeps the rows it finished.)

The same scenario function runs under each runtime in a fresh subprocess (this file, run
with `--worker ember` by this Python and `--worker ray` by $RAY_PYTHON / --ray-python).
The scenario imports the runtime by name (`rt = __import__(name)`, `serve =
__import__(name + ".serve", fromlist=["serve"])`), calls `rt.init(num_cpus=2)` and starts
Serve's HTTP proxy on 127.0.0.1 on a free port. Rows:

  * HTTP: a no-op deployment (1 replica, default options) loaded with
    `wrk -t2 -c16 -d10s --latency` on 127.0.0.1 (after a 2 s warm-up run): requests/s,
    latency p50 and p99;
  * handle calls from the driver: sequential (N awaits one at a time) and concurrent
    (N responses issued, then awaited), calls/s;
  * @serve.batch (max_batch_size=32, batch_wait_timeout_s=0.01, max_ongoing_requests=64)
    with N concurrent calls through a handle, calls/s.

wrk must be on PATH. The result is a markdown table on stdout (and --out).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

from _runner import result_of, runtime_env

LABEL = {"ember": "ember", "ray": "Ray 2.60"}


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


class _Partial(dict):
    """Prints what has been measured so far after every row, so that a worker stopped
    part-way still reports the rows it finished."""

    def __setitem__(self, key, value):
        super().__setitem__(key, value)
        print("PARTIAL " + json.dumps(self), flush=True)


def scenario(name: str, n_seq: int, n_conc: int, n_batch: int, wrk_duration: str,
             n_warm: int = 500) -> dict:
    import asyncio
    import urllib.request

    rt = __import__(name)
    serve = __import__(name + ".serve", fromlist=["serve"])
    result = _Partial()

    rt.init(num_cpus=2)
    port = _free_port()
    serve.start(http_options={"host": "127.0.0.1", "port": port})

    @serve.deployment(num_replicas=1)
    class Noop:
        async def __call__(self, *args):
            return "ok"

    @serve.deployment(num_replicas=1, max_ongoing_requests=64)
    class Batched:
        @serve.batch(max_batch_size=32, batch_wait_timeout_s=0.01)
        async def __call__(self, xs):
            return [x + 1 for x in xs]

    noop = serve.run(Noop.bind(), name="noop", route_prefix="/noop")
    url = f"http://127.0.0.1:{port}/noop"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                assert r.read() == b"ok"
            break
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)

    # HTTP through the proxy
    try:
        _wrk(url, "2s", 2, 16)  # warm-up
        result["http"] = _wrk(url, wrk_duration, 2, 16)
    except Exception as e:  # noqa: BLE001
        result["http_error"] = repr(e)

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
           "--wrk-duration", args.wrk_duration]
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


def table(results: dict) -> str:
    e, r = results.get("ember", {}), results.get("ray", {})

    def get(res, *keys):
        for k in keys:
            if not isinstance(res, dict) or k not in res:
                return None
            res = res[k]
        return res

    rows = [
        ("HTTP no-op, wrk -t2 -c16: requests/s", ("http", "rps"), ",.0f", True),
        ("HTTP no-op: latency p50 (ms)", ("http", "p50_ms"), ".2f", False),
        ("HTTP no-op: latency p99 (ms)", ("http", "p99_ms"), ".2f", False),
        ("handle calls/s, sequential (await one at a time)", ("handle_seq",), ",.0f", True),
        ("handle calls/s, concurrent (N issued, then awaited)", ("handle_conc",), ",.0f", True),
        ("@serve.batch calls/s (max_batch_size=32, 10 ms wait)", ("batch",), ",.0f", True),
    ]
    lines = ["| row | ember | Ray 2.60 | ember / Ray |", "|---|---:|---:|---:|"]
    for label, keys, spec, _higher in rows:
        ev, rv = get(e, *keys), get(r, *keys)
        ratio = f"{ev / rv:.2f}×" if ev is not None and rv else "—"
        lines.append(f"| {label} | {fmt(ev, spec)} | {fmt(rv, spec)} | {ratio} |")
    es, rs = get(e, "handle_seq"), get(r, "handle_seq")
    lines.append(f"| per-call time, sequential handle calls (ms) | {fmt(es and 1e3 / es, '.3f')} | "
                 f"{fmt(rs and 1e3 / rs, '.3f')} | "
                 f"{f'{rs / es:.2f}×' if es and rs else '—'} |")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--worker", choices=["ember", "ray"])
    p.add_argument("--ray-python", default=os.environ.get("RAY_PYTHON"))
    p.add_argument("--n-seq", type=int, default=2000)
    p.add_argument("--n-conc", type=int, default=5000)
    p.add_argument("--n-batch", type=int, default=5000)
    p.add_argument("--n-warm", type=int, default=500, help="concurrent warm-up calls")
    p.add_argument("--wrk-duration", default="10s")
    p.add_argument("--timeout", type=float, default=600)
    p.add_argument("--only", choices=["ember", "ray"])
    p.add_argument("--out")
    p.add_argument("--json")
    args = p.parse_args()

    if args.worker:
        res = scenario(args.worker, args.n_seq, args.n_conc, args.n_batch, args.wrk_duration,
                       args.n_warm)
        print("RESULT " + json.dumps(res), flush=True)
        return

    pythons = {"ember": sys.executable, "ray": args.ray_python}
    results = {}
    for runtime in ["ember", "ray"]:
        if args.only and runtime != args.only:
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
