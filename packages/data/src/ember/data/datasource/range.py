"""range() and range_tensor(): rows generated inside the read tasks, nothing on the driver."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyarrow as pa

from ember.data._metadata import BlockMetadata
from ember.data.datasource.base import Datasource, ReadTask

__all__ = ["RangeDatasource"]


def _make_block(start: int, end: int, column: str, shape: tuple | None) -> pa.Table:
    ids = np.arange(start, end, dtype=np.int64)
    if shape is None:
        return pa.table({column: ids})
    from ember.data._arrow_types import to_arrow

    data = np.broadcast_to(ids.reshape((-1,) + (1,) * len(shape)), (len(ids),) + shape)
    return pa.table({column: to_arrow(np.ascontiguousarray(data))})


class RangeDatasource(Datasource):
    def __init__(self, n: int, column: str = "id", tensor_shape: tuple | None = None) -> None:
        if not isinstance(n, int | np.integer) or n < 0:
            raise ValueError(f"range() needs a non-negative integer, got {n!r}.")
        self.n = int(n)
        self.column = column
        self.shape = tuple(tensor_shape) if tensor_shape is not None else None

    def get_name(self) -> str:
        return "Range" if self.shape is None else "RangeTensor"

    def _row_bytes(self) -> int:
        return 8 * int(np.prod(self.shape)) if self.shape else 8

    def num_rows(self) -> int:
        return self.n

    def schema(self) -> pa.Schema | None:
        if self.n == 0:  # as Ray: an empty range has no blocks, so no known schema
            return None
        return _make_block(0, 1, self.column, self.shape).schema

    def estimate_inmemory_data_size(self) -> int:
        return self.n * self._row_bytes()

    def get_read_tasks(self, parallelism: int) -> list[ReadTask]:
        if self.n == 0:
            return []
        parallelism = max(1, min(parallelism, self.n or 1))
        base, extra = divmod(self.n, parallelism)
        tasks = []
        start = 0
        for i in range(parallelism):
            count = base + (1 if i < extra else 0)
            if count == 0 and self.n:
                continue
            end = start + count
            meta = BlockMetadata(count, count * self._row_bytes())

            def read(s: int = start, e: int = end) -> Iterator[pa.Table]:
                yield _make_block(s, e, self.column, self.shape)

            tasks.append(ReadTask(read, meta))
            start = end
        return tasks
