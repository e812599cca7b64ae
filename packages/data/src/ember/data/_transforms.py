"""Map-like stages that run inside tasks and actors, each `Iterator[Block] -> Iterator[Block]`.

Consecutive map-like operators are fused by chaining their stages in one task. A stage
that calls user code wraps failures in UserCodeException naming the operator and a
preview of the row or batch at fault.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np
import pyarrow as pa

from ember.data import _block
from ember.data._arrow_types import to_arrow
from ember.data.exceptions import UserCodeException

__all__ = [
    "AddColumnStage",
    "FilterStage",
    "FlatMapStage",
    "LimitStage",
    "MapBatchesStage",
    "MapRowsStage",
    "PartialAggregateStage",
    "ProjectStage",
    "RandomSampleStage",
    "ReadStage",
    "Stage",
    "UDF",
    "WriteStage",
    "run_stages",
]


def _preview(value: Any, limit: int = 300) -> str:
    try:
        if isinstance(value, dict):
            text = "{" + ", ".join(f"{k!r}: {_short(v)}" for k, v in value.items()) + "}"
        elif isinstance(value, pa.Table):
            text = f"pyarrow.Table({value.num_rows} rows, columns={value.column_names})"
        elif type(value).__name__ == "DataFrame":
            text = f"pandas.DataFrame({len(value)} rows, columns={list(value.columns)})"
        else:
            text = repr(value)
    except Exception:  # noqa: BLE001
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[:limit] + "…"


def _short(v: Any) -> str:
    if isinstance(v, np.ndarray):
        if v.size <= 8:
            return repr(v)
        return f"ndarray(shape={v.shape}, dtype={v.dtype})"
    r = repr(v)
    return r if len(r) <= 80 else r[:80] + "…"


_PKG_DIR = os.path.dirname(os.path.abspath(__file__))


def _code_files(fn: Any) -> dict[str, tuple[str, int]]:
    """Function name -> (source file, first line) for a UDF and its methods, recorded
    on the driver: functions pickled by value report their file as "<dynamic-code>"."""
    out: dict[str, tuple[str, int]] = {}
    members = [fn] + ([v for v in vars(fn).values() if inspect.isfunction(v)]
                      if inspect.isclass(fn) else [])
    for m in members:
        code = getattr(m, "__code__", None)
        if code is not None and not code.co_filename.startswith("<"):
            out[code.co_name] = (code.co_filename, code.co_firstlineno)
    return out


def _user_traceback(err: BaseException, files: dict[str, tuple[str, int]] | None = None
                    ) -> str:
    """The traceback of `err` without ember Data's own frames (the user's code only)."""
    import linecache

    frames = []
    for f in traceback.extract_tb(err.__traceback__):
        if f.filename.startswith(_PKG_DIR):
            continue
        if f.filename == "<dynamic-code>" and files and f.name in files:
            real = files[f.name][0]
            f = traceback.FrameSummary(real, f.lineno, f.name,
                                       line=linecache.getline(real, f.lineno or 0).strip())
        frames.append(f)
    lines = ["Traceback (most recent call last):\n"] + traceback.format_list(frames)
    lines += traceback.format_exception_only(type(err), err)
    return "".join(lines)


def _fail(op: str, what: str, data: Any, err: BaseException,
          udf: UDF | None = None) -> UserCodeException:
    preview = _preview(data)
    tb = _user_traceback(err, udf.files if udf is not None else None)
    msg = (f"{type(err).__name__} in operator {op} while processing {what}: {err}\n"
           f"  {what}: {preview}\n{tb.rstrip()}")
    return UserCodeException(msg, op, preview, type(err).__name__, tb, err)


class UDF:
    """A user function or callable class with its arguments; classes are built by init()."""

    def __init__(self, fn: Any, fn_args: Iterable | None = None, fn_kwargs: dict | None = None,
                 ctor_args: Iterable | None = None, ctor_kwargs: dict | None = None) -> None:
        self.fn = fn
        self.is_class = inspect.isclass(fn)
        if not self.is_class and (ctor_args or ctor_kwargs):
            raise ValueError("fn_constructor_args and fn_constructor_kwargs can only be "
                             "specified if providing a callable class instance for fn, "
                             f"but got: {fn}.")
        self.fn_args = tuple(fn_args or ())
        self.fn_kwargs = dict(fn_kwargs or {})
        self.ctor_args = tuple(ctor_args or ())
        self.ctor_kwargs = dict(ctor_kwargs or {})
        self._callable: Callable | None = None if self.is_class else fn
        self.files = _code_files(fn)

    @property
    def name(self) -> str:
        return getattr(self.fn, "__name__", type(self.fn).__name__)

    def init(self) -> None:
        """Resolve ObjectRef arguments and construct a callable class (once per actor)."""
        self.fn_args = tuple(_resolve(a) for a in self.fn_args)
        self.fn_kwargs = {k: _resolve(v) for k, v in self.fn_kwargs.items()}
        if self.is_class and self._callable is None:
            args = tuple(_resolve(a) for a in self.ctor_args)
            kwargs = {k: _resolve(v) for k, v in self.ctor_kwargs.items()}
            self._callable = self.fn(*args, **kwargs)

    def __call__(self, x: Any) -> Any:
        if self._callable is None:
            self.init()
        return self._callable(x, *self.fn_args, **self.fn_kwargs)

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        if self.is_class:
            state["_callable"] = None
        return state


def _resolve(v: Any) -> Any:
    import ember

    return ember.get(v) if isinstance(v, ember.ObjectRef) else v


class Stage:
    """One map-like step. `udf_s` accumulates time spent in user code."""

    name = "Map"
    udf: UDF | None = None
    udf_s = 0.0

    def init(self) -> None:
        if self.udf is not None:
            self.udf.init()

    def apply(self, blocks: Iterator[pa.Table]) -> Iterator[pa.Table]:
        raise NotImplementedError


class ReadStage(Stage):
    """Runs read tasks (the inputs of a read operator) and yields their blocks."""

    name = "Read"

    def apply(self, tasks: Iterator[Any]) -> Iterator[pa.Table]:
        for task in tasks:
            for block in task():
                yield _block.batch_to_block(block)


class MapRowsStage(Stage):
    def __init__(self, name: str, udf: UDF) -> None:
        self.name, self.udf = name, udf

    def apply(self, blocks: Iterator[pa.Table]) -> Iterator[pa.Table]:
        for block in blocks:
            out = []
            t0 = time.perf_counter()
            for row in _block.iter_rows(block):
                try:
                    res = self.udf(row)
                except Exception as e:
                    raise _fail(self.name, "row", row, e, self.udf) from e
                if not isinstance(res, dict):
                    raise UserCodeException(
                        f"The function of operator {self.name} must return a dict for each "
                        f"row, got {type(res).__name__}: {_preview(res)}", self.name,
                        _preview(row), "TypeError")
                out.append(res)
            self.udf_s += time.perf_counter() - t0
            yield _block.rows_to_block(out)


class FlatMapStage(Stage):
    def __init__(self, name: str, udf: UDF) -> None:
        self.name, self.udf = name, udf

    def apply(self, blocks: Iterator[pa.Table]) -> Iterator[pa.Table]:
        for block in blocks:
            out: list = []
            t0 = time.perf_counter()
            for row in _block.iter_rows(block):
                try:
                    res = list(self.udf(row))
                except Exception as e:
                    raise _fail(self.name, "row", row, e, self.udf) from e
                out.extend(res)
            self.udf_s += time.perf_counter() - t0
            yield _block.rows_to_block(out)


class FilterStage(Stage):
    """Keeps rows where fn(row) is true, or where a pyarrow expression holds."""

    def __init__(self, name: str, udf: UDF | None = None, expr: Any = None) -> None:
        self.name, self.udf, self.expr = name, udf, expr

    def apply(self, blocks: Iterator[pa.Table]) -> Iterator[pa.Table]:
        for block in blocks:
            if self.expr is not None:
                try:
                    yield block.filter(self.expr)
                except Exception as e:
                    raise _fail(self.name, "block", block, e) from e
                continue
            mask = np.zeros(block.num_rows, dtype=bool)
            t0 = time.perf_counter()
            for i, row in enumerate(_block.iter_rows(block)):
                try:
                    mask[i] = bool(self.udf(row))
                except Exception as e:
                    raise _fail(self.name, "row", row, e, self.udf) from e
            self.udf_s += time.perf_counter() - t0
            yield block.filter(pa.array(mask))


def _batches(blocks: Iterator[pa.Table], batch_size: int | None) -> Iterator[pa.Table]:
    """Re-chunk blocks into batches of exactly batch_size rows (the last may be short)."""
    if batch_size is None:
        yield from blocks
        return
    pending: list[pa.Table] = []
    have = 0
    for block in blocks:
        start = 0
        while start < block.num_rows:
            take = min(batch_size - have, block.num_rows - start)
            pending.append(block.slice(start, take))
            have += take
            start += take
            if have == batch_size:
                yield _block.concat(pending)
                pending, have = [], 0
    if have:
        yield _block.concat(pending)


_udf_loop: asyncio.AbstractEventLoop | None = None
_udf_loop_lock = threading.Lock()


def _async_loop() -> asyncio.AbstractEventLoop:
    """This process's event loop for async UDFs (a daemon thread, made on first use)."""
    global _udf_loop
    with _udf_loop_lock:
        if _udf_loop is None:
            _udf_loop = asyncio.new_event_loop()
            threading.Thread(target=_udf_loop.run_forever, daemon=True,
                             name="ember-data-async-udf").start()
        return _udf_loop


def _drain_async(res: Any) -> Iterator[Any]:
    """The batches of an async UDF (`async def` returning one, or an async generator),
    run on the process's UDF event loop, as Ray runs async callable classes."""
    loop = _async_loop()
    if inspect.iscoroutine(res):
        yield asyncio.run_coroutine_threadsafe(res, loop).result()
        return
    while True:
        try:
            yield asyncio.run_coroutine_threadsafe(res.__anext__(), loop).result()
        except StopAsyncIteration:
            return


class MapBatchesStage(Stage):
    def __init__(self, name: str, udf: UDF, batch_size: int | None, batch_format: str | None,
                 zero_copy_batch: bool = True) -> None:
        self.name, self.udf, self.batch_size = name, udf, batch_size
        self.fmt = _block.normalize_batch_format(batch_format)
        self.zero_copy = zero_copy_batch

    def apply(self, blocks: Iterator[pa.Table]) -> Iterator[pa.Table]:
        row = 0
        for batch_block in _batches(blocks, self.batch_size):
            if batch_block.num_rows == 0 and batch_block.num_columns == 0:
                continue
            batch = _block.block_to_batch(batch_block, self.fmt, self.zero_copy)
            t0 = time.perf_counter()
            try:
                res = self.udf(batch)
                if inspect.isasyncgen(res) or inspect.iscoroutine(res):
                    outputs: Any = _drain_async(res)
                else:
                    outputs = res if inspect.isgenerator(res) else (res,)
                for out in outputs:
                    self.udf_s += time.perf_counter() - t0
                    try:
                        block = _block.batch_to_block(out)
                    except ValueError as e:
                        raise UserCodeException(
                            f"Operator {self.name} returned an invalid batch: {e}",
                            self.name, _preview(out), "ValueError", original=e) from e
                    yield block
                    t0 = time.perf_counter()
            except UserCodeException:
                raise
            except Exception as e:
                what = f"batch of rows {row}..{row + batch_block.num_rows - 1}"
                raise _fail(self.name, what, batch, e, self.udf) from e
            self.udf_s += time.perf_counter() - t0
            row += batch_block.num_rows


class AddColumnStage(Stage):
    def __init__(self, name: str, col: str, udf: UDF, batch_format: str | None) -> None:
        self.name, self.col, self.udf = name, col, udf
        self.fmt = _block.normalize_batch_format(batch_format)

    def apply(self, blocks: Iterator[pa.Table]) -> Iterator[pa.Table]:
        for block in blocks:
            batch = _block.block_to_batch(block, self.fmt)
            t0 = time.perf_counter()
            try:
                values = self.udf(batch)
            except Exception as e:
                raise _fail(self.name, "batch", batch, e, self.udf) from e
            self.udf_s += time.perf_counter() - t0
            arr = to_arrow(values)
            if len(arr) != block.num_rows:
                raise UserCodeException(
                    f"Operator {self.name} returned {len(arr)} values for a batch of "
                    f"{block.num_rows} rows.", self.name, _preview(batch), "ValueError")
            if self.col in block.column_names:
                block = block.set_column(block.column_names.index(self.col), self.col, arr)
            else:
                block = block.append_column(self.col, arr)
            yield block


class ProjectStage(Stage):
    """select_columns / drop_columns / rename_columns, zero-copy."""

    def __init__(self, name: str, select: list[str] | None = None,
                 drop: list[str] | None = None, rename: dict[str, str] | None = None,
                 rename_list: list[str] | None = None) -> None:
        self.name, self.select, self.drop, self.rename = name, select, drop, rename
        self.rename_list = rename_list

    def apply(self, blocks: Iterator[pa.Table]) -> Iterator[pa.Table]:
        for block in blocks:
            names = block.column_names
            if self.select is not None:
                missing = [c for c in self.select if c not in names]
                if missing and block.num_columns:
                    raise ValueError(f"{self.name}: columns {missing} not found; the dataset "
                                     f"has columns {names}.")
                if not missing:
                    block = block.select(self.select)
            if self.drop is not None:
                missing = [c for c in self.drop if c not in names]
                if missing and block.num_columns:
                    raise ValueError(f"{self.name}: columns {missing} not found; the dataset "
                                     f"has columns {names}.")
                block = block.drop_columns([c for c in self.drop if c in names])
            if self.rename is not None:
                block = block.rename_columns([self.rename.get(n, n) for n in block.column_names])
            if self.rename_list is not None and block.num_columns:
                if block.num_columns != len(self.rename_list):
                    raise ValueError(f"{self.name}: got {len(self.rename_list)} names for "
                                     f"{block.num_columns} columns {names}.")
                block = block.rename_columns(self.rename_list)
            yield block


class LimitStage(Stage):
    """Stops a task once it has produced `limit` rows (pushed into reads and maps)."""

    def __init__(self, limit: int) -> None:
        self.name, self.limit = f"Limit[{limit}]", limit

    def apply(self, blocks: Iterator[pa.Table]) -> Iterator[pa.Table]:
        left = self.limit
        for block in blocks:
            if left <= 0:
                return
            if block.num_rows > left:
                block = block.slice(0, left)
            left -= block.num_rows
            yield block


class RandomSampleStage(Stage):
    def __init__(self, fraction: float, seed: int | None) -> None:
        self.name, self.fraction, self.seed = "RandomSample", fraction, seed

    def apply(self, blocks: Iterator[pa.Table]) -> Iterator[pa.Table]:
        from ember.data._task_context import current_task_index

        rng = np.random.default_rng(None if self.seed is None
                                    else [self.seed, current_task_index()])
        for block in blocks:
            yield block.filter(pa.array(rng.random(block.num_rows) < self.fraction))


class PartialAggregateStage(Stage):
    """Folds every block of a task into aggregation accumulators; yields one row."""

    def __init__(self, aggs: list) -> None:
        self.name, self.aggs = "PartialAggregate", aggs

    def apply(self, blocks: Iterator[pa.Table]) -> Iterator[pa.Table]:
        import cloudpickle

        from ember.data._sort import partial_aggregate

        accs = [a.init(None) for a in self.aggs]
        rows = 0
        for block in blocks:
            accs = partial_aggregate(block, self.aggs, accs)
            rows += block.num_rows
        yield pa.table({"__partials": pa.array([cloudpickle.dumps(accs)], pa.binary()),
                        "__rows": pa.array([rows], pa.int64())})


class WriteStage(Stage):
    """Writes each block through a datasink; yields one small row per written file."""

    def __init__(self, name: str, sink: Any) -> None:
        self.name, self.sink = name, sink

    def apply(self, blocks: Iterator[pa.Table]) -> Iterator[pa.Table]:
        from ember.data._task_context import current_task_index

        task = current_task_index()
        written = []
        for i, block in enumerate(blocks):
            if block.num_rows == 0 and not self.sink.write_empty:
                continue
            path = self.sink.write_block(block, task, i)
            written.append({"path": path, "num_rows": block.num_rows})
        yield _block.rows_to_block(written) if written else pa.table(
            {"path": pa.array([], pa.string()), "num_rows": pa.array([], pa.int64())})


def run_stages(stages: list[Stage], inputs: Iterable[Any]) -> Iterator[pa.Table]:
    """Chain the stages over the inputs (blocks, or read tasks for a ReadStage first)."""
    it: Iterator[Any] = iter(inputs)
    for stage in stages:
        it = stage.apply(it)
    return it
