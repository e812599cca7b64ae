"""PopulationBasedTraining (Jaderberg et al., 2017).

Every perturbation_interval (in time_attr units) a trial is ranked against the
population. A trial in the bottom quantile_fraction exploits one from the top: it takes a
copy of that trial's latest checkpoint and its config, then explores by perturbing the
config (multiply by a perturbation factor, shift to a neighbouring choice, or resample
with resample_probability). Top trials have their checkpoint recorded for cloning.
"""

from __future__ import annotations

import copy
import json
import math
import os
import random
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ember.tune.experiment.trial import Trial
from ember.tune.schedulers.trial_scheduler import FIFOScheduler, TrialScheduler
from ember.tune.search.sample import Categorical, Domain
from ember.tune.search.variant_generator import format_vars

__all__ = ["PopulationBasedTraining"]


class _TrialState:
    def __init__(self, trial: Trial) -> None:
        self.orig_tag = trial.experiment_tag
        self.last_score: float | None = None
        self.last_checkpoint: str | None = None
        self.last_checkpoint_meta: dict[str, Any] = {}
        self.last_perturbation_time = 0.0
        self.last_train_time = 0.0
        self.last_result: dict | None = None


class PopulationBasedTraining(FIFOScheduler):
    """Population Based Training over a population of `num_samples` concurrent trials.

    hyperparam_mutations maps config keys to lists (neighbouring choices), Tune domains or
    functions (resampled), or nested dicts of those; custom_explore_fn(config) -> config
    may post-process (or replace) the mutation. With synch=True every trial pauses at
    each interval until the whole population has reached it, then all are ranked at once.
    """

    def __init__(self, time_attr: str = "time_total_s", metric: str | None = None,
                 mode: str | None = None, perturbation_interval: float = 60.0,
                 burn_in_period: float = 0.0,
                 hyperparam_mutations: Mapping[str, Any] | None = None,
                 quantile_fraction: float = 0.25, resample_probability: float = 0.25,
                 perturbation_factors: Sequence[float] = (1.2, 0.8),
                 custom_explore_fn: Callable[[dict], dict] | None = None,
                 log_config: bool = True, require_attrs: bool = True, synch: bool = False,
                 seed: int | None = None) -> None:
        hyperparam_mutations = dict(hyperparam_mutations or {})
        for key, spec in hyperparam_mutations.items():
            if not isinstance(spec, list | tuple | dict | Domain) and not callable(spec):
                raise TypeError(f"hyperparam_mutations[{key!r}] must be a list, dict, tune "
                                f"search domain or function, got {type(spec).__name__}.")
        if not hyperparam_mutations and not custom_explore_fn:
            raise TypeError("You must specify at least one of `hyperparam_mutations` or "
                            "`custom_explore_fn` to use PBT.")
        if not 0 <= quantile_fraction <= 0.5:
            raise ValueError("You must set `quantile_fraction` to a value between 0 and 0.5, "
                             f"got {quantile_fraction}.")
        if perturbation_interval <= 0:
            raise ValueError(f"perturbation_interval must be > 0, got {perturbation_interval}.")
        if mode is not None and mode not in ("min", "max"):
            raise ValueError("`mode` must be 'min' or 'max'.")
        super().__init__(metric, mode)
        self._time_attr = time_attr
        self._perturbation_interval = perturbation_interval
        self._burn_in_period = burn_in_period
        self._hyperparam_mutations = hyperparam_mutations
        self._quantile_fraction = quantile_fraction
        self._resample_probability = resample_probability
        self._perturbation_factors = list(perturbation_factors)
        self._custom_explore_fn = custom_explore_fn
        self._log_config = log_config
        self._require_attrs = require_attrs
        self._rng = random.Random(seed)
        self._state: dict[str, _TrialState] = {}
        self._trials: dict[str, Trial] = {}
        self._synch = synch
        self._next_sync = max(perturbation_interval, burn_in_period)
        self._num_checkpoints = 0
        self._num_perturbations = 0

    def set_search_properties(self, metric: str | None, mode: str | None, **spec: Any) -> bool:
        ok = super().set_search_properties(metric, mode, **spec)
        self._require_metric()
        return ok

    def on_trial_add(self, tune_controller: Any, trial: Trial) -> None:
        self._require_metric()
        _fill_missing(trial.config, self._hyperparam_mutations, self._rng)
        self._state[trial.trial_id] = _TrialState(trial)
        self._trials[trial.trial_id] = trial

    def on_trial_result(self, tune_controller: Any, trial: Trial, result: dict) -> str:
        for attr in (self._time_attr, self._metric):
            if attr not in result:
                if self._require_attrs:
                    raise ValueError(f"Cannot find {attr!r} in the trial result {sorted(result)}"
                                     ": make sure the trainable reports it (or set "
                                     "require_attrs=False).")
                return TrialScheduler.CONTINUE
        state = self._state.setdefault(trial.trial_id, _TrialState(trial))
        t = float(result[self._time_attr])
        if t < self._burn_in_period:
            return TrialScheduler.CONTINUE
        if self._synch:
            return self._on_result_synch(tune_controller, trial, state, result, t)
        if t - state.last_perturbation_time < self._perturbation_interval:
            return TrialScheduler.CONTINUE
        state.last_perturbation_time = t
        state.last_train_time = t
        state.last_result = result
        value = float(result[self._metric])
        state.last_score = value if self._mode == "max" else -value
        lower, upper = self._quantiles()
        if trial.trial_id in upper:
            state.last_checkpoint = tune_controller.save_trial(trial)
            state.last_checkpoint_meta = {k: result[k] for k in
                                          ("training_iteration", "time_total_s") if k in result}
            self._num_checkpoints += 1
        else:
            state.last_checkpoint = None
        if trial.trial_id in lower and upper:
            clone_id = self._rng.choice(upper)
            if self._exploit(tune_controller, trial, self._trials[clone_id]):
                return TrialScheduler.NOOP
        return TrialScheduler.CONTINUE

    def _on_result_synch(self, controller: Any, trial: Trial, state: _TrialState,
                         result: dict, t: float) -> str:
        """Synchronous PBT: trials wait (paused) at each interval until all arrive."""
        if t < self._next_sync:
            return TrialScheduler.CONTINUE
        state.last_train_time = t
        state.last_result = result
        value = float(result[self._metric])
        state.last_score = value if self._mode == "max" else -value
        live = [tr for tr in controller.get_live_trials() if tr.trial_id != trial.trial_id]
        if any(self._state.setdefault(tr.trial_id, _TrialState(tr)).last_train_time
               < self._next_sync for tr in live):
            return TrialScheduler.PAUSE
        self._sync_round(controller, trial, [*live, trial])
        return TrialScheduler.CONTINUE if trial.status == Trial.RUNNING else TrialScheduler.NOOP

    def _sync_round(self, controller: Any, current: Trial | None, live: list[Trial]) -> None:
        """Everyone reached the interval: rank, exploit, explore, and release the paused."""
        times = [self._state[tr.trial_id].last_train_time for tr in live]
        self._next_sync = max(self._next_sync + self._perturbation_interval, min(times))
        lower, upper = self._quantiles()
        for tid in upper:
            s = self._state[tid]
            if current is not None and tid == current.trial_id:
                s.last_checkpoint = controller.save_trial(current)
            else:
                s.last_checkpoint = self._trials[tid].latest_checkpoint
            s.last_checkpoint_meta = {k: s.last_result[k] for k in
                                      ("training_iteration", "time_total_s")
                                      if s.last_result and k in s.last_result}
            self._num_checkpoints += 1
        for tid in lower:
            if upper:
                self._exploit(controller, self._trials[tid], self._trials[self._rng.choice(upper)])
        for tr in live:
            if tr.status == Trial.PAUSED:
                controller.set_trial_status(tr, Trial.PENDING)

    def _trial_left(self, controller: Any) -> None:
        """A trial ended: in synch mode the others may no longer need to wait for it."""
        if not self._synch:
            return
        live = controller.get_live_trials()
        if live and all(self._state.setdefault(tr.trial_id, _TrialState(tr)).last_train_time
                        >= self._next_sync for tr in live):
            self._sync_round(controller, None, live)

    def on_trial_complete(self, tune_controller: Any, trial: Trial, result: dict) -> None:
        self._trial_left(tune_controller)

    def on_trial_error(self, tune_controller: Any, trial: Trial) -> None:
        self._trial_left(tune_controller)

    def on_trial_remove(self, tune_controller: Any, trial: Trial) -> None:
        self._trial_left(tune_controller)

    def _quantiles(self) -> tuple[list[str], list[str]]:
        scored = [tid for tid, s in self._state.items() if s.last_score is not None and
                  not (tid in self._trials and self._trials[tid].is_finished)]
        scored.sort(key=lambda tid: self._state[tid].last_score)
        if len(scored) <= 1:
            return [], []
        num = int(math.ceil(len(scored) * self._quantile_fraction))
        if num > len(scored) / 2:
            num = int(math.floor(len(scored) / 2))
        return scored[:num], scored[-num:] if num else []

    def _exploit(self, controller: Any, trial: Trial, clone: Trial) -> bool:
        clone_state = self._state[clone.trial_id]
        state = self._state[trial.trial_id]
        checkpoint = clone_state.last_checkpoint
        if checkpoint is None or not os.path.isdir(checkpoint):
            checkpoint = clone.latest_checkpoint
        if checkpoint is None or not os.path.isdir(checkpoint):
            return False  # nothing to copy yet: try again at the next interval
        new_config = self._explore(clone.config)
        changed = {(k,): new_config[k] for k in self._hyperparam_mutations if k in new_config}
        tag = f"{state.orig_tag}@perturbed[{format_vars(changed)}]"
        self._log(controller, trial, clone, new_config)
        meta = dict(clone_state.last_checkpoint_meta) or \
            {k: clone.last_result[k] for k in ("training_iteration", "time_total_s")
             if k in clone.last_result}
        controller.exploit_trial(trial, new_config, checkpoint, meta, tag, source=clone)
        self._num_perturbations += 1
        state.last_perturbation_time = clone_state.last_perturbation_time
        return True

    def _explore(self, config: dict) -> dict:
        new = _explore(config, self._hyperparam_mutations, self._resample_probability,
                       self._perturbation_factors, self._rng)
        if self._custom_explore_fn is not None:
            out = self._custom_explore_fn(new)
            if not isinstance(out, dict):
                raise TypeError("custom_explore_fn must return the new config dict.")
            new = out
        return new

    def _log(self, controller: Any, trial: Trial, clone: Trial, new_config: dict) -> None:
        if not self._log_config:
            return
        path = getattr(controller, "experiment_path", None)
        if not path:
            return
        entry = [clone.experiment_tag, trial.experiment_tag,
                 clone.last_result.get("training_iteration"),
                 trial.last_result.get("training_iteration"),
                 _jsonable(clone.config), _jsonable(new_config)]
        try:
            with open(os.path.join(path, "pbt_global.txt"), "a") as f:
                f.write(json.dumps({"time": time.time(), "target": trial.trial_id,
                                    "clone": clone.trial_id, "entry": entry}) + "\n")
            with open(os.path.join(path, f"pbt_policy_{trial.trial_id}.txt"), "a") as f:
                f.write(json.dumps(entry) + "\n")
        except OSError:
            pass

    def choose_trial_to_run(self, tune_controller: Any) -> Trial | None:
        trials = tune_controller.get_unstarted_trials()
        for trial in trials:
            if trial.status == Trial.PENDING and tune_controller.has_resources_for_trial(trial):
                return trial
        if self._synch:  # paused trials wait for the others to reach the interval
            return None
        paused = [t for t in trials if t.status == Trial.PAUSED and
                  tune_controller.has_resources_for_trial(t)]
        if not paused:
            return None
        return min(paused, key=lambda t: self._state.get(t.trial_id, _TrialState(t))
                   .last_train_time)

    def debug_string(self) -> str:
        return (f"PopulationBasedTraining: {self._num_checkpoints} checkpoints, "
                f"{self._num_perturbations} perturbs")


def _sample(spec: Any, rng: random.Random) -> Any:
    if isinstance(spec, Domain):
        return spec.sample(random_state=rng.randrange(2 ** 32))
    if isinstance(spec, list | tuple):
        return rng.choice(list(spec))
    return spec()


def _fill_missing(config: dict, mutations: Mapping[str, Any], rng: random.Random) -> None:
    for key, spec in mutations.items():
        if isinstance(spec, dict):
            _fill_missing(config.setdefault(key, {}), spec, rng)
        elif key not in config:
            config[key] = _sample(spec, rng)


def _explore(config: dict, mutations: Mapping[str, Any], resample_p: float,
             factors: list[float], rng: random.Random) -> dict:
    new = copy.deepcopy(config)
    for key, spec in mutations.items():
        if isinstance(spec, dict):
            new[key] = _explore(config.get(key, {}), spec, resample_p, factors, rng)
            continue
        current = config.get(key)
        choices = spec.categories if isinstance(spec, Categorical) else \
            list(spec) if isinstance(spec, list | tuple) else None
        if choices is not None:
            if rng.random() < resample_p or current not in choices:
                new[key] = rng.choice(choices)
            else:
                i = choices.index(current) + rng.choice([-1, 1])
                new[key] = choices[min(max(i, 0), len(choices) - 1)]
        elif rng.random() < resample_p or not isinstance(current, int | float):
            new[key] = _sample(spec, rng)
        else:
            value = current * rng.choice(factors)
            new[key] = int(value) if isinstance(current, int) else value
    return new


def _jsonable(config: Any) -> Any:
    try:
        json.dumps(config)
        return config
    except (TypeError, ValueError):
        return repr(config)
