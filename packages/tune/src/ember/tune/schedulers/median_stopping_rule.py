"""MedianStoppingRule: stop a trial whose best result so far is worse than the median of
the other trials' running averages at the same point in time (Golovin et al., Vizier)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

from ember.tune.experiment.trial import Trial
from ember.tune.schedulers.trial_scheduler import FIFOScheduler, TrialScheduler

__all__ = ["MedianStoppingRule"]


class MedianStoppingRule(FIFOScheduler):
    """Median stopping rule over `time_attr` (time_total_s by default).

    No trial is stopped before grace_period, nor while fewer than min_samples_required
    other trials have reached the same time. hard_stop=False pauses instead of stopping; paused trials
    resume, first come first served, when no pending trial is left.
    """

    def __init__(self, time_attr: str = "time_total_s", metric: str | None = None,
                 mode: str | None = None, grace_period: float = 60.0,
                 min_samples_required: int = 3, min_time_slice: float = 0,
                 hard_stop: bool = True) -> None:
        if mode is not None and mode not in ("min", "max"):
            raise ValueError("`mode` must be 'min' or 'max'.")
        super().__init__(metric, mode)
        self._time_attr = time_attr
        self._grace_period = grace_period
        self._min_samples_required = min_samples_required
        self._min_time_slice = min_time_slice
        self._hard_stop = hard_stop
        self._stopped: set[str] = set()
        self._completed: set[str] = set()
        self._results: dict[str, list[tuple[float, float]]] = defaultdict(list)
        self._last_time: dict[str, float] = {}

    def set_search_properties(self, metric: str | None, mode: str | None, **spec: Any) -> bool:
        ok = super().set_search_properties(metric, mode, **spec)
        self._require_metric()
        return ok

    def _record(self, trial_id: str, result: dict) -> bool:
        t, value = result.get(self._time_attr), result.get(self._metric)
        if not isinstance(t, int | float) or not isinstance(value, int | float):
            return False
        score = float(value) if self._mode == "max" else -float(value)
        self._results[trial_id].append((float(t), score))
        self._last_time[trial_id] = float(t)
        return True

    def on_trial_result(self, tune_controller: Any, trial: Trial, result: dict) -> str:
        tid = trial.trial_id
        if tid in self._stopped:  # a paused trial resumed once nothing else was left
            return TrialScheduler.CONTINUE
        if not self._record(tid, result):
            return TrialScheduler.CONTINUE
        now = float(result[self._time_attr])
        if now < self._grace_period:
            return TrialScheduler.CONTINUE
        others = [o for o, last in self._last_time.items() if o != tid and last >= now]
        if len(others) < self._min_samples_required:
            return TrialScheduler.CONTINUE
        median = float(np.median([self._running_mean(o, now) for o in others]))
        best = max(score for _, score in self._results[tid])
        if best < median:
            self._stopped.add(tid)
            return TrialScheduler.STOP if self._hard_stop else TrialScheduler.PAUSE
        return TrialScheduler.CONTINUE

    def _running_mean(self, trial_id: str, t: float) -> float:
        scores = [s for ts, s in self._results[trial_id] if ts <= t]
        return float(np.mean(scores)) if scores else -np.inf

    def on_trial_complete(self, tune_controller: Any, trial: Trial, result: dict) -> None:
        self._completed.add(trial.trial_id)
        if result and trial.trial_id not in self._last_time:
            self._record(trial.trial_id, result)

    def debug_string(self) -> str:
        return f"Using MedianStoppingRule: num_stopped={len(self._stopped)}."
