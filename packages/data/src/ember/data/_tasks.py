"""The remote side of map operators: one task function and one actor class.

Both run a fused chain of stages over their inputs and return a small inline value,
`([(block_ref, metadata), ...], TaskStats)`: the blocks themselves are put into the
object store from the worker, so the driver waits on one small object per task and
never fetches block data it does not consume.
"""

from __future__ import annotations

import time
from typing import Any

import pyarrow as pa

import ember
from ember.data import _block
from ember.data._metadata import BlockMetadata, TaskStats, put_block
from ember.data._task_context import set_task_index
from ember.data._transforms import Stage, run_stages
from ember.data.context import DataContext

__all__ = ["MapWorker", "execute_stages", "map_task"]


def _emit(block: pa.Table) -> tuple[Any, BlockMetadata]:
    return put_block(block)


def execute_stages(stages: list[Stage], ctx: DataContext, index: int,
                   inputs: tuple) -> tuple[list[tuple[Any, BlockMetadata]], TaskStats]:
    """Run the chain; coalesce small outputs and split large ones to the target size."""
    DataContext._set_current(ctx)
    set_task_index(index)
    t0, c0 = time.perf_counter(), time.process_time()
    udf0 = sum(s.udf_s for s in stages)
    target = ctx.target_max_block_size or (128 << 20)
    out: list[tuple[Any, BlockMetadata]] = []
    pending: list[pa.Table] = []
    pending_bytes = 0
    schema_only: pa.Table | None = None
    for block in run_stages(stages, inputs):
        if block.num_rows == 0:
            if schema_only is None or not schema_only.num_columns:
                schema_only = block
            continue
        for piece in _block.split_block(block, target):
            pending.append(piece)
            pending_bytes += _block.block_size(piece)
            if pending_bytes >= target:
                out.append(_emit(_block.concat(pending)))
                pending, pending_bytes = [], 0
    if pending:
        out.append(_emit(_block.concat(pending)))
    if not out and schema_only is not None:
        out.append(_emit(schema_only))  # keeps the schema of an all-filtered task
    stats = TaskStats(time.perf_counter() - t0, time.process_time() - c0,
                      sum(s.udf_s for s in stages) - udf0)
    return out, stats


@ember.remote
def map_task(stages: list[Stage], ctx: DataContext, index: int, *inputs: Any) -> Any:
    for s in stages:
        s.init()
    return execute_stages(stages, ctx, index, inputs)


class MapWorker:
    """An actor of an actor-pool map operator: builds the callable classes once."""

    def __init__(self, stages: list[Stage], ctx: DataContext) -> None:
        DataContext._set_current(ctx)
        self.stages = stages
        self.ctx = ctx
        for s in stages:
            s.init()

    def ready(self) -> bool:
        return True

    def run(self, index: int, *inputs: Any) -> Any:
        return execute_stages(self.stages, self.ctx, index, inputs)
