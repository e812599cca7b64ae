"""Repartition, shuffles, sort, groupby aggregations and map_groups (checked vs pandas)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import ember.data as rd
from ember.data.aggregate import AggregateFn, Count, Max, Mean, Min, Std, Sum

pytestmark = pytest.mark.usefixtures("cluster")


def _frame(n=2000, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"k": rng.integers(0, 13, n), "s": rng.choice(list("abcde"), n),
                         "v": rng.normal(size=n), "i": rng.integers(-50, 50, n)})


def test_repartition_keeps_order_and_sets_block_count():
    ds = rd.range(100, override_num_blocks=3).repartition(7)
    assert ds.num_blocks() == 7
    assert [r["id"] for r in ds.take_all()] == list(range(100))
    assert rd.range(100).repartition(target_num_rows_per_block=30).num_blocks() == 4


def _block_rows(ds) -> list[int]:
    return [m.num_rows for bundle in ds.iter_internal_ref_bundles() for m in bundle.metadata]


def test_repartition_by_rows_strict_and_per_input_block():
    strict = rd.from_items([{"id": i} for i in range(101)]).repartition(
        target_num_rows_per_block=20, strict=True).materialize()
    assert _block_rows(strict) == [20] * 5 + [1]  # stitched across input blocks
    assert [r["id"] for r in strict.take_all()] == list(range(101))
    loose = rd.range(100, override_num_blocks=10).repartition(target_num_rows_per_block=20)
    assert _block_rows(loose.materialize()) == [10] * 10  # never stitched
    cut = rd.range(50, override_num_blocks=2).repartition(target_num_rows_per_block=10)
    assert _block_rows(cut.materialize()) == [10, 10, 5, 10, 10, 5]


def test_repartition_puts_empty_blocks_last_and_keeps_empty_datasets_split():
    assert _block_rows(rd.range(20, override_num_blocks=10).repartition(40)) == \
        [1] * 20 + [0] * 20
    empty = rd.range(100).filter(lambda r: False)
    for shuffle in (False, True):
        assert _block_rows(empty.repartition(5, shuffle=shuffle)) == [0] * 5


def test_random_shuffle_is_a_seeded_permutation():
    a = [r["id"] for r in rd.range(500, override_num_blocks=5).random_shuffle(seed=3).take_all()]
    b = [r["id"] for r in rd.range(500, override_num_blocks=5).random_shuffle(seed=3).take_all()]
    assert a == b and sorted(a) == list(range(500)) and a != list(range(500))
    shuffled = rd.range(100).repartition(4, shuffle=True)
    assert sorted(r["id"] for r in shuffled.take_all()) == list(range(100))


def test_randomize_block_order_moves_whole_blocks():
    ds = rd.range(40, override_num_blocks=4).randomize_block_order(seed=1)
    ids = [r["id"] for r in ds.take_all()]
    assert sorted(ids) == list(range(40))
    chunks = [ids[i:i + 10] for i in range(0, 40, 10)]
    assert all(c == list(range(c[0], c[0] + 10)) for c in chunks)


def test_sort_single_key_both_directions():
    df = _frame()
    ds = rd.from_pandas([df.iloc[:700], df.iloc[700:1500], df.iloc[1500:]])
    asc = ds.sort("v").to_pandas()["v"].tolist()
    assert asc == sorted(df["v"].tolist())
    desc = ds.sort("v", descending=True).to_pandas()["v"].tolist()
    assert desc == sorted(df["v"].tolist(), reverse=True)


def test_sort_multiple_keys_and_strings():
    df = _frame()
    ds = rd.from_pandas([df.iloc[:1000], df.iloc[1000:]])
    out = ds.sort(["s", "i"], descending=[False, True]).to_pandas()
    exp = df.sort_values(["s", "i"], ascending=[True, False], kind="stable")
    assert out["s"].tolist() == exp["s"].tolist() and out["i"].tolist() == exp["i"].tolist()


def test_sort_with_nulls_puts_them_last():
    ds = rd.from_items([{"x": 3}, {"x": None}, {"x": 1}, {"x": 2}], override_num_blocks=2)
    assert [r["x"] for r in ds.sort("x").take_all()] == [1, 2, 3, None]


def test_groupby_builtin_aggregations_match_pandas():
    df = _frame()
    ds = rd.from_pandas([df.iloc[:500], df.iloc[500:1200], df.iloc[1200:]])
    out = ds.groupby("k").aggregate(Count(), Sum("i"), Min("v"), Max("v"), Mean("v"),
                                    Std("v")).to_pandas()
    g = df.groupby("k")
    assert out["k"].tolist() == sorted(df["k"].unique().tolist())
    assert out["count()"].tolist() == g.size().tolist()
    assert out["sum(i)"].tolist() == g["i"].sum().tolist()
    np.testing.assert_allclose(out["min(v)"], g["v"].min())
    np.testing.assert_allclose(out["max(v)"], g["v"].max())
    np.testing.assert_allclose(out["mean(v)"], g["v"].mean())
    np.testing.assert_allclose(out["std(v)"], g["v"].std(ddof=1))


def test_groupby_shortcuts_and_multiple_keys():
    df = _frame(600)
    ds = rd.from_pandas(df)
    assert ds.groupby("s").count().to_pandas()["count()"].tolist() == \
        df.groupby("s").size().tolist()
    out = ds.groupby(["s", "k"]).sum("i").to_pandas()
    exp = df.groupby(["s", "k"])["i"].sum().reset_index()
    assert out["sum(i)"].tolist() == exp["i"].tolist()
    assert out["s"].tolist() == exp["s"].tolist()
    assert ds.groupby("k", num_partitions=3).mean("v").count() == df["k"].nunique()


def test_groupby_custom_aggregate_fn():
    ds = rd.from_items([{"g": i % 2, "x": i} for i in range(10)])
    agg = AggregateFn(init=lambda k: [], accumulate_row=lambda a, r: a + [r["x"]],
                      merge=lambda a, b: a + b, finalize=lambda a: max(a) - min(a),
                      name="spread")
    assert ds.groupby("g").aggregate(agg).take_all() == [{"g": 0, "spread": 8},
                                                          {"g": 1, "spread": 8}]


def test_map_groups_sees_whole_groups():
    ds = rd.from_items([{"g": i % 3, "x": i} for i in range(30)], override_num_blocks=4)

    def summarize(batch):
        return {"g": batch["g"][:1], "n": np.array([len(batch["x"])]),
                "total": np.array([batch["x"].sum()])}

    rows = ds.groupby("g").map_groups(summarize).take_all()
    assert rows == [{"g": 0, "n": 10, "total": 135}, {"g": 1, "n": 10, "total": 145},
                    {"g": 2, "n": 10, "total": 155}]
    pandas_rows = ds.groupby("g").map_groups(lambda df: df.head(1), batch_format="pandas")
    assert pandas_rows.count() == 3


def test_global_aggregations():
    df = _frame()
    ds = rd.from_pandas([df.iloc[:1000], df.iloc[1000:]])
    assert ds.sum("i") == df["i"].sum()
    assert ds.min("v") == pytest.approx(df["v"].min())
    assert ds.max("i") == df["i"].max()
    assert ds.mean("v") == pytest.approx(df["v"].mean())
    assert ds.std("v") == pytest.approx(df["v"].std(ddof=1))
    assert ds.std("v", ddof=0) == pytest.approx(df["v"].std(ddof=0))
    res = ds.aggregate(Count(), Sum("i"), Mean("v"))
    assert res["count()"] == 2000 and res["sum(i)"] == df["i"].sum()
    assert ds.sum(["i", "k"]) == {"sum(i)": df["i"].sum(), "sum(k)": df["k"].sum()}


def test_aggregations_with_nulls():
    ds = rd.from_items([{"x": 1}, {"x": None}, {"x": 3}])
    assert ds.sum("x") == 4
    assert ds.sum("x", ignore_nulls=False) is None
    assert ds.mean("x") == 2
    assert ds.aggregate(Count("x", ignore_nulls=True))["count(x)"] == 2


def test_unique():
    ds = rd.from_items([{"c": v} for v in [3, 1, 3, None, 2, 1]])
    assert sorted(ds.unique("c", ignore_nulls=True)) == [1, 2, 3]
    assert len(ds.unique("c")) == 4


def test_groupby_unknown_column_is_a_clear_error():
    with pytest.raises(ValueError, match="not found"):
        rd.range(5).groupby("nope").count().take_all()


def _rows_per_block(ds):
    return [m.num_rows for b in ds.iter_internal_ref_bundles() for m in b.metadata]


def test_sort_keeps_one_output_block_per_input_block_as_ray():
    same = rd.from_items([1] * 20).repartition(10).sort("item")
    counts = _rows_per_block(same)
    assert len(counts) == 10 and sorted(counts)[-1] == 20  # equal keys share one block
    rows = [{"a": i, "b": j} for i in range(2) for j in range(5)]
    multi = rd.from_items(rows, override_num_blocks=5).sort(["a", "b"],
                                                             descending=[False, True])
    counts = _rows_per_block(multi)
    assert len(counts) == 5 and all(1 <= n <= 3 for n in counts)  # split on whole keys
    assert [(r["a"], r["b"]) for r in multi.take_all()] == sorted(
        [(r["a"], r["b"]) for r in rows], key=lambda t: (t[0], -t[1]))


def test_repartition_argument_errors_as_ray():
    with pytest.raises(ValueError, match="Either `num_blocks` or `target_num_rows_per_block`"):
        rd.range(4).repartition()
    with pytest.raises(ValueError, match="Only one of `num_blocks`"):
        rd.range(4).repartition(2, target_num_rows_per_block=2)
    with pytest.raises(ValueError, match="`shuffle` must be False"):
        rd.range(4).repartition(target_num_rows_per_block=2, shuffle=True)
