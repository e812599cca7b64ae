"""Profiling aggregations with Ray Data's names: missing and zero percentages, quantiles
and the most frequent values.

Ray computes `ApproximateQuantile` and `ApproximateTopK` with datasketches' KLL and
frequent-items sketches. Here the accumulators are bounded summaries of our own: a
quantile summary keeps at most `64 * quantile_precision` (value, weight) pairs and halves
itself by rank when it grows past that (exact below the bound, rank error about
1/(32 * quantile_precision) per halving above it); the top-k summary counts every value
exactly up to `2**log_capacity` distinct values and then keeps the most frequent half
(Misra-Gries style), so any value more frequent than N / 2**(log_capacity - 1) is kept.
"""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ember.data.aggregate import AggregateFnV2


class MissingValuePercentage(AggregateFnV2):
    """The percentage (0–100) of a column's values that are null or NaN."""

    def __init__(self, on: str, alias_name: str | None = None) -> None:
        super().__init__(alias_name or f"missing_pct({on})", lambda: [0, 0], on=on,
                         ignore_nulls=False)

    def aggregate_block(self, block: pa.Table) -> list[int]:
        col = self._column(block)
        if pa.types.is_floating(col.type):
            missing = pc.sum(pc.is_null(col, nan_is_null=True)).as_py() or 0
        else:
            missing = col.null_count
        return [missing, len(col)]

    def combine(self, current: list[int], new: list[int]) -> list[int]:
        return [current[0] + new[0], current[1] + new[1]]

    def finalize(self, accumulator: list[int]) -> float | None:
        return None if not accumulator[1] else accumulator[0] / accumulator[1] * 100.0


class ZeroPercentage(AggregateFnV2):
    """The percentage (0–100) of a numeric column's values that are zero; nulls are left
    out of the count when `ignore_nulls` (the default), counted as non-zero otherwise."""

    def __init__(self, on: str, ignore_nulls: bool = True,
                 alias_name: str | None = None) -> None:
        super().__init__(alias_name or f"zero_pct({on})", lambda: [0, 0], on=on,
                         ignore_nulls=ignore_nulls)

    def aggregate_block(self, block: pa.Table) -> list[int]:
        col = self._column(block)
        count = len(col) - col.null_count if self.ignore_nulls else len(col)
        if not count:
            return [0, 0]
        return [pc.sum(pc.equal(col, 0)).as_py() or 0, count]

    def combine(self, current: list[int], new: list[int]) -> list[int]:
        return [current[0] + new[0], current[1] + new[1]]

    def finalize(self, accumulator: list[int]) -> float | None:
        return None if not accumulator[1] else accumulator[0] / accumulator[1] * 100.0


class ApproximateQuantile(AggregateFnV2):
    """The values at the given quantiles (each in [0, 1]) of a numeric column, as a list
    of floats; nulls are skipped. `quantile_precision` bounds the summary's size."""

    def __init__(self, on: str, quantiles: list[float], quantile_precision: int = 800,
                 alias_name: str | None = None) -> None:
        if any(not 0 <= q <= 1 for q in quantiles):
            raise ValueError(f"quantiles must be between 0 and 1, got {quantiles}.")
        self._quantiles = list(quantiles)
        self._quantile_precision = quantile_precision
        super().__init__(alias_name or f"approx_quantile({on})", _empty_summary, on=on,
                         ignore_nulls=True)

    def aggregate_block(self, block: pa.Table) -> tuple[np.ndarray, np.ndarray]:
        col = pc.drop_null(self._column(block))
        values = np.sort(col.to_numpy().astype(np.float64))
        return self._compact(values, np.ones(len(values), dtype=np.float64))

    def combine(self, current: Any, new: Any) -> tuple[np.ndarray, np.ndarray]:
        values = np.concatenate([current[0], new[0]])
        weights = np.concatenate([current[1], new[1]])
        order = np.argsort(values, kind="stable")
        return self._compact(values[order], weights[order])

    def _compact(self, values: np.ndarray, weights: np.ndarray) -> tuple:
        cap = 64 * self._quantile_precision
        while len(values) > cap:  # keep every other item by rank, doubling its weight
            cum = np.cumsum(weights)
            targets = np.arange(1, len(values) // 2 + 1) * (cum[-1] / (len(values) // 2))
            idx = np.minimum(np.searchsorted(cum, targets), len(values) - 1)
            values, weights = values[idx], np.full(len(idx), cum[-1] / len(idx))
        return values, weights

    def finalize(self, accumulator: Any) -> list[float] | None:
        values, weights = accumulator
        if not len(values):
            return None
        cum = np.cumsum(weights)
        idx = np.searchsorted(cum, [q * cum[-1] for q in self._quantiles], side="left")
        return [float(values[min(i, len(values) - 1)]) for i in idx]


def _empty_summary() -> tuple[np.ndarray, np.ndarray]:
    return np.empty(0, dtype=np.float64), np.empty(0, dtype=np.float64)


class ApproximateTopK(AggregateFnV2):
    """The `k` most frequent values of a column, as `[{on: value, "count": n}, …]` most
    frequent first; nulls are skipped. With `encode_lists`, the items of list values are
    counted instead of whole lists."""

    def __init__(self, on: str, k: int, log_capacity: int = 15,
                 alias_name: str | None = None, encode_lists: bool = False) -> None:
        self.k = k
        self._capacity = 2 ** log_capacity
        self._encode_lists = encode_lists
        super().__init__(alias_name or f"approx_topk({on})", dict, on=on, ignore_nulls=True)

    def aggregate_block(self, block: pa.Table) -> dict[bytes, int]:
        col = self._column(block)
        if self._encode_lists and (pa.types.is_list(col.type)
                                   or pa.types.is_large_list(col.type)):
            col = pc.list_flatten(col)
        col = pc.drop_null(col)
        counts: dict[bytes, int] = {}
        try:
            pairs = pc.value_counts(col).to_pylist()
            items = [(p["values"], p["counts"]) for p in pairs]
        except pa.ArrowNotImplementedError:  # lists and other unhashable types
            items = [(v, 1) for v in col.to_pylist()]
        for value, n in items:
            key = pickle.dumps(value)
            counts[key] = counts.get(key, 0) + n
        return self._trim(counts)

    def combine(self, current: dict, new: dict) -> dict:
        merged = dict(current)
        for key, n in new.items():
            merged[key] = merged.get(key, 0) + n
        return self._trim(merged)

    def _trim(self, counts: dict) -> dict:
        if len(counts) <= self._capacity:
            return counts
        keep = sorted(counts.items(), key=lambda kv: -kv[1])[: self._capacity // 2]
        return dict(keep)

    def finalize(self, accumulator: dict) -> list[dict]:
        top = sorted(accumulator.items(), key=lambda kv: -kv[1])[: self.k]
        return [{self.on: pickle.loads(key), "count": int(n)} for key, n in top]
