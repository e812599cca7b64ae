"""Dataset: a lazy, distributed table of rows. Transforms build a plan; consumers run it.

Transforms (map, map_batches, filter, sort, groupby, …) return new Datasets without
running anything. Consumers (iter_batches, take, count, write_parquet, materialize, …)
optimize the plan and stream it through the executor; results are Arrow blocks in the
object store, fetched zero-copy by whoever consumes them.
"""

from __future__ import annotations

import builtins
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pyarrow as pa

import ember
from ember.data import _block
from ember.data._executor import StreamingExecutor
from ember.data._expressions import parse_expression
from ember.data._logical import AllToAll, InputData, Limit, LogicalOperator, MapOp, Read
from ember.data._logical import Join as JoinOp
from ember.data._logical import Union as UnionOp
from ember.data._logical import Zip as ZipOp
from ember.data._metadata import RefBundle
from ember.data._planner import optimize, plan
from ember.data._stats import DatasetStats
from ember.data._transforms import (
    UDF,
    AddColumnStage,
    FilterStage,
    FlatMapStage,
    MapBatchesStage,
    MapRowsStage,
    ProjectStage,
    RandomSampleStage,
)
from ember.data.compute import resolve_compute
from ember.data.context import DataContext
from ember.data.iterator import DataIterator
from ember.data.schema import Schema

__all__ = ["Dataset", "MaterializedDataset"]


def _ensure_init() -> None:
    if not ember.is_initialized():
        ember.init()


def _fn_name(fn: Any) -> str:
    return getattr(fn, "__name__", type(fn).__name__)


class _ExprColumn:
    """Evaluates an Arrow expression over a batch (an Arrow table)."""

    def __init__(self, expr: Any) -> None:
        self.expr = expr

    def __call__(self, table: Any) -> Any:
        import pyarrow.dataset as pads

        return pads.dataset(table).to_table(columns={"__value": self.expr}).column("__value")


def _remote_args(num_cpus: Any, num_gpus: Any, memory: Any, extra: dict) -> dict:
    args = dict(extra)
    if num_cpus is not None:
        args["num_cpus"] = num_cpus
    if num_gpus is not None:
        args["num_gpus"] = num_gpus
    if memory is not None:
        args["memory"] = memory
    return args


class _BlockStream:
    """Blocks of one execution, fetched zero-copy; cancel() stops the execution."""

    def __init__(self, executor: StreamingExecutor) -> None:
        self.executor = executor
        self._it = iter(executor)

    def __iter__(self) -> Iterator[pa.Table]:
        for bundle in self._it:
            for ref, _ in bundle.blocks:
                yield ember.get(ref)

    def cancel(self) -> None:
        self.executor.shutdown()


class Dataset:
    """A lazy dataset (Ray Data's Dataset API)."""

    def __init__(self, plan_op: LogicalOperator) -> None:
        self._plan = plan_op
        self._stats: DatasetStats | None = None
        self._uuid = uuid.uuid4().hex[:8]

    # -- plumbing --------------------------------------------------------------------
    def _then(self, op: LogicalOperator) -> Dataset:
        ds = Dataset(op)
        if self._stats is not None:
            ds._stats = DatasetStats(parents=[self._stats])
        return ds

    def _execute(self) -> StreamingExecutor:
        _ensure_init()
        ctx = DataContext.get_current()
        physical = plan(optimize(self._plan), ctx)
        executor = StreamingExecutor(physical, ctx)
        parents = self._stats.parents if self._stats is not None else []
        executor.stats.parents = list(parents)
        self._stats = executor.stats
        return executor.start()

    def iter_internal_ref_bundles(self) -> Iterator[RefBundle]:
        """The output bundles (refs + metadata), as the executor produces them."""
        yield from self._execute()

    def _bundles(self) -> list[RefBundle]:
        if isinstance(self._plan, InputData):
            return list(self._plan.bundles)
        return list(self.iter_internal_ref_bundles())

    def _iter_blocks(self) -> Iterator[pa.Table]:
        return _BlockStream(self._execute())  # type: ignore[return-value]

    def _map(self, name: str, stages: list, *, compute: Any = None, fn: Any = None,
             concurrency: Any = None, remote_args: dict | None = None, **kw: Any) -> Dataset:
        comp = resolve_compute(fn, compute, concurrency)
        return self._then(MapOp(name, self._plan, stages, compute=comp,
                                remote_args=remote_args or {}, **kw))

    # -- row and batch transforms ----------------------------------------------------
    def map(self, fn: Callable[[dict], dict], *, compute: Any = None,
            fn_args: Iterable | None = None, fn_kwargs: dict | None = None,
            fn_constructor_args: Iterable | None = None,
            fn_constructor_kwargs: dict | None = None, num_cpus: float | None = None,
            num_gpus: float | None = None, memory: float | None = None,
            concurrency: Any = None, **ray_remote_args: Any) -> Dataset:
        """Apply fn to each row (a dict), which returns one row."""
        udf = UDF(fn, fn_args, fn_kwargs, fn_constructor_args, fn_constructor_kwargs)
        name = f"Map({_fn_name(fn)})"
        return self._map(name, [MapRowsStage(name, udf)], compute=compute, fn=fn,
                         concurrency=concurrency, row_preserving=True,
                         remote_args=_remote_args(num_cpus, num_gpus, memory, ray_remote_args))

    def map_batches(self, fn: Any, *, batch_size: int | None | str = None,
                    compute: Any = None, batch_format: str | None = "default",
                    zero_copy_batch: bool = True, fn_args: Iterable | None = None,
                    fn_kwargs: dict | None = None, fn_constructor_args: Iterable | None = None,
                    fn_constructor_kwargs: dict | None = None, num_cpus: float | None = None,
                    num_gpus: float | None = None, memory: float | None = None,
                    concurrency: Any = None, udf_modifying_row_count: bool = False,
                    **ray_remote_args: Any) -> Dataset:
        """Apply fn to batches (dict of ndarrays, DataFrame or Table per batch_format).

        A function runs as tasks; a callable class runs on an actor pool (concurrency),
        constructed once per actor with fn_constructor_args/kwargs.
        """
        if batch_size in ("default", "auto"):
            batch_size = None if batch_size == "auto" else 1024
        if batch_size is not None and (not isinstance(batch_size, int) or batch_size < 1):
            raise ValueError(f"batch_size must be a positive int or None, got {batch_size!r}.")
        _block.normalize_batch_format(batch_format)
        if not callable(fn):
            raise TypeError(f"map_batches needs a function or callable class, got {fn!r}.")
        udf = UDF(fn, fn_args, fn_kwargs, fn_constructor_args, fn_constructor_kwargs)
        name = f"MapBatches({_fn_name(fn)})"
        stage = MapBatchesStage(name, udf, batch_size, batch_format, zero_copy_batch)
        return self._map(name, [stage], compute=compute, fn=fn, concurrency=concurrency,
                         min_rows_per_bundle=batch_size,
                         remote_args=_remote_args(num_cpus, num_gpus, memory, ray_remote_args))

    def flat_map(self, fn: Callable[[dict], list], *, compute: Any = None,
                 fn_args: Iterable | None = None, fn_kwargs: dict | None = None,
                 fn_constructor_args: Iterable | None = None,
                 fn_constructor_kwargs: dict | None = None, num_cpus: float | None = None,
                 num_gpus: float | None = None, memory: float | None = None,
                 concurrency: Any = None, **ray_remote_args: Any) -> Dataset:
        """Apply fn to each row; it returns a list (or iterable) of output rows."""
        udf = UDF(fn, fn_args, fn_kwargs, fn_constructor_args, fn_constructor_kwargs)
        name = f"FlatMap({_fn_name(fn)})"
        return self._map(name, [FlatMapStage(name, udf)], compute=compute, fn=fn,
                         concurrency=concurrency,
                         remote_args=_remote_args(num_cpus, num_gpus, memory, ray_remote_args))

    def filter(self, fn: Callable[[dict], bool] | None = None, expr: Any = None, *,
               compute: Any = None, fn_args: Iterable | None = None,
               fn_kwargs: dict | None = None, fn_constructor_args: Iterable | None = None,
               fn_constructor_kwargs: dict | None = None, num_cpus: float | None = None,
               num_gpus: float | None = None, memory: float | None = None,
               concurrency: Any = None, **ray_remote_args: Any) -> Dataset:
        """Keep rows where fn(row) is true, or where `expr` ("x > 3 and y == 'a'" or a
        pyarrow expression) holds; expressions are pushed into Parquet reads."""
        if (fn is None) == (expr is None):
            raise ValueError("filter() needs exactly one of fn or expr.")
        if fn is not None and not callable(fn):
            raise ValueError(f"fn must be a UserDefinedFunction, but got {type(fn).__name__} "
                             "instead.")
        args = _remote_args(num_cpus, num_gpus, memory, ray_remote_args)
        if expr is not None:
            pexpr = parse_expression(expr)
            name = f"Filter({_expr_text(expr)})"
            return self._map(name, [FilterStage(name, expr=pexpr)], compute=compute,
                             concurrency=concurrency, filter_expr=pexpr, remote_args=args)
        udf = UDF(fn, fn_args, fn_kwargs, fn_constructor_args, fn_constructor_kwargs)
        name = f"Filter({_fn_name(fn)})"
        return self._map(name, [FilterStage(name, udf)], compute=compute, fn=fn,
                         concurrency=concurrency, remote_args=args)

    def add_column(self, col: str, fn: Callable[[Any], Any], *,
                   batch_format: str | None = "pandas", compute: Any = None,
                   concurrency: Any = None, num_cpus: float | None = None,
                   num_gpus: float | None = None, memory: float | None = None,
                   **ray_remote_args: Any) -> Dataset:
        """Add (or replace) column `col` computed as fn(batch)."""
        name = f"AddColumn({col})"
        stage = AddColumnStage(name, col, UDF(fn), batch_format)
        return self._map(name, [stage], compute=compute, fn=fn, concurrency=concurrency,
                         row_preserving=True,
                         remote_args=_remote_args(num_cpus, num_gpus, memory, ray_remote_args))

    def with_column(self, column_name: str, expr: Any, **ray_remote_args: Any) -> Dataset:
        """Add (or replace) `column_name` computed from an expression:
        `ds.with_column("z", col("x") * 2 + lit(1))` (ember.data.expressions)."""
        from ember.data.expressions import (
            Expr,
            _MonotonicallyIncreasingId,
            _MonotonicIdColumn,
            _UDFColumn,
        )

        if isinstance(expr, _MonotonicallyIncreasingId):
            udf: Any = _MonotonicIdColumn()
        elif isinstance(expr, Expr) and expr._udfs:
            udf = _UDFColumn(expr)
        else:
            udf = _ExprColumn(parse_expression(expr))
        # An expression (with callable-class UDFs, say) may run on an actor pool too.
        compute = ray_remote_args.pop("compute", None)
        concurrency = ray_remote_args.pop("concurrency", None)
        name = f"AddColumn({column_name})"
        stage = AddColumnStage(name, column_name, UDF(udf), "pyarrow")
        return self._map(name, [stage], compute=compute, concurrency=concurrency,
                         row_preserving=True, remote_args=ray_remote_args)

    def drop_columns(self, cols: list[str] | str, **kwargs: Any) -> Dataset:
        cols = [cols] if isinstance(cols, str) else list(cols)
        if len(set(cols)) != len(cols):
            raise ValueError(f"drop_columns got duplicate columns: {cols}.")
        return self._map("DropColumns", [ProjectStage("DropColumns", drop=cols)],
                         row_preserving=True, projection={"drop": cols})

    def select_columns(self, cols: list[str] | str, **kwargs: Any) -> Dataset:
        cols = [cols] if isinstance(cols, str) else list(cols)
        if len(set(cols)) != len(cols):
            raise ValueError(f"select_columns got duplicate columns: {cols}.")
        return self._map("SelectColumns", [ProjectStage("SelectColumns", select=cols)],
                         row_preserving=True, projection={"select": cols})

    def rename_columns(self, names: dict[str, str] | list[str], **kwargs: Any) -> Dataset:
        if isinstance(names, dict):
            stage = ProjectStage("RenameColumns", rename=dict(names))
        else:
            stage = ProjectStage("RenameColumns", rename_list=list(names))
        return self._map("RenameColumns", [stage], row_preserving=True,
                         projection={"rename": True})

    def random_sample(self, fraction: float, *, seed: int | None = None) -> Dataset:
        """Each row is kept with probability `fraction` (seeded per block)."""
        if not 0 <= fraction <= 1:
            raise ValueError(f"fraction must be in [0, 1], got {fraction}.")
        return self._map("RandomSample", [RandomSampleStage(fraction, seed)])

    # -- all-to-all transforms -------------------------------------------------------
    def repartition(self, num_blocks: int | None = None, *,
                    target_num_rows_per_block: int | None = None, shuffle: bool = False,
                    strict: bool = False, **kwargs: Any) -> Dataset:
        """Exactly num_blocks blocks (rows kept in order unless shuffle=True), or blocks
        of `target_num_rows_per_block` rows: with `strict`, all but the last exactly
        that many; without, each input block is cut on its own."""
        from ember.data._shuffle import repartition

        if num_blocks is None and target_num_rows_per_block is None:
            raise ValueError("Either `num_blocks` or `target_num_rows_per_block` must be set")
        if num_blocks is not None and target_num_rows_per_block is not None:
            raise ValueError("Only one of `num_blocks` or `target_num_rows_per_block` must be "
                             "set, but not both.")
        if target_num_rows_per_block is not None and shuffle:
            raise ValueError("`shuffle` must be False when `target_num_rows_per_block` is set.")
        return self._then(AllToAll("Repartition", self._plan, repartition,
                                   num_blocks=num_blocks, shuffle=shuffle, strict=strict,
                                   target_num_rows_per_block=target_num_rows_per_block))

    def random_shuffle(self, *, seed: int | None = None, num_blocks: int | None = None,
                       **kwargs: Any) -> Dataset:
        from ember.data._shuffle import random_shuffle

        return self._then(AllToAll("RandomShuffle", self._plan, random_shuffle, seed=seed,
                                   num_blocks=num_blocks))

    def randomize_block_order(self, *, seed: int | None = None) -> Dataset:
        from ember.data._shuffle import randomize_block_order

        return self._then(AllToAll("RandomizeBlockOrder", self._plan, randomize_block_order,
                                   seed=seed))

    def sort(self, key: str | list[str], descending: bool | list[bool] = False,
             boundaries: list | None = None) -> Dataset:
        from ember.data._sort import _normalize_keys, sort

        if key is None:
            raise ValueError("sort() needs a key.")
        _normalize_keys(key, descending)
        return self._then(AllToAll("Sort", self._plan, sort, key=key, descending=descending,
                                   boundaries=boundaries))

    def groupby(self, key: str | list[str] | None, num_partitions: int | None = None
                ) -> Any:
        from ember.data.grouped_data import GroupedData

        return GroupedData(self, key, num_partitions)

    def union(self, *other: Dataset) -> Dataset:
        """Rows of this dataset followed by the others' (in order)."""
        return self._then(UnionOp([self._plan] + [o._plan for o in other]))

    def zip(self, *other: Dataset) -> Dataset:
        """Columns side by side; duplicate names from the right get a suffix `_1`."""
        out = self
        for o in other:
            out = out._then(ZipOp([out._plan, o._plan]))
        return out

    def join(self, ds: Dataset, join_type: str, num_partitions: int,
             on: tuple[str, ...] = ("id",), right_on: tuple[str, ...] | None = None,
             left_suffix: str | None = None, right_suffix: str | None = None, *,
             partition_size_hint: int | None = None,
             aggregator_ray_remote_args: dict | None = None,
             validate_schemas: bool = False) -> Dataset:
        """Join with `ds` on key columns (Ray's signature and output columns).

        join_type: inner, left_outer, right_outer, full_outer, left_semi, right_semi,
        left_anti or right_anti. Both sides are hash-partitioned into `num_partitions`
        partitions joined by Arrow's hash join, one task each; a side under
        `DataContext.broadcast_join_threshold_bytes` is broadcast instead.
        """
        from ember.data._join import join_bundles, validate_join_args

        join_type = getattr(join_type, "value", join_type)  # Ray's JoinType enum too
        left_keys, right_keys = validate_join_args(join_type, num_partitions, on, right_on)
        if validate_schemas:
            _check_join_key_types(self.schema(), ds.schema(), left_keys, right_keys)
        spec = {"join_type": join_type, "left_keys": left_keys, "right_keys": right_keys,
                "left_suffix": left_suffix, "right_suffix": right_suffix}
        return self._then(JoinOp(f"Join({join_type})", self._plan, ds._plan, join_bundles,
                                 spec=spec, num_partitions=num_partitions))

    def limit(self, limit: int) -> Dataset:
        if not isinstance(limit, int) or limit < 0:
            raise ValueError(f"limit must be a non-negative int, got {limit!r}.")
        return self._then(Limit(self._plan, limit))

    # -- aggregations ----------------------------------------------------------------
    def aggregate(self, *aggs: Any) -> dict:
        """Apply AggregateFns over the whole dataset; one value per aggregation."""
        rows = self.groupby(None).aggregate(*aggs).take_all()
        return rows[0] if rows else {}

    def _simple_agg(self, cls: Any, on: Any, **kw: Any) -> Any:
        cols = [on] if isinstance(on, str) else (list(on) if on is not None else None)
        if cols is None:
            cols = self.columns()
        res = self.aggregate(*[cls(c, **kw) for c in cols])
        values = list(res.values())
        return values[0] if len(values) == 1 else res  # one column: the value, as Ray

    def sum(self, on: Any = None, ignore_nulls: bool = True) -> Any:
        from ember.data.aggregate import Sum

        return self._simple_agg(Sum, on, ignore_nulls=ignore_nulls)

    def min(self, on: Any = None, ignore_nulls: bool = True) -> Any:
        from ember.data.aggregate import Min

        return self._simple_agg(Min, on, ignore_nulls=ignore_nulls)

    def max(self, on: Any = None, ignore_nulls: bool = True) -> Any:
        from ember.data.aggregate import Max

        return self._simple_agg(Max, on, ignore_nulls=ignore_nulls)

    def mean(self, on: Any = None, ignore_nulls: bool = True) -> Any:
        from ember.data.aggregate import Mean

        return self._simple_agg(Mean, on, ignore_nulls=ignore_nulls)

    def std(self, on: Any = None, ddof: int = 1, ignore_nulls: bool = True) -> Any:
        from ember.data.aggregate import Std

        return self._simple_agg(Std, on, ddof=ddof, ignore_nulls=ignore_nulls)

    def unique(self, column: str, ignore_nulls: bool = False) -> list:
        rows = self.select_columns([column]).groupby(column).count().take_all()
        values = [r[column] for r in rows]
        return [v for v in values if v is not None] if ignore_nulls else values

    # -- consumption -----------------------------------------------------------------
    def iterator(self) -> DataIterator:
        return _DatasetIterator(self)

    def iter_batches(self, **kwargs: Any) -> Iterable[Any]:
        return self.iterator().iter_batches(**kwargs)

    def iter_rows(self, **kwargs: Any) -> Iterable[dict]:
        return self.iterator().iter_rows(**kwargs)

    def iter_torch_batches(self, **kwargs: Any) -> Iterable[Any]:
        return self.iterator().iter_torch_batches(**kwargs)

    def take(self, limit: int = 20) -> list[dict]:
        out: list[dict] = []
        if limit <= 0:
            return out
        for row in self.limit(limit).iter_rows():
            out.append(row)
            if len(out) >= limit:
                break
        return out

    def take_all(self, limit: int | None = None) -> list[dict]:
        out = []
        for row in self.iter_rows():
            out.append(row)
            if limit is not None and len(out) > limit:
                raise ValueError(f"The dataset has more than the given limit of {limit} "
                                 "records.")
        return out

    def take_batch(self, batch_size: int = 20, *, batch_format: str | None = "default"
                   ) -> Any:
        for batch in self.limit(batch_size).iter_batches(batch_size=batch_size,
                                                         batch_format=batch_format):
            return batch
        raise ValueError("The dataset is empty.")

    def show(self, limit: int = 20) -> None:
        for row in self.take(limit):
            print(row)

    def count(self) -> int:
        """Rows; from metadata when the plan allows, else by executing (no data fetched)."""
        known = _known_rows(self._plan)
        if known is not None:
            return known
        return builtins.sum(b.num_rows() for b in self.iter_internal_ref_bundles())

    def schema(self, fetch_if_missing: bool = True) -> Schema | None:
        cheap = _known_schema(self._plan)
        if cheap is not None or not fetch_if_missing:
            return Schema(cheap) if cheap is not None else None
        first = None
        executor = self._execute()
        try:
            for bundle in executor:
                s = bundle.schema()
                if s is not None and len(s):
                    return Schema(s)
                first = first or s
        finally:
            executor.shutdown()
        return Schema(first) if first is not None else None

    def columns(self, fetch_if_missing: bool = True) -> list[str] | None:
        s = self.schema(fetch_if_missing)
        return s.names if s is not None else None

    def to_pandas(self, limit: int | None = None) -> Any:
        ds = self if limit is None else self.limit(limit)
        table = _block.concat(list(ds._iter_blocks()))
        return _block.block_to_batch(table, "pandas")

    def to_arrow(self) -> pa.Table:
        return _block.concat(list(self._iter_blocks()))

    def to_arrow_refs(self) -> list[Any]:
        return [r for b in self._bundles() for r, _ in b.blocks]

    def to_pandas_refs(self) -> list[Any]:
        from ember.data._convert import to_format

        return [to_format.remote(r, "pandas") for r in self.to_arrow_refs()]

    def to_numpy_refs(self, *, column: str | None = None) -> list[Any]:
        from ember.data._convert import to_format

        return [to_format.remote(r, "numpy", column) for r in self.to_arrow_refs()]

    def get_internal_block_refs(self) -> list[Any]:
        return self.to_arrow_refs()

    def to_random_access_dataset(self, key: str, num_workers: int | None = None) -> Any:
        """A RandomAccessDataset: rows looked up by `key`, served by `num_workers` actors
        (default: 4 per node, as Ray)."""
        from ember.data.random_access_dataset import RandomAccessDataset

        _ensure_init()
        if num_workers is None:
            num_workers = 4 * len(ember.nodes())
        return RandomAccessDataset(self, key, num_workers)

    def materialize(self) -> MaterializedDataset:
        """Run the plan now and keep its blocks in the object store."""
        bundles = [RefBundle(b.blocks, False, i) for i, b in enumerate(self._bundles())]
        out = MaterializedDataset.from_bundles(bundles)
        out._stats = self._stats
        return out

    def stats(self) -> str:
        """Per-operator wall/CPU time, rows and bytes of the last execution."""
        return self._stats.to_summary() if self._stats is not None else ""

    # -- writes ----------------------------------------------------------------------
    def write_datasink(self, sink: Any, *, concurrency: int | None = None,
                       **ray_remote_args: Any) -> list[str]:
        from ember.data._transforms import WriteStage

        sink.on_write_start()
        name = f"Write{sink.get_name()}"
        ds = self._map(name, [WriteStage(name, sink)], concurrency=concurrency,
                       remote_args=ray_remote_args)
        paths = []
        for block in ds._iter_blocks():
            paths.extend(block.column("path").to_pylist() if block.num_rows else [])
        self._stats = ds._stats
        sink.on_write_complete(paths)
        return paths

    def write_parquet(self, path: str, *, filesystem: Any = None, try_create_dir: bool = True,
                      concurrency: int | None = None, ray_remote_args: dict | None = None,
                      **arrow_parquet_args: Any) -> None:
        from ember.data.datasource.sinks import ParquetDatasink

        sink = ParquetDatasink(path, filesystem=filesystem, try_create_dir=try_create_dir,
                               **arrow_parquet_args)
        self.write_datasink(sink, concurrency=concurrency, **(ray_remote_args or {}))

    def write_csv(self, path: str, *, filesystem: Any = None, try_create_dir: bool = True,
                  concurrency: int | None = None, ray_remote_args: dict | None = None,
                  **arrow_csv_args: Any) -> None:
        from ember.data.datasource.sinks import CSVDatasink

        sink = CSVDatasink(path, filesystem=filesystem, try_create_dir=try_create_dir,
                           **arrow_csv_args)
        self.write_datasink(sink, concurrency=concurrency, **(ray_remote_args or {}))

    def write_json(self, path: str, *, filesystem: Any = None, try_create_dir: bool = True,
                   concurrency: int | None = None, ray_remote_args: dict | None = None,
                   **json_args: Any) -> None:
        from ember.data.datasource.sinks import JSONDatasink

        sink = JSONDatasink(path, filesystem=filesystem, try_create_dir=try_create_dir,
                            **json_args)
        self.write_datasink(sink, concurrency=concurrency, **(ray_remote_args or {}))

    def write_numpy(self, path: str, *, column: str, filesystem: Any = None,
                    try_create_dir: bool = True, concurrency: int | None = None,
                    ray_remote_args: dict | None = None) -> None:
        from ember.data.datasource.sinks import NumpyDatasink

        sink = NumpyDatasink(path, column=column, filesystem=filesystem,
                             try_create_dir=try_create_dir)
        self.write_datasink(sink, concurrency=concurrency, **(ray_remote_args or {}))

    # -- splitting -------------------------------------------------------------------
    def split(self, n: int, *, equal: bool = False, locality_hints: list | None = None
              ) -> list[MaterializedDataset]:
        from ember.data._split import split

        return split(self, n, equal)

    def split_at_indices(self, indices: list[int]) -> list[MaterializedDataset]:
        from ember.data._split import split_at_indices

        return split_at_indices(self, indices)

    def split_proportionately(self, proportions: list[float]) -> list[MaterializedDataset]:
        from ember.data._split import split_proportionately

        return split_proportionately(self, proportions)

    def train_test_split(self, test_size: int | float, *, shuffle: bool = False,
                         seed: int | None = None) -> tuple[MaterializedDataset,
                                                           MaterializedDataset]:
        from ember.data._split import train_test_split

        return train_test_split(self, test_size, shuffle, seed)

    def streaming_split(self, n: int, *, equal: bool = False,
                        locality_hints: list | None = None) -> list[DataIterator]:
        """n iterators over disjoint parts of ONE streaming execution (e.g. one per
        training worker); iterate them concurrently, once per epoch."""
        from ember.data._split import streaming_split

        return streaming_split(self, n, equal)

    # -- misc ------------------------------------------------------------------------
    def input_files(self) -> list[str]:
        files: list[str] = []
        for op in _walk(self._plan):
            if isinstance(op, Read):
                for t in op.datasource.get_read_tasks(op.parallelism or 1):
                    files.extend(t.metadata.input_files or [])
        return sorted(set(files))

    def num_blocks(self) -> int:
        return builtins.sum(len(b.blocks) for b in self._bundles())

    def size_bytes(self) -> int:
        return builtins.sum(b.size_bytes() for b in self._bundles())

    def __repr__(self) -> str:
        """Ray's text: the operators still to run over the data they start from."""
        from ember.data._dataset_repr import dataset_repr

        return dataset_repr(self, _known_rows, _known_schema)

    def __iter__(self) -> Any:
        raise TypeError("`Dataset` objects aren't iterable. To iterate records, call "
                        "`ds.iter_rows()` or `ds.iter_batches()`.")


class MaterializedDataset(Dataset):
    """A dataset whose blocks are already computed and held in the object store."""

    @classmethod
    def from_bundles(cls, bundles: list[RefBundle]) -> MaterializedDataset:
        return cls(InputData(bundles))

    def num_blocks(self) -> int:
        return builtins.sum(len(b.blocks) for b in self._plan.bundles)


class _DatasetIterator(DataIterator):
    def __init__(self, ds: Dataset) -> None:
        self._ds = ds

    def _iter_blocks(self) -> Iterator[pa.Table]:
        return self._ds._iter_blocks()

    def stats(self) -> str:
        return self._ds.stats()


def _check_join_key_types(left: Schema | None, right: Schema | None, left_keys: Any,
                          right_keys: Any) -> None:
    """Ray's join schema check: the key columns' types must match on both sides."""

    def key_types(schema: Schema | None, keys: Any) -> list | None:
        if not schema:
            return None
        return [t for n, t in zip(schema.names, schema.types, strict=True) if n in keys]

    if key_types(left, right_keys) != key_types(right, left_keys):
        raise ValueError("Key columns are expected to be present and have the same types "
                         "in both left and right operands of the join operation: "
                         f"left has {left}, but right has {right}")


def _walk(op: LogicalOperator) -> list[LogicalOperator]:
    from ember.data._logical import walk

    return walk(op)


def _expr_text(expr: Any) -> str:
    """A filter expression as Ray names its operator: inline, cut at 60 characters."""
    from ember.data.expressions import Expr

    text = expr if isinstance(expr, str) else expr._text if isinstance(expr, Expr) else "expr"
    return text if len(text) <= 60 else text[:57] + "..."


def _known_rows(op: LogicalOperator) -> int | None:
    if isinstance(op, InputData):
        return builtins.sum(b.num_rows() for b in op.bundles)
    if isinstance(op, Read):
        return op.datasource.num_rows()
    if isinstance(op, MapOp) and op.row_preserving:
        return _known_rows(op.inputs[0])
    if isinstance(op, Limit):
        n = _known_rows(op.inputs[0])
        return None if n is None else min(n, op.limit)
    if isinstance(op, UnionOp):
        parts = [_known_rows(i) for i in op.inputs]
        return None if any(p is None for p in parts) else builtins.sum(parts)
    if isinstance(op, AllToAll) and op.name in ("Repartition", "RandomShuffle", "Sort",
                                                "RandomizeBlockOrder"):
        return _known_rows(op.inputs[0])
    return None


def _known_schema(op: LogicalOperator) -> pa.Schema | None:
    if isinstance(op, InputData):
        for b in op.bundles:
            s = b.schema()
            if s is not None and len(s):
                return s
        return None
    if isinstance(op, Read):
        return op.datasource.schema()
    if isinstance(op, Limit) or (isinstance(op, AllToAll) and op.name in (
            "Repartition", "RandomShuffle", "Sort", "RandomizeBlockOrder")):
        return _known_schema(op.inputs[0])
    return None
