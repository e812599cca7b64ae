"""RandomAccessDataset: look rows up by key, served by actors that hold a sorted dataset.

`Dataset.to_random_access_dataset(key, num_workers)` sorts the dataset by `key`, notes
each block's key range, and hands the blocks to `num_workers` actors (round robin). A
lookup finds the one block whose range can hold the key (binary search over the block
bounds) and asks an actor holding it, which binary-searches the block. As in Ray, the
blocks must be Arrow tables, and a key that is not present gives None.
"""

from __future__ import annotations

import bisect
import time
from collections import defaultdict
from typing import TYPE_CHECKING, Any

import pyarrow as pa

import ember

if TYPE_CHECKING:
    from ember.data.dataset import Dataset

__all__ = ["RandomAccessDataset"]


class RandomAccessDataset:
    """Distributed random access to a dataset by one key column (Ray's API)."""

    def __init__(self, ds: Dataset, key: str, num_workers: int) -> None:
        schema = ds.schema(fetch_if_missing=True)
        if schema is None or key not in schema.names:
            raise ValueError(f"Key column {key!r} is not in the dataset's columns "
                             f"{None if schema is None else schema.names}.")
        start = time.perf_counter()
        refs = ds.sort(key).get_internal_block_refs()
        bounds = ember.get([_bounds.remote(ref, key) for ref in refs])
        self._blocks = [ref for ref, b in zip(refs, bounds, strict=True) if b is not None]
        kept = [b for b in bounds if b is not None]
        self._lower_bound = kept[0][0] if kept else None
        self._upper_bounds = [b[1] for b in kept]
        self._workers = [_RandomAccessWorker.remote(key) for _ in range(max(1, num_workers))]
        self._worker_of = [self._workers[i % len(self._workers)]
                           for i in range(len(self._blocks))]
        assigned: dict[int, dict[int, Any]] = defaultdict(dict)
        for i, ref in enumerate(self._blocks):
            assigned[i % len(self._workers)][i] = ref
        ember.get([w.assign_blocks.remote(assigned[n]) for n, w in enumerate(self._workers)])
        self._build_time = time.perf_counter() - start

    def get_async(self, key: Any) -> Any:
        """An ObjectRef to the row (a dict) with this key, or to None if there is none."""
        index = self._find(key)
        if index is None:
            return ember.put(None)
        return self._worker_of[index].get.remote(index, key)

    def multiget(self, keys: list[Any]) -> list[dict | None]:
        """The rows with these keys (None where a key is missing), in the keys' order."""
        by_block: dict[int, list[Any]] = defaultdict(list)
        for k in keys:
            index = self._find(k)
            if index is not None:
                by_block[index].append(k)
        refs = {i: self._worker_of[i].multiget.remote(i, ks) for i, ks in by_block.items()}
        found: dict[Any, Any] = {}
        for i, ref in refs.items():
            found.update(zip(by_block[i], ember.get(ref), strict=True))
        return [found.get(k) for k in keys]

    def stats(self) -> str:
        """Build time, blocks and accesses per worker, and the mean access time."""
        stats = ember.get([w.stats.remote() for w in self._workers])
        accesses = [s["num_accesses"] for s in stats]
        blocks = [s["num_blocks"] for s in stats]
        total_time = sum(s["total_time"] for s in stats)
        return ("RandomAccessDataset:\n"
                f"- Build time: {round(self._build_time, 2)}s\n"
                f"- Num workers: {len(stats)}\n"
                f"- Blocks per worker: {min(blocks)} min, {max(blocks)} max, "
                f"{int(sum(blocks) / len(blocks))} mean\n"
                f"- Accesses per worker: {min(accesses)} min, {max(accesses)} max, "
                f"{int(sum(accesses) / len(accesses))} mean\n"
                f"- Mean access time: {int(total_time / (1 + sum(accesses)) * 1e6)}us\n")

    def _find(self, key: Any) -> int | None:
        if self._lower_bound is None:
            return None
        try:
            i = bisect.bisect_left(self._upper_bounds, key)
            if i >= len(self._upper_bounds) or key < self._lower_bound:
                return None
        except TypeError:  # a key not comparable with the column's values
            return None
        return i


@ember.remote(num_cpus=0)
def _bounds(block: pa.Table, key: str) -> tuple[Any, Any] | None:
    if block.num_rows == 0:
        return None
    col = block.column(key)
    return col[0].as_py(), col[block.num_rows - 1].as_py()


@ember.remote(num_cpus=0)
class _RandomAccessWorker:
    def __init__(self, key: str) -> None:
        self.key = key
        self.blocks: dict[int, pa.Table] = {}
        self.keys: dict[int, list[Any]] = {}
        self.num_accesses = 0
        self.total_time = 0.0

    def assign_blocks(self, refs: dict[int, Any]) -> None:
        values = ember.get(list(refs.values()))
        self.blocks = dict(zip(refs, values, strict=True))
        self.keys = {i: b.column(self.key).to_pylist() for i, b in self.blocks.items()}

    def get(self, index: int, key: Any) -> dict | None:
        return self.multiget(index, [key])[0]

    def multiget(self, index: int, keys: list[Any]) -> list[dict | None]:
        start = time.perf_counter()
        block, column = self.blocks[index], self.keys[index]
        out: list[dict | None] = []
        for k in keys:
            i = bisect.bisect_left(column, k)
            out.append(block.slice(i, 1).to_pylist()[0]
                       if i < len(column) and column[i] == k else None)
        self.total_time += time.perf_counter() - start
        self.num_accesses += 1
        return out

    def stats(self) -> dict:
        return {"num_blocks": len(self.blocks), "num_accesses": self.num_accesses,
                "total_time": self.total_time}
