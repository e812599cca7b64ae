"""Which reported checkpoints a run keeps (CheckpointConfig), and its saved state."""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any

from ember.train.config import CheckpointConfig

__all__ = ["CheckpointManager", "RunState", "TrackedCheckpoint"]


@dataclasses.dataclass
class TrackedCheckpoint:
    """A checkpoint in storage, with the report (rank 0's metrics) it came with."""

    index: int
    path: str
    metrics: dict[str, Any]


class CheckpointManager:
    """Keeps at most num_to_keep checkpoints: the best by score (else the newest), and
    always the latest one."""

    def __init__(self, config: CheckpointConfig,
                 kept: list[TrackedCheckpoint] | None = None) -> None:
        self.config = config
        self.kept: list[TrackedCheckpoint] = list(kept or [])

    @property
    def latest(self) -> TrackedCheckpoint | None:
        return max(self.kept, key=lambda c: c.index) if self.kept else None

    def _score(self, c: TrackedCheckpoint) -> tuple[float, int]:
        attr = self.config.checkpoint_score_attribute
        if attr is None:
            return (0.0, c.index)
        value = c.metrics.get(attr)
        if not isinstance(value, int | float) or math.isnan(value):
            return (-math.inf, c.index)  # without a score: kept last
        return (value if self.config.checkpoint_score_order == "max" else -value, c.index)

    def register(self, checkpoint: TrackedCheckpoint) -> list[TrackedCheckpoint]:
        """Track a new checkpoint; returns those no longer kept (to delete)."""
        attr = self.config.checkpoint_score_attribute
        if attr is not None and attr not in checkpoint.metrics:
            raise ValueError(f"checkpoint_score_attribute {attr!r} is not among the reported "
                             f"metrics {sorted(checkpoint.metrics)}.")
        self.kept.append(checkpoint)
        k = self.config.num_to_keep
        if k is None or len(self.kept) <= k:
            return []
        latest = self.latest
        ranked = sorted(self.kept, key=self._score, reverse=True)
        keep = ranked[:k]
        if latest not in keep:
            keep = ranked[:k - 1] + [latest]
        dropped = [c for c in self.kept if c not in keep]
        self.kept = sorted(keep, key=lambda c: c.index)
        return dropped

    def best(self) -> list[TrackedCheckpoint]:
        """The kept checkpoints, oldest first."""
        return sorted(self.kept, key=lambda c: c.index)


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):
        try:
            return value.item()
        except Exception:  # noqa: BLE001
            pass
    if hasattr(value, "tolist"):
        return value.tolist()
    return repr(value)


@dataclasses.dataclass
class RunState:
    """What a run has done so far: its reports and kept checkpoints (saved after each
    report, so that a new fit() or Trainer.restore() continues from it)."""

    reports: int = 0
    history: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    checkpoints: list[TrackedCheckpoint] = dataclasses.field(default_factory=list)
    finished: bool = False

    def to_json(self) -> bytes:
        return json.dumps(dataclasses.asdict(self), default=_json_default).encode()

    @classmethod
    def from_json(cls, data: bytes) -> RunState:
        raw = json.loads(data)
        return cls(raw["reports"], raw["history"],
                   [TrackedCheckpoint(**c) for c in raw["checkpoints"]], raw["finished"])
