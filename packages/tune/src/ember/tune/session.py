"""What a running trial sees: report(), get_checkpoint() and get_context().

One trial runs in a process at a time, so the current trial's session is process-wide.
"""

from __future__ import annotations

import os
from typing import Any

from ember.tune.checkpoint import Checkpoint

__all__ = ["TuneContext", "get_checkpoint", "get_context", "report"]


class _TrialInfo:
    """Facts about the trial this process runs (sent by the controller)."""

    def __init__(self, info: dict[str, Any]) -> None:
        self.trial_id: str = info.get("trial_id", "default")
        self.trial_name: str = info.get("trial_name", "default")
        self.trial_dir: str = info.get("trial_dir", "")
        self.experiment_name: str = info.get("experiment_name", "")
        self.experiment_path: str = info.get("experiment_path", "")
        self.resources: Any = info.get("resources")
        self.checkpoint_index: int = int(info.get("checkpoint_index", 0))
        self.checkpoint_frequency: int = int(info.get("checkpoint_frequency", 0))


_current: dict[str, Any] = {"info": None, "reporter": None, "checkpoint": None}


def _set_trial(info: _TrialInfo | None, reporter: Any = None,
               checkpoint: Checkpoint | None = None) -> None:
    _current.update(info=info, reporter=reporter, checkpoint=checkpoint)


def report(metrics: dict[str, Any] | None = None, *, checkpoint: Checkpoint | None = None,
           **kwargs: Any) -> None:
    """Send one result (and optionally a checkpoint directory) to Tune.

    Blocks until Tune asks for the next result, so a scheduler can stop the trial between
    reports. The checkpoint's files are copied into the trial's folder under the
    experiment's storage path; the caller may delete its copy afterwards.
    """
    if metrics is None:
        metrics = kwargs
    elif kwargs:
        raise TypeError("Pass metrics as one dict: report({'loss': 0.1}, checkpoint=...).")
    if not isinstance(metrics, dict):
        raise TypeError(f"report() expects a dict of metrics, got {type(metrics).__name__}.")
    if checkpoint is not None and not isinstance(checkpoint, Checkpoint):
        checkpoint = _as_tune_checkpoint(checkpoint)
    if checkpoint is not None and not isinstance(checkpoint, Checkpoint):
        raise TypeError("checkpoint must be an ember.tune.Checkpoint "
                        "(e.g. Checkpoint.from_directory(path)).")
    reporter = _current["reporter"]
    if reporter is None:
        raise RuntimeError("ember.tune.report() was called outside of a Tune trial: call it "
                           "from a function passed to ember.tune.Tuner.")
    reporter(metrics, checkpoint)


def get_checkpoint() -> Checkpoint | None:
    """The checkpoint this trial should resume from (after a failure, pause or PBT exploit)."""
    return _current["checkpoint"]


class TuneContext:
    """Names, folders and resources of the running trial."""

    def __init__(self, info: _TrialInfo | None) -> None:
        self._info = info or _TrialInfo({})

    def get_trial_id(self) -> str:
        return self._info.trial_id

    def get_trial_name(self) -> str:
        return self._info.trial_name

    def get_trial_dir(self) -> str:
        return self._info.trial_dir

    def get_experiment_name(self) -> str:
        return self._info.experiment_name

    def get_trial_resources(self) -> Any:
        """The trial's PlacementGroupFactory (`.required_resources` sums its bundles)."""
        return self._info.resources

    def get_storage_path(self) -> str:
        return os.path.dirname(self._info.experiment_path)

    def get_world_rank(self) -> int:
        return 0

    def get_world_size(self) -> int:
        return 1

    def get_local_rank(self) -> int:
        return 0


def get_context() -> TuneContext:
    """The running trial's context (defaults outside a trial)."""
    return TuneContext(_current["info"])


def _as_tune_checkpoint(checkpoint: Any) -> Any:
    """Another library's checkpoint (ember.train's, which is Tune's own class in Ray): a
    local directory is taken as it is, anything else is copied to one first."""
    path = getattr(checkpoint, "path", None)
    if isinstance(path, str) and os.path.isdir(path):
        return Checkpoint(path)
    to_directory = getattr(checkpoint, "to_directory", None)
    return Checkpoint.from_directory(to_directory()) if callable(to_directory) else checkpoint
