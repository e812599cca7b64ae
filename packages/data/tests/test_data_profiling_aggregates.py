"""Ray Data's profiling aggregations (missing and zero percentages, approximate quantiles
and top-k) and Unique over list values, globally and per group."""

from __future__ import annotations

from collections import Counter

import pytest

import ember
from ember.data.aggregate import (
    ApproximateQuantile,
    ApproximateTopK,
    MissingValuePercentage,
    Unique,
    ZeroPercentage,
)

pytestmark = pytest.mark.usefixtures("cluster")


def test_missing_and_zero_percentages_count_nulls_and_nans():
    rows = [{"v": 0.0}, {"v": None}, {"v": float("nan")}, {"v": 3.0}, {"v": 0.0}]
    ds = ember.data.from_items(rows, override_num_blocks=2)
    out = ds.aggregate(MissingValuePercentage(on="v"), ZeroPercentage(on="v"),
                       ZeroPercentage(on="v", ignore_nulls=False, alias_name="z_all"))
    assert out["missing_pct(v)"] == 40.0
    assert out["zero_pct(v)"] == 50.0  # 2 zeros of 4 non-null values (NaN is not null)
    assert out["z_all"] == 40.0


def test_approximate_quantile_nearest_rank_over_blocks_and_groups():
    ds = ember.data.from_items([{"g": i % 2, "v": float(i)} for i in range(101)],
                               override_num_blocks=4)
    out = ds.aggregate(ApproximateQuantile(on="v", quantiles=[0.0, 0.5, 0.9, 1.0]))
    assert out["approx_quantile(v)"] == [0.0, 50.0, 90.0, 100.0]
    rows = ds.groupby("g").aggregate(ApproximateQuantile(on="v", quantiles=[0.5])).take_all()
    assert {r["g"]: r["approx_quantile(v)"] for r in rows} == {0: [50.0], 1: [49.0]}


def test_approximate_quantile_stays_within_rank_error_past_its_bound():
    agg = ApproximateQuantile(on="v", quantiles=[0.25, 0.5, 0.75], quantile_precision=4)
    ds = ember.data.range(5000, override_num_blocks=5).rename_columns({"id": "v"})
    got = ds.aggregate(agg)["approx_quantile(v)"]
    for q, value in zip([0.25, 0.5, 0.75], got, strict=True):
        assert abs(value - q * 5000) <= 5000 * 0.05


def test_approximate_topk_counts_values_lists_and_list_items():
    words = ["a"] * 5 + [None] * 9 + ["b"] * 3 + ["c"]
    ds = ember.data.from_items([{"w": w} for w in words], override_num_blocks=3)
    assert ds.aggregate(ApproximateTopK(on="w", k=2))["approx_topk(w)"] == [
        {"w": "a", "count": 5}, {"w": "b", "count": 3}]
    lists = ember.data.from_items([{"x": [1, 2]}, {"x": [1, 2]}, {"x": [2]}])
    assert lists.aggregate(ApproximateTopK(on="x", k=1))["approx_topk(x)"] == [
        {"x": [1, 2], "count": 2}]
    items = lists.aggregate(ApproximateTopK(on="x", k=2, encode_lists=True))
    assert items["approx_topk(x)"] == [{"x": 2, "count": 3}, {"x": 1, "count": 2}]


def test_unique_of_list_values_and_of_their_items():
    ds = ember.data.from_items([{"x": ["a", "b"]}, {"x": ["a", "b"]}, {"x": ["a", None]}])
    whole = ds.aggregate(Unique(on="x"))["unique(x)"]
    assert sorted(whole, key=str) == [["a", "b"], ["a", None]]
    flat = ds.aggregate(Unique(on="x", encode_lists=True, ignore_nulls=True))
    assert Counter(flat["unique(x)"]) == Counter(["a", "b"])


def test_reducing_aggregates_need_a_column_name():
    from ember.data.aggregate import Max, Mean, Std

    for make in (lambda: Max(), lambda: Max(lambda x: x), lambda: Mean(), lambda: Std(on="")):
        with pytest.raises(ValueError, match="needs the name of a column"):
            make()
    with pytest.raises(ValueError, match="not found"):
        ember.data.range(10).aggregate(Max("bad_field"))
    assert ember.data.range(10).aggregate(Max("id")) == {"max(id)": 9}


def test_single_column_shortcuts_return_the_value_and_std_of_one_value_is_nan():
    import math

    ds = ember.data.range(20)
    assert ds.sum() == 190 and ds.max() == 19 and ds.sum("id") == 190
    assert math.isnan(ember.data.from_items([{"a": 3}]).std("a"))
    two = ember.data.from_items([{"a": 1, "b": 2}])
    assert two.sum() == {"sum(a)": 1, "sum(b)": 2}
