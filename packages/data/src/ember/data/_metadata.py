"""What the driver knows about a block without fetching it, and bundles of blocks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

__all__ = ["BlockMetadata", "RefBundle", "TaskStats", "meta_for", "put_block"]


@dataclass
class TaskStats:
    """Timing of the task that made a block, for Dataset.stats()."""

    wall_s: float = 0.0
    cpu_s: float = 0.0
    udf_s: float = 0.0


@dataclass
class BlockMetadata:
    num_rows: int
    size_bytes: int
    schema: pa.Schema | None = None
    input_files: list[str] | None = None
    exec_stats: TaskStats | None = None


def meta_for(block: pa.Table, stats: TaskStats | None = None,
             input_files: list[str] | None = None) -> BlockMetadata:
    from ember.data._block import block_size

    return BlockMetadata(block.num_rows, block_size(block), block.schema, input_files, stats)


def put_block(block: pa.Table) -> tuple[Any, BlockMetadata]:
    """Put a block (compacted if it is a slice) into the object store: (ref, metadata)."""
    import ember
    from ember.data._block import compact

    block = compact(block)
    return ember.put(block), meta_for(block)


@dataclass
class RefBundle:
    """Blocks that travel together: (ObjectRef, BlockMetadata) pairs.

    owns_blocks says whether the executor may free them once consumed (True for
    intermediate results; False for a materialized dataset's blocks, which it keeps).
    """

    blocks: list[tuple[Any, BlockMetadata]]
    owns_blocks: bool = True
    index: int = 0
    extra: dict = field(default_factory=dict)

    def num_rows(self) -> int:
        return sum(m.num_rows for _, m in self.blocks)

    def size_bytes(self) -> int:
        return sum(m.size_bytes for _, m in self.blocks)

    def refs(self) -> list[Any]:
        return [r for r, _ in self.blocks]

    def metas(self) -> list[BlockMetadata]:
        return [m for _, m in self.blocks]

    @property
    def block_refs(self) -> list[Any]:
        """The blocks' ObjectRefs (Ray's name)."""
        return self.refs()

    @property
    def metadata(self) -> list[BlockMetadata]:
        """The blocks' metadata (Ray's name)."""
        return self.metas()

    def schema(self) -> pa.Schema | None:
        for _, m in self.blocks:
            if m.schema is not None and len(m.schema):
                return m.schema
        for _, m in self.blocks:
            if m.schema is not None:
                return m.schema
        return None
