"""ember Data vs Ray Data 2.60 vs the single-node tool, with identical workload code.

    RAY_PYTHON=/path/to/ray-venv/bin/python uv run python benchmarks/data_vs_ray.py \
        [--parquet-mb 300] --out table.md

The same workload functions run under each runtime in a fresh subprocess (this file,
run with `--worker ember` by this Python, `--worker ray` by $RAY_PYTHON / --ray-python,
and `--worker tool` by this Python for numpy / pandas / pyarrow on one core). Runtimes
are imported by name (`rt = __import__(name)`, `rd = __import__(name + ".data",
fromlist=["data"])`) and started with `rt.init(num_cpus=2)`. Rows (the workloads of
packages/data/benchmarks/data_throughput.py):

  * range(10M) → map_batches(add one, batch_format="numpy") → sum of the column
    (tool: numpy arange + 1, sum);
  * read a directory of Parquet files (generated once with pyarrow into a temp dir,
    --parquet-mb on disk) → map_batches(identity, pyarrow) → materialize: rows/s and
    MB/s of the in-memory Arrow size (tool: pyarrow.parquet.read_table);
  * groupby-sum on 1M rows, 1000 keys (from_pandas of 8 frames; tool: pandas groupby);
  * sort of 10M int64 rows (from_arrow, repartition(16), materialized before timing;
    tool: numpy.sort; pandas sort_values is reported too);
  * larger than the object store: --stream-gb GB of 1 KiB rows (range → map_batches
    expanding each id to 128 int64 → iter_batches, checked) through a runtime started
    in its own subprocess with a --store-mb object store; the peak proportional set
    size of the whole process tree (driver, node services, workers; shared memory
    counted once) is sampled every 0.1 s from /proc (tool: numpy, 16 MiB at a time).

Each timing is the best of --repeat runs. The result is a markdown table on stdout
(and --out).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _runner import result_of, runtime_env

LABEL = {"ember": "ember", "ray": "Ray Data 2.60", "tool": "single-node tool"}


def timed(fn, repeat):
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def make_parquet(directory: str, target_mb: int, files: int = 16) -> dict:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    # ~20 bytes/row of incompressible data (random int64 + float64 + int32)
    rows_per_file = target_mb * 1_000_000 // 20 // files
    rng = np.random.default_rng(0)
    for i in range(files):
        t = pa.table({"a": np.arange(i * rows_per_file, (i + 1) * rows_per_file),
                      "b": rng.normal(size=rows_per_file),
                      "c": rng.integers(0, 1000, rows_per_file).astype(np.int32)})
        pq.write_table(t, os.path.join(directory, f"part-{i:03d}.parquet"),
                       row_group_size=max(1, rows_per_file // 4), compression="snappy")
    disk = sum(os.path.getsize(os.path.join(directory, f)) for f in os.listdir(directory))
    return {"rows": rows_per_file * files, "disk_bytes": disk}


# --------------------------------------------------------------------------- workloads

def run_runtime(name: str, rows: int, sort_rows: int, group_rows: int, parquet_dir: str,
                repeat: int) -> dict:
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    rt = __import__(name)
    rd = __import__(name + ".data", fromlist=["data"])
    rt.init(num_cpus=2)
    ctx = rd.DataContext.get_current()
    ctx.enable_progress_bars = False
    res: dict = {}

    def guard(key, fn):
        try:
            fn()
        except Exception as e:  # noqa: BLE001
            res[key + "_error"] = repr(e)[:500]

    def map_sum():
        ds = rd.range(rows).map_batches(lambda b: {"id": b["id"] + 1}, batch_format="numpy")
        t, total = timed(lambda: ds.sum("id"), repeat)
        assert total == rows * (rows + 1) // 2, total
        res["map_sum_s"] = t

    def parquet():
        def run():
            ds = rd.read_parquet(parquet_dir).map_batches(lambda b: b, batch_format="pyarrow")
            return ds.materialize()
        t, ds = timed(run, repeat)
        res["parquet_s"] = t
        res["parquet_rows"] = ds.count()

    def groupby():
        rng = np.random.default_rng(0)
        df = pd.DataFrame({"k": rng.integers(0, 1000, group_rows), "v": rng.normal(size=group_rows)})
        # 8 frames rather than override_num_blocks=8: Ray 2.60's from_pandas fails with
        # that option here ('numpy.ndarray' object has no attribute 'columns')
        step = -(-group_rows // 8)
        ds = rd.from_pandas([df.iloc[i:i + step] for i in range(0, group_rows, step)])
        t, out = timed(lambda: ds.groupby("k").sum("v").to_pandas(), repeat)
        exp = df.groupby("k")["v"].sum()
        assert np.allclose(out.sort_values("k")["sum(v)"].to_numpy(), exp.to_numpy())
        res["groupby_s"] = t

    def sort():
        rng = np.random.default_rng(0)
        values = rng.integers(0, 1 << 40, sort_rows)
        ds = rd.from_arrow(pa.table({"x": values})).repartition(16).materialize()
        t, out = timed(lambda: ds.sort("x").materialize(), repeat)
        head = [r["x"] for r in out.take(5)]
        assert head == sorted(values[np.argpartition(values, 5)[:5]].tolist()), head
        res["sort_s"] = t

    guard("map_sum", map_sum)
    guard("parquet", parquet)
    guard("groupby", groupby)
    guard("sort", sort)
    rt.shutdown()
    return res


def run_tool_stream(gb: float) -> dict:
    """The stream row's work in plain numpy, one 16 MiB chunk at a time."""
    import numpy as np

    rows = int(gb * 1e9 // 1024)
    step = (16 << 20) // 1024
    t0 = time.perf_counter()
    total = 0
    for start in range(0, rows, step):
        ids = np.arange(start, min(rows, start + step))
        total += int(np.repeat(ids[:, None], 128, axis=1)[:, 0].sum())
    elapsed = time.perf_counter() - t0
    assert total == rows * (rows - 1) // 2
    return {"stream_s": elapsed, "stream_peak_pss": _tree_pss_bytes(os.getpid())}


def run_tool(rows: int, sort_rows: int, group_rows: int, parquet_dir: str, repeat: int) -> dict:
    import numpy as np
    import pandas as pd
    import pyarrow.parquet as pq

    res: dict = {}
    t, total = timed(lambda: int((np.arange(rows) + 1).sum()), repeat)
    assert total == rows * (rows + 1) // 2
    res["map_sum_s"] = t
    t, table = timed(lambda: pq.read_table(parquet_dir), repeat)
    res["parquet_s"], res["parquet_rows"], res["parquet_nbytes"] = t, table.num_rows, table.nbytes
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"k": rng.integers(0, 1000, group_rows), "v": rng.normal(size=group_rows)})
    res["groupby_s"], _ = timed(lambda: df.groupby("k")["v"].sum(), repeat)
    rng = np.random.default_rng(0)
    values = rng.integers(0, 1 << 40, sort_rows)
    res["sort_s"], _ = timed(lambda: np.sort(values), repeat)
    frame = pd.DataFrame({"x": values})
    res["sort_pandas_s"], _ = timed(lambda: frame.sort_values("x"), repeat)
    return res


# --------------------------------------------------------------------------- larger than the store

def _tree_pss_bytes(root: int) -> int:
    """Proportional set size of `root` and all its descendants (shared memory, such as
    the object store, counted once in all), from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, []))
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1]) * 1024
                        break
        except OSError:
            continue
    return total


def run_stream(name: str, gb: float, store_mb: int) -> dict:
    """Stream `gb` GB (1 KiB rows) through map_batches into a consumer with an object
    store of `store_mb` MB; peak memory of the whole process tree, sampled every 0.1 s."""
    import threading

    import numpy as np

    rt = __import__(name)
    rd = __import__(name + ".data", fromlist=["data"])
    kwargs = {"include_dashboard": False} if name == "ray" else {}
    rt.init(num_cpus=2, object_store_memory=store_mb * 1024 * 1024, **kwargs)
    rd.DataContext.get_current().enable_progress_bars = False
    rows = int(gb * 1e9 // 1024)
    peak, done = [0], threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], _tree_pss_bytes(os.getpid()))
            done.wait(0.1)

    base = _tree_pss_bytes(os.getpid())
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()

    def expand(batch):
        ids = batch["id"]
        return {"id": ids, "payload": np.repeat(ids[:, None], 128, axis=1)}

    t0 = time.perf_counter()
    ds = rd.range(rows, override_num_blocks=max(8, int(gb * 1e9) // (16 << 20)))
    ds = ds.map_batches(expand, batch_format="numpy")
    total = 0
    for batch in ds.iter_batches(batch_size=None, batch_format="numpy"):
        total += int(batch["payload"][:, 0].sum())
    elapsed = time.perf_counter() - t0
    done.set()
    sampler.join()
    assert total == rows * (rows - 1) // 2, total
    try:
        stats = ds.stats()
    except Exception:  # noqa: BLE001 - stats are informative only
        stats = ""
    rt.shutdown()
    return {"stream_s": elapsed, "stream_peak_pss": peak[0], "stream_base_pss": base,
            "stream_rows": rows, "stream_stats_tail": stats.splitlines()[-1] if stats else ""}


# --------------------------------------------------------------------------- driver side

def run_worker(python: str, worker: str, args, parquet_dir: str, stream: bool = False) -> dict:
    cmd = [python, str(Path(__file__).resolve()), "--worker", worker, "--rows", str(args.rows),
           "--sort-rows", str(args.sort_rows), "--group-rows", str(args.group_rows),
           "--repeat", str(args.repeat), "--parquet-dir", parquet_dir,
           "--stream-gb", str(args.stream_gb), "--store-mb", str(args.store_mb)]
    if stream:
        cmd.append("--stream")
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout,
                              env=runtime_env())
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {args.timeout}s"}
    res = result_of(proc.stdout)
    if res is not None:
        res["wall_s"] = time.perf_counter() - t0
        return res
    return {"error": f"exit {proc.returncode}: {proc.stderr[-2000:]}"}


def table(results: dict, meta: dict, args) -> str:
    e, r, t = (results.get(k, {}) for k in ("ember", "ray", "tool"))
    nbytes = t.get("parquet_nbytes")
    prow = meta["rows"]

    def cell(res, key, kind):
        s = res.get(key)
        if s is None:
            return None, "—" if f"{key[:-2]}_error" not in res else "error"
        if kind == "map":
            return s, f"{s:.2f} s ({args.rows / s / 1e6:.1f}M rows/s)"
        if kind == "parquet":
            mbs = f", {nbytes / s / 1e6:,.0f} MB/s" if nbytes else ""
            return s, f"{s:.2f} s ({prow / s / 1e6:.1f}M rows/s{mbs})"
        if kind == "sort":
            return s, f"{s:.2f} s ({args.sort_rows / s / 1e6:.1f}M rows/s)"
        if kind == "stream":
            pss = res.get("stream_peak_pss")
            mem = f", peak memory {pss / 2**20:,.0f} MiB" if pss else ""
            return s, f"{s:.2f} s ({args.stream_gb * 1e9 / s / 1e6:,.0f} MB/s{mem})"
        return s, f"{s:.3f} s"

    rows = [
        (f"range({args.rows:,}) → map_batches(+1, numpy) → sum", "map_sum_s", "map",
         "numpy arange + 1, sum"),
        (f"read_parquet ({meta['disk_bytes'] / 1e6:,.0f} MB on disk, "
         f"{(nbytes or 0) / 1e6:,.0f} MB in memory, {prow:,} rows) → map_batches(identity) "
         "→ materialize", "parquet_s", "parquet", "pyarrow.parquet.read_table"),
        (f"groupby-sum, {args.group_rows:,} rows, 1000 keys", "groupby_s", "plain",
         "pandas groupby().sum()"),
        (f"sort {args.sort_rows:,} int64 rows", "sort_s", "sort", "numpy.sort"),
    ]
    if args.stream_gb > 0:
        rows.append((f"stream {args.stream_gb:g} GB (1 KiB rows) range → map_batches → "
                     f"iter_batches, object store {args.store_mb} MiB", "stream_s", "stream",
                     "numpy, one 16 MiB chunk at a time"))
    lines = ["| workload | ember | Ray Data 2.60 | single-node tool | tool | ember / Ray | "
             "ember / tool |", "|---|---:|---:|---:|---|---:|---:|"]
    for label, key, kind, tool in rows:
        es, ec = cell(e, key, kind)
        rs, rc = cell(r, key, kind)
        ts, tc = cell(t, key, kind)
        # ratios of times: < 1 means ember is faster
        er = f"{es / rs:.2f}× time" if es and rs else "—"
        et = f"{es / ts:.2f}× time" if es and ts else "—"
        lines.append(f"| {label} | {ec} | {rc} | {tc} | {tool} | {er} | {et} |")
    for name, res in (("ember", e), ("Ray Data", r)):
        if res.get("stream_stats_tail"):
            lines.append(f"\n{name} stream stats: {res['stream_stats_tail']}")
    if t.get("sort_pandas_s"):
        lines.append(f"\npandas sort_values on the same {args.sort_rows:,} rows: "
                     f"{t['sort_pandas_s']:.2f} s.")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--worker", choices=["ember", "ray", "tool"])
    p.add_argument("--ray-python", default=os.environ.get("RAY_PYTHON"))
    p.add_argument("--rows", type=int, default=10_000_000)
    p.add_argument("--sort-rows", type=int, default=10_000_000)
    p.add_argument("--group-rows", type=int, default=1_000_000)
    p.add_argument("--parquet-mb", type=int, default=1000)
    p.add_argument("--parquet-dir", help="use this directory of Parquet files as is")
    p.add_argument("--repeat", type=int, default=2)
    p.add_argument("--timeout", type=float, default=900)
    p.add_argument("--only", nargs="*", choices=["ember", "ray", "tool"])
    p.add_argument("--stream-gb", type=float, default=4.0,
                   help="GB streamed through a small object store (0: skip that row)")
    p.add_argument("--store-mb", type=int, default=512, help="object store of that row")
    p.add_argument("--stream", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--out")
    p.add_argument("--json")
    args = p.parse_args()

    if args.worker and args.stream:
        res = run_tool_stream(args.stream_gb) if args.worker == "tool" else \
            run_stream(args.worker, args.stream_gb, args.store_mb)
        print("RESULT " + json.dumps(res), flush=True)
        return
    if args.worker:
        if args.worker == "tool":
            res = run_tool(args.rows, args.sort_rows, args.group_rows, args.parquet_dir, args.repeat)
        else:
            res = run_runtime(args.worker, args.rows, args.sort_rows, args.group_rows,
                              args.parquet_dir, args.repeat)
        print("RESULT " + json.dumps(res), flush=True)
        return

    tmp = None
    if args.parquet_dir:
        parquet_dir = args.parquet_dir
    else:
        tmp = tempfile.mkdtemp(prefix="data_vs_ray_")
        parquet_dir = tmp
        t0 = time.perf_counter()
        make_parquet(parquet_dir, args.parquet_mb)
        print(f"wrote parquet in {time.perf_counter() - t0:.1f}s", file=sys.stderr, flush=True)
    files = [os.path.join(parquet_dir, f) for f in os.listdir(parquet_dir)]
    import pyarrow.parquet as pq
    meta = {"rows": sum(pq.ParquetFile(f).metadata.num_rows for f in files),
            "disk_bytes": sum(os.path.getsize(f) for f in files)}

    pythons = {"ember": sys.executable, "ray": args.ray_python, "tool": sys.executable}
    results = {}
    try:
        for worker in ["tool", "ember", "ray"]:
            if args.only and worker not in args.only:
                continue
            if not pythons[worker]:
                results[worker] = {"error": "no Ray python: set RAY_PYTHON or --ray-python"}
                continue
            results[worker] = run_worker(pythons[worker], worker, args, parquet_dir)
            if args.stream_gb > 0:
                streamed = run_worker(pythons[worker], worker, args, parquet_dir, stream=True)
                results[worker].update({k if k.startswith("stream") else f"stream_{k}": v
                                        for k, v in streamed.items()})
            print(f"{LABEL[worker]}: {json.dumps(results[worker])}", file=sys.stderr, flush=True)
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    text = table(results, meta, args)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    if args.json:
        Path(args.json).write_text(json.dumps({"meta": meta, "results": results}, indent=2))


if __name__ == "__main__":
    main()
