"""All-to-all steps that move rows between blocks: repartition, random shuffle, zip.

Shuffles are two-phase and keep the object count at M + N (not M × N): each map task
writes ONE block with its rows grouped by output partition and reports the partition
offsets; reduce task j then reads every map output zero-copy from shared memory and
slices out its part. The same pattern serves sort and groupby (see _sort.py).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pyarrow as pa

import ember
from ember.data import _block
from ember.data._metadata import RefBundle, TaskStats, put_block
from ember.data._stats import OpStats
from ember.data.context import DataContext

__all__ = [
    "blocks_of",
    "collect",
    "randomize_block_order",
    "repartition",
    "random_shuffle",
    "slices_task",
    "zip_bundles",
]


def blocks_of(bundles: list[RefBundle]) -> list[tuple[Any, Any]]:
    return [pair for b in bundles for pair in b.blocks]


def _put(block: pa.Table) -> tuple[Any, Any]:
    return put_block(block)


def collect(refs: list[Any], stats: OpStats) -> Iterator[RefBundle]:
    """Yield each task's output bundle in order as the tasks finish."""
    for i, ref in enumerate(refs):
        pairs, tstats = ember.get(ref)
        stats.add_task(tstats.wall_s, tstats.cpu_s, tstats.udf_s)
        yield RefBundle(pairs, True, i)


@ember.remote
def slices_task(spec: list[tuple[int, int]], *blocks: pa.Table) -> Any:
    """Concatenate blocks[i][start:end] for each (start, end) in spec."""
    t0, c0 = time.perf_counter(), time.process_time()
    parts = [b.slice(s, e - s) for b, (s, e) in zip(blocks, spec, strict=True) if e > s]
    out = _block.concat(parts) if parts else blocks[0].slice(0, 0)
    return [_put(out)], TaskStats(time.perf_counter() - t0, time.process_time() - c0)


def _equal_bounds(total: int, n: int) -> list[int]:
    """Row offsets that split `total` rows into n near-equal parts, as Ray computes them."""
    bounds, cur = [0], 0.0
    for _ in range(n - 1):
        cur += total / n
        bounds.append(int(cur))
    return [*bounds, total]


def _row_slices(pairs: list[tuple[Any, Any]], bounds: list[int]
                ) -> list[list[tuple[Any, int, int]]]:
    """The rows of `pairs` cut at `bounds` (row offsets, first 0, last the total), one
    list of (ref, start, end) per part."""
    out: list[list[tuple[Any, int, int]]] = [[] for _ in range(len(bounds) - 1)]
    offset = 0
    for ref, meta in pairs:
        lo, hi = offset, offset + meta.num_rows
        for j in range(len(out)):
            s, e = max(lo, bounds[j]), min(hi, bounds[j + 1])
            if e > s:
                out[j].append((ref, s - lo, e - lo))
        offset = hi
    return out


def _slice_parts(pairs: list[tuple[Any, Any]], parts: list[list[tuple[Any, int, int]]],
                 stats: OpStats) -> Iterator[RefBundle]:
    """One block per part, in order; parts without rows come last as empty blocks (as
    Ray's split repartition)."""
    refs = []
    for part in sorted(parts, key=lambda p: not p):
        if not part:
            refs.append(slices_task.remote([(0, 0)], pairs[0][0]))
            continue
        refs.append(slices_task.remote([(s, e) for _, s, e in part], *[r for r, _, _ in part]))
        stats.tasks_submitted += 1
    yield from collect(refs, stats)


def repartition(bundles: list[RefBundle], *, ctx: DataContext, stats: OpStats,
                num_blocks: int | None = None, target_num_rows_per_block: int | None = None,
                shuffle: bool = False, strict: bool = False) -> Iterator[RefBundle]:
    pairs = blocks_of(bundles)
    total = sum(m.num_rows for _, m in pairs)
    if target_num_rows_per_block:
        if pairs:
            yield from _by_rows(bundles, pairs, total, target_num_rows_per_block, strict,
                                stats)
        return
    num_blocks = max(1, num_blocks or 1)
    if shuffle and total:
        yield from random_shuffle(bundles, ctx=ctx, stats=stats, seed=None,
                                  num_blocks=num_blocks)
        return
    if not pairs:
        return
    yield from _slice_parts(pairs, _row_slices(pairs, _equal_bounds(total, num_blocks)),
                            stats)


def _by_rows(bundles: list[RefBundle], pairs: list[tuple[Any, Any]], total: int,
             target: int, strict: bool, stats: OpStats) -> Iterator[RefBundle]:
    """Blocks of `target` rows. Strict: all but the last exactly `target` (rows
    stitched across input blocks). Otherwise each input block is cut on its own: at
    most one smaller block per input block, and blocks that fit pass through as
    they are."""
    if strict:
        bounds = [*range(0, total, target), total] if total else [0, 0]
        yield from _slice_parts(pairs, _row_slices(pairs, bounds), stats)
        return
    owns = all(b.owns_blocks for b in bundles)
    index = 0
    for ref, meta in pairs:
        if meta.num_rows == 0 and total:
            continue
        if meta.num_rows <= target:
            yield RefBundle([(ref, meta)], owns, index)
            index += 1
            continue
        cuts = [*range(0, meta.num_rows, target), meta.num_rows]
        for bundle in _slice_parts([(ref, meta)], _row_slices([(ref, meta)], cuts), stats):
            yield RefBundle(bundle.blocks, True, index)
            index += 1


@ember.remote
def _shuffle_map(seed: Any, index: int, n: int, block: pa.Table) -> Any:
    rng = np.random.default_rng(None if seed is None else [seed, index])
    part = rng.integers(0, n, block.num_rows)
    order = np.argsort(part, kind="stable")
    grouped = block.take(pa.array(order))
    offsets = np.searchsorted(part[order], np.arange(n + 1))
    return ember.put(grouped), offsets.tolist()


@ember.remote
def _shuffle_reduce(seed: Any, index: int, offsets: list[list[int]], *maps: pa.Table) -> Any:
    t0, c0 = time.perf_counter(), time.process_time()
    parts = [m.slice(o[index], o[index + 1] - o[index]) for m, o in zip(maps, offsets,
                                                                         strict=True)]
    out = _block.concat(parts)
    rng = np.random.default_rng(None if seed is None else [seed, 1 << 20, index])
    out = out.take(pa.array(rng.permutation(out.num_rows)))
    return [_put(out)], TaskStats(time.perf_counter() - t0, time.process_time() - c0)


def random_shuffle(bundles: list[RefBundle], *, ctx: DataContext, stats: OpStats,
                   seed: int | None = None, num_blocks: int | None = None
                   ) -> Iterator[RefBundle]:
    pairs = [(r, m) for r, m in blocks_of(bundles) if m.num_rows]
    if not pairs:
        return
    n = max(1, num_blocks or len(pairs))
    mapped = ember.get([_shuffle_map.remote(seed, i, n, r) for i, (r, _) in enumerate(pairs)])
    map_refs = [r for r, _ in mapped]
    offsets = [o for _, o in mapped]
    refs = [_shuffle_reduce.remote(seed, j, offsets, *map_refs) for j in range(n)]
    stats.tasks_submitted += len(pairs) + n
    yield from collect(refs, stats)


def randomize_block_order(bundles: list[RefBundle], *, ctx: DataContext, stats: OpStats,
                          seed: int | None = None) -> Iterator[RefBundle]:
    pairs = blocks_of(bundles)
    order = np.random.default_rng(seed).permutation(len(pairs))
    for i, k in enumerate(order):
        yield RefBundle([pairs[k]], bundles[0].owns_blocks if bundles else True, i)


@ember.remote
def _zip_task(spec: list[tuple[int, int]], n_whole: int, inverted: bool,
              *blocks: pa.Table) -> Any:
    """Columns of one side's whole blocks (blocks[:n_whole]) beside the other side's
    slices; `inverted`: the sliced blocks are the left side's."""
    t0, c0 = time.perf_counter(), time.process_time()
    whole = _block.concat(blocks[:n_whole])
    parts = [b.slice(s, e - s) for b, (s, e) in zip(blocks[n_whole:], spec, strict=True)]
    sliced = _block.concat(parts) if parts else pa.table({})
    left, right = (sliced, whole) if inverted else (whole, sliced)
    out = left
    for name in right.column_names:
        new = name
        k = 1
        while new in out.column_names:
            new = f"{name}_{k}"
            k += 1
        out = out.append_column(new, right.column(name))
    return [_put(out)], TaskStats(time.perf_counter() - t0, time.process_time() - c0)


def zip_bundles(left: list[RefBundle], right: list[RefBundle], *, ctx: DataContext,
                stats: OpStats) -> Iterator[RefBundle]:
    """Row i of the output is row i of left joined with row i of right (same length)."""
    lpairs, rpairs = blocks_of(left), blocks_of(right)
    ln = sum(m.num_rows for _, m in lpairs)
    rn = sum(m.num_rows for _, m in rpairs)
    if ln != rn:
        raise ValueError(f"Cannot zip datasets of different lengths: {ln} rows and {rn} rows.")
    # As Ray: the side with fewer bytes is sliced to the other's blocks.
    inverted = sum(m.size_bytes or 0 for _, m in rpairs) > \
        sum(m.size_bytes or 0 for _, m in lpairs)
    whole, sliced = (rpairs, lpairs) if inverted else (lpairs, rpairs)
    refs = []
    offset = 0
    starts = np.cumsum([0] + [m.num_rows for _, m in sliced])
    for ref, meta in whole:
        lo, hi = offset, offset + meta.num_rows
        spec, srefs = [], []
        for k, (sref, _) in enumerate(sliced):
            s, e = max(lo, starts[k]), min(hi, starts[k + 1])
            if e > s:
                spec.append((int(s - starts[k]), int(e - starts[k])))
                srefs.append(sref)
        refs.append(_zip_task.remote(spec, 1, inverted, ref, *srefs))
        offset = hi
    stats.tasks_submitted += len(refs)
    yield from collect(refs, stats)
