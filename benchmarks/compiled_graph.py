"""Compiled graphs: ember vs Ray 2.60 vs the IPC floor, in one invocation.

    RAY_PYTHON=/path/to/ray-venv/bin/python uv run python benchmarks/compiled_graph.py \
        --n 3000

The same scenario file (this one, `--scenario RUNTIME`) runs under ember (this Python,
`import ember as ray`) and under Ray (the Python given by --ray-python or $RAY_PYTHON),
each in a fresh process with num_cpus=2 (Ray's compiled-graph get timeout raised to 60 s
so that a slow first execution is not reported as a failure). It measures, for a chain
of two actors (`b.echo.bind(a.echo.bind(inp))`), the round trip
`ray.get(compiled.execute(i))` (p50 and p90 over --n runs after a warm-up), the same chain
through ordinary calls, `ray.get(b.echo.remote(a.echo.remote(i)))`, and the compiled
chain with ten executions in flight (`ray.get([compiled.execute(i) for i in range(10)])`,
time per execution). The floor row is the same three hops (driver → process 1 →
process 2 → driver) with no runtime at all: pickled ints over pipes between forked
processes. A runtime that fails a row reports the error instead.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import signal
import statistics
import sys
import time

from _runner import run_scenario, runtime_env


def _percentiles(samples: list[float]) -> dict:
    samples = sorted(samples)
    return {"p50_us": round(statistics.median(samples) * 1e6, 1),
            "p90_us": round(samples[int(len(samples) * 0.9)] * 1e6, 1)}


def _timed(fn: object, n: int) -> dict:
    for i in range(min(200, n)):
        fn(i)  # type: ignore[operator]
    out = []
    for i in range(n):
        t = time.perf_counter()
        fn(i)  # type: ignore[operator]
        out.append(time.perf_counter() - t)
    return _percentiles(out)


def floor(n: int) -> dict:
    """Three hops over pipes between forked processes, pickled ints: the IPC floor."""
    r1, w1 = os.pipe()
    r2, w2 = os.pipe()
    r3, w3 = os.pipe()
    kids = []
    for src, dst in ((r1, w2), (r2, w3)):
        pid = os.fork()
        if pid == 0:
            while True:
                data = os.read(src, 65536)
                if not data:
                    os._exit(0)
                os.write(dst, pickle.dumps(pickle.loads(data)))
        kids.append(pid)

    def hop(i: int) -> None:
        os.write(w1, pickle.dumps(i))
        pickle.loads(os.read(r3, 65536))

    res = _timed(hop, n)
    for fd in (w1, r1, w2, r2, w3, r3):
        os.close(fd)
    for pid in kids:  # they hold the pipes' other ends too, so no EOF reaches them
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    return res


def scenario(runtime: str, n: int) -> dict:
    """Run the chain under one runtime; returns its rows."""
    import importlib

    ray = importlib.import_module(runtime)
    dag_mod = importlib.import_module(f"{runtime}.dag")
    ray.init(num_cpus=2)

    @ray.remote
    class Echo:
        def echo(self, x: object) -> object:
            return x

    a, b = Echo.remote(), Echo.remote()
    ray.get([a.echo.remote(0), b.echo.remote(0)])
    rows: dict = {}
    print(f"{runtime}: ordinary calls", file=sys.stderr, flush=True)
    rows["remote"] = _timed(lambda i: ray.get(b.echo.remote(a.echo.remote(i))),
                            max(200, n // 3))
    print(f"{runtime}: compiled graph", file=sys.stderr, flush=True)
    try:
        with dag_mod.InputNode() as inp:
            dag = b.echo.bind(a.echo.bind(inp))
        t = time.perf_counter()
        compiled = dag.experimental_compile()
        compile_s = time.perf_counter() - t
        rows["compiled"] = {**_timed(lambda i: ray.get(compiled.execute(i)), n),
                            "compile_ms": round(compile_s * 1e3, 1)}
        batches = max(20, n // 10)  # ten executions in flight, then their ten results
        t = time.perf_counter()
        for _ in range(batches):
            ray.get([compiled.execute(i) for i in range(10)])
        rows["pipelined_us_per_execution"] = round(
            (time.perf_counter() - t) / (batches * 10) * 1e6, 1)
        compiled.teardown()
    except Exception as e:  # noqa: BLE001 - reported in the table
        rows["compiled"] = {"error": f"{type(e).__name__}: {str(e)[:300]}"}
    ray.shutdown()
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=3000, help="timed runs per compiled row")
    p.add_argument("--ray-python", default=os.environ.get("RAY_PYTHON"))
    p.add_argument("--scenario", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.scenario:
        print("RESULT " + json.dumps(scenario(args.scenario, args.n)), flush=True)
        return
    results = {"floor": floor(args.n)}
    here = os.path.abspath(__file__)
    results["ember"] = run_scenario(sys.executable, [here, "--scenario", "ember", "--n",
                                                     str(args.n)], "ember", 600)
    if args.ray_python:
        try:
            results["ray"] = run_scenario(args.ray_python, [here, "--scenario", "ray",
                                                            "--n", str(args.n)], "ray", 600,
                                          env=runtime_env(RAY_CGRAPH_get_timeout="60"))
        except Exception as e:  # noqa: BLE001
            results["ray"] = {"error": str(e)[-600:]}
    print(json.dumps(results))
    print(_table(results))


def _table(results: dict) -> str:
    f = results["floor"]
    lines = ["| row | p50 µs | p90 µs | p50 vs floor |", "|---|---:|---:|---:|",
             f"| IPC floor: 3 pipe hops, pickled int | {f['p50_us']} | {f['p90_us']} | 1.0× |"]
    for runtime in ("ember", "ray"):
        rows = results.get(runtime)
        if rows is None:
            continue
        if "error" in rows and "compiled" not in rows:
            lines.append(f"| {runtime}: failed | {rows['error'][:200]} | | |")
            continue
        for key, label in (("compiled", "compiled.execute(i) round trip"),
                           ("remote", "b.echo.remote(a.echo.remote(i)) + get")):
            r = rows[key]
            if "error" in r:
                lines.append(f"| {runtime}: {label} | error: {r['error'][:200]} | | |")
            else:
                lines.append(f"| {runtime}: {label} | {r['p50_us']} | {r['p90_us']} | "
                             f"{r['p50_us'] / f['p50_us']:.1f}× |")
    for runtime in ("ember", "ray"):
        per = results.get(runtime, {}).get("pipelined_us_per_execution")
        if per is not None:
            lines.append(f"| {runtime}: compiled, 10 executions in flight (per execution) "
                         f"| {per} | | |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
