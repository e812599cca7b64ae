"""Row and batch transforms: map, map_batches, flat_map, filter, columns, limit, union, zip."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

import ember
import ember.data as rd

pytestmark = pytest.mark.usefixtures("cluster")


def test_map_rows():
    ds = rd.range(10).map(lambda r: {"id": r["id"], "sq": r["id"] ** 2})
    assert ds.take_all()[3] == {"id": 3, "sq": 9}


def test_map_with_fn_args_and_kwargs():
    def add(row, a, *, b):
        return {"v": row["id"] + a + b}

    assert rd.range(3).map(add, fn_args=(10,), fn_kwargs={"b": 100}).take_all() == [
        {"v": 110}, {"v": 111}, {"v": 112}]


@pytest.mark.parametrize("fmt", ["default", "numpy", "pandas", "pyarrow"])
def test_map_batches_formats(fmt):
    def double(batch):
        if fmt == "pandas":
            assert isinstance(batch, pd.DataFrame)
            return batch.assign(id=batch["id"] * 2)
        if fmt == "pyarrow":
            assert isinstance(batch, pa.Table)
            return batch.set_column(0, "id", pc.multiply(batch.column("id"), 2))
        assert isinstance(batch, dict) and isinstance(batch["id"], np.ndarray)
        return {"id": batch["id"] * 2}

    out = rd.range(100, override_num_blocks=4).map_batches(double, batch_format=fmt)
    assert [r["id"] for r in out.take_all()] == [2 * i for i in range(100)]


def test_map_batches_batch_size_spans_blocks():
    sizes = []

    def record(batch):
        return {"n": np.array([len(batch["id"])])}

    out = rd.range(100, override_num_blocks=10).map_batches(record, batch_size=25)
    sizes = [r["n"] for r in out.take_all()]
    assert sum(sizes) == 100 and max(sizes) == 25


def test_map_batches_generator_yields_several_batches():
    def split(batch):
        yield {"id": batch["id"][:1]}
        yield {"id": batch["id"][1:]}

    assert rd.range(10, override_num_blocks=2).map_batches(split).count() == 10


def test_map_batches_can_change_row_count_and_columns():
    ds = rd.range(10).map_batches(lambda b: {"even": b["id"][b["id"] % 2 == 0]})
    assert ds.columns() == ["even"]
    assert sorted(r["even"] for r in ds.take_all()) == [0, 2, 4, 6, 8]


def test_map_batches_fn_refs_are_resolved():
    big = ember.put(np.arange(5))

    def add(batch, arr):
        return {"id": batch["id"] + arr.sum()}

    assert rd.range(2).map_batches(add, fn_args=(big,)).take_all() == [{"id": 10}, {"id": 11}]


def test_flat_map():
    ds = rd.range(3).flat_map(lambda r: [{"v": r["id"]}] * r["id"])
    assert [r["v"] for r in ds.take_all()] == [1, 2, 2]


def test_filter_fn_and_expression():
    assert rd.range(10).filter(lambda r: r["id"] > 6).count() == 3
    assert rd.range(10).filter(expr="id > 6 and id != 8").take_all() == [{"id": 7}, {"id": 9}]
    assert rd.range(10).filter(expr=pc.field("id") < 2).count() == 2
    assert rd.range(10).filter(expr="id in [1, 3]").count() == 2
    with pytest.raises(ValueError, match="exactly one"):
        rd.range(3).filter()
    with pytest.raises(ValueError, match="Invalid syntax in the expression"):
        rd.range(3).filter(expr="id >")


def test_add_drop_select_rename_columns():
    ds = rd.from_items([{"a": 1, "b": 2, "c": 3}])
    assert ds.add_column("d", lambda df: df["a"] + 10).take_all() == [
        {"a": 1, "b": 2, "c": 3, "d": 11}]
    assert ds.drop_columns(["b"]).columns() == ["a", "c"]
    assert ds.select_columns(["c", "a"]).take_all() == [{"c": 3, "a": 1}]
    assert ds.rename_columns({"a": "x"}).columns() == ["x", "b", "c"]
    assert ds.rename_columns(["p", "q", "r"]).columns() == ["p", "q", "r"]
    with pytest.raises(ValueError, match="not found"):
        ds.select_columns(["zzz"]).take_all()


def test_random_sample_is_seeded():
    a = rd.range(1000, override_num_blocks=4).random_sample(0.3, seed=7).take_all()
    b = rd.range(1000, override_num_blocks=4).random_sample(0.3, seed=7).take_all()
    assert a == b and 200 < len(a) < 400


def test_limit_keeps_order_and_stops_early():
    ds = rd.range(10_000, override_num_blocks=100).map(lambda r: r).limit(15)
    assert [r["id"] for r in ds.take_all()] == list(range(15))
    assert rd.range(5).limit(0).take_all() == []
    assert rd.range(5).limit(10).count() == 5


def test_union_keeps_input_order():
    ds = rd.range(3).union(rd.from_items([{"id": 10}]), rd.range(2))
    assert [r["id"] for r in ds.take_all()] == [0, 1, 2, 10, 0, 1]
    assert ds.count() == 6


def test_zip_aligns_rows_across_different_blocking():
    left = rd.range(10, override_num_blocks=3)
    right = rd.range(10, override_num_blocks=4).map(lambda r: {"v": r["id"] * 10})
    rows = left.zip(right).take_all()
    assert rows[7] == {"id": 7, "v": 70}
    dup = rd.range(2).zip(rd.range(2)).columns()
    assert dup == ["id", "id_1"]
    with pytest.raises(ValueError, match="different lengths"):
        rd.range(2).zip(rd.range(3)).take_all()


def test_zip_slices_the_smaller_side_to_the_larger_sides_blocks():
    narrow = rd.from_items([{"a": i} for i in range(12)], override_num_blocks=4)
    wide = rd.from_items([{f"c{k}": i for k in range(8)} for i in range(12)],
                         override_num_blocks=2)
    for left, right, blocks in ((narrow, wide, 2), (wide, narrow, 2)):
        ds = left.zip(right).materialize()
        assert sum(len(b.block_refs) for b in ds.iter_internal_ref_bundles()) == blocks
        assert ds.columns() == left.columns() + right.columns()
        assert all(r["a"] == r["c0"] for r in ds.take_all())


def test_tensor_columns_through_map_batches():
    ds = rd.range(8).map_batches(lambda b: {"img": np.ones((len(b["id"]), 4, 4)) * b["id"][:, None, None]})
    batch = ds.take_batch(8)
    assert batch["img"].shape == (8, 4, 4) and batch["img"][5, 0, 0] == 5


def test_async_udfs_run_on_an_event_loop():
    import asyncio

    class AsyncGen:
        async def __call__(self, batch):
            for i in batch["id"]:
                await asyncio.sleep(0)
                yield {"id": [int(i) * 2]}

    async def coro(batch):
        await asyncio.sleep(0)
        return {"id": batch["id"] + 1}

    out = rd.range(6).map_batches(AsyncGen, concurrency=1, max_concurrency=4).take_all()
    assert sorted(r["id"] for r in out) == [0, 2, 4, 6, 8, 10]
    assert sorted(r["id"] for r in rd.range(3).map_batches(coro).take_all()) == [1, 2, 3]

    class Failing:
        async def __call__(self, batch):
            raise AssertionError("async boom")
            yield batch

    with pytest.raises(AssertionError, match="async boom"):
        rd.range(2).map_batches(Failing, concurrency=1).take_all()
