"""Data's progress metrics under Ray Data's names (exported with a `ray_` prefix on the
dashboard's /metrics): rows, bytes and blocks each operator of each execution produced."""

from __future__ import annotations

import itertools

from ember.util.metrics import Counter

__all__ = ["OutputMetrics", "next_dataset_tag"]

_TAGS = ("dataset", "operator")
_ids = itertools.count()


def next_dataset_tag() -> str:
    """A name for one execution of a dataset, as Ray's `dataset_<n>` tags."""
    return f"dataset_{next(_ids)}"


class OutputMetrics:
    """Counts what operators emit; one per process, made on first use."""

    _instance: OutputMetrics | None = None

    def __init__(self) -> None:
        self.rows = Counter("data_output_rows", "Rows produced by an operator.",
                            tag_keys=_TAGS)
        self.bytes = Counter("data_output_bytes", "Bytes produced by an operator.",
                             tag_keys=_TAGS)
        self.blocks = Counter("data_output_blocks", "Blocks produced by an operator.",
                              tag_keys=_TAGS)

    @classmethod
    def get(cls) -> OutputMetrics:
        if cls._instance is None:
            cls._instance = cls()
        return cls._instance

    def record(self, dataset: str, operator: str, rows: int, nbytes: int,
               blocks: int) -> None:
        tags = {"dataset": dataset, "operator": operator}
        for counter, value in ((self.rows, rows), (self.bytes, nbytes), (self.blocks, blocks)):
            if value > 0:  # a counter only counts up (an empty bundle adds nothing)
                counter.inc(float(value), tags)
