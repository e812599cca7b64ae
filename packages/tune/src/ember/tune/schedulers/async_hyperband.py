"""ASHAScheduler: asynchronous successive halving (Li et al., "Massively Parallel
Hyperparameter Tuning").

Each bracket has rungs at grace_period * reduction_factor**k (below max_t). When a trial
first reaches a rung it is compared with every trial recorded there so far; unless it is
in the top 1/reduction_factor it is stopped. No trial waits for another.
"""

from __future__ import annotations

import math
import random
from typing import Any

import numpy as np

from ember.tune.experiment.trial import Trial
from ember.tune.schedulers.trial_scheduler import FIFOScheduler, TrialScheduler

__all__ = ["ASHAScheduler", "AsyncHyperBandScheduler"]


class _Bracket:
    def __init__(self, min_t: float, max_t: float, reduction_factor: float, s: int,
                 stop_last_trials: bool) -> None:
        self.rf = reduction_factor
        max_rungs = int(math.log(max_t / min_t) / math.log(reduction_factor) + 1 + 1e-9)
        self.rungs: list[tuple[float, dict[str, float]]] = [
            (min_t * reduction_factor ** (k + s), {})
            for k in reversed(range(max(max_rungs - s, 0)))]
        self.max_t = max_t
        self.stop_last_trials = stop_last_trials

    def cutoff(self, recorded: dict[str, float]) -> float | None:
        if not recorded:
            return None
        return float(np.nanpercentile(list(recorded.values()), (1 - 1 / self.rf) * 100))

    def on_result(self, trial_id: str, cur_iter: float, score: float | None) -> str:
        action = TrialScheduler.CONTINUE
        if cur_iter >= self.max_t and self.stop_last_trials:
            action = TrialScheduler.STOP
        for milestone, recorded in self.rungs:
            if cur_iter < milestone or trial_id in recorded:
                continue
            cutoff = self.cutoff(recorded)
            if score is not None:
                if cutoff is not None and score < cutoff:
                    action = TrialScheduler.STOP
                recorded[trial_id] = score
            break
        return action

    def debug_str(self) -> str:
        parts = [f"{milestone:g}: {len(rec)}" for milestone, rec in self.rungs]
        return "Bracket(" + ", ".join(parts) + ")"


class AsyncHyperBandScheduler(FIFOScheduler):
    """Asynchronous HyperBand / ASHA.

    time_attr: the result field measuring progress (training_iteration by default);
    max_t: trials stop there; grace_period: no stopping before this; reduction_factor:
    keep the top 1/reduction_factor at each rung; brackets: number of brackets (trials
    are assigned to brackets at random, seeded).
    """

    def __init__(self, time_attr: str = "training_iteration", metric: str | None = None,
                 mode: str | None = None, max_t: float = 100, grace_period: float = 1,
                 reduction_factor: float = 4, brackets: int = 1,
                 stop_last_trials: bool = True, seed: int | None = 0) -> None:
        if grace_period <= 0:
            raise ValueError("grace_period must be positive.")
        if reduction_factor <= 1:
            raise ValueError("reduction_factor must be greater than 1.")
        if max_t <= 0:
            raise ValueError("max_t must be positive.")
        if brackets < 1:
            raise ValueError("brackets must be >= 1.")
        if mode is not None and mode not in ("min", "max"):
            raise ValueError("`mode` must be 'min' or 'max'.")
        super().__init__(metric, mode)
        self._time_attr = time_attr
        self._max_t = max_t
        self._grace_period = grace_period
        self._reduction_factor = reduction_factor
        self._brackets = [_Bracket(grace_period, max_t, reduction_factor, s, stop_last_trials)
                          for s in range(brackets)]
        self._trial_bracket: dict[str, int] = {}
        self._rng = random.Random(seed)
        self._num_stopped = 0

    def set_search_properties(self, metric: str | None, mode: str | None, **spec: Any) -> bool:
        ok = super().set_search_properties(metric, mode, **spec)
        self._require_metric()
        return ok

    def on_trial_add(self, tune_controller: Any, trial: Trial) -> None:
        sizes = np.array([len(b.rungs) for b in self._brackets], dtype=float)
        probs = np.exp(sizes - sizes.max())
        probs /= probs.sum()
        r, acc, idx = self._rng.random(), 0.0, len(probs) - 1
        for i, p in enumerate(probs):
            acc += p
            if r < acc:
                idx = i
                break
        self._trial_bracket[trial.trial_id] = idx

    def _score(self, result: dict) -> float | None:
        value = result.get(self._metric)
        if value is None or isinstance(value, bool) or not isinstance(value, int | float):
            return None
        return float(value) if self._mode == "max" else -float(value)

    def on_trial_result(self, tune_controller: Any, trial: Trial, result: dict) -> str:
        if self._time_attr not in result:
            return TrialScheduler.CONTINUE
        idx = self._trial_bracket.setdefault(trial.trial_id, 0)
        action = self._brackets[idx].on_result(trial.trial_id, result[self._time_attr],
                                               self._score(result))
        if action == TrialScheduler.STOP:
            self._num_stopped += 1
        return action

    def on_trial_complete(self, tune_controller: Any, trial: Trial, result: dict) -> None:
        if result and self._time_attr in result and self._metric in result:
            idx = self._trial_bracket.get(trial.trial_id, 0)
            self._brackets[idx].on_result(trial.trial_id, result[self._time_attr],
                                          self._score(result))
        self._trial_bracket.pop(trial.trial_id, None)

    def on_trial_remove(self, tune_controller: Any, trial: Trial) -> None:
        self._trial_bracket.pop(trial.trial_id, None)

    def debug_string(self) -> str:
        head = f"Using AsyncHyperBand: num_stopped={self._num_stopped}"
        return head + "\n" + "\n".join(b.debug_str() for b in self._brackets)


ASHAScheduler = AsyncHyperBandScheduler
