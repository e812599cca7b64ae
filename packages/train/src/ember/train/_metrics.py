"""Train's progress metrics (exported with a `ray_` prefix on the dashboard's /metrics):
reports collected and checkpoints kept, per run."""

from __future__ import annotations

from ember.util.metrics import Counter, Gauge

__all__ = ["RunMetrics"]


class RunMetrics:
    """What the driver's controller records for one run (`run_name` tag)."""

    def __init__(self, run_name: str) -> None:
        self._tags = {"run_name": run_name}
        self._reports = Counter("train_reports", "Reports collected from the worker group.",
                                tag_keys=("run_name",))
        self._checkpoints = Gauge("train_checkpoints_kept", "Checkpoints the run keeps.",
                                  tag_keys=("run_name",))

    def report(self, checkpoints_kept: int) -> None:
        self._reports.inc(1.0, self._tags)
        self._checkpoints.set(float(checkpoints_kept), self._tags)
