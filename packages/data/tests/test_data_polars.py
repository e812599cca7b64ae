"""batch_format="polars": map_batches, iter_batches, map_groups, add_column and returns."""

from __future__ import annotations

import numpy as np
import pytest

import ember.data as rd

pl = pytest.importorskip("polars")  # the ember-data[polars] extra

pytestmark = pytest.mark.usefixtures("cluster")


def test_map_batches_hands_polars_frames_and_takes_them_back():
    seen = []

    def fn(df):
        seen.append(type(df).__name__)
        assert isinstance(df, pl.DataFrame)
        return df.with_columns((pl.col("id") * 2).alias("double")).filter(pl.col("id") % 3 == 0)

    out = rd.range(100, override_num_blocks=4).map_batches(fn, batch_format="polars",
                                                           batch_size=10).take_all()
    assert [r["id"] for r in out] == list(range(0, 100, 3))
    assert all(r["double"] == 2 * r["id"] for r in out)


def test_polars_output_from_other_formats_and_strings():
    def fn(batch):
        return pl.DataFrame({"s": [f"x{i}" for i in batch["id"]], "id": batch["id"]})

    ds = rd.range(20, override_num_blocks=2).map_batches(fn, batch_format="numpy")
    assert ds.take(3) == [{"s": "x0", "id": 0}, {"s": "x1", "id": 1}, {"s": "x2", "id": 2}]
    agg = ds.map_batches(lambda df: df.group_by(pl.col("id") % 2).agg(pl.len()),
                         batch_format="polars").to_pandas()
    assert agg["len"].sum() == 20


def test_iter_batches_and_take_batch_in_polars():
    ds = rd.range(50, override_num_blocks=3)
    batches = list(ds.iter_batches(batch_size=16, batch_format="polars"))
    assert all(isinstance(b, pl.DataFrame) for b in batches)
    assert [len(b) for b in batches] == [16, 16, 16, 2]
    assert np.concatenate([b["id"].to_numpy() for b in batches]).tolist() == list(range(50))
    assert ds.take_batch(5, batch_format="polars")["id"].to_list() == [0, 1, 2, 3, 4]


def test_map_groups_and_add_column_with_polars():
    ds = rd.from_items([{"k": i % 3, "v": float(i)} for i in range(30)])
    out = ds.groupby("k").map_groups(
        lambda df: df.select(pl.col("k").first(), pl.col("v").sum()),
        batch_format="polars").to_pandas()
    assert out.sort_values("k")["v"].tolist() == [135.0, 145.0, 155.0]
    added = ds.add_column("w", lambda df: df["v"] + 1, batch_format="polars").take(2)
    assert [r["w"] for r in added] == [1.0, 2.0]


def test_unknown_batch_format_lists_polars():
    with pytest.raises(ValueError, match="'polars'"):
        rd.range(3).map_batches(lambda b: b, batch_format="spark")


def test_missing_polars_names_the_extra(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "polars", None)
    with pytest.raises(ImportError, match=r"ember-data\[polars\]"):
        rd.range(3).map_batches(lambda b: b, batch_format="polars")
