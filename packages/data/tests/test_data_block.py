"""Blocks and batches: Arrow tables to and from numpy/pandas/rows, tensors and objects."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from ember.data import _block
from ember.data._arrow_types import PythonObjectType, array_to_numpy, to_arrow


def test_numpy_batch_round_trip_is_zero_copy_for_primitives():
    t = _block.batch_to_block({"a": np.arange(10), "b": np.linspace(0, 1, 10)})
    batch = _block.block_to_batch(t, "numpy")
    assert batch["a"].dtype == np.int64 and batch["b"][-1] == 1.0
    buf_addr = t.column("a").chunk(0).buffers()[1].address
    assert batch["a"].__array_interface__["data"][0] == buf_addr


def test_zero_copy_false_gives_writable_arrays():
    t = pa.table({"a": np.arange(4)})
    batch = _block.block_to_batch(t, "numpy", zero_copy=False)
    batch["a"][0] = 7  # must not raise


def test_fixed_shape_tensors_round_trip():
    arr = np.arange(24, dtype=np.float32).reshape(4, 2, 3)
    t = _block.batch_to_block({"x": arr})
    assert isinstance(t.schema.field("x").type, pa.FixedShapeTensorType)
    back = _block.block_to_batch(t, "numpy")["x"]
    assert back.shape == (4, 2, 3) and np.array_equal(back, arr)
    rows = list(_block.iter_rows(t))
    assert np.array_equal(rows[1]["x"], arr[1])


def test_list_of_equal_arrays_becomes_tensor_and_ragged_becomes_objects():
    t = _block.rows_to_block([{"x": np.ones((2, 2))}, {"x": np.zeros((2, 2))}])
    assert isinstance(t.schema.field("x").type, pa.FixedShapeTensorType)
    ragged = _block.rows_to_block([{"x": np.ones(2)}, {"x": np.ones(3)}])
    assert isinstance(ragged.schema.field("x").type, PythonObjectType)
    vals = array_to_numpy(ragged.column("x"))
    assert vals[0].shape == (2,) and vals[1].shape == (3,)


def test_python_objects_fall_back_to_pickled_column():
    class Thing:
        def __init__(self, v):
            self.v = v

    col = to_arrow([Thing(1), Thing(2)])
    assert isinstance(col.type, PythonObjectType)
    assert [o.v for o in array_to_numpy(col)] == [1, 2]


def test_pandas_round_trip_with_tensor_column():
    df = pd.DataFrame({"a": [1, 2], "s": ["x", "y"]})
    df["t"] = [np.ones(3), np.zeros(3)]
    t = _block.batch_to_block(df)
    out = _block.block_to_batch(t, "pandas")
    assert list(out.columns) == ["a", "s", "t"]
    assert out["a"].tolist() == [1, 2] and out["s"].tolist() == ["x", "y"]
    assert np.array_equal(out["t"][1], np.zeros(3))


def test_invalid_batches_are_rejected_with_a_clear_message():
    with pytest.raises(ValueError, match="different lengths"):
        _block.batch_to_block({"a": [1, 2], "b": [1]})
    with pytest.raises(ValueError, match="scalar"):
        _block.batch_to_block({"a": 1})
    with pytest.raises(ValueError, match="dict of column arrays"):
        _block.batch_to_block([1, 2, 3])


def test_concat_promotes_null_columns_and_splits_big_blocks():
    a = pa.table({"x": pa.array([None, None])})
    b = pa.table({"x": [1, 2]})
    assert _block.concat([a, b]).column("x").to_pylist() == [None, None, 1, 2]
    big = pa.table({"x": np.arange(100_000)})
    parts = _block.split_block(big, 100_000)
    assert len(parts) == 8 and sum(p.num_rows for p in parts) == 100_000


def test_batch_format_names():
    assert _block.normalize_batch_format("default") == "numpy"
    assert _block.normalize_batch_format(None) == "pyarrow"
    with pytest.raises(ValueError, match="batch_format"):
        _block.normalize_batch_format("torch")


def test_datetime_lists_keep_the_coarsest_exact_unit_as_ray():
    from datetime import datetime

    cases = [([datetime(2024, 1, 1)], "s"), ([datetime(2024, 1, 1, 1)], "s"),
             ([datetime(2024, 1, 1, microsecond=1000)], "ms"),
             ([datetime(2024, 1, 1, second=1), datetime(2024, 1, 1, microsecond=1)], "us"),
             ([pd.Timestamp("2024-01-01T01:01:01") + pd.Timedelta(nanoseconds=1)], "ns")]
    for values, unit in cases:
        out = array_to_numpy(to_arrow(values))
        assert out.dtype == np.dtype(f"datetime64[{unit}]")
        assert pd.Timestamp(out[0]) == pd.Timestamp(values[0])


def test_lists_of_torch_tensors_become_tensor_or_object_columns():
    torch = pytest.importorskip("torch")
    uniform = array_to_numpy(to_arrow([torch.ones(3), torch.zeros(3)]))
    assert uniform.dtype == np.float32 and uniform.shape == (2, 3)
    ragged = array_to_numpy(to_arrow([torch.ones(3), torch.ones(2)]))
    assert ragged.dtype == object and [type(v) for v in ragged] == [np.ndarray] * 2
