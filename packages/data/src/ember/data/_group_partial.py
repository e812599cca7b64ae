"""Map-side combine for groupby().aggregate(): partial aggregates in the upstream tasks.

When every aggregation decomposes into Arrow hash aggregations (count, sum, min, max,
mean as sum and count), each upstream task folds its blocks into one small table of
per-group partial values with Arrow's grouped aggregation (Acero), fused into the task
that made the rows, so the rows themselves never reach the object store. The shuffle
then moves partials only, the reducers merge them (sums of sums, min of mins…) and a
final step turns them into the user's columns (mean = sum / count).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from ember.data import _block
from ember.data._transforms import Stage
from ember.data.aggregate import AggregateFn, Count, Max, Mean, Min, Sum

__all__ = ["FinalizeGroupsStage", "PartialGroupsStage", "merge_aggs", "partial_plan"]


@dataclass(frozen=True)
class PartialColumn:
    """One partial value per group: Arrow kernel over `on` (None: rows), its options."""

    name: str
    on: str | None
    kernel: str
    merge: str  # "sum", "min" or "max"
    skip_nulls: bool


def partial_plan(aggs: list[AggregateFn]) -> list[list[PartialColumn]] | None:
    """The partial columns of each aggregation, or None when one does not decompose."""
    out: list[list[PartialColumn]] = []
    for i, a in enumerate(aggs):
        t = type(a)
        if t is Count:
            kernel = "count_all" if a.on is None else "count"
            out.append([PartialColumn(f"__p{i}_n", a.on, kernel, "sum", a.ignore_nulls)])
        elif t in (Sum, Min, Max):
            out.append([PartialColumn(f"__p{i}", a.on, a.kernel, a.kernel if t is not Sum
                                      else "sum", a.ignore_nulls)])
        elif t is Mean:
            out.append([PartialColumn(f"__p{i}_s", a.on, "sum", "sum", a.ignore_nulls),
                        PartialColumn(f"__p{i}_n", a.on, "count", "sum", True)])
        else:
            return None
    return out


def _options(p: PartialColumn, merging: bool) -> object | None:
    if p.kernel == "count_all":
        return None
    if p.kernel == "count" and not merging:
        return pc.CountOptions("only_valid" if p.skip_nulls else "all")
    return pc.ScalarAggregateOptions(skip_nulls=p.skip_nulls, min_count=1)


def _grouped(table: pa.Table, keys: list[str], cols: list[PartialColumn],
             merging: bool) -> pa.Table:
    """One row per group of `table`: the keys and each partial column."""
    data = {k: table.column(k) for k in keys}
    specs = []
    for j, p in enumerate(cols):
        src = p.name if merging else p.on
        if src is None and not merging:
            specs.append(([], "count_all"))
            continue
        data[f"__in{j}"] = table.column(src)
        fn = p.merge if merging else p.kernel
        opts = _options(p, merging)
        specs.append((f"__in{j}", fn, opts) if opts is not None else (f"__in{j}", fn))
    res = pa.table(data).group_by(keys, use_threads=False).aggregate(specs)
    names = ["count_all" if isinstance(s[0], list) else f"{s[0]}_{s[1]}" for s in specs]
    out = {k: res.column(k) for k in keys}
    for p, n in zip(cols, names, strict=True):
        out[p.name] = res.column(n)
    return pa.table(out)


class PartialGroupsStage(Stage):
    """Folds all blocks of a task into one table of per-group partial aggregates."""

    def __init__(self, keys: list[str], plan: list[list[PartialColumn]]) -> None:
        self.name, self.keys = "PartialAggregate", keys
        self.cols = [p for ps in plan for p in ps]

    def apply(self, blocks: Iterator[pa.Table]) -> Iterator[pa.Table]:
        parts = []
        for block in blocks:
            if not block.num_rows:
                continue
            missing = [c for c in self.keys + [p.on for p in self.cols if p.on]
                       if c not in block.column_names]
            if missing:
                raise ValueError(f"Group key or column {missing[0]!r} not found; the "
                                 f"dataset has {block.column_names}.")
            parts.append(_grouped(block, self.keys, self.cols, merging=False))
        if not parts:
            return
        table = _block.concat(parts)
        yield _grouped(table, self.keys, self.cols, merging=True) if len(parts) > 1 \
            else table


def merge_aggs(plan: list[list[PartialColumn]]) -> list[AggregateFn]:
    """AggregateFns that merge partial columns (named as the partials) in the reducers."""
    cls = {"sum": Sum, "min": Min, "max": Max}
    return [cls[p.merge](p.name, ignore_nulls=p.skip_nulls or p.kernel.startswith("count"),
                         alias_name=p.name) for ps in plan for p in ps]


class FinalizeGroupsStage(Stage):
    """Merged partial columns into the user's aggregation columns (mean = sum / count)."""

    def __init__(self, keys: list[str], aggs: list[AggregateFn],
                 plan: list[list[PartialColumn]]) -> None:
        self.name, self.keys, self.aggs, self.plan = "FinalizeAggregate", keys, aggs, plan

    def apply(self, blocks: Iterator[pa.Table]) -> Iterator[pa.Table]:
        for block in blocks:
            if not block.num_columns:
                yield block
                continue
            out = {k: block.column(k) for k in self.keys}
            for a, ps in zip(self.aggs, self.plan, strict=True):
                if type(a) is Mean:
                    s, n = block.column(ps[0].name), block.column(ps[1].name)
                    if pa.types.is_decimal(s.type) or pa.types.is_integer(s.type):
                        s = s.cast(pa.float64())
                    n = pc.if_else(pc.equal(n, 0), pa.scalar(None, n.type), n)
                    out[a.name] = pc.divide(s, n.cast(pa.float64()))
                elif type(a) is Count:
                    out[a.name] = pc.fill_null(block.column(ps[0].name), 0)
                else:
                    out[a.name] = block.column(ps[0].name)
            yield pa.table(out)
