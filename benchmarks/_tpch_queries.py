"""TPC-H queries 1, 3 and 6 written four ways: Ray-Data-API (ember and Ray run the same
code), Polars, DuckDB SQL, and a generator of the data (tpchgen-cli, local).

The Ray-Data-API versions use only public Dataset calls: read_parquet with a column
list, filter(expr=) with `expressions.col/lit` (ember pushes both into the Parquet
scan), map_batches in pyarrow format, join, groupby().aggregate() and sort. Decimal columns are computed in
float64 inside map_batches; answers match DuckDB's exact decimals to 1e-9 relative.
Every function returns a pandas DataFrame with the query's columns in the query's order.
"""

from __future__ import annotations

import datetime
import os
import shutil
import subprocess
import sys
from decimal import Decimal

import pyarrow as pa
import pyarrow.compute as pc

TABLES = ("lineitem", "orders", "customer")
Q1_DATE = datetime.date(1998, 9, 2)  # date '1998-12-01' - interval '90' day
Q3_DATE = datetime.date(1995, 3, 15)
Q6_FROM, Q6_TO = datetime.date(1994, 1, 1), datetime.date(1995, 1, 1)


def generate(directory: str, scale_factor: float, parts: int = 1) -> dict[str, str]:
    """Write lineitem, orders and customer as Parquet with tpchgen-cli (a PyPI package
    shipping the generator binary); returns table -> path. Nothing is downloaded."""
    exe = shutil.which("tpchgen-cli") or os.path.join(os.path.dirname(sys.executable),
                                                      "tpchgen-cli")
    os.makedirs(directory, exist_ok=True)
    paths = {t: os.path.join(directory, f"{t}.parquet") for t in TABLES}
    if all(os.path.exists(p) for p in paths.values()):
        return paths
    raw = os.path.join(directory, "raw")
    cmd = [exe, "parquet", "-s", str(scale_factor), "--tables", ",".join(TABLES),
           "--output-dir", raw, "--overwrite"]
    subprocess.run(cmd, check=True, capture_output=True)
    # tpchgen-cli writes Arrow string_view columns, which pyarrow 25 cannot filter
    # (no comparison or filter kernels for views): rewrite them as plain Parquet strings
    # with DuckDB, ~120k-row row groups, snappy, the same for every engine.
    import duckdb

    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    for t, path in paths.items():
        con.execute(f"COPY (SELECT * FROM read_parquet('{raw}/{t}.parquet')) TO '{path}' "
                    "(FORMAT parquet, COMPRESSION snappy)")
    shutil.rmtree(raw, ignore_errors=True)
    return paths


# ---------------------------------------------------------------- Ray Data API (ember, Ray)

def _f64(t: pa.Table, name: str) -> pa.ChunkedArray:
    return pc.cast(t.column(name), pa.float64())


def q1_prepare(t: pa.Table) -> pa.Table:
    price, disc, tax = _f64(t, "l_extendedprice"), _f64(t, "l_discount"), _f64(t, "l_tax")
    disc_price = pc.multiply(price, pc.subtract(1.0, disc))
    return pa.table({
        "l_returnflag": t.column("l_returnflag"), "l_linestatus": t.column("l_linestatus"),
        "qty": _f64(t, "l_quantity"), "price": price, "disc": disc,
        "disc_price": disc_price, "charge": pc.multiply(disc_price, pc.add(1.0, tax))})


def q6_revenue(t: pa.Table) -> pa.Table:
    return pa.table({"rev": pc.multiply(_f64(t, "l_extendedprice"), _f64(t, "l_discount"))})


def q3_revenue(t: pa.Table) -> pa.Table:
    rev = pc.multiply(_f64(t, "l_extendedprice"), pc.subtract(1.0, _f64(t, "l_discount")))
    return pa.table({"l_orderkey": t.column("l_orderkey"), "rev": rev})


def _aggregate(rd):
    import importlib

    return importlib.import_module(rd.__name__ + ".aggregate")


def _col(rd):
    import importlib

    ex = importlib.import_module(rd.__name__ + ".expressions")
    return ex.col, ex.lit


def rd_q1(rd, paths: dict) -> object:
    agg = _aggregate(rd)
    col, lit = _col(rd)
    ds = rd.read_parquet(
        paths["lineitem"], columns=["l_returnflag", "l_linestatus", "l_quantity",
                                    "l_extendedprice", "l_discount", "l_tax", "l_shipdate"])
    out = (ds.filter(expr=col("l_shipdate") <= lit(Q1_DATE))
           .map_batches(q1_prepare, batch_format="pyarrow")
           .groupby(["l_returnflag", "l_linestatus"])
           .aggregate(agg.Sum("qty", alias_name="sum_qty"),
                      agg.Sum("price", alias_name="sum_base_price"),
                      agg.Sum("disc_price", alias_name="sum_disc_price"),
                      agg.Sum("charge", alias_name="sum_charge"),
                      agg.Mean("qty", alias_name="avg_qty"),
                      agg.Mean("price", alias_name="avg_price"),
                      agg.Mean("disc", alias_name="avg_disc"),
                      agg.Count(alias_name="count_order")))
    return out.sort(["l_returnflag", "l_linestatus"]).to_pandas()


def rd_q6(rd, paths: dict) -> object:
    col, lit = _col(rd)
    ds = rd.read_parquet(paths["lineitem"], columns=["l_extendedprice", "l_discount",
                                                     "l_shipdate", "l_quantity"])
    flt = ((col("l_shipdate") >= lit(Q6_FROM)) & (col("l_shipdate") < lit(Q6_TO))
           & (col("l_discount") >= lit(Decimal("0.05")))
           & (col("l_discount") <= lit(Decimal("0.07")))
           & (col("l_quantity") < lit(Decimal(24))))
    total = ds.filter(expr=flt).map_batches(q6_revenue, batch_format="pyarrow").sum("rev")
    import pandas as pd

    return pd.DataFrame({"revenue": [total]})


def rd_q3(rd, paths: dict, num_partitions: int = 4) -> object:
    col, lit = _col(rd)
    customer = (rd.read_parquet(paths["customer"], columns=["c_custkey", "c_mktsegment"])
                .filter(expr=col("c_mktsegment") == lit("BUILDING"))
                .select_columns(["c_custkey"]))
    orders = (rd.read_parquet(paths["orders"], columns=["o_orderkey", "o_custkey",
                                                        "o_orderdate", "o_shippriority"])
              .filter(expr=col("o_orderdate") < lit(Q3_DATE)))
    lines = (rd.read_parquet(paths["lineitem"], columns=["l_orderkey", "l_extendedprice",
                                                         "l_discount", "l_shipdate"])
             .filter(expr=col("l_shipdate") > lit(Q3_DATE))
             .map_batches(q3_revenue, batch_format="pyarrow"))
    orders_c = orders.join(customer, join_type="inner", num_partitions=num_partitions,
                           on=("o_custkey",), right_on=("c_custkey",))
    joined = lines.join(orders_c, join_type="inner", num_partitions=num_partitions,
                        on=("l_orderkey",), right_on=("o_orderkey",))
    grouped = (joined.groupby(["l_orderkey", "o_orderdate", "o_shippriority"])
               .aggregate(_aggregate(rd).Sum("rev", alias_name="revenue")))
    top = grouped.sort(["revenue", "o_orderdate"], descending=[True, False]).limit(10)
    df = top.to_pandas()
    return df[["l_orderkey", "revenue", "o_orderdate", "o_shippriority"]]


RD_QUERIES = {"q1": rd_q1, "q3": rd_q3, "q6": rd_q6}

def scan_floor(name: str, paths: dict) -> float:
    """Seconds for pyarrow alone, on one thread, to decode what the query reads (its
    columns, its filter pushed into the scan): the work ember's read tasks share."""
    import time

    import pyarrow.dataset as pads

    reads = {
        "q1": [("lineitem", ["l_returnflag", "l_linestatus", "l_quantity", "l_extendedprice",
                             "l_discount", "l_tax", "l_shipdate"],
                pc.field("l_shipdate") <= pa.scalar(Q1_DATE))],
        "q6": [("lineitem", ["l_extendedprice", "l_discount", "l_shipdate", "l_quantity"],
                (pc.field("l_shipdate") >= pa.scalar(Q6_FROM))
                & (pc.field("l_shipdate") < pa.scalar(Q6_TO)))],
        "q3": [("customer", ["c_custkey", "c_mktsegment"],
                pc.field("c_mktsegment") == "BUILDING"),
               ("orders", ["o_orderkey", "o_custkey", "o_orderdate", "o_shippriority"],
                pc.field("o_orderdate") < pa.scalar(Q3_DATE)),
               ("lineitem", ["l_orderkey", "l_extendedprice", "l_discount", "l_shipdate"],
                pc.field("l_shipdate") > pa.scalar(Q3_DATE))],
    }[name]
    t0 = time.perf_counter()
    for table, columns, flt in reads:
        pads.dataset(paths[table]).to_table(columns=columns, filter=flt, use_threads=False)
    return time.perf_counter() - t0


# ---------------------------------------------------------------- DuckDB

DUCKDB_SQL = {
    "q1": """select l_returnflag, l_linestatus, sum(l_quantity) as sum_qty,
        sum(l_extendedprice) as sum_base_price,
        sum(l_extendedprice * (1 - l_discount)) as sum_disc_price,
        sum(l_extendedprice * (1 - l_discount) * (1 + l_tax)) as sum_charge,
        avg(l_quantity) as avg_qty, avg(l_extendedprice) as avg_price,
        avg(l_discount) as avg_disc, count(*) as count_order
        from read_parquet('{lineitem}') where l_shipdate <= date '1998-09-02'
        group by l_returnflag, l_linestatus order by l_returnflag, l_linestatus""",
    "q6": """select sum(l_extendedprice * l_discount) as revenue
        from read_parquet('{lineitem}')
        where l_shipdate >= date '1994-01-01' and l_shipdate < date '1995-01-01'
        and l_discount between 0.05 and 0.07 and l_quantity < 24""",
    "q3": """select l_orderkey, sum(l_extendedprice * (1 - l_discount)) as revenue,
        o_orderdate, o_shippriority
        from read_parquet('{customer}') c, read_parquet('{orders}') o,
             read_parquet('{lineitem}') l
        where c_mktsegment = 'BUILDING' and c_custkey = o_custkey
        and l_orderkey = o_orderkey and o_orderdate < date '1995-03-15'
        and l_shipdate > date '1995-03-15'
        group by l_orderkey, o_orderdate, o_shippriority
        order by revenue desc, o_orderdate limit 10""",
}


def duckdb_query(con, name: str, paths: dict) -> object:
    return con.sql(DUCKDB_SQL[name].format(**paths)).df()


# ---------------------------------------------------------------- Polars

def polars_query(name: str, paths: dict) -> object:
    import polars as pl

    def f(col: str):  # decimals in float64, as the ember/Ray versions compute them
        return pl.col(col).cast(pl.Float64)

    li = pl.scan_parquet(paths["lineitem"])
    if name == "q1":
        disc_price = f("l_extendedprice") * (1 - f("l_discount"))
        q = (li.filter(pl.col("l_shipdate") <= Q1_DATE)
             .group_by("l_returnflag", "l_linestatus")
             .agg(pl.col("l_quantity").sum().alias("sum_qty"),
                  pl.col("l_extendedprice").sum().alias("sum_base_price"),
                  disc_price.sum().alias("sum_disc_price"),
                  (disc_price * (1 + f("l_tax"))).sum().alias("sum_charge"),
                  f("l_quantity").mean().alias("avg_qty"),
                  f("l_extendedprice").mean().alias("avg_price"),
                  f("l_discount").mean().alias("avg_disc"),
                  pl.len().alias("count_order"))
             .sort("l_returnflag", "l_linestatus"))
    elif name == "q6":
        q = (li.filter((pl.col("l_shipdate") >= Q6_FROM) & (pl.col("l_shipdate") < Q6_TO)
                       & pl.col("l_discount").is_between(Decimal("0.05"), Decimal("0.07"))
                       & (pl.col("l_quantity") < 24))
             .select((f("l_extendedprice") * f("l_discount")).sum()
                     .alias("revenue")))
    else:
        c = pl.scan_parquet(paths["customer"]).filter(pl.col("c_mktsegment") == "BUILDING")
        o = pl.scan_parquet(paths["orders"]).filter(pl.col("o_orderdate") < Q3_DATE)
        q = (c.join(o, left_on="c_custkey", right_on="o_custkey")
             .join(li.filter(pl.col("l_shipdate") > Q3_DATE), left_on="o_orderkey",
                   right_on="l_orderkey")
             .group_by("o_orderkey", "o_orderdate", "o_shippriority")
             .agg((f("l_extendedprice") * (1 - f("l_discount"))).sum()
                  .alias("revenue"))
             .sort(["revenue", "o_orderdate"], descending=[True, False]).head(10)
             .select(pl.col("o_orderkey").alias("l_orderkey"), "revenue", "o_orderdate",
                     "o_shippriority"))
    return q.collect().to_pandas()


def same_answer(got, want, rtol: float = 1e-9) -> None:
    """Assert two query results agree: same columns and rows, numbers to rtol."""
    import numpy as np

    assert list(got.columns) == list(want.columns), (list(got.columns), list(want.columns))
    assert len(got) == len(want), (len(got), len(want))
    for name in want.columns:
        a, b = got[name].tolist(), want[name].tolist()
        if all(isinstance(v, (int, float, Decimal, np.number)) for v in b):
            np.testing.assert_allclose(np.array(a, float), np.array(b, float), rtol=rtol,
                                       err_msg=name)
        else:
            assert [str(v)[:10] for v in a] == [str(v)[:10] for v in b], name
