"""Stoppers: decide from results when a trial, or the whole experiment, should stop."""

from __future__ import annotations

import datetime
import time
from collections import defaultdict, deque
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

__all__ = [
    "CombinedStopper",
    "ExperimentPlateauStopper",
    "FunctionStopper",
    "MaximumIterationStopper",
    "NoopStopper",
    "Stopper",
    "TimeoutStopper",
    "TrialPlateauStopper",
]


class Stopper:
    """Base class: __call__(trial_id, result) stops one trial; stop_all() the experiment."""

    def __call__(self, trial_id: str, result: dict[str, Any]) -> bool:
        raise NotImplementedError

    def stop_all(self) -> bool:
        return False


class NoopStopper(Stopper):
    """Never stops anything."""

    def __call__(self, trial_id: str, result: dict[str, Any]) -> bool:
        return False


class FunctionStopper(Stopper):
    """Stops a trial when `function(trial_id, result)` returns True."""

    def __init__(self, function: Callable[[str, dict], bool]) -> None:
        self._fn = function

    def __call__(self, trial_id: str, result: dict[str, Any]) -> bool:
        return bool(self._fn(trial_id, result))

    @classmethod
    def is_valid_function(cls, fn: Any) -> bool:
        return callable(fn) and not isinstance(fn, Stopper)


class MaximumIterationStopper(Stopper):
    """Stops a trial after `max_iter` results."""

    def __init__(self, max_iter: int) -> None:
        self._max_iter = max_iter
        self._count: dict[str, int] = defaultdict(int)

    def __call__(self, trial_id: str, result: dict[str, Any]) -> bool:
        self._count[trial_id] += 1
        return self._count[trial_id] >= self._max_iter


class TrialPlateauStopper(Stopper):
    """Stops a trial once `metric` has plateaued.

    After grace_period results, it stops when the standard deviation of the last
    num_results values is at most `std` (and, with metric_threshold and mode, the mean
    is past that threshold).
    """

    def __init__(self, metric: str, std: float = 0.01, num_results: int = 4,
                 grace_period: int = 4, metric_threshold: float | None = None,
                 mode: str | None = None) -> None:
        if metric_threshold is not None and mode not in ("min", "max"):
            raise ValueError("When specifying a `metric_threshold`, the `mode` argument "
                             "must be one of ['min', 'max'].")
        self._metric = metric
        self._std = std
        self._num_results = num_results
        self._grace_period = grace_period
        self._threshold = metric_threshold
        self._mode = mode
        self._iter: dict[str, int] = defaultdict(int)
        self._values: dict[str, deque] = defaultdict(lambda: deque(maxlen=self._num_results))

    def __call__(self, trial_id: str, result: dict[str, Any]) -> bool:
        value = result.get(self._metric)
        if value is None:
            return False
        self._values[trial_id].append(value)
        self._iter[trial_id] += 1
        if self._iter[trial_id] < self._grace_period:
            return False
        window = self._values[trial_id]
        if len(window) < self._num_results:
            return False
        if self._threshold is not None:
            mean = float(np.mean(window))
            if self._mode == "min" and mean > self._threshold:
                return False
            if self._mode == "max" and mean < self._threshold:
                return False
        return float(np.std(window)) <= self._std


class ExperimentPlateauStopper(Stopper):
    """Stops the experiment once the top_k best results have plateaued."""

    def __init__(self, metric: str, std: float = 0.001, top: int = 10, mode: str = "min",
                 patience: int = 0) -> None:
        if mode not in ("min", "max"):
            raise ValueError("The mode parameter can only be either min or max.")
        if not isinstance(top, int) or top <= 1:
            raise ValueError("Top results to consider must be a positive integer > 1.")
        self._metric = metric
        self._std = std
        self._top = top
        self._mode = mode
        self._patience = patience
        self._values: list[float] = []
        self._iterations = 0

    def __call__(self, trial_id: str, result: dict[str, Any]) -> bool:
        value = result.get(self._metric)
        if value is None:
            return False
        self._values.append(value)
        self._values.sort(reverse=self._mode == "max")
        del self._values[self._top:]
        if len(self._values) == self._top and float(np.std(self._values)) <= self._std:
            self._iterations += 1
        else:
            self._iterations = 0
        return self.stop_all()

    def stop_all(self) -> bool:
        return len(self._values) == self._top and self._iterations > self._patience


class TimeoutStopper(Stopper):
    """Stops the whole experiment after `timeout` seconds (or a timedelta) of running.

    The budget survives a checkpoint: a restored experiment gets what was left of it
    (time between the checkpoint and the restore does not count), as in Ray.
    """

    def __init__(self, timeout: float | datetime.timedelta) -> None:
        if isinstance(timeout, datetime.timedelta):
            timeout = timeout.total_seconds()
        if not isinstance(timeout, int | float) or timeout <= 0:
            raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}.")
        self._timeout = float(timeout)
        self._budget = float(timeout)
        self._last = time.monotonic()

    def __call__(self, trial_id: str, result: dict[str, Any]) -> bool:
        return False

    def stop_all(self) -> bool:
        now = time.monotonic()
        self._budget -= now - self._last
        self._last = now
        return self._budget <= 0

    def __getstate__(self) -> dict:
        # What is left at the moment of the checkpoint.
        return {"_timeout": self._timeout,
                "_budget": self._budget - (time.monotonic() - self._last)}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._last = time.monotonic()


class CombinedStopper(Stopper):
    """Stops when any of its stoppers says so."""

    def __init__(self, *stoppers: Stopper) -> None:
        self._stoppers = stoppers

    def __call__(self, trial_id: str, result: dict[str, Any]) -> bool:
        return any([s(trial_id, result) for s in self._stoppers])

    def stop_all(self) -> bool:
        return any([s.stop_all() for s in self._stoppers])


class _DictStopper(Stopper):
    """RunConfig(stop={"training_iteration": 10, "mean_accuracy": 0.98}): any key reached."""

    def __init__(self, criteria: Mapping[str, Any]) -> None:
        self._criteria = dict(criteria)

    def __call__(self, trial_id: str, result: dict[str, Any]) -> bool:
        for key, threshold in self._criteria.items():
            if key not in result:
                continue
            value = result[key]
            if isinstance(threshold, bool) or not isinstance(threshold, int | float):
                if value == threshold:
                    return True
            elif isinstance(value, int | float) and value >= threshold:
                return True
        return False


def make_stopper(stop: Any) -> Stopper | None:
    """A Stopper from RunConfig.stop (None, dict, function or Stopper)."""
    if stop is None:
        return None
    if isinstance(stop, Stopper):
        return stop
    if isinstance(stop, Mapping):
        return _DictStopper(stop)
    if callable(stop):
        return FunctionStopper(stop)
    raise ValueError(f"Invalid stop criteria {stop!r}: use a dict, a function "
                     "(trial_id, result) -> bool, or a Stopper.")
