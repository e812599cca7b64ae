"""Result of a training run, and the error a failed run raises."""

from __future__ import annotations

import dataclasses
import os
from typing import Any

from ember.train.checkpoint import Checkpoint

__all__ = ["Result", "TrainingFailedError"]


class TrainingFailedError(RuntimeError):
    """A run failed more often than FailureConfig.max_failures allows.

    The message carries the failing worker's rank and its remote traceback; `.error` is
    the original exception where it could be sent back, and `.traceback` the text.
    """

    def __init__(self, message: str, error: BaseException | None = None,
                 traceback: str = "") -> None:
        super().__init__(message)
        self.error = error
        self.traceback = traceback


@dataclasses.dataclass
class Result:
    """The final metrics (rank 0's last report), the latest and the kept checkpoints,
    and where the run's files are."""

    metrics: dict[str, Any] | None
    checkpoint: Checkpoint | None
    error: BaseException | None = None
    path: str = ""
    best_checkpoints: list[tuple[Checkpoint, dict[str, Any]]] = dataclasses.field(
        default_factory=list)
    filesystem: Any = None
    metrics_history: list[dict[str, Any]] = dataclasses.field(default_factory=list,
                                                              repr=False)

    @property
    def metrics_dataframe(self) -> Any:
        """Every report's metrics (rank 0's), one row each, as a pandas DataFrame."""
        import pandas as pd  # on use: pandas takes a while to import

        return pd.DataFrame(self.metrics_history)

    @property
    def config(self) -> dict[str, Any] | None:
        return (self.metrics or {}).get("config")

    def get_best_checkpoint(self, metric: str, mode: str) -> Checkpoint | None:
        """The kept checkpoint with the best `metric` ("max" or "min")."""
        if mode not in ("max", "min"):
            raise ValueError(f"mode must be 'max' or 'min', got {mode!r}.")
        scored = [(m[metric], c) for c, m in self.best_checkpoints if metric in m]
        if not scored:
            return None
        pick = max if mode == "max" else min
        return pick(scored, key=lambda s: s[0])[1]

    @classmethod
    def from_path(cls, path: str | os.PathLike) -> Result:
        """The result of the run stored at `path` (local or fsspec URI)."""
        import fsspec

        from ember.train.controller import result_from_storage
        from ember.train.storage import StorageContext

        fs, root = fsspec.core.url_to_fs(os.fspath(path))
        root = root.rstrip("/")
        parent, name = (os.path.split(root) if "/" in root else ("", root))
        return result_from_storage(StorageContext(parent, name, fs))

    def __repr__(self) -> str:
        return (f"Result(metrics={self.metrics!r}, path={self.path!r}, "
                f"checkpoint={self.checkpoint!r}, error={self.error!r})")
