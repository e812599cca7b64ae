"""Trial: one configuration being trained, with its status, results and checkpoints."""

from __future__ import annotations

import math
import os
from typing import Any

from ember.tune.checkpoint import Checkpoint
from ember.tune.resources import PlacementGroupFactory

__all__ = ["Trial"]


class _MetricStats:
    """Running per-metric statistics used by get_best_result(scope=...)."""

    __slots__ = ("max", "min", "avg", "last", "n", "recent")

    def __init__(self) -> None:
        self.max = -math.inf
        self.min = math.inf
        self.avg = 0.0
        self.last: float = math.nan
        self.n = 0
        self.recent: list[float] = []

    def update(self, value: float) -> None:
        self.n += 1
        self.max = max(self.max, value)
        self.min = min(self.min, value)
        self.avg += (value - self.avg) / self.n
        self.last = value
        self.recent.append(value)
        if len(self.recent) > 10:
            del self.recent[0]

    def as_dict(self) -> dict[str, float]:
        tail5 = self.recent[-5:]
        return {"max": self.max, "min": self.min, "avg": self.avg, "last": self.last,
                "last-5-avg": sum(tail5) / len(tail5) if tail5 else math.nan,
                "last-10-avg": sum(self.recent) / len(self.recent) if self.recent else math.nan}


class Trial:
    """A trial: config, status (PENDING, RUNNING, PAUSED, TERMINATED, ERROR) and results.

    Schedulers and callbacks receive Trials; `str(trial)` is its name.
    """

    PENDING = "PENDING"
    RUNNING = "RUNNING"
    PAUSED = "PAUSED"
    TERMINATED = "TERMINATED"
    ERROR = "ERROR"

    def __init__(self, trainable_name: str, *, config: dict[str, Any], trial_id: str,
                 experiment_tag: str = "", evaluated_params: dict[str, Any] | None = None,
                 resources: PlacementGroupFactory | None = None,
                 experiment_path: str = "", max_failures: int = 0) -> None:
        self.trainable_name = trainable_name
        self.config = config
        self.trial_id = trial_id
        self.experiment_tag = experiment_tag
        self.evaluated_params = evaluated_params or {}
        self.placement_group_factory = resources or PlacementGroupFactory([{"CPU": 1.0}])
        self.experiment_path = experiment_path
        self.max_failures = max_failures
        self.status = Trial.PENDING
        self.last_result: dict[str, Any] = {}
        self._stats: dict[str, _MetricStats] = {}
        self.checkpoints: list[tuple[str, dict[str, Any]]] = []  # (path, metrics)
        self.latest_checkpoint: str | None = None
        self.restore_path: str | None = None  # resume from here on the next start
        self.restore_meta: dict[str, Any] | None = None
        self.checkpoint_index = 0
        self.num_failures = 0
        self.error_msg: str | None = None
        self.error: BaseException | None = None
        self.custom_trial_name: str | None = None
        self.custom_dirname: str | None = None
        self.start_time: float | None = None
        self.stopped_by_scheduler = False
        self._dirname: str | None = None
        self._path: str | None = None
        self._dir_ready = False

    # ----- naming and folders ---------------------------------------------------------
    def __str__(self) -> str:
        return self.custom_trial_name or f"{self.trainable_name}_{self.trial_id}"

    def __repr__(self) -> str:
        return str(self)

    @property
    def dirname(self) -> str:
        """The folder name, fixed when first asked for (PBT may change the tag later)."""
        if self._dirname is None:
            if self.custom_dirname:
                self._dirname = self.custom_dirname
            else:
                tag = self.experiment_tag[:60]
                self._dirname = _safe(f"{self.trainable_name}_{self.trial_id}_{tag}" if tag
                                      else f"{self.trainable_name}_{self.trial_id}")
        return self._dirname

    @property
    def path(self) -> str:
        """The trial's folder: <storage_path>/<experiment name>/<trial dirname>."""
        if self._path is None or not self._path.startswith(self.experiment_path):
            self._path = os.path.join(self.experiment_path, self.dirname)
        return self._path

    local_path = path

    def ensure_dir(self) -> str:
        """Create the trial folder (once) and return its path."""
        if not self._dir_ready:
            os.makedirs(self.path, exist_ok=True)
            self._dir_ready = True
        return self.path

    @property
    def checkpoint(self) -> Checkpoint | None:
        """The latest persisted checkpoint, if any."""
        return Checkpoint(self.latest_checkpoint) if self.latest_checkpoint else None

    @property
    def is_finished(self) -> bool:
        return self.status in (Trial.TERMINATED, Trial.ERROR)

    # ----- bookkeeping ----------------------------------------------------------------
    def update_last_result(self, result: dict[str, Any]) -> None:
        self.last_result = result
        for key, value in result.items():
            if isinstance(value, bool) or not isinstance(value, int | float):
                continue
            stats = self._stats.get(key)
            if stats is None:
                stats = self._stats[key] = _MetricStats()
            stats.update(float(value))

    @property
    def metric_analysis(self) -> dict[str, dict[str, float]]:
        """Per metric: max, min, avg, last, last-5-avg and last-10-avg over all results."""
        return {k: s.as_dict() for k, s in self._stats.items()}

    def set_status(self, status: str) -> None:
        self.status = status

    def get_state(self) -> dict[str, Any]:
        """A picklable snapshot for the experiment state file."""
        state = dict(self.__dict__)
        state["error"] = None
        state["_path"] = None
        state["_dir_ready"] = False
        return state

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Trial:
        trial = cls.__new__(cls)
        trial.__dict__.update(state)
        return trial


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_.=,+" else "_" for c in name)
