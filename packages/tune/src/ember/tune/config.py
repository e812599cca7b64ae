"""Run-level configuration shared by Tune and Train: RunConfig and its parts."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ["CheckpointConfig", "FailureConfig", "RunConfig"]

DEFAULT_STORAGE_PATH = "~/ember_results"


@dataclasses.dataclass
class CheckpointConfig:
    """Which checkpoints to keep and, for class trainables, when to take them.

    num_to_keep: keep at most this many (the best by checkpoint_score_attribute, else the
    newest; the newest is always kept so a failed trial can resume). checkpoint_frequency:
    save a class Trainable every N iterations (0: never); checkpoint_at_end: save when it ends.
    """

    num_to_keep: int | None = None
    checkpoint_score_attribute: str | None = None
    checkpoint_score_order: str = "max"
    checkpoint_frequency: int = 0
    checkpoint_at_end: bool | None = None

    def __post_init__(self) -> None:
        if self.num_to_keep is not None and self.num_to_keep <= 0:
            raise ValueError(f"Received invalid num_to_keep: {self.num_to_keep}. "
                             "Must be None or an integer >= 1.")
        if self.checkpoint_score_order not in ("max", "min"):
            raise ValueError(f"checkpoint_score_order must be 'max' or 'min', "
                             f"got {self.checkpoint_score_order!r}.")
        if self.checkpoint_frequency < 0:
            raise ValueError(f"checkpoint_frequency must be >= 0, got {self.checkpoint_frequency}.")


@dataclasses.dataclass
class FailureConfig:
    """How often a failed trial is retried (from its latest checkpoint).

    max_failures: retries per trial (-1: without limit). fail_fast: stop the whole
    experiment at the first trial error; "raise" re-raises that error from fit().
    """

    max_failures: int = 0
    fail_fast: bool | str = False

    def __post_init__(self) -> None:
        if self.fail_fast not in (True, False, "raise"):
            raise ValueError(f"fail_fast must be True, False or 'raise', got {self.fail_fast!r}.")
        if self.fail_fast and self.max_failures:
            raise ValueError("max_failures must be 0 if fail_fast is set.")


@dataclasses.dataclass
class RunConfig:
    """Where results go and how the run is stopped, checkpointed, retried and reported.

    Results land in `storage_path/name` (default ~/ember_results, or $EMBER_RESULTS_DIR).
    `stop` is a dict of result thresholds, a function (trial_id, result) -> bool, or a
    Stopper. verbose: 0 silent, 1 status tables (default), 2 also trial ends, 3 every result.
    log_to_file: True writes each trial's prints to `stdout`/`stderr` in its folder; a name
    sends both to that file; a pair names the two files.
    """

    name: str | None = None
    storage_path: str | os.PathLike | None = None
    callbacks: Sequence[Any] | None = None
    stop: Mapping[str, Any] | Callable[[str, dict], bool] | Any | None = None
    failure_config: FailureConfig | None = None
    checkpoint_config: CheckpointConfig | None = None
    verbose: int | None = None
    progress_reporter: Any = None
    log_to_file: bool | str | tuple[str, str] = False

    def __post_init__(self) -> None:
        if self.failure_config is None:
            self.failure_config = FailureConfig()
        if self.checkpoint_config is None:
            self.checkpoint_config = CheckpointConfig()
        if self.storage_path is not None:
            self.storage_path = os.fspath(self.storage_path)
        if self.verbose is not None and self.verbose not in (0, 1, 2, 3):
            raise ValueError(f"verbose must be 0, 1, 2 or 3, got {self.verbose!r}.")

    def resolved_storage_path(self) -> str:
        """The absolute storage path, after defaults and ~ expansion."""
        path = self.storage_path or os.environ.get("EMBER_RESULTS_DIR") or DEFAULT_STORAGE_PATH
        return os.path.abspath(os.path.expanduser(os.fspath(path)))
