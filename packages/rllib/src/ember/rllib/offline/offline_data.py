"""OfflineData: recorded experience read with ember.data, served as train batches.

`config.offline_data(input_=path)` names Parquet files (a folder, a file, a list of them,
or an ember.data Dataset) written by `offline_data(output=...)` or by any tool with
RLlib's column names (obs, actions, rewards, and for returns eps_id, t, terminateds).
The rows are loaded once into numpy columns; episodes are reassembled by (eps_id, t) to
compute discounted returns for MARWIL's advantages.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pyarrow as pa

from ember.rllib.core.columns import Columns

__all__ = ["OfflineData", "RETURNS", "table_to_numpy"]

RETURNS = "returns_to_go"


def table_to_numpy(table: pa.Table) -> dict[str, np.ndarray]:
    """Columns as numpy arrays; fixed-size list columns become 2-D arrays."""
    out = {}
    for name in table.column_names:
        col = table.column(name).combine_chunks()
        if pa.types.is_fixed_size_list(col.type):
            width = col.type.list_size
            out[name] = col.flatten().to_numpy(zero_copy_only=False).reshape(-1, width)
        elif pa.types.is_list(col.type) or pa.types.is_large_list(col.type):
            out[name] = np.stack(col.to_numpy(zero_copy_only=False))
        else:
            out[name] = col.to_numpy(zero_copy_only=False)
    return out


def _read(input_: Any, kwargs: dict[str, Any]) -> pa.Table:
    import ember.data

    if hasattr(input_, "iter_batches"):
        ds = input_
    else:
        paths = [os.fspath(p) for p in input_] if isinstance(input_, list | tuple) \
            else os.fspath(input_)
        ds = ember.data.read_parquet(paths, **kwargs)
    tables = list(ds.iter_batches(batch_size=1 << 16, batch_format="pyarrow"))
    if not tables:
        raise ValueError(f"No rows in the offline input {input_!r}.")
    return pa.concat_tables(tables)


class OfflineData:
    """All rows of the input in memory, with uniform minibatch sampling."""

    def __init__(self, config: Any, observation_space: Any = None) -> None:
        cols = table_to_numpy(_read(config.input_, dict(config.input_read_method_kwargs)))
        for need in (Columns.OBS, Columns.ACTIONS):
            if need not in cols:
                raise ValueError(f"The offline input has no {need!r} column; it has "
                                 f"{sorted(cols)}.")
        if observation_space is not None and hasattr(observation_space, "shape"):
            shape = observation_space.shape
            for c in (Columns.OBS, Columns.NEXT_OBS):
                if c in cols and shape:
                    cols[c] = cols[c].reshape((-1,) + tuple(shape)).astype(np.float32)
        if Columns.REWARDS in cols:
            cols[RETURNS] = self._returns(cols, config.gamma)
        self.columns = {k: v for k, v in cols.items()
                        if k not in (Columns.MODULE_ID, Columns.AGENT_ID)}
        self.size = len(cols[Columns.OBS])
        self._rng = np.random.default_rng(config.seed)

    @staticmethod
    def _returns(cols: dict[str, np.ndarray], gamma: float) -> np.ndarray:
        rew = cols[Columns.REWARDS].astype(np.float64)
        n = len(rew)
        if Columns.EPS_ID in cols and Columns.T in cols:
            order = np.lexsort((cols[Columns.T], cols[Columns.EPS_ID]))
            eps = cols[Columns.EPS_ID][order]
        else:
            order, eps = np.arange(n), np.zeros(n, dtype=np.int64)
        r = rew[order].tolist()
        last = np.append(eps[1:] != eps[:-1], True).tolist()
        out = np.empty(n)
        acc = 0.0
        for i in range(n - 1, -1, -1):
            acc = r[i] + (0.0 if last[i] else gamma * acc)
            out[i] = acc
        ret = np.empty(n, dtype=np.float32)
        ret[order] = out
        return ret

    def sample(self, num_rows: int) -> dict[str, np.ndarray]:
        idx = self._rng.integers(0, self.size, num_rows)
        return {k: v[idx] for k, v in self.columns.items()}
