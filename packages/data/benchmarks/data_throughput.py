"""Rough throughput numbers for ember Data on this machine (not a test).

    uv run python packages/data/benchmarks/data_throughput.py [--cpus N] [--rows N]

Cases: range → map_batches → sum; Parquet read → materialize (vs
pyarrow.parquet.read_table); groupby-sum on 1M rows (vs pandas); sort of 10M rows
(vs numpy/pyarrow on one core).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

import ember
import ember.data as rd


def timed(fn, repeat=3):
    best = float("inf")
    out = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def bench_map_sum(rows: int) -> None:
    ds = rd.range(rows).map_batches(lambda b: {"x": b["id"] * 2})
    t, total = timed(lambda: ds.sum("x"))
    assert total == rows * (rows - 1)
    print(f"range({rows:,}) -> map_batches -> sum: {t:.2f}s, {rows / t / 1e6:.1f}M rows/s, "
          f"{rows * 16 / t / 1e6:.0f} MB/s")
    tn, _ = timed(lambda: int((np.arange(rows) * 2).sum()))
    print(f"  numpy on the driver: {tn:.2f}s")


def bench_parquet(rows: int) -> None:
    with tempfile.TemporaryDirectory() as d:
        rng = np.random.default_rng(0)
        table = pa.table({"a": np.arange(rows), "b": rng.normal(size=rows),
                          "c": rng.integers(0, 1000, rows).astype(np.int32)})
        path = os.path.join(d, "data.parquet")
        pq.write_table(table, path, row_group_size=max(1, rows // 32))
        nbytes = table.nbytes
        t_pa, _ = timed(lambda: pq.read_table(path))
        t_rd, _ = timed(lambda: rd.read_parquet(path).materialize())
        print(f"parquet read ({nbytes / 1e6:.0f} MB in memory): ember {nbytes / t_rd / 1e6:.0f} "
              f"MB/s ({t_rd:.2f}s), pyarrow.parquet.read_table {nbytes / t_pa / 1e6:.0f} MB/s "
              f"({t_pa:.2f}s)")


def bench_groupby(rows: int) -> None:
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"k": rng.integers(0, 1000, rows), "v": rng.normal(size=rows)})
    ds = rd.from_pandas(df, override_num_blocks=8)
    t_rd, out = timed(lambda: ds.groupby("k").sum("v").to_pandas())
    t_pd, exp = timed(lambda: df.groupby("k")["v"].sum())
    assert np.allclose(out["sum(v)"].to_numpy(), exp.to_numpy())
    print(f"groupby-sum {rows:,} rows, 1000 keys: ember {t_rd:.2f}s, pandas {t_pd:.3f}s")


def bench_sort(rows: int) -> None:
    rng = np.random.default_rng(0)
    values = rng.integers(0, 1 << 40, rows)
    ds = rd.from_numpy({"x": values}).repartition(16).materialize()
    t_rd, _ = timed(lambda: ds.sort("x").materialize(), repeat=2)
    t_np, _ = timed(lambda: np.sort(values), repeat=2)
    print(f"sort {rows:,} int64 rows: ember {t_rd:.2f}s ({rows / t_rd / 1e6:.1f}M rows/s), "
          f"numpy.sort on one core {t_np:.2f}s")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--cpus", type=int, default=os.cpu_count())
    p.add_argument("--rows", type=int, default=10_000_000)
    args = p.parse_args()
    ember.init(num_cpus=args.cpus)
    rd.DataContext.get_current().enable_progress_bars = False
    bench_map_sum(args.rows)
    bench_parquet(args.rows)
    bench_groupby(1_000_000)
    bench_sort(args.rows)
    ember.shutdown()


if __name__ == "__main__":
    main()
