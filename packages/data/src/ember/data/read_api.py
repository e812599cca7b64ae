"""Creating datasets: from memory (items, pandas, numpy, arrow) and from storage.

In-memory creators put their blocks into the object store right away. Readers are lazy:
they list files now (so a bad path fails at the call) and read inside tasks later.
"""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np
import pyarrow as pa

import ember
from ember.data import _block
from ember.data._arrow_types import to_arrow
from ember.data._logical import InputData, Read
from ember.data._metadata import RefBundle, put_block
from ember.data.context import DataContext
from ember.data.dataset import Dataset, MaterializedDataset
from ember.data.datasource import (
    BinaryDatasource,
    CSVDatasource,
    Datasource,
    ImageDatasource,
    JSONDatasource,
    NumpyDatasource,
    ParquetDatasource,
    RangeDatasource,
    TextDatasource,
)

__all__ = [
    "from_arrow",
    "from_arrow_refs",
    "from_items",
    "from_numpy",
    "from_numpy_refs",
    "from_pandas",
    "from_pandas_refs",
    "range",
    "range_tensor",
    "read_binary_files",
    "read_csv",
    "read_datasource",
    "read_images",
    "read_json",
    "read_numpy",
    "read_parquet",
    "read_text",
]


def _ensure_init() -> None:
    if not ember.is_initialized():
        ember.init()


def _from_blocks(blocks: list[pa.Table], name: str) -> MaterializedDataset:
    _ensure_init()
    bundles = [RefBundle([put_block(b)], False, i) for i, b in enumerate(blocks)]
    return MaterializedDataset(InputData(bundles, name))


def read_datasource(datasource: Datasource, *, parallelism: int = -1,
                    override_num_blocks: int | None = None, concurrency: int | None = None,
                    ray_remote_args: dict | None = None, **kwargs: Any) -> Dataset:
    """A lazy dataset read through `datasource` (`kwargs` go to a source's older
    `prepare_read(parallelism, **kwargs)` when it implements only that)."""
    from ember.data.datasource.base import legacy_read

    n = override_num_blocks or (parallelism if parallelism and parallelism > 0 else 0)
    return Dataset(Read(legacy_read(datasource, kwargs), n, dict(ray_remote_args or {}),
                        concurrency))


def range(n: int, *, parallelism: int = -1, override_num_blocks: int | None = None,
          concurrency: int | None = None) -> Dataset:
    """Rows {"id": 0} … {"id": n-1}, generated inside the read tasks."""
    return read_datasource(RangeDatasource(n), parallelism=parallelism,
                           override_num_blocks=override_num_blocks, concurrency=concurrency)


def range_tensor(n: int, *, shape: tuple = (1,), parallelism: int = -1,
                 override_num_blocks: int | None = None,
                 concurrency: int | None = None) -> Dataset:
    """Rows {"data": ndarray of `shape` filled with i} for i in range(n)."""
    return read_datasource(RangeDatasource(n, "data", tuple(shape)), parallelism=parallelism,
                           override_num_blocks=override_num_blocks, concurrency=concurrency)


def _split_rows(n: int, parts: int) -> list[tuple[int, int]]:
    parts = max(1, min(parts, n)) if n else 1
    bounds = [n * i // parts for i in builtins.range(parts + 1)]
    return [(bounds[i], bounds[i + 1]) for i in builtins.range(parts)]


def from_items(items: list, *, parallelism: int = -1,
               override_num_blocks: int | None = None) -> MaterializedDataset:
    """Rows from a list: dicts become rows; other values become {"item": value}."""
    if not isinstance(items, list):
        items = list(items)
    n = override_num_blocks or (parallelism if parallelism > 0 else
                                DataContext.get_current().min_parallelism)
    blocks = []
    for s, e in _split_rows(len(items), n):
        chunk = items[s:e]
        rows = [x if isinstance(x, dict) else {"item": x} for x in chunk]
        blocks.append(_block.rows_to_block(rows))
    return _from_blocks(blocks, "FromItems")


def from_pandas(dfs: Any, *, override_num_blocks: int | None = None) -> MaterializedDataset:
    """One block per DataFrame (or override_num_blocks blocks in all)."""
    dfs = dfs if isinstance(dfs, list) else [dfs]
    blocks = [_block.batch_to_block(df) for df in dfs]
    if override_num_blocks:
        table = _block.concat(blocks)
        blocks = [table.slice(s, e - s) for s, e in _split_rows(table.num_rows,
                                                                  override_num_blocks)]
    return _from_blocks(blocks, "FromPandas")


def from_numpy(ndarrays: np.ndarray | list[np.ndarray] | dict) -> MaterializedDataset:
    """Rows {"data": arr[i]} (one block per array); a dict gives named columns."""
    if isinstance(ndarrays, dict):
        return _from_blocks([_block.batch_to_block(ndarrays)], "FromNumpy")
    arrays = ndarrays if isinstance(ndarrays, list) else [ndarrays]
    return _from_blocks([pa.table({"data": to_arrow(np.asarray(a))}) for a in arrays],
                        "FromNumpy")


def from_arrow(tables: pa.Table | list[pa.Table], *,
               override_num_blocks: int | None = None) -> MaterializedDataset:
    tables = tables if isinstance(tables, list) else [tables]
    blocks = [pa.Table.from_batches([t]) if isinstance(t, pa.RecordBatch) else t
              for t in tables]
    if override_num_blocks:
        table = _block.concat(blocks)
        blocks = [table.slice(s, e - s) for s, e in _split_rows(table.num_rows,
                                                                  override_num_blocks)]
    return _from_blocks(blocks, "FromArrow")


def from_blocks(blocks: list) -> MaterializedDataset:
    """A dataset of these blocks as they are (pyarrow Tables or pandas DataFrames), one
    block each, as Ray's `from_blocks`."""
    if not isinstance(blocks, list):
        raise TypeError(f"from_blocks takes a list of blocks, got {type(blocks).__name__}.")
    return _from_blocks([_block.batch_to_block(b) for b in blocks], "FromBlocks")


def _from_refs(refs: Any, name: str) -> MaterializedDataset:
    refs = refs if isinstance(refs, list) else [refs]
    blocks = ember.get([_to_block.remote(r) for r in refs])
    return MaterializedDataset(InputData([RefBundle([b], False, i)
                                          for i, b in enumerate(blocks)], name))


@ember.remote
def _to_block(batch: Any) -> tuple[Any, Any]:
    if isinstance(batch, np.ndarray):
        batch = {"data": batch}
    block = _block.batch_to_block(batch)
    return put_block(block)


def from_arrow_refs(refs: Any) -> MaterializedDataset:
    return _from_refs(refs, "FromArrowRefs")


def from_pandas_refs(refs: Any) -> MaterializedDataset:
    return _from_refs(refs, "FromPandasRefs")


def from_numpy_refs(refs: Any) -> MaterializedDataset:
    return _from_refs(refs, "FromNumpyRefs")


def _file_read(cls: type, paths: Any, override_num_blocks: int | None, parallelism: int,
               concurrency: int | None, ray_remote_args: dict | None, **kw: Any) -> Dataset:
    ds = cls(paths, **kw)
    return read_datasource(ds, parallelism=parallelism, override_num_blocks=override_num_blocks,
                           concurrency=concurrency, ray_remote_args=ray_remote_args)


def read_parquet(paths: str | list[str], *, filesystem: Any = None,
                 columns: list[str] | None = None, filter: Any = None,
                 parallelism: int = -1, override_num_blocks: int | None = None,
                 concurrency: int | None = None, ray_remote_args: dict | None = None,
                 partitioning: Any = "hive", schema: pa.Schema | None = None,
                 include_paths: bool = False, file_extensions: list[str] | None = None,
                 **arrow_parquet_args: Any) -> Dataset:
    """Parquet files or directories; `columns` and `filter` (a pyarrow expression or a
    string like "x > 3") are applied by the reader."""
    if isinstance(filter, str):
        from ember.data._expressions import parse_expression

        filter = parse_expression(filter)
    return _file_read(ParquetDatasource, paths, override_num_blocks, parallelism, concurrency,
                      ray_remote_args, filesystem=filesystem, columns=columns, filter=filter,
                      partitioning=partitioning, schema=schema, include_paths=include_paths,
                      file_extensions=file_extensions,
                      batch_size=arrow_parquet_args.get("batch_size"))


def read_csv(paths: str | list[str], *, filesystem: Any = None, parallelism: int = -1,
             override_num_blocks: int | None = None, concurrency: int | None = None,
             ray_remote_args: dict | None = None, include_paths: bool = False,
             file_extensions: list[str] | None = None, ignore_missing_paths: bool = False,
             **arrow_csv_args: Any) -> Dataset:
    return _file_read(CSVDatasource, paths, override_num_blocks, parallelism, concurrency,
                      ray_remote_args, filesystem=filesystem, include_paths=include_paths,
                      file_extensions=file_extensions,
                      ignore_missing_paths=ignore_missing_paths, **arrow_csv_args)


def read_json(paths: str | list[str], *, filesystem: Any = None, parallelism: int = -1,
              override_num_blocks: int | None = None, concurrency: int | None = None,
              ray_remote_args: dict | None = None, include_paths: bool = False,
              file_extensions: list[str] | None = None, ignore_missing_paths: bool = False,
              **arrow_json_args: Any) -> Dataset:
    return _file_read(JSONDatasource, paths, override_num_blocks, parallelism, concurrency,
                      ray_remote_args, filesystem=filesystem, include_paths=include_paths,
                      file_extensions=file_extensions,
                      ignore_missing_paths=ignore_missing_paths, **arrow_json_args)


def read_text(paths: str | list[str], *, encoding: str = "utf-8",
              drop_empty_lines: bool = False, filesystem: Any = None, parallelism: int = -1,
              override_num_blocks: int | None = None, concurrency: int | None = None,
              ray_remote_args: dict | None = None, include_paths: bool = False,
              file_extensions: list[str] | None = None,
              ignore_missing_paths: bool = False) -> Dataset:
    """One row {"text": line} per line."""
    return _file_read(TextDatasource, paths, override_num_blocks, parallelism, concurrency,
                      ray_remote_args, filesystem=filesystem, include_paths=include_paths,
                      file_extensions=file_extensions,
                      ignore_missing_paths=ignore_missing_paths, encoding=encoding,
                      drop_empty_lines=drop_empty_lines)


def read_numpy(paths: str | list[str], *, filesystem: Any = None, parallelism: int = -1,
               override_num_blocks: int | None = None, concurrency: int | None = None,
               ray_remote_args: dict | None = None, include_paths: bool = False,
               file_extensions: list[str] | None = None,
               ignore_missing_paths: bool = False) -> Dataset:
    """.npy files: one row {"data": arr[i]} per leading index."""
    return _file_read(NumpyDatasource, paths, override_num_blocks, parallelism, concurrency,
                      ray_remote_args, filesystem=filesystem, include_paths=include_paths,
                      file_extensions=file_extensions or ["npy", "npz"],
                      ignore_missing_paths=ignore_missing_paths)


def read_binary_files(paths: str | list[str], *, filesystem: Any = None,
                      parallelism: int = -1, override_num_blocks: int | None = None,
                      concurrency: int | None = None, ray_remote_args: dict | None = None,
                      include_paths: bool = False, file_extensions: list[str] | None = None,
                      ignore_missing_paths: bool = False) -> Dataset:
    """One row {"bytes": ...} per file."""
    return _file_read(BinaryDatasource, paths, override_num_blocks, parallelism, concurrency,
                      ray_remote_args, filesystem=filesystem, include_paths=include_paths,
                      file_extensions=file_extensions,
                      ignore_missing_paths=ignore_missing_paths)


def read_images(paths: str | list[str], *, filesystem: Any = None, parallelism: int = -1,
                override_num_blocks: int | None = None, concurrency: int | None = None,
                ray_remote_args: dict | None = None, size: tuple[int, int] | None = None,
                mode: str | None = None, include_paths: bool = False,
                file_extensions: list[str] | None = None,
                ignore_missing_paths: bool = False) -> Dataset:
    """One row {"image": HxWxC ndarray} per image file (needs pillow); `size`=(h, w)
    resizes and `mode` converts (e.g. "RGB", "L")."""
    return _file_read(ImageDatasource, paths, override_num_blocks, parallelism, concurrency,
                      ray_remote_args, filesystem=filesystem, include_paths=include_paths,
                      file_extensions=file_extensions or ImageDatasource._FILE_EXTENSIONS,
                      ignore_missing_paths=ignore_missing_paths, size=size, mode=mode)
