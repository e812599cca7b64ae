"""Reading and writing files: Parquet (with pushdown), CSV, JSON, text, NumPy, binary,
images; local paths, file:// URIs and fsspec filesystems."""

from __future__ import annotations

import gzip
import json
import os

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import ember.data as rd

pytestmark = pytest.mark.usefixtures("cluster")


@pytest.fixture
def parquet_dir(tmp_path):
    d = tmp_path / "pq"
    d.mkdir()
    for i in range(3):
        ids = np.arange(i * 100, (i + 1) * 100)
        pq.write_table(pa.table({"id": ids, "x": ids * 2.0, "s": [f"r{j}" for j in ids]}),
                       d / f"part-{i}.parquet", row_group_size=25)
    return str(d)


def test_read_parquet_directory(parquet_dir):
    ds = rd.read_parquet(parquet_dir)
    assert ds.count() == 300
    assert ds.columns() == ["id", "x", "s"]
    assert sorted(r["id"] for r in ds.take_all()) == list(range(300))


def test_parquet_columns_and_filter_arguments(parquet_dir):
    ds = rd.read_parquet(parquet_dir, columns=["id"], filter=pc.field("id") >= 290)
    assert ds.take_all() == [{"id": i} for i in range(290, 300)]
    ds = rd.read_parquet(parquet_dir, filter="x < 4")
    assert ds.columns() == ["id", "x", "s"] and ds.count() == 2


def test_parquet_projection_and_predicate_pushdown(parquet_dir):
    from ember.data._logical import Read
    from ember.data._planner import optimize

    ds = rd.read_parquet(parquet_dir).filter(expr="id < 30").select_columns(["s"])
    plan = optimize(ds._plan)
    assert isinstance(plan, Read)  # both operators were absorbed by the reader
    assert plan.datasource._columns == ["s"]
    assert str(plan.datasource._filter) == str(pc.field("id") < 30)
    assert ds.take_all() == [{"s": f"r{i}"} for i in range(30)]
    # Row groups outside the filter are never read: 30 rows need 2 of 12 row groups.
    assert len(plan.datasource.get_read_tasks(100)) == 2


def test_parquet_filter_on_a_missing_column_fails_in_the_read_tasks(parquet_dir):
    import ember

    ds = rd.read_parquet(parquet_dir).filter(expr="no_such_column > 1")  # planned fine
    with pytest.raises(ember.exceptions.RayTaskError, match="no_such_column"):
        ds.to_pandas()


def test_parquet_hive_partitions_and_paths(tmp_path):
    for p in ("a", "b"):
        d = tmp_path / f"part={p}"
        d.mkdir()
        pq.write_table(pa.table({"v": [1, 2]}), d / "f.parquet")
    ds = rd.read_parquet(str(tmp_path), include_paths=True)
    rows = ds.take_all()
    assert sorted((r["part"], r["v"]) for r in rows) == [("a", 1), ("a", 2), ("b", 1), ("b", 2)]
    assert all(r["path"].endswith("f.parquet") for r in rows)


def test_write_then_read_parquet_round_trip(tmp_path):
    out = str(tmp_path / "out")
    rd.range(1000, override_num_blocks=4).map_batches(
        lambda b: {"id": b["id"], "t": np.ones((len(b["id"]), 2, 2))}).write_parquet(out)
    files = sorted(os.listdir(out))
    assert len(files) == 4 and all(f.endswith(".parquet") for f in files)
    back = rd.read_parquet(out)
    assert back.count() == 1000
    assert back.take_batch(3)["t"].shape == (3, 2, 2)


def test_csv_round_trip_and_gzip(tmp_path):
    out = str(tmp_path / "csv")
    rd.from_items([{"a": i, "b": f"x{i}"} for i in range(20)]).repartition(2).write_csv(out)
    assert len(os.listdir(out)) == 2
    back = rd.read_csv(out)
    assert sorted(r["a"] for r in back.take_all()) == list(range(20))
    gz = tmp_path / "f.csv.gz"
    with gzip.open(gz, "wt") as f:
        f.write("a,b\n1,2\n3,4\n")
    assert rd.read_csv(str(gz)).take_all() == [{"a": 1, "b": 2}, {"a": 3, "b": 4}]


def test_json_lines_and_array_files(tmp_path):
    out = str(tmp_path / "json")
    rd.from_items([{"a": i, "v": [i, i]} for i in range(5)]).write_json(out)
    back = rd.read_json(out)
    assert sorted(r["a"] for r in back.take_all()) == list(range(5))
    arr = tmp_path / "arr.json"
    arr.write_text(json.dumps([{"a": 1}, {"a": 2}]))
    assert rd.read_json(str(arr)).take_all() == [{"a": 1}, {"a": 2}]


def test_read_text_lines(tmp_path):
    p = tmp_path / "t.txt"
    p.write_text("hello\n\nworld\n")
    assert rd.read_text(str(p)).take_all() == [{"text": "hello"}, {"text": ""},
                                               {"text": "world"}]
    assert rd.read_text(str(p), drop_empty_lines=True).count() == 2


def test_numpy_round_trip(tmp_path):
    out = str(tmp_path / "npy")
    rd.range_tensor(6, shape=(3,)).write_numpy(out, column="data")
    back = rd.read_numpy(out)
    batch = back.take_batch(6)
    assert batch["data"].shape == (6, 3)
    np.save(tmp_path / "one.npy", np.arange(4))
    assert rd.read_numpy(str(tmp_path / "one.npy")).count() == 4


def test_binary_files_with_paths(tmp_path):
    for i in range(3):
        (tmp_path / f"b{i}.bin").write_bytes(bytes([i]) * (i + 1))
    rows = rd.read_binary_files(str(tmp_path), include_paths=True).take_all()
    assert sorted(len(r["bytes"]) for r in rows) == [1, 2, 3]
    assert all(r["path"].startswith(str(tmp_path)) for r in rows)


def test_read_images(tmp_path):
    pil = pytest.importorskip("PIL.Image")
    for i, size in enumerate([(8, 6), (8, 6), (4, 4)]):
        img = pil.fromarray(np.full((size[1], size[0], 3), i * 40, dtype=np.uint8))
        img.save(tmp_path / f"img{i}.png")
    ds = rd.read_images(str(tmp_path), size=(5, 7), mode="RGB")
    batch = ds.take_batch(3)
    assert batch["image"].shape == (3, 5, 7, 3)
    ragged = rd.read_images(str(tmp_path)).take_all()
    assert sorted(r["image"].shape for r in ragged) == [(4, 4, 3), (6, 8, 3), (6, 8, 3)]


def test_fsspec_and_uri_filesystems(parquet_dir):
    fsspec = pytest.importorskip("fsspec")
    fs = fsspec.filesystem("file")
    assert rd.read_parquet(parquet_dir, filesystem=fs).count() == 300
    assert rd.read_parquet("file://" + parquet_dir).count() == 300
    import pyarrow.fs as pafs

    assert rd.read_parquet(parquet_dir, filesystem=pafs.LocalFileSystem()).count() == 300


def test_missing_path_fails_at_the_call(tmp_path):
    with pytest.raises(FileNotFoundError):
        rd.read_csv(str(tmp_path / "nope.csv"))
    assert rd.read_csv(str(tmp_path / "nope.csv"), ignore_missing_paths=True).count() == 0


def test_parquet_count_and_schema_come_from_footers(parquet_dir):
    ds = rd.read_parquet(parquet_dir)
    assert ds.count() == 300 and ds.schema().names == ["id", "x", "s"]
    assert ds._stats is None  # nothing was executed
    assert rd.read_parquet(parquet_dir, filter="id < 10").count() == 10


def test_read_task_per_task_row_limit_and_a_custom_datasource():
    import pandas as pd

    from ember.data.block import BlockMetadata
    from ember.data.datasource import Datasource, ReadTask

    def read():
        return [pd.DataFrame({"id": range(0, 30)}), pa.table({"id": list(range(30, 60))})]

    meta = BlockMetadata(num_rows=60, size_bytes=480, input_files=None, exec_stats=None)
    task = ReadTask(read, meta, schema=pa.schema([("id", pa.int64())]), per_task_row_limit=40)
    assert task.per_task_row_limit == 40 and task.schema.names == ["id"]
    blocks = list(task())
    assert [len(b) for b in blocks] == [30, 10]  # the second block cut short, kept a Table
    assert isinstance(blocks[0], pd.DataFrame) and isinstance(blocks[1], pa.Table)
    assert ReadTask(read, meta).per_task_row_limit is None

    class Limited(Datasource):
        def get_read_tasks(self, parallelism):
            return [ReadTask(read, meta, per_task_row_limit=15)]

    assert rd.read_datasource(Limited()).count() == 15


def test_a_source_with_only_prepare_read_gets_read_datasources_arguments():
    import pandas as pd

    from ember.data.block import BlockMetadata
    from ember.data.datasource import Datasource, ReadTask

    class Ranges(Datasource):  # Ray's older datasource API
        def prepare_read(self, parallelism, n):
            meta = BlockMetadata(num_rows=n, size_bytes=8 * n, input_files=None,
                                 exec_stats=None)
            return [ReadTask(lambda i=i: [pd.DataFrame({"id": range(i * n, (i + 1) * n)})],
                             meta) for i in range(parallelism)]

    ds = rd.read_datasource(Ranges(), override_num_blocks=4, n=5)
    assert sorted(r["id"] for r in ds.take_all()) == list(range(20))
