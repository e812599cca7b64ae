"""DataContext: the process-wide tunables of ember Data (block sizes, memory, progress).

The driver's context is captured when a dataset starts executing and shipped to every
task and actor of that execution, so a tunable set before `iter_batches()` applies to
the whole run.
"""

from __future__ import annotations

import copy
import enum
import threading
from dataclasses import dataclass, field
from typing import Any

__all__ = ["DataContext", "ExecutionOptions", "ExecutionResources", "ShuffleStrategy"]

MiB = 1024 * 1024


@dataclass
class ExecutionResources:
    """Resource limits for one execution; None means "derive from the cluster"."""

    cpu: float | None = None
    gpu: float | None = None
    object_store_memory: int | None = None


@dataclass
class ExecutionOptions:
    """How the streaming executor runs a dataset.

    resource_limits caps what the executor uses at once; `object_store_memory` bounds
    the bytes of blocks in flight (queued, being computed, or waiting for the consumer).
    preserve_order keeps blocks in their input order (ember's default, so results are
    deterministic); set it False to let faster tasks overtake slower ones.
    """

    resource_limits: ExecutionResources = field(default_factory=ExecutionResources)
    preserve_order: bool = True
    locality_with_output: bool = False
    verbose_progress: bool = False


class ShuffleStrategy(enum.StrEnum):
    """Ray's shuffle algorithms. ember accepts the setting (`DataContext.shuffle_strategy`)
    but runs one shuffle for all of them: range partitioning from sorted samples for
    sort/groupby, hash partitioning for joins and repartition(keys=...)."""

    SORT_SHUFFLE_PULL_BASED = "sort_shuffle_pull_based"
    SORT_SHUFFLE_PUSH_BASED = "sort_shuffle_push_based"
    HASH_SHUFFLE = "hash_shuffle"
    GPU_SHUFFLE = "gpu_shuffle"


@dataclass
class DataContext:
    """Tunables for ember Data. Get the live instance with `DataContext.get_current()`.

    Memory: the executor keeps at most `object_store_memory_limit_fraction` of the
    object store (or `execution_options.resource_limits.object_store_memory`) in blocks
    in flight. Each operator is guaranteed `op_resource_reservation_ratio / num_ops` of
    that budget so downstream operators always make progress, and holds at most
    `max_op_output_queue_blocks` finished blocks that nobody has consumed yet.

    Joins: a side of at most `broadcast_join_threshold_bytes` (set 0 to always shuffle)
    is sent whole to every join task instead of hash-partitioning both sides.
    """

    target_max_block_size: int = 128 * MiB
    target_min_block_size: int = 1 * MiB
    target_shuffle_max_block_size: int = 1024 * MiB
    read_op_min_num_blocks: int = 200
    # Consecutive read tasks share one ember task up to this many estimated bytes.
    read_task_group_max_bytes: int = 256 * MiB
    min_parallelism: int = 200
    object_store_memory_limit_fraction: float = 0.5
    op_resource_reservation_ratio: float = 0.5
    max_op_output_queue_blocks: int = 64
    max_tasks_in_flight_per_actor: int = 2
    max_errored_blocks: int = 0
    enable_progress_bars: bool = True
    enable_operator_fusion: bool = True
    enable_auto_log_stats: bool = False
    verbose_stats_logs: bool = False
    use_push_based_shuffle: bool = False
    shuffle_strategy: ShuffleStrategy = ShuffleStrategy.SORT_SHUFFLE_PULL_BASED
    enable_tensor_extension_casting: bool = True
    wait_for_min_actors_s: float = 600.0
    # Dataset.join broadcasts a side at most this large instead of shuffling both.
    broadcast_join_threshold_bytes: int = 64 * MiB
    execution_options: ExecutionOptions = field(default_factory=ExecutionOptions)
    _extra: dict[str, Any] = field(default_factory=dict, repr=False)

    @staticmethod
    def get_current() -> DataContext:
        """The context of this process (created with defaults on first use)."""
        global _current
        with _lock:
            if _current is None:
                _current = DataContext()
            return _current

    @staticmethod
    def _set_current(ctx: DataContext) -> None:
        """Install `ctx` as this process's context (used inside tasks and actors)."""
        global _current
        with _lock:
            _current = ctx

    def copy(self) -> DataContext:
        return copy.deepcopy(self)

    def set_config(self, key: str, value: Any) -> None:
        """Store a free-form setting (Ray's escape hatch for experimental knobs)."""
        self._extra[key] = value

    def get_config(self, key: str, default: Any = None) -> Any:
        return self._extra.get(key, default)


_lock = threading.Lock()
_current: DataContext | None = None
