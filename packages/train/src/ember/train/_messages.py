"""Typed messages between the driver's controller and the training workers."""

from __future__ import annotations

import dataclasses
from typing import Any

__all__ = ["PollResult", "Report", "RunSpec", "WorkerError", "WorkerInfo"]


@dataclasses.dataclass(frozen=True)
class WorkerInfo:
    """Where a worker runs."""

    node_id: str
    node_ip: str
    pid: int
    gpu_ids: tuple[int, ...]


@dataclasses.dataclass
class RunSpec:
    """What one worker needs to run the user's loop: its place and the run's storage."""

    train_fn: Any
    config: dict[str, Any] | None
    takes_config: bool
    world_rank: int
    world_size: int
    local_rank: int
    local_world_size: int
    node_rank: int
    experiment_name: str
    storage_path: str
    storage_filesystem: Any
    run_name: str
    first_report_index: int
    checkpoint: Any  # ember.train.Checkpoint | None
    dataset_shards: dict[str, Any]
    num_cpus: float
    use_gpu: bool
    attempt: int


@dataclasses.dataclass(frozen=True)
class Report:
    """One report() of one worker, after its checkpoint (if any) is in storage."""

    index: int
    metrics: dict[str, Any]
    checkpoint_path: str | None
    upload_error: str | None = None


@dataclasses.dataclass(frozen=True)
class WorkerError:
    """An exception raised by the user's loop (or a failed checkpoint upload)."""

    rank: int
    type_name: str
    message: str
    traceback: str
    exception: BaseException | None


@dataclasses.dataclass(frozen=True)
class PollResult:
    """What a worker has for the driver: new reports, and whether its loop ended."""

    reports: list[Report]
    done: bool
    error: WorkerError | None
