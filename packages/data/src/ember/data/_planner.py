"""Optimize a logical plan and turn it into physical operators.

Rules, in order:
  * predicate pushdown: an expression filter right above a reader that supports it
    becomes part of the read (Parquet: row-group pruning and filtered decoding);
  * projection pushdown: select_columns/drop_columns right above such a reader become
    the reader's column list;
  * limit pushdown: a limit moves below row-preserving maps (map, select, rename…),
    consecutive limits merge, and every task upstream of a limit stops after `limit`
    rows;
  * operator fusion: consecutive map-like operators with compatible resources run as
    one task (a task-based chain also fuses into a following actor-pool operator), so
    intermediate blocks never touch the object store.
"""

from __future__ import annotations

import copy
from typing import Any

import ember
from ember.data._logical import (
    AllToAll,
    Compute,
    InputData,
    Join,
    Limit,
    LogicalOperator,
    MapOp,
    Read,
    Union,
    Zip,
)
from ember.data._map_operator import ActorPoolMapOperator, MapOperator, TaskPoolMapOperator
from ember.data._metadata import RefBundle
from ember.data._physical import (
    AllToAllOperator,
    InputDataBuffer,
    LimitOperator,
    PhysicalOperator,
    UnionOperator,
)
from ember.data._transforms import LimitStage, ReadStage
from ember.data.context import DataContext

__all__ = ["autodetect_parallelism", "optimize", "plan"]


# -- logical rules -------------------------------------------------------------------

def _rewrite(op: LogicalOperator, rule: Any) -> LogicalOperator:
    new_inputs = [_rewrite(i, rule) for i in op.inputs]
    if any(a is not b for a, b in zip(new_inputs, op.inputs, strict=True)):
        op = op.with_inputs(new_inputs)
    return rule(op)


def _with_datasource(read: Read, datasource: Any) -> Read:
    new = copy.copy(read)
    new.datasource = datasource
    return new


def _push_predicate(op: LogicalOperator) -> LogicalOperator:
    if isinstance(op, MapOp) and op.filter_expr is not None and not op.compute.actors:
        src = op.inputs[0]
        if isinstance(src, Read) and src.datasource.supports_predicate_pushdown():
            return _with_datasource(src, src.datasource.apply_predicate(op.filter_expr))
    return op


def _push_projection(op: LogicalOperator) -> LogicalOperator:
    if not isinstance(op, MapOp) or not op.projection or op.compute.actors:
        return op
    src = op.inputs[0]
    if not isinstance(src, Read) or not src.datasource.supports_projection_pushdown():
        return op
    proj = op.projection
    if proj.get("select") is not None:
        return _with_datasource(src, src.datasource.apply_projection(list(proj["select"])))
    if proj.get("drop") is not None:
        schema = src.datasource.schema()
        if schema is None:
            return op
        keep = [n for n in schema.names if n not in set(proj["drop"])]
        return _with_datasource(src, src.datasource.apply_projection(keep))
    return op


def _push_limit(op: LogicalOperator) -> LogicalOperator:
    if not isinstance(op, Limit):
        return op
    src = op.inputs[0]
    if isinstance(src, Limit):
        return _push_limit(Limit(src.inputs[0], min(op.limit, src.limit)))
    if isinstance(src, MapOp) and src.row_preserving:
        return src.with_inputs([_push_limit(Limit(src.inputs[0], op.limit))])
    return op


def optimize(op: LogicalOperator) -> LogicalOperator:
    op = _rewrite(op, _push_predicate)
    op = _rewrite(op, _push_projection)
    op = _rewrite(op, _push_limit)
    return op


# -- physical planning ---------------------------------------------------------------

def autodetect_parallelism(ctx: DataContext, estimated_bytes: int | None) -> int:
    """Ray's heuristic: ~1 MiB..128 MiB blocks, at least 2 per CPU, about 200 in all."""
    cpus = int(ember.cluster_resources().get("CPU", 1))
    if estimated_bytes is None:
        return max(ctx.read_op_min_num_blocks, 2 * cpus)
    # target_max_block_size None means blocks of any size (as in Ray).
    min_safe = max(1, estimated_bytes // max(1, ctx.target_max_block_size or estimated_bytes))
    max_reasonable = max(1, estimated_bytes // max(1, ctx.target_min_block_size))
    return int(max(min(ctx.read_op_min_num_blocks, max_reasonable), min_safe, 2 * cpus))


def _group_read_tasks(tasks: list, requested: int | None, ctx: DataContext) -> list[list]:
    """Read tasks per ember task. An explicit parallelism gets one each; otherwise
    consecutive small read tasks share an ember task (at least 4 per CPU, each at most
    `read_task_group_max_bytes` of estimated output), saving a task's fixed cost each."""
    if requested or len(tasks) <= 1:
        return [[t] for t in tasks]
    cpus = max(1, int(ember.cluster_resources().get("CPU", 1)))
    sizes = [t.metadata.size_bytes or 0 for t in tasks]
    cap = max(1, ctx.read_task_group_max_bytes)
    n = min(len(tasks), max(4 * cpus, -(-sum(sizes) // cap)))
    per = -(-len(tasks) // n)
    return [tasks[i:i + per] for i in range(0, len(tasks), per)]


def _resources(args: dict) -> tuple:
    return (args.get("num_cpus", 1) if args.get("num_cpus") is not None else 1,
            args.get("num_gpus") or 0, args.get("memory") or 0,
            tuple(sorted((args.get("resources") or {}).items())),
            repr(args.get("scheduling_strategy")))


def _can_fuse(up: PhysicalOperator, down: MapOp, ctx: DataContext) -> bool:
    if not ctx.enable_operator_fusion or not isinstance(up, TaskPoolMapOperator):
        return False
    if up.compute.max_size and not down.compute.actors and \
            down.compute.max_size != up.compute.max_size:
        return False
    return _resources(up.remote_args) == _resources(down.remote_args)


def _map_operator(name: str, input_op: PhysicalOperator, stages: list, compute: Compute,
                  remote_args: dict, min_rows: int | None) -> MapOperator:
    cls = ActorPoolMapOperator if compute.actors else TaskPoolMapOperator
    return cls(name, input_op, stages, compute, remote_args, min_rows)


def plan(op: LogicalOperator, ctx: DataContext) -> PhysicalOperator:
    """Physical operators for an optimized logical plan."""
    if isinstance(op, InputData):
        return InputDataBuffer(op.name, list(op.bundles))
    if isinstance(op, Read):
        parallelism = op.parallelism or autodetect_parallelism(
            ctx, op.datasource.estimate_inmemory_data_size())
        tasks = op.datasource.get_read_tasks(parallelism)
        groups = _group_read_tasks(tasks, op.parallelism, ctx)
        source = InputDataBuffer(
            "ReadTasks", [RefBundle([(t, t.metadata) for t in g], False, i,
                                    {"read_tasks": True})
                          for i, g in enumerate(groups)], hidden=True)
        mapped = TaskPoolMapOperator(op.name, source, [ReadStage()],
                                     Compute(max_size=op.concurrency), op.remote_args, None)
        mapped._expected_inputs = len(groups)
        return mapped
    if isinstance(op, MapOp):
        up = plan(op.inputs[0], ctx)
        if _can_fuse(up, op, ctx):
            min_rows = max(up.min_rows or 0, op.min_rows_per_bundle or 0) or None
            compute = op.compute if op.compute.actors or op.compute.max_size else up.compute
            fused = _map_operator(f"{up.name}->{op.name}", up.inputs[0],
                                  up.stages + op.stages, compute, op.remote_args, min_rows)
            fused._expected_inputs = up._expected_inputs
            return fused
        mapped = _map_operator(op.name, up, list(op.stages), op.compute, op.remote_args,
                               op.min_rows_per_bundle)
        return mapped
    if isinstance(op, Limit):
        up = plan(op.inputs[0], ctx)
        if isinstance(up, MapOperator) and not any(isinstance(s, LimitStage)
                                                   for s in up.stages[-1:]):
            up.stages = up.stages + [LimitStage(op.limit)]
        return LimitOperator(up, op.limit)
    if isinstance(op, Join):
        from ember.data._join import JoinOperator

        return JoinOperator(op.name, [plan(i, ctx) for i in op.inputs], **op.spec.args)
    if isinstance(op, AllToAll):
        return AllToAllOperator(op.name, [plan(i, ctx) for i in op.inputs], op.spec.fn,
                                op.spec.args)
    if isinstance(op, Union):
        inputs = [plan(i, ctx) for i in op.inputs]
        if ctx.execution_options.preserve_order:
            from ember.data._executor import topological

            for i, branch in enumerate(inputs[1:], start=1):
                for sub in topological(branch):
                    sub.blocked_by.extend(inputs[:i])
        return UnionOperator(inputs)
    if isinstance(op, Zip):
        from ember.data._shuffle import zip_bundles

        return AllToAllOperator("Zip", [plan(i, ctx) for i in op.inputs], zip_bundles, {})
    raise TypeError(f"Cannot plan logical operator {op!r}.")
