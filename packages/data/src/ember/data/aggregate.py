"""Aggregations for Dataset.aggregate() and GroupedData.aggregate().

An aggregation is init → accumulate_block (per block or group) → merge (partial states
from different tasks) → finalize. The built-ins (Count, Sum, Min, Max, Mean, Std,
AbsMax, Unique) accumulate with vectorized pyarrow kernels, and under groupby they
run as one pyarrow hash aggregation per partition.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "AbsMax",
    "AggregateFn",
    "AggregateFnV2",
    "ApproximateQuantile",
    "ApproximateTopK",
    "Count",
    "Max",
    "Mean",
    "Min",
    "MissingValuePercentage",
    "Std",
    "Sum",
    "Unique",
    "ZeroPercentage",
]


class AggregateFn:
    """A custom aggregation (Ray's AggregateFn signature).

    init(key) -> acc; accumulate_row(acc, row) or accumulate_block(acc, block) -> acc;
    merge(acc, acc) -> acc; finalize(acc) -> value. `name` is the output column.
    """

    def __init__(self, init: Callable[[Any], Any], merge: Callable[[Any, Any], Any],
                 name: str, accumulate_row: Callable[[Any, dict], Any] | None = None,
                 accumulate_block: Callable[[Any, pa.Table], Any] | None = None,
                 finalize: Callable[[Any], Any] | None = None) -> None:
        if (accumulate_row is None) == (accumulate_block is None):
            raise ValueError("Exactly one of accumulate_row or accumulate_block must be "
                             "provided.")
        if not isinstance(name, str) or not name:
            raise TypeError("`name` must be provided.")
        if accumulate_block is None:
            row_fn = accumulate_row

            def accumulate_block(acc: Any, block: pa.Table) -> Any:
                from ember.data._block import iter_rows

                for row in iter_rows(block):
                    acc = row_fn(acc, row)
                return acc

        self.name = name
        self.init = init
        self.merge = merge
        self.accumulate_block = accumulate_block
        self.finalize = finalize or (lambda a: a)

    def _arrow_spec(self) -> tuple[str | None, str, Any] | None:
        """(column, pyarrow hash-aggregate name, options) for the groupby fast path."""
        return None

    def _validate(self, schema: pa.Schema | None) -> None:
        col = getattr(self, "on", None)
        if col is not None and schema is not None and len(schema) and col not in schema.names:
            raise ValueError(f"{self.name}: column {col!r} not found; the dataset has "
                             f"{schema.names}.")


class AggregateFnV2(AggregateFn):
    """Subclass and implement zero_factory/aggregate_block/combine (and finalize)."""

    def __init__(self, name: str, zero_factory: Callable[[], Any], *, on: str | None,
                 ignore_nulls: bool) -> None:
        if not name:
            raise ValueError(f"Non-empty string has to be provided as name (got {name!r}).")
        self.name = name
        self.on = on
        self.ignore_nulls = ignore_nulls
        self._zero = zero_factory

    def init(self, key: Any) -> Any:  # type: ignore[override]
        return self._zero()

    def merge(self, a: Any, b: Any) -> Any:  # type: ignore[override]
        return self.combine(a, b)

    def accumulate_block(self, acc: Any, block: pa.Table) -> Any:  # type: ignore[override]
        return self.combine(acc, self.aggregate_block(block))

    def aggregate_block(self, block: pa.Table) -> Any:
        raise NotImplementedError

    def combine(self, current: Any, new: Any) -> Any:
        raise NotImplementedError

    def finalize(self, accumulator: Any) -> Any:  # type: ignore[override]
        return accumulator

    def _column(self, block: pa.Table) -> pa.ChunkedArray:
        col = block.column(self.on)
        return col


def _scalar(s: pa.Scalar) -> Any:
    return s.as_py()


class Count(AggregateFnV2):
    """Rows (or non-null values of `on` when ignore_nulls)."""

    def __init__(self, on: str | None = None, ignore_nulls: bool = False,
                 alias_name: str | None = None) -> None:
        super().__init__(alias_name or f"count({on or ''})", lambda: 0, on=on,
                         ignore_nulls=ignore_nulls)

    def aggregate_block(self, block: pa.Table) -> int:
        if self.on is None:
            return block.num_rows
        col = self._column(block)
        return len(col) - col.null_count if self.ignore_nulls else len(col)

    def combine(self, current: int, new: int) -> int:
        return current + new

    def _arrow_spec(self) -> tuple:
        if self.on is None:
            return (None, "count_all", None)
        return (self.on, "count", pc.CountOptions("only_valid" if self.ignore_nulls
                                                  else "all"))


class _Reducing(AggregateFnV2):
    """Sum/Min/Max: a pyarrow reduction; a null input yields null unless ignore_nulls."""

    kernel = "sum"
    label = "sum"

    def __init__(self, on: str | None = None, ignore_nulls: bool = True,
                 alias_name: str | None = None) -> None:
        _check_column(self, on)
        super().__init__(alias_name or f"{self.label}({on})", lambda: None, on=on,
                         ignore_nulls=ignore_nulls)

    def aggregate_block(self, block: pa.Table) -> Any:
        col = self._column(block)
        if col.null_count and not self.ignore_nulls:
            return _NULL
        if len(col) - col.null_count == 0:
            return None
        return _scalar(getattr(pc, self.kernel)(col))

    def combine(self, current: Any, new: Any) -> Any:
        if current is _NULL or new is _NULL:
            return _NULL
        if current is None:
            return new
        if new is None:
            return current
        return self._pair(current, new)

    def _pair(self, a: Any, b: Any) -> Any:
        return a + b

    def finalize(self, accumulator: Any) -> Any:
        return None if accumulator is _NULL else accumulator

    def _arrow_spec(self) -> tuple:
        return (self.on, self.kernel, pc.ScalarAggregateOptions(skip_nulls=self.ignore_nulls,
                                                                min_count=1))


def _check_column(agg: AggregateFn, on: Any) -> None:
    if not isinstance(on, str) or not on:
        raise ValueError(f"{type(agg).__name__} needs the name of a column (`on`), got "
                         f"{on!r}.")


class _NullMarker:
    def __repr__(self) -> str:
        return "NULL"

    def __reduce__(self) -> Any:
        return (_null_marker, ())


def _null_marker() -> _NullMarker:
    return _NULL


_NULL = _NullMarker()


class Sum(_Reducing):
    kernel, label = "sum", "sum"


class Min(_Reducing):
    kernel, label = "min", "min"

    def _pair(self, a: Any, b: Any) -> Any:
        return min(a, b)


class Max(_Reducing):
    kernel, label = "max", "max"

    def _pair(self, a: Any, b: Any) -> Any:
        return max(a, b)


class AbsMax(_Reducing):
    kernel, label = "max", "abs_max"

    def aggregate_block(self, block: pa.Table) -> Any:
        col = self._column(block)
        if col.null_count and not self.ignore_nulls:
            return _NULL
        if len(col) - col.null_count == 0:
            return None
        return _scalar(pc.max(pc.abs(col)))

    def _pair(self, a: Any, b: Any) -> Any:
        return max(a, b)

    def _arrow_spec(self) -> None:
        return None


class Mean(AggregateFnV2):
    """Accumulator [sum, count]."""

    def __init__(self, on: str | None = None, ignore_nulls: bool = True,
                 alias_name: str | None = None) -> None:
        _check_column(self, on)
        super().__init__(alias_name or f"mean({on})", lambda: [0, 0], on=on,
                         ignore_nulls=ignore_nulls)

    def aggregate_block(self, block: pa.Table) -> Any:
        col = self._column(block)
        if col.null_count and not self.ignore_nulls:
            return _NULL
        n = len(col) - col.null_count
        return [_scalar(pc.sum(col)) or 0 if n else 0, n]

    def combine(self, current: Any, new: Any) -> Any:
        if current is _NULL or new is _NULL:
            return _NULL
        return [current[0] + new[0], current[1] + new[1]]

    def finalize(self, accumulator: Any) -> Any:
        if accumulator is _NULL or not accumulator[1]:
            return None
        return accumulator[0] / accumulator[1]

    def _arrow_spec(self) -> tuple:
        return (self.on, "mean", pc.ScalarAggregateOptions(skip_nulls=self.ignore_nulls,
                                                           min_count=1))


class Std(AggregateFnV2):
    """Standard deviation with `ddof` (default 1), merged with Chan's parallel formula."""

    def __init__(self, on: str | None = None, ddof: int = 1, ignore_nulls: bool = True,
                 alias_name: str | None = None) -> None:
        _check_column(self, on)
        self.ddof = ddof
        super().__init__(alias_name or f"std({on})", lambda: [0, 0.0, 0.0], on=on,
                         ignore_nulls=ignore_nulls)

    def aggregate_block(self, block: pa.Table) -> Any:
        col = self._column(block)
        if col.null_count and not self.ignore_nulls:
            return _NULL
        n = len(col) - col.null_count
        if not n:
            return [0, 0.0, 0.0]
        mean = _scalar(pc.mean(col))
        m2 = _scalar(pc.sum(pc.power(pc.subtract(pc.cast(col, pa.float64()), mean), 2)))
        return [n, mean, m2]

    def combine(self, a: Any, b: Any) -> Any:
        if a is _NULL or b is _NULL:
            return _NULL
        if not a[0]:
            return b
        if not b[0]:
            return a
        n = a[0] + b[0]
        delta = b[1] - a[1]
        mean = a[1] + delta * b[0] / n
        m2 = a[2] + b[2] + delta * delta * a[0] * b[0] / n
        return [n, mean, m2]

    def finalize(self, accumulator: Any) -> Any:
        if accumulator is _NULL:
            return None
        n, _, m2 = accumulator
        if not n:
            return None
        if n - self.ddof <= 0:  # undefined: NaN, as Ray (and pandas/numpy)
            return math.nan
        return math.sqrt(m2 / (n - self.ddof))

    def _arrow_spec(self) -> tuple:
        return (self.on, "stddev", pc.VarianceOptions(ddof=self.ddof,
                                                      skip_nulls=self.ignore_nulls))


class Unique(AggregateFnV2):
    """The distinct values of `on` (a list). List values count as whole values; with
    `encode_lists`, the items of the lists are the values."""

    def __init__(self, on: str, ignore_nulls: bool = False,
                 alias_name: str | None = None, encode_lists: bool | None = None) -> None:
        super().__init__(alias_name or f"unique({on})", set, on=on, ignore_nulls=ignore_nulls)
        self._encode_lists = bool(encode_lists)

    def aggregate_block(self, block: pa.Table) -> set:
        col = self._column(block)
        nested = pa.types.is_list(col.type) or pa.types.is_large_list(col.type)
        if nested and self._encode_lists:
            col = pc.list_flatten(col)
            nested = False
        if nested:  # lists are unhashable: count them as tuples
            vals = {None if v is None else _frozen(v) for v in col.to_pylist()}
        else:
            vals = set(pc.unique(col).to_pylist())
        if self.ignore_nulls:
            vals.discard(None)
        return vals

    def combine(self, current: set, new: set) -> set:
        return current | new

    def finalize(self, accumulator: set) -> list:
        return [_thawed(v) for v in accumulator]


class _Frozen(tuple):
    """A list value held in a set."""


def _frozen(value: list) -> _Frozen:
    return _Frozen(_frozen(v) if isinstance(v, list) else v for v in value)


def _thawed(value: Any) -> Any:
    return [_thawed(v) for v in value] if isinstance(value, _Frozen) else value


from ember.data._aggregate_stats import (  # noqa: E402  (they subclass AggregateFnV2)
    ApproximateQuantile,
    ApproximateTopK,
    MissingValuePercentage,
    ZeroPercentage,
)
