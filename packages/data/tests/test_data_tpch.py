"""TPC-H queries 1, 3 and 6 through ember Data's public API, checked against DuckDB.

The data (scale factor 0.01, ~60k lineitem rows) is generated locally by tpchgen-cli
and the queries are the ones benchmarks/data_tpch.py times at scale factor 1.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

import pytest

import ember.data as rd
from ember.data.context import DataContext

duckdb = pytest.importorskip("duckdb")  # dev dependency, as is tpchgen-cli

pytestmark = pytest.mark.usefixtures("cluster")

_QUERIES = Path(__file__).resolve().parents[3] / "benchmarks" / "_tpch_queries.py"


@pytest.fixture(scope="module")
def tpch():
    if not (shutil.which("tpchgen-cli") or (Path(sys.executable).parent / "tpchgen-cli").exists()):
        pytest.skip("tpchgen-cli (a dev dependency) is not installed")
    spec = importlib.util.spec_from_file_location("_tpch_queries", _QUERIES)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    import tempfile

    directory = tempfile.mkdtemp(prefix="ember-tpch-")
    try:
        yield module, module.generate(directory, 0.01)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@pytest.mark.parametrize("query", ["q1", "q6", "q3"])
def test_tpch_query_matches_duckdb(tpch, query):
    tq, paths = tpch
    want = tq.duckdb_query(duckdb.connect(), query, paths)
    got = tq.RD_QUERIES[query](rd, paths)
    assert len(want) > 0
    tq.same_answer(got, want)


def test_q3_with_shuffled_joins_matches_duckdb(tpch):
    tq, paths = tpch
    DataContext.get_current().broadcast_join_threshold_bytes = 0
    want = tq.duckdb_query(duckdb.connect(), "q3", paths)
    tq.same_answer(tq.rd_q3(rd, paths, num_partitions=3), want)


def test_q1_pushes_projection_and_filter_into_the_read(tpch):
    tq, paths = tpch
    import pyarrow.compute as pc

    ds = rd.read_parquet(paths["lineitem"], columns=["l_returnflag", "l_quantity"],
                         filter=pc.field("l_returnflag") == "R")
    assert ds.columns() == ["l_returnflag", "l_quantity"]
    assert set(ds.unique("l_returnflag")) == {"R"}
