"""Dataset.join: a hash-partitioned shuffle join run on ember tasks, as in Ray.

Phase 1 hashes the key columns of every block of both sides and writes ONE block per
input block with its rows grouped by partition, plus the partition offsets (M + N
objects, as in _shuffle.py). Phase 2: join task j slices partition j out of every map
output zero-copy, concatenates each side and joins them with Arrow's hash join
(`pyarrow.Table.join`, which is what Ray calls too), so the output has the left
columns, then the right side's non-key columns; keys of the same name are coalesced.

When one side is small (under `DataContext.broadcast_join_threshold_bytes`) and the
join type allows it, that side is put into the store once and every block of the other
side is joined with it: no shuffle of the large side. JoinOperator does this streaming,
as soon as the small input is complete; join_bundles when both are collected.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

import ember
from ember.data import _block
from ember.data._metadata import RefBundle, TaskStats, put_block
from ember.data._physical import AllToAllOperator, PhysicalOperator
from ember.data._shuffle import blocks_of, collect
from ember.data._stats import OpStats
from ember.data.context import DataContext

__all__ = ["JOIN_TYPES", "JoinOperator", "join_bundles", "validate_join_args"]

# Ray's join types and the verb pyarrow's hash join uses for each.
JOIN_TYPES = {
    "inner": "inner",
    "left_outer": "left outer",
    "right_outer": "right outer",
    "full_outer": "full outer",
    "left_semi": "left semi",
    "right_semi": "right semi",
    "left_anti": "left anti",
    "right_anti": "right anti",
}
# Which side may be broadcast for each join type (the other side's rows are each joined
# with the whole broadcast side, so only that side's unmatched rows may be kept).
_BROADCAST_RIGHT = {"inner", "left_outer", "left_semi", "left_anti"}
_BROADCAST_LEFT = {"inner", "right_outer", "right_semi", "right_anti"}
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def validate_join_args(join_type: str, num_partitions: int, on: Any, right_on: Any
                       ) -> tuple[list[str], list[str]]:
    """Check the arguments as Ray does; the left and right key column lists."""
    if join_type not in JOIN_TYPES:
        raise ValueError(f"Invalid join type: {join_type!r}. Supported join types are: "
                         f"{', '.join(JOIN_TYPES)}.")
    if not isinstance(num_partitions, int) or isinstance(num_partitions, bool) \
            or num_partitions < 1:
        raise ValueError(f"num_partitions must be a positive int, got {num_partitions!r}.")
    if not isinstance(on, (tuple, list)):
        raise ValueError(f"Expected tuple or list as `on` (got {type(on).__name__})")
    if right_on and not isinstance(right_on, (tuple, list)):
        raise ValueError(f"Expected tuple or list as `right_on` (got "
                         f"{type(right_on).__name__})")
    left_keys = list(on)
    right_keys = list(right_on or on)
    if not left_keys:
        raise ValueError("At least 1 column name to join on has to be provided.")
    if len(left_keys) != len(right_keys):
        raise ValueError(f"Number of columns provided for left and right datasets has to "
                         f"match (got {left_keys} and {right_keys})")
    return left_keys, right_keys


def _column_hash(col: pa.ChunkedArray) -> np.ndarray:
    """A uint64 hash per value that is equal for equal keys of either side."""
    t = col.type
    if pa.types.is_dictionary(t):
        col = col.cast(t.value_type)
        t = t.value_type
    if pa.types.is_decimal(t):
        col, t = col.cast(pa.float64()), pa.float64()
    if pa.types.is_integer(t) or pa.types.is_date(t) or pa.types.is_timestamp(t) \
            or pa.types.is_boolean(t):
        if not pa.types.is_integer(t):
            col = col.cast(pa.int64()) if not pa.types.is_date(t) else \
                col.cast(pa.int32()).cast(pa.int64())
        vals = pc.fill_null(col, 0).to_numpy().astype(np.int64, copy=False)
        return vals.view(np.uint64) * _GOLDEN
    if pa.types.is_floating(t):
        vals = pc.fill_null(col.cast(pa.float64()), 0.0).to_numpy() + 0.0  # -0.0 == 0.0
        return vals.view(np.uint64) * _GOLDEN
    import pandas as pd

    values = np.asarray(col.to_pylist(), dtype=object)
    return pd.util.hash_array(values, categorize=False).astype(np.uint64)


def partition_ids(table: pa.Table, keys: list[str], n: int) -> np.ndarray:
    """The join partition of every row of `table` (hash of its key columns, mod n)."""
    h = np.zeros(table.num_rows, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for k in keys:
            h = (h * np.uint64(31)) ^ _column_hash(table.column(k))
            h ^= h >> np.uint64(29)
    return (h % np.uint64(n)).astype(np.int64)


def _check_keys(block: pa.Table, keys: list[str], side: str) -> None:
    missing = [k for k in keys if k not in block.column_names]
    if missing and block.num_columns:
        raise ValueError(f"Join key(s) {missing} not found in the {side} dataset; it has "
                         f"{block.column_names}.")


@ember.remote
def _hash_map(keys: list[str], n: int, side: str, block: pa.Table) -> Any:
    t0, c0 = time.perf_counter(), time.process_time()
    _check_keys(block, keys, side)
    part = partition_ids(block, keys, n)
    order = np.argsort(part, kind="stable")
    grouped = block.take(pa.array(order)) if block.num_rows else block
    offsets = np.searchsorted(part[order], np.arange(n + 1)).tolist()
    return ember.put(grouped), offsets, TaskStats(time.perf_counter() - t0,
                                                   time.process_time() - c0)


def _join_tables(left: pa.Table, right: pa.Table, spec: dict) -> pa.Table:
    """Arrow's hash join; non-key columns Arrow cannot carry through a join (lists,
    structs, tensors, Python objects) are split off first and taken back by row index
    afterwards, as Ray does."""
    _check_suffixes(left.schema, right.schema, spec)
    left, lcols = _split_unjoinable(left, spec["left_keys"], _LEFT_INDEX)
    right, rcols = _split_unjoinable(right, spec["right_keys"], _RIGHT_INDEX)
    out = left.join(right, keys=spec["left_keys"], right_keys=spec["right_keys"],
                    join_type=JOIN_TYPES[spec["join_type"]],
                    left_suffix=spec["left_suffix"], right_suffix=spec["right_suffix"],
                    use_threads=False)
    for index, cols, other, suffix in ((_LEFT_INDEX, lcols, right, spec["left_suffix"]),
                                       (_RIGHT_INDEX, rcols, left, spec["right_suffix"])):
        if index not in out.column_names:
            continue
        rows = out.column(index)
        for name, col in cols.items():
            label = name + suffix if suffix and name in other.column_names else name
            out = out.append_column(label, col.take(rows))
        out = out.drop_columns([index])
    return out


_LEFT_INDEX, _RIGHT_INDEX = "__ember_join_left_row", "__ember_join_right_row"


def _joinable(t: pa.DataType) -> bool:
    return not (pa.types.is_nested(t) or isinstance(t, pa.BaseExtensionType))


def _split_unjoinable(table: pa.Table, keys: list[str], index: str
                      ) -> tuple[pa.Table, dict[str, pa.ChunkedArray]]:
    cols = {f.name: table.column(f.name) for f in table.schema
            if f.name not in keys and not _joinable(f.type)}
    if not cols:
        return table, cols
    rest = table.drop_columns(list(cols))
    return rest.append_column(index, pa.array(np.arange(table.num_rows), pa.int64())), cols


@ember.remote
def _join_partition(spec: dict, j: int, n_left: int, offsets: list[list[int]],
                    *maps: pa.Table) -> Any:
    t0, c0 = time.perf_counter(), time.process_time()

    def side(blocks: tuple, offs: list[list[int]]) -> pa.Table:
        parts = [b.slice(o[j], o[j + 1] - o[j]) for b, o in zip(blocks, offs, strict=True)]
        return _block.concat(parts)

    left = side(maps[:n_left], offsets[:n_left])
    right = side(maps[n_left:], offsets[n_left:])
    out = _join_tables(left, right, spec)
    return [put_block(out)], TaskStats(time.perf_counter() - t0, time.process_time() - c0)


@ember.remote
def _join_broadcast(spec: dict, small_is_right: bool, small: pa.Table, *blocks: pa.Table
                    ) -> Any:
    t0, c0 = time.perf_counter(), time.process_time()
    big = _block.concat(blocks)
    _check_keys(big, spec["right_keys" if not small_is_right else "left_keys"],
                "left" if small_is_right else "right")
    out = _join_tables(big, small, spec) if small_is_right else _join_tables(small, big, spec)
    return [put_block(out)], TaskStats(time.perf_counter() - t0, time.process_time() - c0)


@ember.remote
def _concat_side(keys: list[str], side: str, *blocks: pa.Table) -> pa.Table:
    out = _block.concat(blocks)
    _check_keys(out, keys, side)
    return out


def _empty_side(bundles: list[RefBundle]) -> pa.Table:
    schema = next((b.schema() for b in bundles if b.schema() is not None), None)
    return _empty_table(schema) if schema is not None else pa.table({})


def _empty_table(schema: pa.Schema) -> pa.Table:
    """schema.empty_table(), which pyarrow cannot build for some extension types."""
    cols = [pa.ExtensionArray.from_storage(f.type, pa.array([], type=f.type.storage_type))
            if isinstance(f.type, pa.BaseExtensionType) else pa.array([], type=f.type)
            for f in schema]
    return pa.Table.from_arrays(cols, schema=schema)


def _check_suffixes(lschema: pa.Schema | None, rschema: pa.Schema | None, spec: dict) -> None:
    if spec["join_type"].endswith(("_semi", "_anti")) or lschema is None or rschema is None:
        return
    clash = set(lschema.names) & (set(rschema.names) - set(spec["right_keys"]))
    if clash and spec["left_suffix"] is None and spec["right_suffix"] is None:
        raise ValueError(f"Left and right columns suffixes cannot be both None "
                         f"(overlapping columns: {sorted(clash)})")


def _broadcast_side(spec: dict, lbytes: int, rbytes: int, threshold: int) -> str | None:
    jt = spec["join_type"]
    if jt in _BROADCAST_RIGHT and rbytes <= threshold and rbytes <= lbytes:
        return "right"
    if jt in _BROADCAST_LEFT and lbytes <= threshold and lbytes < rbytes:
        return "left"
    return None


def join_bundles(left: list[RefBundle], right: list[RefBundle], *, ctx: DataContext,
                 stats: OpStats, spec: dict, num_partitions: int) -> Iterator[RefBundle]:
    """Join the rows of two inputs on their key columns (see the module docstring)."""
    lpairs = [(r, m) for r, m in blocks_of(left) if m.num_rows or m.schema is not None]
    rpairs = [(r, m) for r, m in blocks_of(right) if m.num_rows or m.schema is not None]
    if not lpairs:
        lpairs = [put_block(_empty_side(left))]
    if not rpairs:
        rpairs = [put_block(_empty_side(right))]
    lschema = next((b.schema() for b in left if b.schema() is not None), None)
    rschema = next((b.schema() for b in right if b.schema() is not None), None)
    for schema, keys, side in ((lschema, spec["left_keys"], "left"),
                               (rschema, spec["right_keys"], "right")):
        if schema is not None:
            _check_keys(_empty_table(schema), keys, side)
    # Clashing columns without suffixes fail in the join tasks (a RayTaskError), as Ray's.
    lbytes = sum(m.size_bytes for _, m in lpairs)
    rbytes = sum(m.size_bytes for _, m in rpairs)
    small = _broadcast_side(spec, lbytes, rbytes, ctx.broadcast_join_threshold_bytes)
    if small is not None:
        small_pairs, big_pairs = (rpairs, lpairs) if small == "right" else (lpairs, rpairs)
        keys = spec["right_keys" if small == "right" else "left_keys"]
        small_ref = _concat_side.remote(keys, small, *[r for r, _ in small_pairs])
        # Several big blocks per task when they are many and small: fewer, larger joins.
        per_task = max(1, len(big_pairs) // max(1, 4 * _cpus()))
        groups = [big_pairs[i:i + per_task] for i in range(0, len(big_pairs), per_task)]
        refs = [_join_broadcast.remote(spec, small == "right", small_ref, *[r for r, _ in g])
                for g in groups]
        stats.tasks_submitted += len(refs) + 1
        yield from collect(refs, stats)
        return
    n = num_partitions
    maps = [_hash_map.remote(spec["left_keys"], n, "left", r) for r, _ in lpairs] + \
        [_hash_map.remote(spec["right_keys"], n, "right", r) for r, _ in rpairs]
    mapped = ember.get(maps)
    for _, _, tstats in mapped:
        stats.add_task(tstats.wall_s, tstats.cpu_s, 0.0)
    map_refs = [r for r, _, _ in mapped]
    offsets = [o for _, o, _ in mapped]
    refs = [_join_partition.remote(spec, j, len(lpairs), offsets, *map_refs)
            for j in range(n)]
    stats.tasks_submitted += len(maps) + n
    yield from collect(refs, stats)


def _cpus() -> int:
    return max(1, int(ember.cluster_resources().get("CPU", 1)))


class JoinOperator(AllToAllOperator):
    """The physical join. As soon as one input is complete, small enough and allowed to
    be broadcast, it is put into the store once and every bundle of the other input is
    joined with it as it arrives (streaming, the large side never waits for a barrier);
    otherwise both inputs are collected and `join_bundles` runs as an all-to-all."""

    def __init__(self, name: str, inputs: list[PhysicalOperator], spec: dict,
                 num_partitions: int) -> None:
        super().__init__(name, inputs, join_bundles,
                         {"spec": spec, "num_partitions": num_partitions})
        self.spec = spec
        self._small: int | None = None  # the broadcast input, once chosen
        self._small_ref: Any = None
        self._tasks: dict[Any, int] = {}  # join task -> input bytes
        self._seq = 0

    def input_done(self, index: int) -> None:
        super().input_done(index)
        if self._small is None and self._thread is None and not self.stopped:
            self._maybe_broadcast(index)

    def _maybe_broadcast(self, index: int) -> None:
        side = "left" if index == 0 else "right"
        if self.spec["join_type"] not in (_BROADCAST_LEFT if index == 0 else _BROADCAST_RIGHT):
            return
        pairs = [p for b in self._collected[index] for p in b.blocks]
        if not pairs or sum(m.size_bytes for _, m in pairs) > \
                self.ctx.broadcast_join_threshold_bytes:
            return
        keys = self.spec["left_keys" if index == 0 else "right_keys"]
        self._small = index
        self._small_ref = _concat_side.remote(keys, side, *[r for r, _ in pairs])
        self.stats.tasks_submitted += 1
        big = 1 - index
        waiting, self._collected = self._collected[big], [[], []]
        for bundle in waiting:
            self._submit(bundle)

    def add_input(self, bundle: RefBundle, index: int) -> None:
        if self._small is None or index == self._small:
            super().add_input(bundle, index)
            return
        self.stats.mark_started()
        self.stats.bytes_in += bundle.size_bytes()
        self._submit(bundle)

    def _submit(self, bundle: RefBundle) -> None:
        refs = [r for r, _ in bundle.blocks]
        if not refs or self.stopped:
            return
        ref = _join_broadcast.remote(self.spec, self._small == 1, self._small_ref, *refs)
        self._tasks[ref] = bundle.size_bytes()
        self.stats.tasks_submitted += 1

    def waitables(self) -> list[Any]:
        return list(self._tasks)

    def on_ready(self, ref: Any) -> None:
        self._tasks.pop(ref)
        pairs, tstats = ember.get(ref)
        self.stats.add_task(tstats.wall_s, tstats.cpu_s, 0.0)
        self._emit(RefBundle(pairs, True, self._seq))
        self._seq += 1
        if self.all_inputs_done() and not self._tasks:
            self.stats.mark_finished()

    def can_dispatch(self) -> bool:
        return self._small is None and super().can_dispatch()

    def finished_producing(self) -> bool:
        if self._small is None:
            return super().finished_producing()
        return self.stopped or (self.all_inputs_done() and not self._tasks)

    def running_bytes(self) -> int:
        if self._small is None:
            return super().running_bytes()
        return sum(self._tasks.values())

    def num_active(self) -> int:
        return len(self._tasks) if self._small is not None else super().num_active()
