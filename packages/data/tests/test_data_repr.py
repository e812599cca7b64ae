"""A Dataset prints as Ray Data prints it: the operators still to run over a line for the
data they start from, filters by their expression, without running anything."""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa
import pyarrow.compute as pc
import pytest

import ember
import ember.data as rd
from ember.data.datatype import DataType
from ember.data.expressions import col, udf


@pytest.fixture(scope="module", autouse=True)
def _shut_down_after() -> Iterator[None]:
    """Reading a schema starts ember on its own (as in Ray); it ends with this file."""
    yield
    ember.shutdown()


def test_operators_print_as_a_tree_over_their_source():
    ds = rd.range(10).map(lambda r: r).filter(lambda r: True).limit(3)
    assert repr(ds) == ("Limit[limit=3]\n"
                        "+- Filter(<lambda>)\n"
                        "   +- Map(<lambda>)\n"
                        "      +- Dataset(num_rows=10, schema={id: int64})")


def test_a_union_leaves_rows_and_schema_unknown():
    ds = rd.range(1).union(rd.range(1))
    assert repr(ds) == "Union\n+- Dataset(num_rows=?, schema=Unknown schema)"
    assert repr(ds.map_batches(lambda b: b)) == (
        "MapBatches(<lambda>)\n+- Union\n   +- Dataset(num_rows=?, schema=Unknown schema)")


def test_filters_show_their_expression():
    @udf(return_dtype=DataType.from_arrow(pa.bool_()))
    def non_empty(array):
        return pc.greater(pc.binary_length(array), 0)

    items = rd.from_items(["a", ""])
    assert str(items.filter(expr=non_empty(col("item")))) == (
        "Filter(non_empty(col('item')))\n+- Dataset(num_rows=2, schema={item: string})")
    both = items.filter(expr=(col("item") != "") & ~col("item").is_null())
    assert str(both).startswith("Filter((col('item') != '') & ~col('item').is_null())\n")


def test_a_long_schema_puts_each_field_on_its_own_line():
    row = {"a" * 40: 1, "b" * 40: "x"}
    assert repr(rd.from_items([row], override_num_blocks=1).map(lambda r: r)) == (
        "Map(<lambda>)\n"
        "+- Dataset(\n"
        "      num_rows=1,\n"
        "      schema={\n"
        f"         {'a' * 40}: int64,\n"
        f"         {'b' * 40}: string\n"
        "      }\n"
        "   )")
