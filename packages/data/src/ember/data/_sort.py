"""Range-partitioned sort, groupby-aggregate and map_groups, plus global aggregation.

Phase 1 sorts every block by the keys (keeping only the needed columns) and returns a
sample of the first key. The driver picks N-1 boundaries from the samples. Phase 2:
reduce task j binary-searches each sorted block for its key range (zero-copy reads),
concatenates the slices and sorts, aggregates or calls the user's group function.
Partitions come out in key order, so a groupby result is sorted by key, as in Ray.
"""

from __future__ import annotations

import bisect
import inspect
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

import ember
from ember.data import _block
from ember.data._arrow_types import array_to_numpy
from ember.data._metadata import RefBundle, TaskStats, put_block
from ember.data._shuffle import blocks_of, collect
from ember.data._stats import OpStats
from ember.data.aggregate import AggregateFn
from ember.data.context import DataContext
from ember.data.exceptions import UserCodeException

__all__ = ["aggregate_global", "groupby_aggregate", "map_groups", "partial_aggregate", "sort"]

_SAMPLES_PER_BLOCK = 32


def _sort_keys(keys: list[str], descending: list[bool]) -> list[tuple[str, str]]:
    return [(k, "descending" if d else "ascending") for k, d in zip(keys, descending,
                                                                   strict=True)]


def _sort_table(table: pa.Table, keys: list[str], descending: list[bool],
                kind: str = "quicksort") -> pa.Table:
    """Sort by the keys; one numeric key without nulls takes numpy's (much faster) path.
    kind="stable" suits concatenated sorted runs (timsort merges them in linear time)."""
    if len(keys) == 1 and table.num_rows:
        col = table.column(keys[0])
        t = col.type
        numeric = pa.types.is_integer(t) or pa.types.is_floating(t) or \
            pa.types.is_timestamp(t) or pa.types.is_date(t)
        if numeric and col.null_count == 0:
            arr = array_to_numpy(col)
            if arr.dtype.kind != "f" or not np.isnan(arr).any():
                order = np.argsort(arr, kind=kind)
                if descending[0]:
                    order = order[::-1]
                return table.take(pa.array(order))
    return table.sort_by(_sort_keys(keys, descending))


@ember.remote
def _sort_block(keys: list[str], descending: list[bool], columns: list[str] | None,
                whole_rows: bool, block: pa.Table) -> Any:
    t0, c0 = time.perf_counter(), time.process_time()
    if columns is not None:
        block = block.select(columns)
    for k in keys:
        if k not in block.column_names:
            raise ValueError(f"Sort key {k!r} not found; the dataset has "
                             f"{block.column_names}.")
    block = _sort_table(block, keys, descending)
    first = block.column(keys[0])
    if whole_rows:  # samples of every key: boundaries between whole sort keys
        n = block.num_rows
        idx = pa.array(np.linspace(0, max(n - 1, 0), min(n, _SAMPLES_PER_BLOCK)).astype(int))
        samples = list(zip(*(block.column(k).take(idx).to_pylist() for k in keys),
                           strict=True))
    else:
        valid = len(first) - first.null_count
        idx = np.linspace(0, max(valid - 1, 0), min(valid, _SAMPLES_PER_BLOCK)).astype(int)
        samples = (first.slice(0, valid).take(pa.array(idx)) if valid
                   else first.slice(0, 0)).to_pylist()
    return ember.put(block), samples, TaskStats(time.perf_counter() - t0,
                                                time.process_time() - c0)


def _boundaries(samples: list[Any], n: int, distinct: bool = True) -> list[Any]:
    """n-1 boundaries at even ranks of the samples; `distinct` drops repeats (fewer,
    never empty partitions) where a sort keeps them (n partitions, some empty, as Ray)."""
    values = sorted(v for v in samples if v is not None)
    if not values or n <= 1:
        return []
    out: list[Any] = []
    for i in range(1, n):
        v = values[min(len(values) - 1, len(values) * i // n)]
        if not distinct or not out or v > out[-1]:
            out.append(v)
    return out


class _Desc:
    """A value that orders in reverse (a descending key)."""

    __slots__ = ("v",)

    def __init__(self, v: Any) -> None:
        self.v = v

    def __lt__(self, other: _Desc) -> bool:
        return other.v < self.v

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Desc) and self.v == other.v


def _row_key(values: tuple, descending: list[bool]) -> tuple:
    """A key ordering rows as the sort does: per key ascending or descending, nulls last."""
    return tuple((1, 0) if v is None else (0, _Desc(v) if d else v)
                 for v, d in zip(values, descending, strict=True))


class _SortedRows:
    """The row keys of a sorted block, read lazily (bisect touches only log n rows)."""

    def __init__(self, block: pa.Table, keys: list[str], descending: list[bool]) -> None:
        self.cols = [block.column(k) for k in keys]
        self.descending = descending
        self.n = block.num_rows

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> tuple:
        return _row_key(tuple(c[i].as_py() for c in self.cols), self.descending)


def _row_cut(block: pa.Table, keys: list[str], descending: list[bool], bounds: list[tuple],
             j: int) -> tuple[int, int]:
    """(start, end) of output partition j in a sorted block, for boundaries between whole
    sort keys (several keys): two binary searches over lazily read rows."""
    rows = _SortedRows(block, keys, descending)

    def find(b: tuple) -> int:
        return bisect.bisect_left(rows, _row_key(tuple(b), descending))  # type: ignore[arg-type]

    return (0 if j == 0 else find(bounds[j - 1]),
            len(rows) if j == len(bounds) else find(bounds[j]))


def _cuts(block: pa.Table, key: str, desc: bool, bounds: list[Any]) -> list[tuple[int, int]]:
    """(start, end) of each output partition (in output order) in a sorted block."""
    col = block.column(key)
    n = len(col)
    valid = n - col.null_count
    arr = array_to_numpy(col.slice(0, valid))
    asc = arr[::-1] if desc else arr
    pos = [0] + [int(np.searchsorted(asc, b, side="left")) for b in bounds] + [valid]
    parts = [(pos[j], pos[j + 1]) for j in range(len(pos) - 1)]
    if desc:
        parts = [(valid - e, valid - s) for s, e in reversed(parts)]
    if valid < n:  # nulls sort last in either direction: they join the last partition
        parts[-1] = (parts[-1][0], n)
    return parts


def _partitioned(bundles: list[RefBundle], keys: list[str], descending: list[bool],
                 columns: list[str] | None, n: int | None, stats: OpStats,
                 boundaries: list[Any] | None = None, for_sort: bool = False
                 ) -> tuple[list[Any], list[Any], int]:
    """Sort every block and pick the boundaries. A sort makes one partition per input
    block (as Ray, empty ones too) split on whole keys; groupby splits on the first key
    into distinct, non-empty ranges."""
    all_pairs = blocks_of(bundles)
    pairs = [(r, m) for r, m in all_pairs if m.num_rows]
    if not pairs:
        return [], [], 0
    whole_rows = for_sort and len(keys) > 1 and boundaries is None
    out = ember.get([_sort_block.remote(keys, descending, columns, whole_rows, r)
                     for r, _ in pairs])
    for _, _, tstats in out:
        stats.add_task(tstats.wall_s, tstats.cpu_s, 0.0)
    refs = [r for r, _, _ in out]
    samples = [v for _, s, _ in out for v in s]
    if boundaries is not None:
        bounds = sorted(boundaries)
    elif whole_rows:
        n = n or len(all_pairs)
        ordered = sorted(samples, key=lambda t: _row_key(t, descending))
        bounds = [ordered[min(len(ordered) - 1, len(ordered) * i // n)] for i in range(1, n)]
    else:
        n = n or len(all_pairs if for_sort else pairs)
        bounds = _boundaries(samples, n, distinct=not for_sort)
    return refs, bounds, len(bounds) + 1


@ember.remote
def _merge_sorted(keys: list[str], descending: list[bool], bounds: list[Any], j: int,
                  *blocks: pa.Table) -> Any:
    t0, c0 = time.perf_counter(), time.process_time()
    parts = []
    whole_rows = bool(bounds) and isinstance(bounds[0], tuple)
    for b in blocks:
        s, e = (_row_cut(b, keys, descending, bounds, j) if whole_rows
                else _cuts(b, keys[0], descending[0], bounds)[j])
        if e > s:
            parts.append(b.slice(s, e - s))
    out = _block.concat(parts) if parts else blocks[0].slice(0, 0)
    if len(parts) > 1:
        out = _sort_table(out, keys, descending, kind="stable")
    return [put_block(out)], TaskStats(time.perf_counter() - t0,
                                                        time.process_time() - c0)


def _normalize_keys(key: Any, descending: Any) -> tuple[list[str], list[bool]]:
    keys = [key] if isinstance(key, str) else list(key)
    if not keys:
        raise ValueError("sort() needs at least one key.")
    desc = [descending] * len(keys) if isinstance(descending, bool) else list(descending)
    if len(desc) != len(keys):
        raise ValueError("descending must be a bool or have one entry per key.")
    return keys, desc


def sort(bundles: list[RefBundle], *, ctx: DataContext, stats: OpStats, key: Any,
         descending: Any = False, boundaries: list | None = None) -> Iterator[RefBundle]:
    keys, desc = _normalize_keys(key, descending)
    refs, bounds, n = _partitioned(bundles, keys, desc, None, None, stats, boundaries,
                                   for_sort=True)
    stats.tasks_submitted += len(refs) + n
    yield from collect([_merge_sorted.remote(keys, desc, bounds, j, *refs) for j in range(n)],
                       stats)


# -- groupby ------------------------------------------------------------------------

def _agg_columns(keys: list[str], aggs: list[AggregateFn]) -> list[str] | None:
    cols = list(keys)
    for a in aggs:
        on = getattr(a, "on", None)
        if a._arrow_spec() is None and not hasattr(a, "on"):
            return None  # a custom AggregateFn may read any column
        if on is not None and on not in cols:
            cols.append(on)
    return cols


def _aggregate_table(table: pa.Table, keys: list[str], aggs: list[AggregateFn]) -> pa.Table:
    """Aggregate one partition (holding whole groups), sorted by the keys."""
    specs = [a._arrow_spec() for a in aggs]
    if table.num_rows == 0:
        return pa.table({})
    if all(s is not None for s in specs):
        req = [([] if col is None else col, fn, opts) if opts is not None
               else ([] if col is None else col, fn) for col, fn, opts in specs]
        res = table.group_by(keys, use_threads=False).aggregate(req)
        names = [("count_all" if col is None else f"{col}_{fn}") for col, fn, _ in specs]
        out = {k: res.column(k) for k in keys}
        for a, n in zip(aggs, names, strict=True):
            out[a.name] = res.column(n)
        return pa.table(out).sort_by([(k, "ascending") for k in keys])
    table = _sort_table(table, keys, [False] * len(keys))
    rows: dict[str, list] = {k: [] for k in keys}
    for a in aggs:
        rows[a.name] = []
    for key_vals, group in _groups(table, keys):
        for k, v in zip(keys, key_vals, strict=True):
            rows[k].append(v)
        key = key_vals[0] if len(keys) == 1 else tuple(key_vals)
        for a in aggs:
            acc = a.accumulate_block(a.init(key), group)
            rows[a.name].append(a.finalize(acc))
    return _block.batch_to_block(rows)


def _groups(table: pa.Table, keys: list[str]) -> Iterator[tuple[list[Any], pa.Table]]:
    """(key values, rows) of each group of a table sorted by `keys`."""
    n = table.num_rows
    if n == 0:
        return
    change = np.zeros(n, dtype=bool)
    change[0] = True
    for k in keys:
        col = table.column(k).combine_chunks()
        if n > 1:
            neq = pc.not_equal(col.slice(1), col.slice(0, n - 1))
            nulls = pc.xor(pc.is_null(col.slice(1)), pc.is_null(col.slice(0, n - 1)))
            diff = pc.or_(pc.fill_null(neq, False), nulls)
            change[1:] |= diff.to_numpy(zero_copy_only=False)
    starts = np.flatnonzero(change).tolist() + [n]
    key_cols = [table.column(k) for k in keys]
    for s, e in zip(starts[:-1], starts[1:], strict=True):
        yield [c[s].as_py() for c in key_cols], table.slice(s, e - s)


@ember.remote
def _reduce_groups(keys: list[str], bounds: list[Any], j: int, mode: str, payload: Any,
                   *blocks: pa.Table) -> Any:
    t0, c0 = time.perf_counter(), time.process_time()
    desc = [False] * len(keys)
    parts = []
    for b in blocks:
        s, e = _cuts(b, keys[0], False, bounds)[j]
        if e > s:
            parts.append(b.slice(s, e - s))
    table = _block.concat(parts) if parts else blocks[0].slice(0, 0)
    if mode == "aggregate":
        outs = [_aggregate_table(table, keys, payload)]
    else:
        outs = list(_apply_groups(_sort_table(table, keys, desc), keys, payload))
    pairs = [put_block(o) for o in outs if o.num_rows or o.num_columns]
    return pairs, TaskStats(time.perf_counter() - t0, time.process_time() - c0)


def _apply_groups(table: pa.Table, keys: list[str], payload: Any) -> Iterator[pa.Table]:
    udf, fmt = payload
    udf.init()
    for key_vals, group in _groups(table, keys):
        batch = _block.block_to_batch(group, fmt)
        try:
            res = udf(batch)
            outs = res if inspect.isgenerator(res) else (res,)
            for out in outs:
                yield _block.batch_to_block(out)
        except Exception as e:
            from ember.data._transforms import _fail

            raise _fail("MapGroups", f"group {key_vals!r}", batch, e, udf) from e


def _num_partitions(bundles: list[RefBundle], requested: int | None) -> int:
    if requested:
        return requested
    pairs = blocks_of(bundles)
    nbytes = sum(m.size_bytes for _, m in pairs)
    return max(1, min(len(pairs), 1 + nbytes // (32 << 20)))


def groupby_aggregate(bundles: list[RefBundle], *, ctx: DataContext, stats: OpStats,
                      keys: list[str] | None, aggs: list[AggregateFn],
                      num_partitions: int | None = None) -> Iterator[RefBundle]:
    if not keys:
        raise ValueError("groupby_aggregate needs keys; global aggregates use a "
                         "PartialAggregate stage and aggregate_global.")
    schema = next((b.schema() for b in bundles if b.schema() is not None), None)
    for k in keys:
        if schema is not None and len(schema) and k not in schema.names:
            raise ValueError(f"Group key {k!r} not found; the dataset has {schema.names}.")
    for a in aggs:
        a._validate(schema)
    n = _num_partitions(bundles, num_partitions)
    refs, bounds, n = _partitioned(bundles, keys, [False] * len(keys),
                                   _agg_columns(keys, aggs), n, stats)
    stats.tasks_submitted += len(refs) + n
    yield from collect([_reduce_groups.remote(keys, bounds, j, "aggregate", aggs, *refs)
                        for j in range(n)], stats)


def map_groups(bundles: list[RefBundle], *, ctx: DataContext, stats: OpStats,
               keys: list[str], udf: Any, batch_format: str,
               num_partitions: int | None = None) -> Iterator[RefBundle]:
    if not keys:  # one group: the whole dataset
        pairs = blocks_of(bundles)
        refs = [r for r, _ in pairs]
        yield from collect([_whole_group.remote(udf, batch_format, *refs)], stats)
        return
    n = _num_partitions(bundles, num_partitions)
    refs, bounds, n = _partitioned(bundles, keys, [False] * len(keys), None, n, stats)
    stats.tasks_submitted += len(refs) + n
    yield from collect([_reduce_groups.remote(keys, bounds, j, "groups",
                                              (udf, batch_format), *refs)
                        for j in range(n)], stats)


@ember.remote
def _whole_group(udf: Any, fmt: str, *blocks: pa.Table) -> Any:
    t0, c0 = time.perf_counter(), time.process_time()
    table = _block.concat(blocks)
    udf.init()
    batch = _block.block_to_batch(table, fmt)
    res = udf(batch)
    outs = [_block.batch_to_block(o) for o in (res if inspect.isgenerator(res) else (res,))]
    return [put_block(o) for o in outs], TaskStats(
        time.perf_counter() - t0, time.process_time() - c0)


# -- global aggregation -------------------------------------------------------------

def partial_aggregate(block: pa.Table, aggs: list[AggregateFn], accs: list[Any]) -> list[Any]:
    """Fold one block into the accumulators (runs inside a fused map task)."""
    out = []
    for a, acc in zip(aggs, accs, strict=True):
        on = getattr(a, "on", None)
        if on is not None and block.num_columns and on not in block.column_names:
            raise ValueError(f"{a.name}: column {on!r} not found; the dataset has "
                             f"{block.column_names}.")
        if not block.num_rows:
            out.append(acc)
            continue
        try:
            out.append(a.merge(acc, a.accumulate_block(a.init(None), block)))
        except Exception as e:
            raise UserCodeException(f"Aggregation {a.name} failed: {type(e).__name__}: {e}",
                                    a.name, "", type(e).__name__, "", e) from e
    return out


def aggregate_global(bundles: list[RefBundle], *, ctx: DataContext, stats: OpStats,
                     aggs: list[AggregateFn]) -> Iterator[RefBundle]:
    """One row: the partial accumulators of every task merged and finalized."""
    import pickle

    accs = [a.init(None) for a in aggs]
    refs = [r for r, m in blocks_of(bundles) if m.num_rows]
    for block in ember.get(refs):
        for cell in block.column("__partials").to_pylist():
            for i, (a, part) in enumerate(zip(aggs, pickle.loads(cell), strict=True)):
                accs[i] = a.merge(accs[i], part)
    row = {a.name: a.finalize(acc) for a, acc in zip(aggs, accs, strict=True)}
    yield RefBundle([put_block(_block.rows_to_block([row]))], True, 0)
