"""Consuming datasets: take/show/count/schema, iterators, pandas/arrow, materialize, stats."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import ember
import ember.data as rd

pytestmark = pytest.mark.usefixtures("cluster")


def test_take_take_all_take_batch_show(capsys):
    ds = rd.range(50)
    assert ds.take(2) == [{"id": 0}, {"id": 1}]
    assert len(ds.take_all()) == 50
    with pytest.raises(ValueError, match="more than the given limit"):
        ds.take_all(limit=10)
    batch = ds.take_batch(5)
    assert isinstance(batch["id"], np.ndarray) and batch["id"].tolist() == [0, 1, 2, 3, 4]
    assert isinstance(ds.take_batch(5, batch_format="pandas"), pd.DataFrame)
    ds.show(2)
    assert capsys.readouterr().out == "{'id': 0}\n{'id': 1}\n"
    with pytest.raises(ValueError, match="empty"):
        ds.filter(lambda r: False).take_batch()


def test_count_uses_metadata_or_executes():
    assert rd.range(10**6).map(lambda r: r).count() == 10**6  # from metadata, no run
    assert rd.range(100).filter(lambda r: r["id"] < 10).count() == 10


def test_schema_and_columns():
    ds = rd.range(10).map_batches(lambda b: {"a": b["id"], "b": b["id"].astype("float32"),
                                             "t": np.zeros((len(b["id"]), 2))})
    schema = ds.schema()
    assert schema.names == ["a", "b", "t"]
    assert schema.types[0] == pa.int64() and schema.types[1] == pa.float32()
    assert "shape=(2,)" in str(schema.types[2])
    assert ds.columns() == ["a", "b", "t"]
    assert "Column" in repr(schema)


def test_iter_batches_sizes_formats_and_drop_last():
    ds = rd.range(103, override_num_blocks=5)
    sizes = [len(b["id"]) for b in ds.iter_batches(batch_size=20)]
    assert sizes == [20, 20, 20, 20, 20, 3]
    assert [len(b["id"]) for b in ds.iter_batches(batch_size=20, drop_last=True)] == [20] * 5
    whole = [b.num_rows for b in ds.iter_batches(batch_size=None, batch_format="pyarrow")]
    assert sum(whole) == 103 and len(whole) == 5
    frames = list(ds.iter_batches(batch_size=50, batch_format="pandas", prefetch_batches=0))
    assert [len(f) for f in frames] == [50, 50, 3]
    ids = np.concatenate([b["id"] for b in ds.iter_batches(batch_size=7, prefetch_batches=4)])
    assert ids.tolist() == list(range(103))


def test_iter_batches_is_reiterable_per_epoch():
    it = rd.range(10).iter_batches(batch_size=5)
    assert [len(b["id"]) for b in it] == [5, 5]
    assert [len(b["id"]) for b in it] == [5, 5]


def test_local_shuffle_is_seeded_and_complete():
    ds = rd.range(200, override_num_blocks=4)
    a = np.concatenate([b["id"] for b in ds.iter_batches(
        batch_size=16, local_shuffle_buffer_size=50, local_shuffle_seed=5)])
    b = np.concatenate([b["id"] for b in ds.iter_batches(
        batch_size=16, local_shuffle_buffer_size=50, local_shuffle_seed=5)])
    assert a.tolist() == b.tolist() and sorted(a.tolist()) == list(range(200))
    assert a.tolist() != list(range(200))


def test_iter_rows_and_early_stop():
    rows = []
    for r in rd.range(10**7).iter_rows():  # stopping early ends the execution
        rows.append(r["id"])
        if len(rows) == 3:
            break
    assert rows == [0, 1, 2]


def test_iter_torch_batches():
    torch = pytest.importorskip("torch")
    batches = list(rd.range(10).iter_torch_batches(batch_size=4, dtypes=torch.float32))
    assert batches[0]["id"].dtype == torch.float32 and len(batches) == 3


def test_to_pandas_to_arrow_refs_and_numpy_refs():
    ds = rd.range(10, override_num_blocks=2).map(lambda r: {"x": r["id"], "y": str(r["id"])})
    df = ds.to_pandas()
    assert df["x"].tolist() == list(range(10)) and df["y"].tolist()[3] == "3"
    assert ds.to_pandas(limit=3)["x"].tolist() == [0, 1, 2]
    refs = ds.to_arrow_refs()
    assert len(refs) == 2 and sum(ember.get(r).num_rows for r in refs) == 10
    arrs = ember.get(ds.to_numpy_refs(column="x"))
    assert np.concatenate(arrs).tolist() == list(range(10))
    frames = ember.get(ds.to_pandas_refs())
    assert sum(len(f) for f in frames) == 10


def test_materialize_runs_once_and_keeps_blocks():
    ds = rd.range(100, override_num_blocks=4).map(lambda r: {"id": r["id"] + 1})
    mat = ds.materialize()
    assert isinstance(mat, rd.MaterializedDataset)
    assert mat.num_blocks() == 4 and mat.count() == 100
    assert mat.sum("id") == 5050
    assert mat.size_bytes() == 800


def test_stats_report_operators_rows_and_times():
    ds = rd.range(1000, override_num_blocks=4).map_batches(lambda b: b).map(lambda r: r)
    ds.take_all()
    s = ds.stats()
    assert "ReadRange->MapBatches(<lambda>)->Map(<lambda>)" in s
    assert "1000 rows" in s and "Remote wall time" in s and "Remote CPU time" in s
    mat = ds.materialize()
    assert "ReadRange" in mat.stats()
