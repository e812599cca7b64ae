"""File sinks for write_parquet / write_csv / write_json / write_numpy.

Each written block becomes one file named `{write_uuid}_{task:06d}_{block:06d}.{ext}` in
the output directory, so concurrent tasks never collide and a rerun never overwrites
another run's files.
"""

from __future__ import annotations

import io
import json
import uuid
from typing import Any

import numpy as np
import pyarrow as pa

from ember.data.datasource._paths import resolve_filesystem
from ember.data.datasource.base import Datasink

__all__ = ["CSVDatasink", "FileDatasink", "JSONDatasink", "NumpyDatasink", "ParquetDatasink"]


class FileDatasink(Datasink):
    extension = "bin"

    def __init__(self, path: str, *, filesystem: Any = None, try_create_dir: bool = True,
                 **writer_args: Any) -> None:
        self.fs, self.path = resolve_filesystem(path, filesystem)
        self.try_create_dir = try_create_dir
        self.writer_args = writer_args
        self.uuid = uuid.uuid4().hex[:16]

    def on_write_start(self) -> None:
        if self.try_create_dir:
            self.fs.create_dir(self.path, recursive=True)

    def write_block(self, block: pa.Table, task_index: int, block_index: int) -> str:
        name = f"{self.uuid}_{task_index:06d}_{block_index:06d}.{self.extension}"
        path = f"{self.path.rstrip('/')}/{name}"
        with self.fs.open_output_stream(path) as f:
            self._write(block, f)
        return path

    def _write(self, block: pa.Table, f: Any) -> None:
        raise NotImplementedError


class ParquetDatasink(FileDatasink):
    extension = "parquet"

    def _write(self, block: pa.Table, f: Any) -> None:
        import pyarrow.parquet as pq

        pq.write_table(block, f, **self.writer_args)


class CSVDatasink(FileDatasink):
    extension = "csv"

    def _write(self, block: pa.Table, f: Any) -> None:
        import pyarrow.csv as pacsv

        pacsv.write_csv(block, f, **self.writer_args)


def _jsonable(v: Any) -> Any:
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    if isinstance(v, dict):
        return {k: _jsonable(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_jsonable(x) for x in v]
    if hasattr(v, "isoformat"):
        return v.isoformat()
    return v


class JSONDatasink(FileDatasink):
    """JSON lines: one object per row."""

    extension = "json"

    def _write(self, block: pa.Table, f: Any) -> None:
        from ember.data._block import iter_rows

        lines = [json.dumps(_jsonable(r), **self.writer_args) for r in iter_rows(block)]
        f.write(("\n".join(lines) + ("\n" if lines else "")).encode("utf-8"))


class NumpyDatasink(FileDatasink):
    extension = "npy"

    def __init__(self, path: str, *, column: str, filesystem: Any = None,
                 try_create_dir: bool = True) -> None:
        super().__init__(path, filesystem=filesystem, try_create_dir=try_create_dir)
        self.column = column

    def _write(self, block: pa.Table, f: Any) -> None:
        from ember.data._arrow_types import array_to_numpy

        if self.column not in block.column_names:
            raise ValueError(f"write_numpy: column {self.column!r} not found; the dataset "
                             f"has {block.column_names}.")
        arr = array_to_numpy(block.column(self.column))
        buf = io.BytesIO()
        np.save(buf, arr, allow_pickle=False)
        f.write(buf.getvalue())
