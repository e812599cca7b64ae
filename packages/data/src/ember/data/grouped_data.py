"""GroupedData: the result of Dataset.groupby(key); aggregate or map each group.

Results are sorted by the group key. Output columns are the key(s) followed by one
column per aggregation, named like Ray's: "count()", "sum(x)", "mean(x)", "std(x)".
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ember.data._logical import AllToAll
from ember.data.aggregate import AggregateFn, Count, Max, Mean, Min, Std, Sum

__all__ = ["GroupedData"]


class GroupedData:
    def __init__(self, dataset: Any, key: str | list[str] | None,
                 num_partitions: int | None = None) -> None:
        self._ds = dataset
        if key is None:
            self._keys: list[str] = []
        elif isinstance(key, str):
            self._keys = [key]
        else:
            self._keys = list(key)
        self._num_partitions = num_partitions

    def aggregate(self, *aggs: AggregateFn) -> Any:
        """One row per group: the keys and each aggregation's value."""
        from ember.data._group_partial import (
            FinalizeGroupsStage,
            PartialGroupsStage,
            merge_aggs,
            partial_plan,
        )
        from ember.data._sort import groupby_aggregate

        if not aggs:
            raise ValueError("aggregate() needs at least one AggregateFn.")
        for a in aggs:
            if not isinstance(a, AggregateFn):
                raise TypeError(f"aggregate() takes AggregateFn objects, got {a!r}.")
        name = f"Aggregate({', '.join(a.name for a in aggs)})"
        if not self._keys:  # partial aggregates fused into the upstream tasks, streaming
            from ember.data._sort import aggregate_global
            from ember.data._transforms import PartialAggregateStage

            partial = self._ds._map("PartialAggregate", [PartialAggregateStage(list(aggs))])
            return partial._then(AllToAll(name, partial._plan, aggregate_global,
                                          aggs=list(aggs)))
        plan = partial_plan(list(aggs))
        if plan is None:
            return self._ds._then(AllToAll(name, self._ds._plan, groupby_aggregate,
                                           keys=self._keys, aggs=list(aggs),
                                           num_partitions=self._num_partitions))
        # Map-side combine: partial aggregates fused into the upstream tasks.
        partial = self._ds._map("PartialAggregate", [PartialGroupsStage(self._keys, plan)])
        merged = partial._then(AllToAll(name, partial._plan, groupby_aggregate,
                                        keys=self._keys, aggs=merge_aggs(plan),
                                        num_partitions=self._num_partitions))
        return merged._map("FinalizeAggregate",
                           [FinalizeGroupsStage(self._keys, list(aggs), plan)])

    def _each(self, cls: Any, on: Any, **kw: Any) -> Any:
        cols = [on] if isinstance(on, str) else list(on) if on is not None else None
        if cols is None:
            cols = [c for c in (self._ds.columns() or []) if c not in self._keys]
        return self.aggregate(*[cls(c, **kw) for c in cols])

    def count(self) -> Any:
        return self.aggregate(Count())

    def sum(self, on: str | list[str] | None = None, ignore_nulls: bool = True) -> Any:
        return self._each(Sum, on, ignore_nulls=ignore_nulls)

    def min(self, on: str | list[str] | None = None, ignore_nulls: bool = True) -> Any:
        return self._each(Min, on, ignore_nulls=ignore_nulls)

    def max(self, on: str | list[str] | None = None, ignore_nulls: bool = True) -> Any:
        return self._each(Max, on, ignore_nulls=ignore_nulls)

    def mean(self, on: str | list[str] | None = None, ignore_nulls: bool = True) -> Any:
        return self._each(Mean, on, ignore_nulls=ignore_nulls)

    def std(self, on: str | list[str] | None = None, ddof: int = 1,
            ignore_nulls: bool = True) -> Any:
        return self._each(Std, on, ddof=ddof, ignore_nulls=ignore_nulls)

    def map_groups(self, fn: Any, *, compute: Any = None, batch_format: str | None = "default",
                   fn_args: Iterable | None = None, fn_kwargs: dict | None = None,
                   fn_constructor_args: Iterable | None = None,
                   fn_constructor_kwargs: dict | None = None, num_cpus: float | None = None,
                   num_gpus: float | None = None, concurrency: Any = None,
                   **ray_remote_args: Any) -> Any:
        """Call fn once per group with the group's rows as one batch; fn returns a batch."""
        from ember.data._block import normalize_batch_format
        from ember.data._sort import map_groups
        from ember.data._transforms import UDF

        udf = UDF(fn, fn_args, fn_kwargs, fn_constructor_args, fn_constructor_kwargs)
        fmt = normalize_batch_format(batch_format)
        name = f"MapGroups({getattr(fn, '__name__', type(fn).__name__)})"
        return self._ds._then(AllToAll(name, self._ds._plan, map_groups, keys=self._keys,
                                       udf=udf, batch_format=fmt,
                                       num_partitions=self._num_partitions))
