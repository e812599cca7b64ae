"""HyperBandScheduler: synchronous HyperBand (Li et al., JMLR 2018).

Trials are grouped into brackets. All live trials of a bracket train to the bracket's
current milestone and pause there; then the top 1/reduction_factor continue to a
milestone reduction_factor times further, and the rest stop. Pausing frees the trial's
resources; it resumes from its checkpoint, so trainables should save checkpoints.
"""

from __future__ import annotations

import math
from typing import Any

from ember.tune.experiment.trial import Trial
from ember.tune.schedulers.trial_scheduler import FIFOScheduler, TrialScheduler

__all__ = ["HyperBandScheduler"]


class _Bracket:
    def __init__(self, n0: int, r0: float, max_t: float, eta: float, s: int,
                 stop_last_trials: bool) -> None:
        self.n0 = n0
        self.n = n0
        self.r = r0
        self.max_t = max_t
        self.eta = eta
        self.halves = s
        self.stop_last_trials = stop_last_trials
        self.trials: dict[str, Trial] = {}
        self.live: dict[str, dict | None] = {}
        self.processing = False

    def filled(self) -> bool:
        return len(self.trials) >= self.n0

    def add(self, trial: Trial) -> None:
        self.trials[trial.trial_id] = trial
        self.live[trial.trial_id] = None

    def time_of(self, result: dict | None, attr: str) -> float:
        return float(result.get(attr, 0)) if result else 0.0

    def cur_iter_done(self, attr: str) -> bool:
        return all(self.time_of(r, attr) >= self.r for r in self.live.values())

    def last_round(self) -> bool:
        return self.halves == 0

    def halve(self, metric: str, sign: float) -> tuple[list[str], list[str]]:
        self.halves -= 1
        self.n = int(math.ceil(self.n / self.eta))
        self.r = min(self.r * self.eta, self.max_t)

        def score(tid: str) -> float:
            value = (self.live[tid] or {}).get(metric)
            return sign * float(value) if isinstance(value, int | float) else -math.inf

        ranked = sorted(self.live, key=score)
        keep = ranked[-self.n:] if self.n else []
        return keep, [t for t in ranked if t not in keep]


class HyperBandScheduler(FIFOScheduler):
    """Synchronous HyperBand over `time_attr`, up to `max_t`, halving by `reduction_factor`."""

    def __init__(self, time_attr: str = "training_iteration", metric: str | None = None,
                 mode: str | None = None, max_t: float = 81, reduction_factor: float = 3,
                 stop_last_trials: bool = True) -> None:
        if max_t <= 0:
            raise ValueError("max_t must be positive.")
        if reduction_factor <= 1:
            raise ValueError("reduction_factor must be greater than 1.")
        if mode is not None and mode not in ("min", "max"):
            raise ValueError("`mode` must be 'min' or 'max'.")
        super().__init__(metric, mode)
        self._time_attr = time_attr
        self._eta = reduction_factor
        self._max_t = max_t
        self._s_max_1 = int(round(math.log(max_t) / math.log(reduction_factor))) + 1
        self._stop_last_trials = stop_last_trials
        self._bands: list[list[_Bracket]] = [[]]
        self._current: _Bracket | None = None
        self._of: dict[str, _Bracket] = {}
        self._num_stopped = 0

    def set_search_properties(self, metric: str | None, mode: str | None, **spec: Any) -> bool:
        ok = super().set_search_properties(metric, mode, **spec)
        self._require_metric()
        return ok

    def _sign(self) -> float:
        return 1.0 if self._mode == "max" else -1.0

    def on_trial_add(self, tune_controller: Any, trial: Trial) -> None:
        bracket = self._current
        while bracket is None or bracket.filled():
            band = self._bands[-1]
            if len(band) >= self._s_max_1:
                band = []
                self._bands.append(band)
            s = self._s_max_1 - len(band) - 1
            n0 = int(math.ceil(self._s_max_1 / (s + 1) * self._eta ** s))
            bracket = _Bracket(n0, self._max_t / self._eta ** s, self._max_t, self._eta, s,
                               self._stop_last_trials)
            band.append(bracket)
            self._current = bracket
        bracket.add(trial)
        self._of[trial.trial_id] = bracket

    def on_trial_result(self, tune_controller: Any, trial: Trial, result: dict) -> str:
        bracket = self._of.get(trial.trial_id)
        if bracket is None:
            return TrialScheduler.CONTINUE
        bracket.live[trial.trial_id] = result
        t = bracket.time_of(result, self._time_attr)
        if bracket.last_round() and not bracket.stop_last_trials:
            return TrialScheduler.CONTINUE
        if t < bracket.r:
            return TrialScheduler.CONTINUE
        if bracket.last_round() or t >= self._max_t:
            self._forget(trial.trial_id)
            action = TrialScheduler.STOP
            self._process(tune_controller, bracket, None)
            return action
        return self._process(tune_controller, bracket, trial.trial_id)

    def _process(self, controller: Any, bracket: _Bracket, current: str | None) -> str:
        """Halve the bracket once all its live trials reached the milestone."""
        action = TrialScheduler.PAUSE
        if bracket.processing or not bracket.live or not bracket.cur_iter_done(self._time_attr):
            return action
        bracket.processing = True
        try:
            if bracket.last_round():
                for tid in list(bracket.live):
                    if tid == current:
                        action = TrialScheduler.STOP
                    else:
                        controller.stop_trial(bracket.trials[tid])
                    self._forget(tid)
                return action
            keep, drop = bracket.halve(self._metric, self._sign())
            self._num_stopped += len(drop)
            for tid in drop:
                self._forget(tid)
                if tid == current:
                    action = TrialScheduler.STOP
                else:
                    controller.stop_trial(bracket.trials[tid])
            for tid in keep:
                trial = bracket.trials[tid]
                if tid == current:
                    action = TrialScheduler.CONTINUE
                elif trial.status == Trial.PAUSED:
                    controller.set_trial_status(trial, Trial.PENDING)
        finally:
            bracket.processing = False
        return action

    def _forget(self, trial_id: str) -> None:
        bracket = self._of.get(trial_id)
        if bracket is not None:
            bracket.live.pop(trial_id, None)

    def _trial_gone(self, controller: Any, trial: Trial) -> None:
        bracket = self._of.get(trial.trial_id)
        if bracket is None:
            return
        self._forget(trial.trial_id)
        self._process(controller, bracket, None)

    def on_trial_complete(self, tune_controller: Any, trial: Trial, result: dict) -> None:
        self._trial_gone(tune_controller, trial)

    def on_trial_error(self, tune_controller: Any, trial: Trial) -> None:
        self._trial_gone(tune_controller, trial)

    def on_trial_remove(self, tune_controller: Any, trial: Trial) -> None:
        self._trial_gone(tune_controller, trial)

    def choose_trial_to_run(self, tune_controller: Any) -> Trial | None:
        for band in self._bands:
            for bracket in band:
                for trial in bracket.trials.values():
                    if trial.status == Trial.PENDING and \
                            tune_controller.has_resources_for_trial(trial):
                        return trial
        for trial in tune_controller.get_trials():
            if trial.status == Trial.PENDING and trial.trial_id not in self._of and \
                    tune_controller.has_resources_for_trial(trial):
                return trial
        return None

    def debug_string(self) -> str:
        brackets = [b for band in self._bands for b in band]
        lines = [f"Using HyperBand: num_stopped={self._num_stopped} total_brackets="
                 f"{len(brackets)}"]
        for i, b in enumerate(brackets):
            lines.append(f"Bracket {i}: milestone={b.r:g}, live={len(b.live)}/{len(b.trials)}")
        return "\n".join(lines)
