"""Remote conversion of blocks to pandas / numpy, for to_pandas_refs and to_numpy_refs."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

import ember
from ember.data import _block

__all__ = ["to_format"]


@ember.remote
def to_format(block: pa.Table, fmt: str, column: str | None = None) -> Any:
    batch = _block.block_to_batch(block, fmt, zero_copy=False)
    if fmt == "numpy" and column is not None:
        return batch[column]
    return batch
