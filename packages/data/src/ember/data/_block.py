"""Blocks are Arrow tables; this module converts them to and from batches and rows.

Batch formats: "numpy" (dict of ndarrays, the "default"), "pandas" (DataFrame),
"pyarrow" (Table) and "polars" (polars.DataFrame, with the `ember-data[polars]` extra).
Zero-copy wherever Arrow allows it: a numpy batch of a block read from the object store
is a set of read-only views of shared memory; a polars batch shares the Arrow buffers.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import numpy as np
import pyarrow as pa

from ember.data._arrow_types import PythonObjectType, array_to_numpy, column_values, to_arrow

__all__ = [
    "BATCH_FORMATS",
    "batch_to_block",
    "block_size",
    "block_to_batch",
    "compact",
    "concat",
    "empty_block",
    "iter_rows",
    "normalize_batch_format",
    "rows_to_block",
    "split_block",
]

BATCH_FORMATS = ("default", "numpy", "pandas", "polars", "pyarrow", None)


def normalize_batch_format(fmt: str | None) -> str:
    """Map Ray's spellings to one of "numpy", "pandas", "pyarrow", "polars"."""
    if fmt in ("default", "numpy"):
        return "numpy"
    if fmt in ("pandas",):
        return "pandas"
    if fmt in ("pyarrow", "arrow", None):
        return "pyarrow"
    if fmt == "polars":
        _polars()
        return "polars"
    raise ValueError(f"batch_format must be one of 'default', 'numpy', 'pandas', 'pyarrow', "
                     f"'polars' or None, got {fmt!r}.")


def _polars() -> Any:
    try:
        import polars
    except ImportError as e:
        raise ImportError('batch_format="polars" needs polars: pip install '
                          '"ember-data[polars]"') from e
    return polars


def _is_polars_frame(batch: Any) -> bool:
    return type(batch).__module__.startswith("polars") and hasattr(batch, "to_arrow")


def empty_block() -> pa.Table:
    return pa.table({})


def block_size(block: pa.Table) -> int:
    try:
        return int(block.nbytes)
    except (pa.ArrowInvalid, NotImplementedError):
        return int(block.get_total_buffer_size())


def _dict_to_block(batch: Mapping[str, Any]) -> pa.Table:
    cols: dict[str, Any] = {}
    length = None
    for name, values in batch.items():
        if not isinstance(name, str):
            raise ValueError(f"Batch column names must be strings, got {name!r}.")
        if np.isscalar(values) or values is None:
            raise ValueError(f"Column {name!r} of the batch is a scalar ({values!r}); each "
                             "value of a batch dict must be an array or list of column values.")
        arr = to_arrow(values)
        if length is not None and len(arr) != length:
            lens = {k: len(v) for k, v in batch.items()}
            raise ValueError(f"Batch columns have different lengths: {lens}.")
        length = len(arr)
        cols[name] = arr
    return pa.table(cols)


def _pandas_to_block(df: Any) -> pa.Table:
    cols = {}
    for name in df.columns:
        s = df[name]
        cols[str(name)] = to_arrow(s.to_numpy() if s.dtype == object else s)
    return pa.table(cols) if cols else pa.table({}).slice(0, 0)


def batch_to_block(batch: Any) -> pa.Table:
    """A UDF's output (Table, DataFrame, dict of arrays/lists) as an Arrow table."""
    if isinstance(batch, pa.Table):
        return batch
    if isinstance(batch, pa.RecordBatch):
        return pa.Table.from_batches([batch])
    if isinstance(batch, Mapping):
        return _dict_to_block(batch)
    if _is_polars_frame(batch):
        return batch.to_arrow()
    if type(batch).__name__ == "DataFrame" and hasattr(batch, "columns"):
        return _pandas_to_block(batch)
    raise ValueError(
        f"A batch must be a dict of column arrays, a pandas or polars DataFrame or a "
        f"pyarrow.Table; "
        f"got {type(batch).__name__}.")


def rows_to_block(rows: list) -> pa.Table:
    """Rows (dicts) as a table; the columns are the union of the rows' keys."""
    if not rows:
        return empty_block()
    names: dict[str, None] = {}
    for r in rows:
        if not isinstance(r, Mapping):
            raise ValueError(f"A row must be a dict, got {type(r).__name__}: {r!r:.200}")
        for k in r:
            names.setdefault(k, None)
    return _dict_to_block({k: [r.get(k) for r in rows] for k in names})


def block_to_batch(block: pa.Table, fmt: str, zero_copy: bool = True) -> Any:
    """The block as a batch in `fmt` ("numpy", "pandas", "pyarrow" or "polars")."""
    if fmt == "pyarrow":
        return block
    if fmt == "numpy":
        out = {}
        for name in block.column_names:
            arr = array_to_numpy(block.column(name))
            if not zero_copy and isinstance(arr, np.ndarray) and not arr.flags.writeable:
                arr = arr.copy()
            out[name] = arr
        return out
    if fmt == "pandas":
        return _block_to_pandas(block)
    if fmt == "polars":
        return _polars().from_arrow(block, rechunk=False)
    raise ValueError(f"Unknown batch format {fmt!r}.")


def _block_to_pandas(block: pa.Table) -> Any:
    import pandas as pd

    special = [n for n, f in zip(block.column_names, block.schema, strict=True)
               if isinstance(f.type, pa.FixedShapeTensorType | PythonObjectType)]
    if not special:
        return block.to_pandas()
    plain = block.drop_columns(special)
    df = plain.to_pandas() if plain.num_columns else pd.DataFrame(index=range(block.num_rows))
    for name in special:
        arr = array_to_numpy(block.column(name))
        if arr.ndim > 1:
            obj = np.empty(len(arr), dtype=object)
            obj[:] = list(arr)
            arr = obj
        df[name] = arr
    return df[block.column_names]


def iter_rows(block: pa.Table) -> Iterator[dict]:
    """The block's rows as dicts of Python values (tensor cells as ndarrays)."""
    names = block.column_names
    cols = [column_values(block.column(n)) for n in names]
    for values in zip(*cols, strict=True):
        yield dict(zip(names, values, strict=True))
    if not names:
        for _ in range(block.num_rows):
            yield {}


def concat(blocks: Iterable[pa.Table]) -> pa.Table:
    """One table from many; schemas are unified (null columns promote to the real type)."""
    blocks = [b for b in blocks if b is not None]
    if not blocks:
        return empty_block()
    if len(blocks) == 1:
        return blocks[0]
    nonempty = [b for b in blocks if b.num_columns]
    if not nonempty:
        return pa.table({}).slice(0, 0) if not sum(b.num_rows for b in blocks) else blocks[0]
    first = nonempty[0].schema
    if all(b.schema.equals(first) for b in nonempty):
        return pa.concat_tables(nonempty)
    try:
        return pa.concat_tables(nonempty, promote_options="default")
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.concat_tables(nonempty, promote_options="permissive")


def compact(block: pa.Table) -> pa.Table:
    """A copy holding only the block's own rows when it is a slice of bigger buffers.

    Pickling an Arrow slice writes the whole parent buffers, so a 1% slice of a large
    block would cost the full block in the object store; concat_arrays copies just the
    referenced ranges. Blocks that own their buffers are returned as they are.
    """
    try:
        total = block.get_total_buffer_size()
    except (pa.ArrowInvalid, NotImplementedError):
        return block
    if total <= block.nbytes * 1.25 + (64 << 10):
        return block
    try:
        cols = [pa.concat_arrays(col.chunks) if col.num_chunks else
                pa.array([], type=col.type) for col in block.columns]
        return pa.Table.from_arrays(cols, schema=block.schema)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return block.take(pa.array(np.arange(block.num_rows)))


def split_block(block: pa.Table, max_bytes: int) -> list[pa.Table]:
    """Slices of at most ~max_bytes each (zero-copy), for oversized outputs."""
    size = block_size(block)
    if size <= max_bytes or block.num_rows <= 1:
        return [block]
    pieces = -(-size // max_bytes)
    rows = -(-block.num_rows // pieces)
    return [block.slice(i, rows) for i in range(0, block.num_rows, rows)]
