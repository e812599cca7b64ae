"""read_parquet: pyarrow.dataset fragments split by row group, with pushdown.

Column projection and row filters (pyarrow.dataset expressions) are applied by the
Parquet reader itself, so unneeded columns are never decoded and row groups whose
statistics rule a filter out are never read. View-typed string/binary columns read as
plain string/binary (Arrow's joins and grouped aggregations need those).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.dataset as pads

from ember.data._metadata import BlockMetadata
from ember.data.datasource._paths import expand_paths
from ember.data.datasource.base import Datasource, ReadTask

__all__ = ["ParquetDatasource"]

_SAMPLE_ROWS = 4096


class ParquetDatasource(Datasource):
    def __init__(self, paths: str | list[str], *, filesystem: Any = None,
                 columns: list[str] | None = None, filter: Any = None,
                 partitioning: Any = "hive", schema: pa.Schema | None = None,
                 include_paths: bool = False, file_extensions: list[str] | None = None,
                 batch_size: int | None = None) -> None:
        self._fs, files = expand_paths(paths, filesystem, file_extensions)
        if not files:
            raise ValueError(f"No Parquet files found under {paths!r}.")
        self._files = [f for f, _ in files]
        self._sizes = dict(files)
        self._partitioning = partitioning
        self._user_schema = schema
        self._columns = list(columns) if columns is not None else None
        self._filter = filter
        self._include_paths = include_paths
        self._batch_size = batch_size
        self._dataset_cache: pads.Dataset | None = None
        self._estimate: int | None = None
        self._estimate_key: tuple | None = None
        self._ratio = 0.0  # decoded bytes per row of the projected columns (0: unknown)

    def _dataset(self) -> pads.Dataset:
        if self._dataset_cache is None:
            part = self._partitioning
            if isinstance(part, str):
                part = pads.partitioning(flavor=part) if part == "hive" else part
            base = None
            if len(self._files) > 1 or part is not None:
                base = _common_dir(self._files)
            ds = pads.dataset(
                self._files, format="parquet", filesystem=self._fs,
                partitioning=part, partition_base_dir=base, schema=self._user_schema)
            if self._user_schema is None and _has_views(ds.schema):
                ds = pads.dataset(
                    self._files, format="parquet", filesystem=self._fs, partitioning=part,
                    partition_base_dir=base, schema=_without_views(ds.schema))
            self._dataset_cache = ds
        return self._dataset_cache

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_dataset_cache"] = None
        return state

    def get_name(self) -> str:
        return "Parquet"

    def schema(self) -> pa.Schema:
        schema = self._dataset().schema
        if self._columns is not None:
            schema = pa.schema([schema.field(c) for c in self._columns])
        return schema

    def num_rows(self) -> int | None:
        """From the files' footers, unless a row filter makes it unknowable."""
        if self._filter is not None:
            return None
        return sum(rg.num_rows for frag in self._dataset().get_fragments()
                   for rg in frag.row_groups)

    def supports_projection_pushdown(self) -> bool:
        return True

    def apply_projection(self, columns: list[str]) -> ParquetDatasource:
        new = _copy(self)
        known = self._dataset().schema.names + (["path"] if self._include_paths else [])
        missing = [c for c in columns if c not in known]
        if missing:
            raise ValueError(f"Columns {missing} not found in the Parquet dataset; it has "
                             f"{known}.")
        new._columns = [c for c in columns if c != "path" or "path" in self._dataset().schema.names]
        return new

    def supports_predicate_pushdown(self) -> bool:
        return True

    def apply_predicate(self, expr: Any) -> ParquetDatasource:
        new = _copy(self)
        new._filter = expr if self._filter is None else (self._filter & expr)
        return new

    def estimate_inmemory_data_size(self) -> int:
        """Decoded bytes of the projected columns: rows (from the footers) times the
        bytes per row: fixed-width columns from their types, variable-width ones from
        the first rows of the first file (dictionary and run-length encoding can make
        files many times smaller than the tables they decode to)."""
        key = tuple(self._columns) if self._columns is not None else None
        if self._estimate is None or self._estimate_key != key:
            try:
                frags = list(self._dataset().get_fragments())
                rows = sum(rg.num_rows for frag in frags for rg in frag.row_groups)
                self._ratio = self._bytes_per_row(frags[0].path if frags else None, key)
                self._estimate = int(rows * self._ratio)
            except (OSError, ValueError, KeyError, AttributeError, StopIteration):
                self._estimate = _projected_bytes(sum(self._sizes.values()),
                                                  self._dataset().schema, self._columns)
                self._ratio = 0.0
            self._estimate_key = key
        return self._estimate

    def _bytes_per_row(self, first_file: str | None, columns: tuple | None) -> float:
        """Fixed-width columns from their types; variable-width ones from a sample."""
        schema = self._dataset().schema
        names = [c for c in (columns or schema.names) if c in schema.names]
        per_row, var = 0.0, []
        for name in names:
            try:
                per_row += schema.field(name).type.bit_width / 8
            except ValueError:
                var.append(name)
        if var and first_file is not None:
            import pyarrow.parquet as pq

            with self._fs.open_input_file(first_file) as f:
                present = [c for c in var if c in pq.read_schema(f).names]
                f.seek(0)
                batch = next(pq.ParquetFile(f).iter_batches(_SAMPLE_ROWS, columns=present),
                             None) if present else None
            if batch is not None and batch.num_rows:
                per_row += batch.nbytes / batch.num_rows
        return per_row

    def get_read_tasks(self, parallelism: int) -> list[ReadTask]:
        self.estimate_inmemory_data_size()
        dataset = self._dataset()
        pieces: list[tuple[Any, int, int]] = []  # (fragment, rows, bytes)
        prune = self._filter
        try:  # a filter that names a missing column fails in the read tasks, as in Ray
            fragments = list(dataset.get_fragments(filter=prune))
        except pa.ArrowInvalid:
            prune, fragments = None, list(dataset.get_fragments())
        for frag in fragments:
            groups = frag.split_by_row_group(prune) if prune is not None \
                else frag.split_by_row_group()
            for g in groups:
                rows = sum(rg.num_rows for rg in g.row_groups)
                nbytes = sum(rg.total_byte_size for rg in g.row_groups)
                pieces.append((g, rows, nbytes))
        if not pieces:
            return []
        parallelism = max(1, min(parallelism, len(pieces)))
        per = -(-len(pieces) // parallelism)
        columns, expr, schema = self._columns, self._filter, dataset.schema
        include_paths, batch_size = self._include_paths, self._batch_size
        tasks = []
        for i in range(0, len(pieces), per):
            group = pieces[i:i + per]
            frags = [g for g, _, _ in group]
            meta = BlockMetadata(
                num_rows=sum(r for _, r, _ in group) if expr is None else None,
                size_bytes=int(sum(r for _, r, _ in group) * self._ratio) if self._ratio
                else _projected_bytes(sum(b for _, _, b in group), schema, columns),
                input_files=sorted({g.path for g in frags}))

            def read(frags: list = frags) -> Iterator[pa.Table]:
                for frag in frags:
                    cols = None if columns is None else [c for c in columns if c != "path"
                                                         or c in schema.names]
                    if batch_size:
                        for b in frag.to_batches(schema=schema, columns=cols, filter=expr,
                                                 batch_size=batch_size):
                            yield _with_path(pa.Table.from_batches([b]), frag.path,
                                             include_paths, columns)
                    else:
                        t = frag.to_table(schema=schema, columns=cols, filter=expr)
                        yield _with_path(t, frag.path, include_paths, columns)

            tasks.append(ReadTask(read, meta))
        return tasks


def _has_views(schema: pa.Schema) -> bool:
    return any(f.type in (pa.string_view(), pa.binary_view()) for f in schema)


def _without_views(schema: pa.Schema) -> pa.Schema:
    """string_view/binary_view columns (as Polars writes them) read as string/binary:
    Arrow's hash joins and grouped aggregations do not take view types."""
    views = {pa.string_view(): pa.string(), pa.binary_view(): pa.binary()}
    return pa.schema([f.with_type(views.get(f.type, f.type)) for f in schema],
                     metadata=schema.metadata)


def _with_path(t: pa.Table, path: str, include: bool, columns: list[str] | None) -> pa.Table:
    if include and (columns is None or "path" in columns) and "path" not in t.column_names:
        t = t.append_column("path", pa.array([path] * t.num_rows, pa.string()))
    return t


def _projected_bytes(total: int, schema: pa.Schema, columns: list[str] | None) -> int:
    if columns is None or not len(schema):
        return total
    return int(total * max(1, len(columns)) / len(schema))


def _common_dir(files: list[str]) -> str:
    import posixpath

    dirs = [posixpath.dirname(f) for f in files]
    common = posixpath.commonpath(dirs) if all(d.startswith("/") for d in dirs) or \
        not any(d.startswith("/") for d in dirs) else ""
    return common


def _copy(src: ParquetDatasource) -> ParquetDatasource:
    new = ParquetDatasource.__new__(ParquetDatasource)
    new.__dict__.update(src.__dict__)
    return new
