"""Ray Data's public expression and block modules: col/lit with filter and with_column,
and BlockAccessor over a block."""

from __future__ import annotations

import pyarrow as pa
import pytest

import ember
from ember.data.block import BlockAccessor, BlockMetadata
from ember.data.expressions import col, lit


@pytest.fixture(scope="module")
def cluster():
    ember.init(num_cpus=2)
    yield
    ember.shutdown()


def test_with_column_and_filter_by_expression(cluster):
    ds = ember.data.range(20)
    out = ds.with_column("y", col("id") * 2 + lit(1)).filter(expr=col("y") > lit(30))
    rows = out.take_all()
    assert [r["y"] for r in rows] == [2 * i + 1 for i in range(15, 20)]
    assert [r["id"] for r in rows] == list(range(15, 20))
    both = ds.filter(expr=(col("id") >= 3) & (col("id") < 6)).take_all()
    assert [r["id"] for r in both] == [3, 4, 5]


def test_block_accessor():
    block = pa.table({"a": [1, 2, 3], "b": ["x", "y", "z"]})
    acc = BlockAccessor.for_block(block)
    assert acc.num_rows() == 3 and acc.size_bytes() > 0
    assert acc.slice(1, 3).column("a").to_pylist() == [2, 3]
    assert acc.take([2, 0]).column("b").to_pylist() == ["z", "x"]
    assert list(acc.iter_rows()) == [{"a": 1, "b": "x"}, {"a": 2, "b": "y"},
                                     {"a": 3, "b": "z"}]
    assert acc.to_pandas()["a"].tolist() == [1, 2, 3]
    assert acc.to_numpy("a").tolist() == [1, 2, 3]
    meta = acc.get_metadata()
    assert isinstance(meta, BlockMetadata) and meta.num_rows == 3
    assert BlockAccessor.batch_to_block({"a": [1]}).num_rows == 1


def test_expression_predicates_and_reflected_operators(cluster):
    ds = ember.data.from_items([{"v": None, "k": 1}, {"v": 0, "k": 2}, {"v": 5, "k": 3}])
    assert ds.filter(expr=col("v").is_not_null() & (col("v") > 0)).take_all() == [
        {"v": 5, "k": 3}]
    assert [r["k"] for r in ds.filter(expr=col("v").is_null()).take_all()] == [1]
    assert [r["k"] for r in ds.filter(expr=col("k").is_in([1, 3])).take_all()] == [1, 3]
    assert [r["k"] for r in ds.filter(expr=col("k").not_in([1, 3])).take_all()] == [2]
    out = ds.with_column("z", 10 - col("k") * 2).take_all()
    assert [r["z"] for r in out] == [8, 6, 4]
    assert col("k").alias("kk").name == "kk"
    assert (col("k") + 1).structurally_equals(col("k") + 1)
    with pytest.raises(TypeError):
        bool(col("k") > 1)


def test_string_filters_read_dotted_names_and_report_bad_syntax_as_ray(cluster):
    import pandas as pd

    ds = ember.data.from_pandas(pd.DataFrame({"sepal.length": [4.8, 5.1, 5.7]}))
    assert ds.filter(expr="sepal.length > 5.0").count() == 2
    with pytest.raises(ValueError, match="Invalid syntax in the expression"):
        ds.filter(expr="fake_news super fake")
    with pytest.raises(ValueError, match="must be a UserDefinedFunction"):
        ds.filter(fn="sepal.length > 5.0")


def test_monotonically_increasing_id_per_task_and_row(cluster):
    from ember.data.expressions import monotonically_increasing_id

    ds = ember.data.from_blocks([pa.table({"a": [1, 2]}), pa.table({"a": [3, 4]})])
    ids = [b["uid"].to_pylist() for b in ds.with_column(
        "uid", monotonically_increasing_id()).iter_batches(batch_size=None,
                                                          batch_format="pyarrow")]
    assert sorted(ids) == [[0, 1], [1 << 33, (1 << 33) + 1]]  # task index << 33 + row
    # Two such columns count their rows apart; ids stay unique across a task's blocks.
    two = ember.data.range(40, override_num_blocks=4).with_column(
        "u1", monotonically_increasing_id()).with_column("u2", monotonically_increasing_id())
    rows = two.take_all()
    assert all(r["u1"] == r["u2"] for r in rows)
    assert len({r["u1"] for r in rows}) == 40
    expr = monotonically_increasing_id()
    assert not expr.structurally_equals(expr)


def test_data_types_and_udf_expressions_in_with_column(cluster):
    import asyncio

    import pyarrow.compute as pc

    from ember.data.datatype import DataType
    from ember.data.expressions import udf

    assert repr(DataType.int64()) == "DataType(arrow:int64)"
    assert DataType.from_arrow(pa.float64()) == DataType.float64()
    assert repr(DataType.temporal("timestamp", unit="s")) == "DataType(arrow:timestamp[s])"
    assert {DataType.string(): 1}[DataType.string()] == 1

    @udf(DataType.int64())
    def add_one(x):
        return pc.add(x, 1)

    ds = ember.data.range(4)
    out = ds.with_column("a", add_one(col("id") + 5) * 2).with_column("s", col("id") > 1)
    assert [(r["a"], r["s"]) for r in out.take_all()] == [(12, False), (14, False),
                                                          (16, True), (18, True)]
    names = ember.data.from_items([{"n": "ab"}]).with_column("m", "<" + col("n") + ">")
    assert names.take_all() == [{"n": "ab", "m": "<ab>"}]

    @udf(DataType.int32())
    class Offset:  # built where it runs; async and async-generator calls are awaited
        def __init__(self, k: int) -> None:
            self.k = k

        async def __call__(self, x):
            await asyncio.sleep(0)
            yield pc.add(x, 100)
            yield pc.add(x, self.k)  # the last value counts

    rows = ds.with_column("o", Offset(7)(col("id")),
                          compute=ember.data.ActorPoolStrategy(size=1)).take_all()
    assert [r["o"] for r in rows] == [7, 8, 9, 10]

    @udf(DataType.string())
    def bad(x):
        return {"not": "an array"}

    with pytest.raises(TypeError, match="returned invalid type dict"):
        ds.with_column("b", bad(col("id"))).take_all()
