"""Dataset.join against pandas.merge: every join type, shuffle and broadcast paths."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import ember
import ember.data as rd
from ember.data.context import DataContext

pytestmark = pytest.mark.usefixtures("cluster")

_HOW = {"inner": "inner", "left_outer": "left", "right_outer": "right",
        "full_outer": "outer"}


def _frames(seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    left = pd.DataFrame({"k": rng.integers(0, 300, 2000), "g": rng.integers(0, 3, 2000),
                         "a": rng.random(2000)})
    right = pd.DataFrame({"k": rng.integers(100, 400, 700), "g": rng.integers(0, 3, 700),
                          "b": rng.integers(0, 10**6, 700)})
    return left, right


def _canonical(df: pd.DataFrame) -> pd.DataFrame:
    df = df[sorted(df.columns)]
    return df.sort_values(list(df.columns)).reset_index(drop=True)


def _datasets(left: pd.DataFrame, right: pd.DataFrame) -> tuple[rd.Dataset, rd.Dataset]:
    ls = np.array_split(np.arange(len(left)), 5)
    rs = np.array_split(np.arange(len(right)), 3)
    return (rd.from_pandas([left.iloc[i] for i in ls]),
            rd.from_pandas([right.iloc[i] for i in rs]))


@pytest.mark.parametrize("broadcast", [False, True], ids=["shuffle", "broadcast"])
@pytest.mark.parametrize("join_type", list(_HOW))
def test_join_types_match_pandas_merge(join_type, broadcast):
    if not broadcast:
        DataContext.get_current().broadcast_join_threshold_bytes = 0
    left, right = _frames()
    lds, rds_ = _datasets(left, right)
    out = lds.join(rds_, join_type=join_type, num_partitions=4, on=("k", "g"))
    got = out.to_pandas()
    want = left.merge(right, how=_HOW[join_type], on=["k", "g"])
    assert len(got) == len(want) > 0
    pd.testing.assert_frame_equal(_canonical(got), _canonical(want), check_dtype=False)
    if not broadcast:
        assert out.num_blocks() == 4


@pytest.mark.parametrize("join_type", ["left_semi", "left_anti", "right_semi", "right_anti"])
def test_semi_and_anti_joins_keep_one_side(join_type):
    DataContext.get_current().broadcast_join_threshold_bytes = 0
    left, right = _frames(1)
    lds, rds_ = _datasets(left, right)
    got = lds.join(rds_, join_type=join_type, num_partitions=3, on=("k",)).to_pandas()
    side, other = (left, right) if join_type.startswith("left") else (right, left)
    hit = side["k"].isin(other["k"])
    want = side[hit if join_type.endswith("semi") else ~hit]
    pd.testing.assert_frame_equal(_canonical(got), _canonical(want), check_dtype=False)


def test_right_on_and_suffixes_as_in_ray():
    left = pd.DataFrame({"id": [1, 2, 3, 4], "v": [10, 20, 30, 40]})
    right = pd.DataFrame({"key": [2, 3, 3, 5], "v": [200, 300, 301, 500]})
    out = rd.from_pandas(left).join(rd.from_pandas(right), join_type="left_outer",
                                    num_partitions=2, on=("id",), right_on=("key",),
                                    left_suffix="_l", right_suffix="_r")
    got = out.to_pandas().sort_values(["id", "v_r"]).reset_index(drop=True)
    assert list(got.columns) == ["id", "v_l", "v_r"]
    assert got["id"].tolist() == [1, 2, 3, 3, 4]
    assert got["v_r"].fillna(-1).tolist() == [-1, 200, 300, 301, -1]


def test_string_keys_shuffle_join_matches_pandas():
    DataContext.get_current().broadcast_join_threshold_bytes = 0
    rng = np.random.default_rng(3)
    names = np.array([f"name-{i}" for i in range(50)])
    left = pd.DataFrame({"s": names[rng.integers(0, 50, 500)], "x": np.arange(500)})
    right = pd.DataFrame({"s": names[:30], "y": np.arange(30) * 2})
    lds, rds_ = _datasets(left, right)
    got = lds.join(rds_, join_type="inner", num_partitions=3, on=("s",)).to_pandas()
    want = left.merge(right, on="s")
    pd.testing.assert_frame_equal(_canonical(got), _canonical(want), check_dtype=False)


def test_join_chains_with_filters_and_groupby():
    orders = rd.range(1000).map(lambda r: {"o": r["id"], "c": r["id"] % 37})
    customers = rd.range(37).map(lambda r: {"c": r["id"], "seg": int(r["id"] % 2)})
    out = (orders.join(customers, join_type="inner", num_partitions=2, on=("c",))
           .filter(expr="seg == 1").groupby("c").count().to_pandas())
    assert out["c"].tolist() == [c for c in range(37) if c % 2 == 1]
    assert out["count()"].sum() == sum(1 for o in range(1000) if (o % 37) % 2 == 1)


def test_overlapping_columns_without_suffix_fail_like_ray():
    left = rd.from_pandas(pd.DataFrame({"id": [1], "v": [1]}))
    right = rd.from_pandas(pd.DataFrame({"id": [1], "v": [2]}))
    with pytest.raises(ValueError, match="suffixes cannot be both None"):
        left.join(right, join_type="inner", num_partitions=1).take_all()


@pytest.mark.parametrize("kwargs, match", [
    ({"join_type": "cross", "num_partitions": 2}, "Invalid join type"),
    ({"join_type": "inner", "num_partitions": 0}, "num_partitions"),
    ({"join_type": "inner", "num_partitions": 2, "on": "id"}, "tuple or list"),
    ({"join_type": "inner", "num_partitions": 2, "on": ("id",), "right_on": ("a", "b")},
     "has to match"),
])
def test_bad_arguments_are_refused(kwargs, match):
    ds = rd.range(3)
    with pytest.raises(ValueError, match=match):
        ds.join(rd.range(3), **kwargs)


def test_missing_key_is_named():
    with pytest.raises(ValueError, match="not found"):
        rd.range(3).join(rd.range(3), join_type="inner", num_partitions=2,
                         on=("nope",)).take_all()
    # validate_schemas compares the key types of both sides, as Ray's does.
    with pytest.raises(ValueError, match="Key columns are expected to be present"):
        rd.range(3).join(rd.range(3).rename_columns({"id": "x"}), join_type="inner",
                         num_partitions=2, validate_schemas=True)


def test_streamed_broadcast_join_of_a_large_read_matches_pandas():
    small = pd.DataFrame({"id": np.arange(0, 50_000, 7), "tag": np.arange(0, 50_000, 7) % 5})
    big = rd.range(50_000, override_num_blocks=20).map_batches(
        lambda b: {"id": b["id"], "v": b["id"] * 2})
    out = big.join(rd.from_pandas(small), join_type="left_outer", num_partitions=4)
    got = out.to_pandas()
    want = pd.DataFrame({"id": np.arange(50_000), "v": np.arange(50_000) * 2}).merge(
        small, how="left", on="id")
    pd.testing.assert_frame_equal(_canonical(got), _canonical(want), check_dtype=False)
    assert len(big.join(rd.from_pandas(small), join_type="inner", num_partitions=4)
               .limit(5).take_all()) == 5


def test_join_type_may_be_an_enum_with_the_name_as_value():
    import enum

    class JoinType(enum.Enum):  # the shape of Ray's JoinType
        INNER = "inner"

    left = rd.from_items([{"id": 1, "a": 1}, {"id": 2, "a": 2}])
    right = rd.from_items([{"id": 2, "b": 3}])
    rows = left.join(right, join_type=JoinType.INNER, num_partitions=2).take_all()
    assert [(r["id"], r["a"], r["b"]) for r in rows] == [(2, 2, 3)]


@pytest.mark.parametrize("join_type", ["inner", "full_outer", "left_semi", "right_anti"])
def test_join_carries_list_and_tensor_columns_arrow_cannot_hash(join_type):
    left = rd.from_items([{"id": i, "lst": [i, i + 1], "t": np.full((2, 2), i, np.float32)}
                          for i in range(3)])
    right = rd.from_items([{"id": i, "v": v} for i, v in [(0, "x"), (1, "y"), (3, "z")]])
    rows = {r["id"]: r for r in left.join(right, join_type, 2, on=("id",)).take_all()}
    expect_ids = {"inner": {0, 1}, "full_outer": {0, 1, 2, 3}, "left_semi": {0, 1},
                  "right_anti": {3}}[join_type]
    assert set(rows) == expect_ids
    for i in expect_ids & {0, 1, 2}:
        assert rows[i]["lst"] == [i, i + 1]
        assert rows[i]["t"].tolist() == [[i, i], [i, i]]
    if join_type == "full_outer":
        assert rows[3]["t"] is None and rows[3]["lst"] is None and rows[2]["v"] is None


def test_validate_schemas_compares_key_types_with_rays_message():
    ints = rd.range(4).map(lambda r: {"id": int(r["id"])})
    floats = rd.range(4).map(lambda r: {"id": float(r["id"])})
    with pytest.raises(ValueError) as info:
        ints.join(floats, "inner", 2, on=("id",), validate_schemas=True)
    assert str(info.value).endswith("left has Column  Type\n------  ----\nid      int64, but "
                                    "right has Column  Type\n------  ----\nid      double")
    with pytest.raises(ValueError, match="left has None"):
        rd.range(0).join(ints, "inner", 2, on=("id",), validate_schemas=True)
    assert rd.range(0).schema() is None and rd.range(0).take_all() == []


def test_clashing_columns_fail_in_the_join_tasks_for_every_path():
    left = rd.from_items([{"id": 1, "value": 10}, {"id": 2, "value": 20}])
    right = rd.from_items([{"id": 1, "value": 99}])
    for join_type in ("inner", "full_outer"):
        with pytest.raises(ember.exceptions.RayTaskError, match="suffixes cannot be both"):
            left.join(right, join_type, 1, on=("id",)).count()
    assert left.join(right, "left_anti", 1, on=("id",)).take_all() == [{"id": 2, "value": 20}]
