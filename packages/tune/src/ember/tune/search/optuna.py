"""OptunaSearch: suggestions from an Optuna study (TPE by default), via ask-and-tell.

Needs the `optuna` package (`pip install "ember-tune[optuna]"`); it is imported when an
OptunaSearch is created, so `import ember.tune` works without it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from ember.tune.search.sample import (
    Categorical,
    Domain,
    Float,
    Function,
    Integer,
    _LogUniform,
    _Normal,
    _Quantized,
)
from ember.tune.search.searcher import Searcher
from ember.tune.search.variant_generator import (
    flatten_dict,
    format_path,
    parse_spec,
    unflatten_dict,
)

__all__ = ["OptunaSearch"]


def _import_optuna() -> Any:
    try:
        import optuna
    except ImportError:
        raise ImportError("OptunaSearch needs the optuna package: "
                          'pip install "ember-tune[optuna]" (or pip install optuna).') from None
    return optuna


class OptunaSearch(Searcher):
    """Search with Optuna's samplers (TPESampler(seed=seed) unless `sampler` is given).

    `space` may be a dict of Tune domains or Optuna distributions, or a define-by-run
    function `space(trial) -> dict | None` (the returned dict holds constants); when it is
    None the Tuner's param_space is converted. points_to_evaluate are run first; with
    evaluated_rewards they are instead recorded as already-finished trials.
    """

    def __init__(self, space: dict | Callable | None = None, metric: str | None = None,
                 mode: str | None = None, points_to_evaluate: Sequence[dict] | None = None,
                 sampler: Any = None, seed: int | None = None,
                 evaluated_rewards: Sequence[float] | None = None) -> None:
        optuna = _import_optuna()
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        if isinstance(metric, list | tuple) or isinstance(mode, list | tuple):
            raise ValueError("Multi-objective OptunaSearch (a list of metrics) is not "
                             "supported yet: pass a single metric and mode.")
        super().__init__(metric=metric, mode=mode)
        self._space: Any = None
        if callable(space):
            self._space = space
        elif space:
            self._space = self._convert(space)
        self._points = [flatten_dict(p) for p in points_to_evaluate or []]
        self._rewards = list(evaluated_rewards) if evaluated_rewards is not None else None
        if self._rewards is not None and len(self._rewards) != len(self._points):
            raise ValueError("evaluated_rewards must have one reward per point in "
                             "points_to_evaluate.")
        self._sampler = sampler if sampler is not None else \
            optuna.samplers.TPESampler(seed=seed)
        self._study: Any = None
        self._ot_trials: dict[str, Any] = {}
        if self._space is not None and self._metric and self._mode:
            self._setup_study()

    def set_search_properties(self, metric: str | None, mode: str | None, config: dict,
                              **spec: Any) -> bool:
        _, domains, _ = parse_spec(config)
        has_domains = any(not isinstance(d, Function) for _, d in domains)
        if self._space is not None and has_domains:
            raise ValueError("You passed a `space` to OptunaSearch and also search-space "
                             "domains in the Tuner's param_space: define the space in one "
                             "place only.")
        super().set_search_properties(metric, mode, config, **spec)
        if self._metric is None or self._mode is None:
            raise ValueError("OptunaSearch needs a metric and a mode: pass them to "
                             "OptunaSearch(metric=..., mode=...) or to TuneConfig.")
        if self._space is None:
            self._space = self._convert(config)
        if self._study is None:
            self._setup_study()
        return True

    def _convert(self, space: dict) -> dict[str, Any]:
        optuna = _import_optuna()
        dists = optuna.distributions
        out: dict[str, Any] = {}
        grids, domains, _ = parse_spec(space)
        if grids:
            raise ValueError("Grid search parameters cannot be converted to an Optuna "
                             "search space: use tune.choice instead.")
        for path, domain in domains:
            out[format_path(path)] = _to_distribution(dists, domain, format_path(path))
        for key, value in flatten_dict(space).items():
            if isinstance(value, dists.BaseDistribution):
                out[key] = value
        return out

    def _setup_study(self) -> None:
        optuna = _import_optuna()
        direction = "minimize" if self._mode == "min" else "maximize"
        self._study = optuna.create_study(sampler=self._sampler, direction=direction)
        if self._rewards is not None:
            if callable(self._space):
                raise ValueError("evaluated_rewards cannot be used with a define-by-run space.")
            for point, reward in zip(self._points, self._rewards, strict=True):
                dist = {k: self._space[k] for k in point if k in self._space}
                self._study.add_trial(optuna.trial.create_trial(
                    params={k: point[k] for k in dist}, distributions=dist, value=reward))
        else:
            for point in self._points:
                self._study.enqueue_trial(point)

    def suggest(self, trial_id: str) -> dict | str | None:
        if self._study is None:
            raise RuntimeError("OptunaSearch has no search space yet: pass `space` or use it "
                               "through a Tuner with a param_space.")
        if callable(self._space):
            ot_trial = self._study.ask()
            constants = self._space(ot_trial) or {}
            params = {**ot_trial.params, **flatten_dict(constants)}
        else:
            ot_trial = self._study.ask(fixed_distributions=self._space)
            params = dict(ot_trial.params)
        self._ot_trials[trial_id] = ot_trial
        return unflatten_dict(params)

    def on_trial_result(self, trial_id: str, result: dict) -> None:
        ot_trial = self._ot_trials.get(trial_id)
        value = result.get(self._metric) if self._metric else None
        if ot_trial is None or not isinstance(value, int | float):
            return
        step = int(result.get("training_iteration", 0))
        try:
            ot_trial.report(float(value), step)
        except Exception:  # noqa: BLE001 - reporting is advisory (e.g. duplicate step)
            pass

    def on_trial_complete(self, trial_id: str, result: dict | None = None,
                          error: bool = False) -> None:
        optuna = _import_optuna()
        ot_trial = self._ot_trials.pop(trial_id, None)
        if ot_trial is None:
            return
        value = (result or {}).get(self._metric) if self._metric else None
        if error or not isinstance(value, int | float) or math.isnan(value):
            self._study.tell(ot_trial, state=optuna.trial.TrialState.FAIL)
        else:
            self._study.tell(ot_trial, float(value))

    def add_evaluated_point(self, parameters: dict, value: float, error: bool = False,
                            pruned: bool = False, intermediate_values: list | None = None
                            ) -> None:
        optuna = _import_optuna()
        if self._study is None or callable(self._space):
            raise RuntimeError("add_evaluated_point needs a dict search space set up first.")
        params = flatten_dict(parameters)
        dist = {k: self._space[k] for k in params if k in self._space}
        state = optuna.trial.TrialState.COMPLETE
        if error:
            state = optuna.trial.TrialState.FAIL
        elif pruned:
            state = optuna.trial.TrialState.PRUNED
        inter = dict(enumerate(intermediate_values)) if intermediate_values else None
        self._study.add_trial(optuna.trial.create_trial(
            params={k: params[k] for k in dist}, distributions=dist,
            value=value if state == optuna.trial.TrialState.COMPLETE else None,
            state=state, intermediate_values=inter))


def _to_distribution(dists: Any, domain: Domain, name: str) -> Any:
    sampler = domain.get_sampler()
    q = None
    if isinstance(sampler, _Quantized):
        q, sampler = sampler.q, sampler.inner
    if isinstance(sampler, _Normal):
        raise ValueError(f"Optuna cannot sample {name!r} from a normal distribution "
                         "(tune.randn): use uniform or loguniform bounds instead.")
    log = isinstance(sampler, _LogUniform)
    if isinstance(domain, Float):
        return dists.FloatDistribution(domain.lower, domain.upper, log=log,
                                       step=None if log else q)
    if isinstance(domain, Integer):
        if q is not None and not log:
            return dists.IntDistribution(domain.lower, domain.upper, step=int(q))
        return dists.IntDistribution(domain.lower, domain.upper - 1, log=log)
    if isinstance(domain, Categorical):
        return dists.CategoricalDistribution(domain.categories)
    raise ValueError(f"Optuna cannot convert the search-space entry {name!r} ({domain!r}).")
