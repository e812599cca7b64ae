"""Creating datasets: range, range_tensor and the in-memory creators."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import ember
import ember.data as rd

pytestmark = pytest.mark.usefixtures("cluster")


def test_range_rows_counts_and_blocks():
    ds = rd.range(1000, override_num_blocks=7)
    assert ds.count() == 1000
    assert [r["id"] for r in ds.take_all()] == list(range(1000))
    assert ds.num_blocks() == 7
    assert ds.columns() == ["id"]


def test_range_is_lazy_and_generates_in_tasks():
    ds = rd.range(10**9)  # a billion rows: nothing is generated until consumed
    assert ds.count() == 10**9
    assert ds.take(3) == [{"id": 0}, {"id": 1}, {"id": 2}]


def test_range_tensor_shape_and_values():
    ds = rd.range_tensor(10, shape=(2, 3))
    batch = ds.take_batch(10)
    assert batch["data"].shape == (10, 2, 3)
    assert np.all(batch["data"][4] == 4)


def test_from_items_dicts_and_scalars():
    assert rd.from_items([{"a": 1}, {"a": 2}]).take_all() == [{"a": 1}, {"a": 2}]
    assert rd.from_items([1, 2, 3]).take_all() == [{"item": 1}, {"item": 2}, {"item": 3}]
    assert rd.from_items(list(range(1000))).num_blocks() == 200


def test_from_pandas_and_to_pandas_round_trip():
    df = pd.DataFrame({"a": np.arange(50), "b": [f"s{i}" for i in range(50)]})
    ds = rd.from_pandas([df.iloc[:20], df.iloc[20:]])
    assert ds.num_blocks() == 2
    out = ds.to_pandas()
    assert out["a"].tolist() == df["a"].tolist() and out["b"].tolist() == df["b"].tolist()


def test_from_numpy_makes_data_column():
    arr = np.arange(12).reshape(6, 2)
    ds = rd.from_numpy(arr)
    assert ds.count() == 6
    assert np.array_equal(ds.take_batch(6)["data"], arr)
    cols = rd.from_numpy({"x": np.arange(3), "y": np.ones(3)})
    assert cols.columns() == ["x", "y"]


def test_from_arrow_and_refs():
    t = pa.table({"x": [1, 2, 3]})
    assert rd.from_arrow(t).take_all() == [{"x": 1}, {"x": 2}, {"x": 3}]
    ds = rd.from_arrow_refs([ember.put(t), ember.put(t)])
    assert ds.count() == 6
    refs = ds.to_arrow_refs()
    assert all(isinstance(ember.get(r), pa.Table) for r in refs)
    assert rd.from_pandas_refs([ember.put(pd.DataFrame({"y": [1]}))]).take_all() == [{"y": 1}]
    assert rd.from_numpy_refs([ember.put(np.arange(2))]).count() == 2


def test_repr_shows_rows_and_schema_without_executing():
    assert repr(rd.range(5)) == "Dataset(num_rows=5, schema={id: int64})"
    assert repr(rd.from_items([{"a": 1}, {"a": 2}], override_num_blocks=1)) == \
        "MaterializedDataset(num_blocks=1, num_rows=2, schema={a: int64})"


def test_from_blocks_keeps_each_block():
    ds = rd.from_blocks([pa.table({"x": [1, 2]}), pd.DataFrame({"x": [3]})])
    assert ds.num_blocks() == 2
    assert sorted(r["x"] for r in ds.take_all()) == [1, 2, 3]
    with pytest.raises(TypeError, match="list of blocks"):
        rd.from_blocks(pa.table({"x": [1]}))
