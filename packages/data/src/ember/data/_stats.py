"""Per-operator execution statistics, summarized by Dataset.stats()."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

__all__ = ["DatasetStats", "OpStats", "format_bytes"]


def format_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


def _count(n: float) -> str:
    if n >= 1e9:
        return f"{n / 1e9:.2f}B"
    if n >= 1e6:
        return f"{n / 1e6:.2f}M"
    if n >= 1e4:
        return f"{n / 1e3:.1f}K"
    return f"{int(n)}"


@dataclass
class OpStats:
    """What one physical operator did: tasks, blocks, rows, bytes and times."""

    name: str
    tasks_submitted: int = 0
    tasks_done: int = 0
    blocks_out: int = 0
    rows_out: int = 0
    bytes_out: int = 0
    bytes_in: int = 0
    task_wall_s: float = 0.0
    task_cpu_s: float = 0.0
    udf_s: float = 0.0
    task_wall_max_s: float = 0.0
    started_at: float | None = None
    finished_at: float | None = None
    extra: dict = field(default_factory=dict)
    dataset: str = ""  # the execution's tag on exported metrics (`dataset_<n>`)

    def mark_started(self) -> None:
        if self.started_at is None:
            self.started_at = time.perf_counter()

    def mark_finished(self) -> None:
        if self.finished_at is None:
            self.finished_at = time.perf_counter()

    @property
    def wall_s(self) -> float:
        if self.started_at is None:
            return 0.0
        end = self.finished_at if self.finished_at is not None else time.perf_counter()
        return max(0.0, end - self.started_at)

    def add_task(self, wall: float, cpu: float, udf: float) -> None:
        self.tasks_done += 1
        self.task_wall_s += wall
        self.task_cpu_s += cpu
        self.udf_s += udf
        self.task_wall_max_s = max(self.task_wall_max_s, wall)

    def summary(self) -> str:
        wall = self.wall_s
        lines = [f"Operator {self.name}: {self.tasks_done} tasks, {self.blocks_out} blocks, "
                 f"{_count(self.rows_out)} rows, {format_bytes(self.bytes_out)} produced "
                 f"in {wall:.2f}s"]
        if self.tasks_done:
            lines.append(
                f"* Remote wall time: {self.task_wall_s:.3f}s total, "
                f"{self.task_wall_s / self.tasks_done * 1e3:.1f}ms mean, "
                f"{self.task_wall_max_s * 1e3:.1f}ms max per task")
            lines.append(f"* Remote CPU time: {self.task_cpu_s:.3f}s total; "
                         f"UDF time: {self.udf_s:.3f}s")
        if wall > 0 and self.rows_out:
            lines.append(f"* Throughput: {_count(self.rows_out / wall)} rows/s, "
                         f"{format_bytes(self.bytes_out / wall)}/s")
        for k, v in self.extra.items():
            lines.append(f"* {k}: {v}")
        return "\n".join(lines)


@dataclass
class DatasetStats:
    """The stats of one execution: its operators in order, and executor-wide numbers."""

    ops: list[OpStats] = field(default_factory=list)
    wall_s: float = 0.0
    peak_bytes_in_flight: int = 0
    budget_bytes: int = 0
    # Node-wide object store counters over the execution (other work on the node counts
    # too): bytes spilled to disk and restored from it, and the store's peak use seen.
    spilled_bytes: int = 0
    restored_bytes: int = 0
    store_peak_bytes: int = 0
    parents: list[DatasetStats] = field(default_factory=list)

    def to_summary(self) -> str:
        parts = [p.to_summary() for p in self.parents]
        parts.extend(op.summary() for op in self.ops)
        if self.ops:
            parts.append(
                f"Dataset executed in {self.wall_s:.2f}s; peak object-store bytes in flight "
                f"{format_bytes(self.peak_bytes_in_flight)} (budget "
                f"{format_bytes(self.budget_bytes)}); object store: "
                f"{format_bytes(self.spilled_bytes)} spilled, "
                f"{format_bytes(self.restored_bytes)} restored, peak use "
                f"{format_bytes(self.store_peak_bytes)}")
        return "\n\n".join(p for p in parts if p)

    def __str__(self) -> str:
        return self.to_summary()
