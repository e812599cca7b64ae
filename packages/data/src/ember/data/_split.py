"""Splitting a dataset: materialized splits, and streaming_split's shared execution.

streaming_split(n) starts one SplitCoordinator actor. It runs the dataset's executor
inside the actor and hands blocks to whichever split asks next (equal=False), or in
rounds of equal row counts as zero-copy slices (equal=True, dropping at most n-1 rows
at the end). Each epoch begins once every split has asked for it, as in Ray.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from typing import Any

import numpy as np
import pyarrow as pa

import ember
from ember.data._metadata import RefBundle, put_block
from ember.data.iterator import DataIterator

__all__ = ["split", "split_at_indices", "split_proportionately", "streaming_split",
           "train_test_split"]


def _pairs(ds: Any) -> list[tuple[Any, Any]]:
    return [p for b in ds._bundles() for p in b.blocks]


def _materialized(bundle_pairs: list[tuple[Any, Any]]) -> Any:
    from ember.data.dataset import MaterializedDataset

    return MaterializedDataset.from_bundles([RefBundle([p], False, i)
                                             for i, p in enumerate(bundle_pairs)])


def _slice_pair(ref: Any, start: int, end: int) -> tuple[Any, Any]:
    block = ember.get(ref).slice(start, end - start)
    return put_block(block)


def _cut(pairs: list[tuple[Any, Any]], indices: list[int]) -> list[list[tuple[Any, Any]]]:
    """Cut the row sequence of `pairs` at `indices` (zero-copy where blocks stay whole)."""
    total = sum(m.num_rows for _, m in pairs)
    bounds = [0] + [min(max(0, i), total) for i in indices] + [total]
    out: list[list[tuple[Any, Any]]] = [[] for _ in range(len(bounds) - 1)]
    offset = 0
    for ref, meta in pairs:
        lo, hi = offset, offset + meta.num_rows
        for j in range(len(bounds) - 1):
            s, e = max(lo, bounds[j]), min(hi, bounds[j + 1])
            if e > s:
                out[j].append((ref, meta) if (s, e) == (lo, hi) else
                              _slice_pair(ref, s - lo, e - lo))
        offset = hi
    return out


def split_at_indices(ds: Any, indices: list[int]) -> list[Any]:
    if any(b < a for a, b in zip(indices, indices[1:], strict=False)):
        raise ValueError(f"indices must be sorted, got {indices}.")
    if any(i < 0 for i in indices):
        raise ValueError(f"indices must be non-negative, got {indices}.")
    return [_materialized(p) for p in _cut(_pairs(ds), indices)]


def split(ds: Any, n: int, equal: bool) -> list[Any]:
    if n <= 0:
        raise ValueError(f"The number of splits {n} is not positive.")
    pairs = _pairs(ds)
    total = sum(m.num_rows for _, m in pairs)
    if equal:
        per = total // n
        return [_materialized(p) for p in _cut(pairs, [per * i for i in range(1, n + 1)])[:n]]
    # whole blocks, contiguous groups of about equal rows
    groups: list[list[tuple[Any, Any]]] = [[] for _ in range(n)]
    target = total / n if n else 0
    acc, j = 0, 0
    for p in pairs:
        while j < n - 1 and acc >= target * (j + 1):
            j += 1
        groups[j].append(p)
        acc += p[1].num_rows
    return [_materialized(g) for g in groups]


def split_proportionately(ds: Any, proportions: list[float]) -> list[Any]:
    if not proportions:
        raise ValueError("proportions must be at least of length 1")
    if sum(proportions) >= 1:
        raise ValueError("proportions must sum to less than 1")
    if any(p <= 0 for p in proportions):
        raise ValueError("proportions must be bigger than 0")
    pairs = _pairs(ds)
    total = sum(m.num_rows for _, m in pairs)
    indices = [int(total * c) for c in np.cumsum(proportions)]
    return [_materialized(p) for p in _cut(pairs, indices)]


def train_test_split(ds: Any, test_size: int | float, shuffle: bool,
                     seed: int | None) -> tuple[Any, Any]:
    if shuffle:
        ds = ds.random_shuffle(seed=seed)
    if isinstance(test_size, float):
        if not 0 < test_size < 1:
            raise ValueError(f"test_size must be in (0, 1), got {test_size}.")
        a, b = split_proportionately(ds, [1 - test_size])
        return a, b
    if not isinstance(test_size, int):
        raise TypeError(f"`test_size` must be int or float got {type(test_size)}.")
    pairs = _pairs(ds)
    total = sum(m.num_rows for _, m in pairs)
    if not 0 < test_size < total:
        raise ValueError(f"test_size must be in (0, {total}), got {test_size}.")
    a, b = _cut(pairs, [total - test_size])
    return _materialized(a), _materialized(b)


# -- streaming_split -------------------------------------------------------------------

class SplitCoordinator:
    """An actor: one executor per epoch, its output handed out to n consumers."""

    def __init__(self, ds: Any, n: int, equal: bool, ctx: Any) -> None:
        from ember.data.context import DataContext

        DataContext._set_current(ctx)
        self.ds, self.n, self.equal = ds, n, equal
        self.lock = threading.Condition()
        self.epoch = -1
        self.arrived: dict[int, set[int]] = {}
        self.executor_iter: Iterator[RefBundle] | None = None
        self.queues: list[deque] = [deque() for _ in range(n)]
        self.exhausted = False
        self.buffer: deque = deque()  # (ref, start, end) slices, for equal splits
        self.buffer_rows = 0
        self.chunk = 0

    def start_epoch(self, split_idx: int) -> int:
        """Wait until all n splits asked for the next epoch; then start it."""
        with self.lock:
            target = self.epoch + 1
            self.arrived.setdefault(target, set()).add(split_idx)
            if len(self.arrived[target]) == self.n:
                self.epoch = target
                self.executor_iter = iter(self.ds._execute())
                self.queues = [deque() for _ in range(self.n)]
                self.exhausted = False
                self.buffer, self.buffer_rows, self.chunk = deque(), 0, 0
                self.lock.notify_all()
            while self.epoch < target:
                self.lock.wait(0.5)
            return target

    def _pull(self) -> bool:
        """Move one bundle from the executor; False when it is exhausted."""
        if self.exhausted or self.executor_iter is None:
            return False
        try:
            bundle = next(self.executor_iter)
        except StopIteration:
            self.exhausted = True
            return False
        for ref, meta in bundle.blocks:
            if meta.num_rows:
                self.buffer.append((ref, 0, meta.num_rows))
                self.buffer_rows += meta.num_rows
                if not self.chunk:
                    self.chunk = meta.num_rows
        return True

    def _take_rows(self, k: int) -> list[tuple[Any, int, int]]:
        out = []
        while k > 0 and self.buffer:
            ref, s, e = self.buffer.popleft()
            take = min(k, e - s)
            out.append((ref, s, s + take))
            if s + take < e:
                self.buffer.appendleft((ref, s + take, e))
            k -= take
            self.buffer_rows -= take
        return out

    def _fill_equal(self) -> bool:
        while self.buffer_rows < self.n * max(self.chunk, 1) and self._pull():
            pass
        if self.buffer_rows >= self.n * max(self.chunk, 1) and self.chunk:
            k = self.chunk
        elif self.exhausted:
            k = self.buffer_rows // self.n
            if k == 0:
                return False
        else:
            return False
        for q in self.queues:
            q.append(self._take_rows(k))
        return True

    def get(self, split_idx: int, epoch: int) -> list[tuple[Any, int, int]] | None:
        """The next slices for this split, or None at the end of the epoch."""
        with self.lock:
            if epoch != self.epoch:
                raise RuntimeError(f"Split {split_idx} asked for epoch {epoch} during epoch "
                                   f"{self.epoch}; iterate all splits once per epoch.")
            q = self.queues[split_idx]
            if self.equal:
                while not q:
                    if max(len(x) for x in self.queues) > 16:
                        self.lock.wait(0.1)  # a slow split: let it catch up
                        continue
                    if not self._fill_equal():
                        return None
                return q.popleft()
            while not self.buffer:
                if not self._pull():
                    return None
            return [self.buffer.popleft()]


class _SplitIterator(DataIterator):
    def __init__(self, coordinator: Any, idx: int) -> None:
        self._coord = coordinator
        self._idx = idx

    def _iter_blocks(self) -> Iterator[pa.Table]:
        epoch = ember.get(self._coord.start_epoch.remote(self._idx))
        while True:
            slices = ember.get(self._coord.get.remote(self._idx, epoch))
            if slices is None:
                return
            for ref, s, e in slices:
                block = ember.get(ref)
                yield block if (s, e) == (0, block.num_rows) else block.slice(s, e - s)

    def __repr__(self) -> str:
        return f"DataIterator(split={self._idx})"


def streaming_split(ds: Any, n: int, equal: bool) -> list[DataIterator]:
    from ember.data.context import DataContext

    if n <= 0:
        raise ValueError(f"The number of splits {n} is not positive.")
    ctx = DataContext.get_current().copy()
    ctx.enable_progress_bars = False
    coord = ember.remote(SplitCoordinator).options(
        num_cpus=0, max_concurrency=n + 4).remote(ds, n, equal, ctx)
    return [_SplitIterator(coord, i) for i in range(n)]
