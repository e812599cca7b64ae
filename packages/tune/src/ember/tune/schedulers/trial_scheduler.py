"""TrialScheduler: decides, per result, whether a trial continues, pauses or stops.

The controller passed to each hook offers get_trials(), has_resources_for_trial(trial),
pause_trial(trial), stop_trial(trial), save_trial(trial) and set_trial_status(trial, s).
"""

from __future__ import annotations

from typing import Any

from ember.tune.experiment.trial import Trial

__all__ = ["FIFOScheduler", "TrialScheduler"]


class TrialScheduler:
    """Base class: subclasses override on_trial_result() and choose_trial_to_run()."""

    CONTINUE = "CONTINUE"
    PAUSE = "PAUSE"
    STOP = "STOP"
    NOOP = "NOOP"

    _metric: str | None = None
    _mode: str | None = None
    _supports_buffered_results = True

    @property
    def metric(self) -> str | None:
        return self._metric

    @property
    def mode(self) -> str | None:
        return self._mode

    def set_search_properties(self, metric: str | None, mode: str | None, **spec: Any) -> bool:
        """Take metric/mode from TuneConfig where the scheduler has none; False on conflict."""
        if self._metric and metric and self._metric != metric:
            return False
        if self._mode and mode and self._mode != mode:
            return False
        if metric and not self._metric:
            self._metric = metric
        if mode and not self._mode:
            self._mode = mode
        return True

    def _require_metric(self) -> None:
        if not self._metric or not self._mode:
            raise ValueError(f"{type(self).__name__} needs a metric and a mode: pass them to "
                             f"the scheduler or set TuneConfig(metric=..., mode=...).")

    def on_trial_add(self, tune_controller: Any, trial: Trial) -> None:
        """A trial was created."""

    def on_trial_error(self, tune_controller: Any, trial: Trial) -> None:
        """A trial failed for good."""

    def on_trial_result(self, tune_controller: Any, trial: Trial, result: dict) -> str:
        """A running trial reported: return CONTINUE, PAUSE, STOP or NOOP."""
        return TrialScheduler.CONTINUE

    def on_trial_complete(self, tune_controller: Any, trial: Trial, result: dict) -> None:
        """A trial finished (its trainable ended or it was stopped)."""

    def on_trial_remove(self, tune_controller: Any, trial: Trial) -> None:
        """A trial was stopped by the scheduler or removed."""

    def choose_trial_to_run(self, tune_controller: Any) -> Trial | None:
        """A PENDING or PAUSED trial to start next (None: nothing to start now)."""
        raise NotImplementedError

    def debug_string(self) -> str:
        return f"Using {type(self).__name__}."


class FIFOScheduler(TrialScheduler):
    """Runs trials in the order they were created, to completion (the default)."""

    def __init__(self, metric: str | None = None, mode: str | None = None) -> None:
        self._metric = metric
        self._mode = mode

    def choose_trial_to_run(self, tune_controller: Any) -> Trial | None:
        quick = getattr(tune_controller, "has_free_resources", None)
        if quick is not None and not quick():
            return None
        trials = _candidates(tune_controller)
        no_room: set = set()  # requests already known not to fit (trials share requests)
        for status in (Trial.PENDING, Trial.PAUSED):
            for trial in trials:
                if trial.status != status:
                    continue
                key = trial.placement_group_factory
                if key in no_room:
                    continue
                if tune_controller.has_resources_for_trial(trial):
                    return trial
                no_room.add(key)
        return None

    def debug_string(self) -> str:
        return "Using FIFO scheduling algorithm."


def _candidates(tune_controller: Any) -> list[Trial]:
    fast = getattr(tune_controller, "get_unstarted_trials", None)
    return fast() if fast is not None else tune_controller.get_trials()
