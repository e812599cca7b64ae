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
    """A unit of reading: calling it yields blocks (tables, DataFrames or dicts)."""

    def __init__(self, read_fn: Callable[[], Iterable[Any]], metadata: BlockMetadata) -> None:
        self._read_fn = read_fn
        self.metadata = metadata

    def __call__(self) -> Iterable[Any]:
        return self._read_fn()

    def read(self) -> Iterable[Any]:
        return self._read_fn()


class Datasource:
    """Subclass and implement get_read_tasks(); pass to ember.data.read_datasource()."""

    def get_name(self) -> str:
        name = type(self).__name__
        return name[: -len("Datasource")] if name.endswith("Datasource") else name

    def estimate_inmemory_data_size(self) -> int | None:
        return None

    def get_read_tasks(self, parallelism: int) -> list[ReadTask]:
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
