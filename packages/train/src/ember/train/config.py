"""What a training run needs: workers (ScalingConfig) and run settings (RunConfig & co)."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from typing import Any

__all__ = ["CheckpointConfig", "DataConfig", "FailureConfig", "RunConfig", "ScalingConfig"]

DEFAULT_STORAGE_PATH = "~/ember_results"
_STRATEGIES = ("PACK", "SPREAD", "STRICT_PACK", "STRICT_SPREAD")


@dataclasses.dataclass
class ScalingConfig:
    """How many workers, and what each one holds.

    num_workers: an int, or a (min, max) pair for elastic training: the group starts with
    as many workers as the cluster can hold (at least min) and is resized on restarts.
    resources_per_worker defaults to one CPU (plus one GPU with use_gpu). One placement
    group bundle per worker, placed with placement_strategy.
    """

    num_workers: int | tuple[int, int] = 1
    use_gpu: bool = False
    resources_per_worker: dict[str, float] | None = None
    placement_strategy: str = "PACK"
    accelerator_type: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.num_workers, Sequence) and not isinstance(self.num_workers, str):
            lo, hi = self.num_workers
            if not (isinstance(lo, int) and isinstance(hi, int)) or not 1 <= lo <= hi:
                raise ValueError(f"num_workers=(min, max) needs 1 <= min <= max, "
                                 f"got {self.num_workers!r}.")
            self.num_workers = (lo, hi)
        elif not isinstance(self.num_workers, int) or self.num_workers < 1:
            raise ValueError(f"num_workers must be a positive int or a (min, max) pair, "
                             f"got {self.num_workers!r}.")
        if self.placement_strategy not in _STRATEGIES:
            raise ValueError(f"placement_strategy must be one of {_STRATEGIES}, "
                             f"got {self.placement_strategy!r}.")

    @property
    def elastic(self) -> bool:
        """Whether the number of workers is a (min, max) range."""
        return isinstance(self.num_workers, tuple)

    @property
    def min_workers(self) -> int:
        return self.num_workers[0] if isinstance(self.num_workers, tuple) else self.num_workers

    @property
    def max_workers(self) -> int:
        return self.num_workers[1] if isinstance(self.num_workers, tuple) else self.num_workers

    def worker_resources(self) -> dict[str, float]:
        """One worker's bundle, in the scheduler's names (CPU, GPU, custom)."""
        res = dict(self.resources_per_worker or {})
        for lower, upper in (("cpu", "CPU"), ("gpu", "GPU")):
            if lower in res:
                res[upper] = res.pop(lower)
        if "CPU" not in res:
            res["CPU"] = 1.0
        if self.use_gpu and "GPU" not in res:
            res["GPU"] = 1.0
        if self.accelerator_type:
            res[f"accelerator_type:{self.accelerator_type}"] = 0.001
        return {k: float(v) for k, v in res.items() if v}

    @property
    def total_resources(self) -> dict[str, float]:
        """What max_workers workers hold together."""
        return {k: v * self.max_workers for k, v in self.worker_resources().items()}


@dataclasses.dataclass
class FailureConfig:
    """max_failures: restarts of the worker group after a failure (-1: without limit).

    warm_standby (ember's addition): keep one idle worker per rank that has already
    imported the framework (torch), holding no resources of its own, so that a restart
    does not wait for fresh processes to import it. Twice the processes; CPU-only fixed
    size groups (ignored with GPUs or elastic num_workers).
    """

    max_failures: int = 0
    warm_standby: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.max_failures, int) or self.max_failures < -1:
            raise ValueError(f"max_failures must be an int >= -1, got {self.max_failures!r}.")


@dataclasses.dataclass
class CheckpointConfig:
    """Which reported checkpoints to keep.

    num_to_keep: at most this many (None: all). With checkpoint_score_attribute, the best
    by that metric (checkpoint_score_order "max" or "min") are kept, else the newest; the
    latest checkpoint is always kept so that a restart can resume from it.
    """

    num_to_keep: int | None = None
    checkpoint_score_attribute: str | None = None
    checkpoint_score_order: str = "max"

    def __post_init__(self) -> None:
        if self.num_to_keep is not None and self.num_to_keep <= 0:
            raise ValueError(f"Received invalid num_to_keep: {self.num_to_keep}. "
                             "Must be None or an integer >= 1.")
        if self.checkpoint_score_order not in ("max", "min"):
            raise ValueError(f"checkpoint_score_order must be 'max' or 'min', "
                             f"got {self.checkpoint_score_order!r}.")


@dataclasses.dataclass
class RunConfig:
    """Where the run's results live and how it handles failures and checkpoints.

    storage_path: a local folder or an fsspec URI ("s3://bucket/x", "memory://x", …);
    default ~/ember_results, or $EMBER_RESULTS_DIR. The run writes to storage_path/name
    (name defaults to a timestamped one). callbacks: ember.train.UserCallback objects.
    verbose: 0 silent, 1 a line per report when the driver is on a terminal, 2 always.
    """

    name: str | None = None
    storage_path: str | os.PathLike | None = None
    storage_filesystem: Any = None
    failure_config: FailureConfig | None = None
    checkpoint_config: CheckpointConfig | None = None
    callbacks: Sequence[Any] | None = None
    verbose: int = 1
    worker_runtime_env: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.failure_config is None:
            self.failure_config = FailureConfig()
        if self.checkpoint_config is None:
            self.checkpoint_config = CheckpointConfig()
        if self.storage_path is not None:
            self.storage_path = os.fspath(self.storage_path)
        if self.verbose not in (0, 1, 2):
            raise ValueError(f"verbose must be 0, 1 or 2, got {self.verbose!r}.")

    def resolved_storage_path(self) -> str:
        """The storage path after defaults; local paths made absolute."""
        path = self.storage_path or os.environ.get("EMBER_RESULTS_DIR") or DEFAULT_STORAGE_PATH
        path = os.fspath(path)
        if "://" in path:
            return path
        return os.path.abspath(os.path.expanduser(path))


@dataclasses.dataclass
class DataConfig:
    """Which datasets are split across workers (default: all), and how.

    datasets_to_split: "all" or a list of names; the others go whole to every worker.
    Splits are equal (same number of rows per worker; a remainder of fewer than
    num_workers rows is dropped, as in Ray).
    """

    datasets_to_split: str | list[str] = "all"
    equal: bool = True

    def should_split(self, name: str) -> bool:
        return self.datasets_to_split == "all" or name in self.datasets_to_split
