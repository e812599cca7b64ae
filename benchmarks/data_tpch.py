"""TPC-H queries 1, 6 and 3 side by side: ember Data, Polars, DuckDB and Ray Data 2.60.

    RAY_PYTHON=/path/to/ray-venv/bin/python uv run python benchmarks/data_tpch.py \
        [--scale-factor 1] [--data-dir DIR] [--repeat 3] [--out table.md]

The data is generated locally by tpchgen-cli (a PyPI package; nothing is downloaded)
and rewritten as Parquet with plain string columns (see _tpch_queries.generate); with
--data-dir it is kept there and reused. Each engine runs in its own fresh subprocess,
one after the other: `tool` (Polars lazy scan_parquet and DuckDB SQL over the same
files, this Python), `ember` (this Python) and `ray` ($RAY_PYTHON). ember and Ray run
the very same query code (_tpch_queries.rd_q1/rd_q3/rd_q6, public Ray Data API only),
each started with `init(num_cpus=2)`. Every answer is checked against DuckDB's. Each
timing is the best of --repeat runs (--ray-repeat for Ray) after one warm-up run, which
is not timed. The tool subprocess also times pyarrow alone decoding each query's inputs
(columns and filter) on one thread: the floor of ember's read work, shared by 2 CPUs.
The ember subprocess's peak RSS (its driver) is reported too.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _runner import emit, result_of, runtime_env

QUERIES = ("q1", "q6", "q3")
TITLES = {"q1": "Q1 pricing summary (lineitem scan, 4 groups)",
          "q6": "Q6 forecast revenue (lineitem scan, filter, sum)",
          "q3": "Q3 shipping priority (customer ⋈ orders ⋈ lineitem, top 10)"}


def best_of(fn, repeat: int) -> tuple[float, object]:
    out = fn()  # warm-up: imports, worker start, OS page cache
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def _frame_json(df) -> list:
    return [[str(v) if not isinstance(v, (int, float)) else v for v in row]
            for row in df.astype(object).itertuples(index=False)]


def run_runtime(name: str, paths: dict, repeat: int) -> dict:
    import _tpch_queries as tq

    rt = __import__(name)
    rd = __import__(name + ".data", fromlist=["data"])
    try:  # ship the query module's functions by value (workers do not import it)
        import cloudpickle

        cloudpickle.register_pickle_by_value(tq)
        if name == "ray":
            import ray.cloudpickle

            ray.cloudpickle.register_pickle_by_value(tq)
    except (ImportError, AttributeError):
        pass
    kwargs = {"include_dashboard": False} if name == "ray" else {}
    rt.init(num_cpus=2, **kwargs)
    rd.DataContext.get_current().enable_progress_bars = False
    res: dict = {}
    for q in QUERIES:
        try:
            t, df = best_of(lambda q=q: tq.RD_QUERIES[q](rd, paths), repeat)
            res[q] = {"s": t, "answer": _frame_json(df), "columns": list(df.columns)}
        except Exception as e:  # noqa: BLE001 - reported in the table
            res[q] = {"error": repr(e)[:800]}
    rt.shutdown()
    res["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return res


def run_tools(paths: dict, repeat: int) -> dict:
    import _tpch_queries as tq
    import duckdb

    con = duckdb.connect()
    res: dict = {"duckdb": {}, "polars": {}, "scan": {}}
    for q in QUERIES:
        res["scan"][q] = {"s": best_of(lambda q=q: tq.scan_floor(q, paths), repeat)[0]}
        t, df = best_of(lambda q=q: tq.duckdb_query(con, q, paths), repeat)
        res["duckdb"][q] = {"s": t, "answer": _frame_json(df), "columns": list(df.columns)}
        t, pdf = best_of(lambda q=q: tq.polars_query(q, paths), repeat)
        tq.same_answer(pdf, df, rtol=1e-8)
        res["polars"][q] = {"s": t}
    return res


def run_worker(python: str, worker: str, args, data_dir: str) -> dict:
    repeat = args.ray_repeat if worker == "ray" else args.repeat
    cmd = [python, str(Path(__file__).resolve()), "--worker", worker, "--data-dir", data_dir,
           "--repeat", str(repeat), "--scale-factor", str(args.scale_factor)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout,
                              env=runtime_env())
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {args.timeout}s"}
    res = result_of(proc.stdout)
    if res is None:
        return {"error": f"exit {proc.returncode}: {proc.stderr[-2000:]}"}
    return res


def _check(res: dict, want: dict) -> None:
    """Mark each runtime answer that differs from DuckDB's."""
    import _tpch_queries as tq
    import pandas as pd

    for q in QUERIES:
        r = res.get(q, {})
        if "answer" not in r:
            continue
        got = pd.DataFrame(r.pop("answer"), columns=r["columns"])
        exp = pd.DataFrame(want[q]["answer"], columns=want[q]["columns"])
        try:
            tq.same_answer(got, exp)
            r["checked"] = True
        except AssertionError as e:
            r["error"] = f"wrong answer: {str(e)[:300]}"
            r.pop("s", None)


def table(results: dict, args) -> str:
    tools = results.get("tool", {})
    duck, pol = tools.get("duckdb", {}), tools.get("polars", {})
    e, r = results.get("ember", {}), results.get("ray", {})

    def secs(res: dict, q: str) -> float | None:
        return res.get(q, {}).get("s")

    def cell(res: dict, q: str) -> str:
        s = secs(res, q)
        if s is None:
            return "error" if res.get(q, {}).get("error") or res.get("error") else "—"
        return f"{s:.3f} s"

    scan = tools.get("scan", {})
    lines = [f"| query (scale factor {args.scale_factor}) | ember | Polars | DuckDB | "
             "Ray Data 2.60 | ember / faster of Polars, DuckDB (target ≤ 1.5) | "
             "Ray / ember (target ≥ 3) | pyarrow scan of its inputs, 1 thread |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for q in QUERIES:
        es, ps, ds, rs = secs(e, q), secs(pol, q), secs(duck, q), secs(r, q)
        best = min(x for x in (ps, ds) if x) if (ps or ds) else None
        vs_tool = f"{es / best:.2f}×" if es and best else "—"
        vs_ray = f"{rs / es:.1f}×" if es and rs else "—"
        lines.append(f"| {TITLES[q]} | {cell(e, q)} | {cell(pol, q)} | {cell(duck, q)} | "
                     f"{cell(r, q)} | {vs_tool} | {vs_ray} | {cell(scan, q)} |")
    if e.get("peak_rss_mb"):
        lines.append(f"\nember driver peak RSS: {e['peak_rss_mb']:.0f} MB.")
    for name, res in (("ember", e), ("Ray Data", r)):
        errs = {q: res[q]["error"] for q in QUERIES if res.get(q, {}).get("error")}
        if res.get("error"):
            errs["run"] = res["error"]
        for q, msg in errs.items():
            lines.append(f"\n{name} {q}: {msg.splitlines()[-1] if msg else msg}")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--worker", choices=["ember", "ray", "tool"])
    p.add_argument("--ray-python", default=os.environ.get("RAY_PYTHON"))
    p.add_argument("--scale-factor", type=float, default=1.0)
    p.add_argument("--data-dir", help="generate the data here (kept, and reused if present)")
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--ray-repeat", type=int, default=1,
                   help="timed runs for Ray Data (tens of seconds each)")
    p.add_argument("--timeout", type=float, default=900)
    p.add_argument("--only", nargs="*", choices=["ember", "ray", "tool"])
    p.add_argument("--out")
    p.add_argument("--json")
    args = p.parse_args()
    sf = int(args.scale_factor) if args.scale_factor == int(args.scale_factor) \
        else args.scale_factor
    args.scale_factor = sf

    if args.worker:
        import _tpch_queries as tq

        paths = {t: os.path.join(args.data_dir, f"{t}.parquet") for t in tq.TABLES}
        if args.worker == "tool":
            res = run_tools(paths, args.repeat)
        else:
            res = run_runtime(args.worker, paths, args.repeat)
        print("RESULT " + json.dumps(res), flush=True)
        return

    import _tpch_queries as tq

    data_dir = args.data_dir or tempfile.mkdtemp(prefix=f"tpch_sf{sf}_")
    t0 = time.perf_counter()
    tq.generate(data_dir, sf)
    print(f"data ready in {time.perf_counter() - t0:.1f}s: {data_dir}", file=sys.stderr,
          flush=True)
    pythons = {"tool": sys.executable, "ember": sys.executable, "ray": args.ray_python}
    results: dict = {}
    for worker in ("tool", "ember", "ray"):
        if args.only and worker not in args.only:
            continue
        if not pythons[worker]:
            results[worker] = {"error": "no Ray python: set RAY_PYTHON or --ray-python"}
            continue
        results[worker] = run_worker(pythons[worker], worker, args, data_dir)
        print(f"{worker}: {json.dumps(results[worker])[:600]}", file=sys.stderr, flush=True)
    if "duckdb" in results.get("tool", {}):
        for worker in ("ember", "ray"):
            _check(results.get(worker, {}), results["tool"]["duckdb"])
    if not args.data_dir:
        import shutil

        shutil.rmtree(data_dir, ignore_errors=True)
    emit(table(results, args), args.out)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
