"""The optimizer and planner: operator fusion, limit pushdown and early stopping."""

from __future__ import annotations

import pytest

import ember.data as rd
from ember.data._executor import topological
from ember.data._logical import Limit, MapOp, Read
from ember.data._map_operator import ActorPoolMapOperator, TaskPoolMapOperator
from ember.data._planner import autodetect_parallelism, optimize, plan
from ember.data.context import DataContext

pytestmark = pytest.mark.usefixtures("cluster")


def _physical(ds):
    return topological(plan(optimize(ds._plan), DataContext.get_current()))


def _visible(ds):
    return [op for op in _physical(ds) if not op.hidden]


def test_consecutive_maps_fuse_into_one_task():
    ds = rd.range(10).map(lambda r: r).filter(lambda r: True).map_batches(lambda b: b)
    ops = _visible(ds)
    assert len(ops) == 1 and isinstance(ops[0], TaskPoolMapOperator)
    assert ops[0].name == "ReadRange->Map(<lambda>)->Filter(<lambda>)->MapBatches(<lambda>)"


def test_different_resources_are_not_fused():
    ds = rd.range(10).map(lambda r: r, num_cpus=0.5)
    assert [op.name for op in _visible(ds)] == ["ReadRange", "Map(<lambda>)"]


def test_task_chain_fuses_into_an_actor_pool_but_not_out_of_it():
    class Ident:
        def __call__(self, b):
            return b

    ds = rd.range(10).map_batches(lambda b: b).map_batches(Ident, concurrency=1)
    ds = ds.map(lambda r: r)
    ops = _visible(ds)
    assert isinstance(ops[0], ActorPoolMapOperator)
    assert ops[0].name == "ReadRange->MapBatches(<lambda>)->MapBatches(Ident)"
    assert isinstance(ops[1], TaskPoolMapOperator)
    assert ds.count() == 10


def test_fusion_can_be_disabled():
    DataContext.get_current().enable_operator_fusion = False
    ds = rd.range(10).map(lambda r: r)
    assert len(_visible(ds)) == 2
    assert ds.take_all()[9] == {"id": 9}


def test_limit_moves_below_row_preserving_maps_only():
    ds = rd.range(100).map(lambda r: r).select_columns(["id"]).limit(5)
    opt = optimize(ds._plan)
    assert isinstance(opt, MapOp) and isinstance(opt.inputs[0], MapOp)
    assert isinstance(opt.inputs[0].inputs[0], Limit)
    assert isinstance(opt.inputs[0].inputs[0].inputs[0], Read)
    kept = optimize(rd.range(100).filter(lambda r: True).limit(5)._plan)
    assert isinstance(kept, Limit)  # a filter changes row counts: the limit stays above
    merged = optimize(rd.range(100).limit(7).limit(3)._plan)
    assert isinstance(merged, Limit) and merged.limit == 3


def test_limit_stops_reading_early():
    ds = rd.range(1_000_000, override_num_blocks=500).map(lambda r: r).limit(10)
    assert [r["id"] for r in ds.take_all()] == list(range(10))
    read = next(op for op in ds._stats.ops if op.name.startswith("ReadRange"))
    assert read.tasks_submitted < 20  # not 500
    assert read.rows_out <= 10 * read.tasks_submitted  # each task stopped after 10 rows


def test_autodetected_parallelism_follows_data_size():
    ctx = DataContext.get_current()
    assert autodetect_parallelism(ctx, 10 * 1024) == 4  # tiny: 2 per CPU
    assert autodetect_parallelism(ctx, 50 << 20) == 50  # ~1 MiB blocks
    assert autodetect_parallelism(ctx, 1 << 40) == 8192  # at most 128 MiB blocks
