"""Recording sampled experience as Parquet files (`config.offline_data(output=path)`).

One row per env step with RLlib's column names (obs, actions, rewards, new_obs,
terminateds, truncateds, eps_id, t, ...). Multi-dimensional values are stored flattened as
fixed-size lists; `ember.data.read_parquet(path)` reads the files back.
"""

from __future__ import annotations

import os
import uuid
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ember.rllib.core.columns import Columns

__all__ = ["OfflineWriter", "batch_to_table"]

_SKIP = (Columns.SEG_ENDS,)


def batch_to_table(batch: dict[str, np.ndarray], module_id: str | None = None) -> pa.Table:
    """A pyarrow table with one row per batch row; arrays of rank > 1 become list columns."""
    cols: dict[str, pa.Array] = {}
    for k, v in batch.items():
        if k in _SKIP:
            continue
        v = np.asarray(v)
        if v.ndim == 1:
            cols[k] = pa.array(v)
        else:
            flat = v.reshape(v.shape[0], -1)
            cols[k] = pa.FixedSizeListArray.from_arrays(pa.array(flat.reshape(-1)),
                                                        flat.shape[1])
    if module_id is not None:
        cols[Columns.MODULE_ID] = pa.array([module_id] * len(next(iter(batch.values()))))
    return pa.table(cols)


class OfflineWriter:
    """Writes each sampled batch of one env runner as a Parquet file under config.output."""

    def __init__(self, config: Any, worker_index: int) -> None:
        self.path = os.fspath(config.output)
        os.makedirs(self.path, exist_ok=True)
        self.max_rows = int(config.output_max_rows_per_file or 0)
        self._prefix = f"run-{worker_index:03d}-{uuid.uuid4().hex[:8]}"
        self._pending: list[pa.Table] = []
        self._rows = 0
        self._index = 0

    def write(self, batch: dict[str, np.ndarray], module_id: str | None = None) -> None:
        table = batch_to_table(batch, module_id)
        self._pending.append(table)
        self._rows += table.num_rows
        if not self.max_rows or self._rows >= self.max_rows:
            self.flush()

    def flush(self) -> None:
        if not self._pending:
            return
        table = pa.concat_tables(self._pending)
        pq.write_table(table, os.path.join(self.path,
                                           f"{self._prefix}-{self._index:06d}.parquet"))
        self._index += 1
        self._pending, self._rows = [], 0

    def close(self) -> None:
        self.flush()
