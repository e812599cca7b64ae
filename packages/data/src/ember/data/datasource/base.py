"""The extension points for reading and writing: Datasource, ReadTask and Datasink.

A Datasource splits its data into ReadTasks on the driver; each ReadTask runs inside a
task and yields blocks. Sources that can do less work when told which columns, rows or
how many rows are needed say so (projection, predicate and limit pushdown).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ember.data._metadata import BlockMetadata

__all__ = ["Datasink", "Datasource", "ReadTask"]


class ReadTask:
    """A unit of reading: calling it yields blocks (tables, DataFrames or dicts).

    `schema` is the blocks' schema when known; with `per_task_row_limit` the task
    yields at most that many rows (the last block cut short), as Ray's ReadTask."""

    def __init__(self, read_fn: Callable[[], Iterable[Any]], metadata: BlockMetadata,
                 schema: Any = None, per_task_row_limit: int | None = None) -> None:
        self._read_fn = read_fn
        self.metadata = metadata
        self._schema = schema
        self._per_task_row_limit = per_task_row_limit

    @property
    def schema(self) -> Any:
        return self._schema

    @property
    def read_fn(self) -> Callable[[], Iterable[Any]]:
        return self._read_fn

    @property
    def per_task_row_limit(self) -> int | None:
        return self._per_task_row_limit

    def __call__(self) -> Iterable[Any]:
        if self._per_task_row_limit is None:
            return self._read_fn()
        return _first_rows(self._read_fn(), self._per_task_row_limit)

    def read(self) -> Iterable[Any]:
        return self()


def _first_rows(blocks: Iterable[Any], limit: int) -> Iterable[Any]:
    """The blocks' first `limit` rows, each block kept in its own type."""
    left = limit
    for block in blocks:
        if left <= 0:
            return
        if not hasattr(block, "num_rows") and not hasattr(block, "iloc"):
            from ember.data._block import batch_to_block

            block = batch_to_block(block)
        n = len(block)
        if n > left:
            block = block.iloc[:left] if hasattr(block, "iloc") else block.slice(0, left)
            n = left
        left -= n
        yield block


class Datasource:
    """Subclass and implement get_read_tasks(); pass to ember.data.read_datasource()."""

    def get_name(self) -> str:
        name = type(self).__name__
        return name[: -len("Datasource")] if name.endswith("Datasource") else name

    def estimate_inmemory_data_size(self) -> int | None:
        return None

    def get_read_tasks(self, parallelism: int) -> list[ReadTask]:
        raise NotImplementedError

    def prepare_read(self, parallelism: int, **read_args: Any) -> list[ReadTask]:
        """Ray's older name of get_read_tasks, which also takes the keyword arguments
        given to read_datasource; a source implementing only this still reads."""
        raise NotImplementedError

    # -- pushdown (optional) -------------------------------------------------------

    def supports_projection_pushdown(self) -> bool:
        return False

    def apply_projection(self, columns: list[str]) -> Datasource:
        """A copy that reads only `columns` (called only if projection is supported)."""
        raise NotImplementedError

    def supports_predicate_pushdown(self) -> bool:
        return False

    def apply_predicate(self, expr: Any) -> Datasource:
        """A copy that reads only rows where the pyarrow expression holds."""
        raise NotImplementedError

    def schema(self) -> Any:
        """The schema without reading data, if cheaply known (else None)."""
        return None

    def num_rows(self) -> int | None:
        """The row count without reading data, if cheaply known (else None)."""
        return None


class Datasink:
    """Writes blocks; `write_block` runs inside tasks and returns what it wrote."""

    write_empty = False

    def on_write_start(self) -> None:
        """Called once on the driver before any block is written."""

    def write_block(self, block: Any, task_index: int, block_index: int) -> str:
        raise NotImplementedError

    def on_write_complete(self, written: list[str]) -> None:
        """Called once on the driver with every path written."""

    def get_name(self) -> str:
        name = type(self).__name__
        return name[: -len("Datasink")] if name.endswith("Datasink") else name


class _PreparedRead(Datasource):
    """A source that implements only `prepare_read`, with read_datasource's arguments."""

    def __init__(self, source: Datasource, read_args: dict) -> None:
        self.source, self.read_args = source, read_args

    def get_name(self) -> str:
        return self.source.get_name()

    def estimate_inmemory_data_size(self) -> int | None:
        return self.source.estimate_inmemory_data_size()

    def get_read_tasks(self, parallelism: int) -> list[ReadTask]:
        return self.source.prepare_read(parallelism, **self.read_args)


def legacy_read(source: Datasource, read_args: dict) -> Datasource:
    """`source` as read_datasource reads it: through prepare_read when that is all it
    implements."""
    cls = type(source)
    if cls.prepare_read is not Datasource.prepare_read and \
            cls.get_read_tasks is Datasource.get_read_tasks:
        return _PreparedRead(source, read_args)
    return source
