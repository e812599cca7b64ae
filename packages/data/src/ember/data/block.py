"""Ray Data's public block types: a block is an Arrow table here, and BlockAccessor is the
uniform way to look into one (`BlockAccessor.for_block(block).num_rows()`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyarrow as pa

from ember.data._block import (
    batch_to_block,
    block_size,
    block_to_batch,
    iter_rows,
    normalize_batch_format,
)
from ember.data._metadata import BlockMetadata

__all__ = ["Block", "BlockAccessor", "BlockMetadata", "DataBatch"]

Block = pa.Table
DataBatch = Any  # dict of numpy arrays, a pandas.DataFrame or a pyarrow.Table


class BlockAccessor:
    """Read-only views and conversions of one block."""

    def __init__(self, block: pa.Table) -> None:
        self._table = block

    @staticmethod
    def for_block(block: Any) -> BlockAccessor:
        """An accessor for a block (an Arrow table; a pandas DataFrame is converted)."""
        return BlockAccessor(batch_to_block(block))

    @staticmethod
    def batch_to_block(batch: Any, block_type: Any = None) -> pa.Table:
        """A UDF batch (dict of arrays, DataFrame, Arrow table) as a block."""
        return batch_to_block(batch)

    def num_rows(self) -> int:
        return self._table.num_rows

    def size_bytes(self) -> int:
        return block_size(self._table)

    def schema(self) -> pa.Schema:
        return self._table.schema

    def get_metadata(self, input_files: list[str] | None = None,
                     exec_stats: Any = None) -> BlockMetadata:
        return BlockMetadata(self.num_rows(), self.size_bytes(), self.schema(),
                             input_files, exec_stats)

    def iter_rows(self, public_row_format: bool = True) -> Iterator[dict]:
        return iter_rows(self._table)

    def slice(self, start: int, end: int, copy: bool = False) -> pa.Table:
        out = self._table.slice(start, end - start)
        return pa.concat_tables([out]).combine_chunks() if copy else out

    def take(self, indices: list[int]) -> pa.Table:
        return self._table.take(pa.array(indices, type=pa.int64()))

    def select(self, columns: list[str]) -> pa.Table:
        return self._table.select(columns)

    def drop(self, columns: list[str]) -> pa.Table:
        return self._table.drop_columns(columns)

    def rename_columns(self, columns_rename: dict[str, str]) -> pa.Table:
        return self._table.rename_columns([columns_rename.get(n, n)
                                           for n in self._table.column_names])

    def to_arrow(self) -> pa.Table:
        return self._table

    def to_block(self) -> pa.Table:
        return self._table

    def to_default(self) -> pa.Table:
        return self._table

    def to_pandas(self) -> Any:
        return block_to_batch(self._table, "pandas")

    def to_numpy(self, columns: str | list[str] | None = None) -> Any:
        table = self._table if columns is None else self._table.select(
            [columns] if isinstance(columns, str) else columns)
        batch = block_to_batch(table, "numpy")
        return batch[columns] if isinstance(columns, str) else batch

    def to_batch_format(self, batch_format: str | None) -> DataBatch:
        return block_to_batch(self._table, normalize_batch_format(batch_format))
