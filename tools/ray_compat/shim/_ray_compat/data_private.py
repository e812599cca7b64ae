"""Private Dataset members that Ray Data's tests call, over ember Data's public API.

Ray's tests read a dataset's block count through `ds._logical_plan.initial_num_blocks()`
and its rows per block through `ds._block_num_rows()`. Here both come from the blocks
ember really produces (the dataset is executed), so a test asserting Ray's block counts
checks ember's behaviour. Installed on `ember.data.Dataset` when a Data test run starts.
"""

from __future__ import annotations

from typing import Any

import ember.data


class _Dag:
    def __init__(self, ds: Any) -> None:
        self.name = getattr(ds._plan, "name", type(ds._plan).__name__)
        self.dag_str = self.name


class _LogicalPlan:
    """Stands for Ray's LogicalPlan: the block count and the last operator's name."""

    def __init__(self, ds: Any) -> None:
        self._ds = ds
        self.dag = _Dag(ds)

    def initial_num_blocks(self) -> int:
        return self._ds.num_blocks()


def _block_num_rows(self: Any) -> list[int]:
    return [m.num_rows for bundle in self.iter_internal_ref_bundles()
            for m in bundle.metadata]


def install() -> None:
    ember.data.Dataset._logical_plan = property(_LogicalPlan)
    ember.data.Dataset._block_num_rows = _block_num_rows
