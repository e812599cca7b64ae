"""tune.run() and ExperimentAnalysis: Ray Tune's function API, over the Tuner.

`tune.run(trainable, config=..., metric=..., mode=..., num_samples=..., stop=...)` runs
the experiment with a Tuner and returns an ExperimentAnalysis, whose trials a ResultGrid
can be built from (`ResultGrid(analysis)`), as in Ray.
"""

from __future__ import annotations

from typing import Any

from ember.tune.config import RunConfig
from ember.tune.experiment.trial import Trial
from ember.tune.tune_config import TuneConfig

__all__ = ["ExperimentAnalysis", "run"]


class ExperimentAnalysis:
    """The trials of a finished experiment, with its default metric and mode."""

    def __init__(self, trials: list[Trial], experiment_path: str,
                 default_metric: str | None = None, default_mode: str | None = None) -> None:
        self.trials = list(trials)
        self.experiment_path = experiment_path
        self.default_metric = default_metric
        self.default_mode = default_mode

    def _grid(self) -> Any:
        from ember.tune.result_grid import ResultGrid

        return ResultGrid(self)

    def get_best_trial(self, metric: str | None = None, mode: str | None = None,
                       scope: str = "last") -> Trial | None:
        """The best trial by `metric`/`mode` (None if no trial reported the metric)."""
        grid = self._grid()
        try:
            best = grid.get_best_result(metric, mode, scope)
        except RuntimeError:
            return None
        return self.trials[list(grid).index(best)]

    @property
    def best_trial(self) -> Trial | None:
        return self.get_best_trial()

    @property
    def best_config(self) -> dict | None:
        trial = self.best_trial
        return None if trial is None else trial.config

    @property
    def best_result(self) -> dict | None:
        trial = self.best_trial
        return None if trial is None else trial.last_result

    @property
    def results_df(self) -> Any:
        """One row per trial: its last result."""
        return self._grid().get_dataframe()


def run(run_or_experiment: Any, *, config: dict | None = None, metric: str | None = None,
        mode: str | None = None, num_samples: int = 1, stop: Any = None,
        storage_path: str | None = None, name: str | None = None,
        resources_per_trial: Any = None, search_alg: Any = None, scheduler: Any = None,
        callbacks: list | None = None, max_concurrent_trials: int | None = None,
        time_budget_s: float | None = None, verbose: int | None = None,
        **_ignored: Any) -> ExperimentAnalysis:
    """Run an experiment (Ray Tune's `tune.run`) and return its ExperimentAnalysis."""
    from ember.tune.trainable import with_resources
    from ember.tune.tuner import Tuner

    trainable = run_or_experiment
    if resources_per_trial is not None:
        trainable = with_resources(trainable, resources_per_trial)
    tuner = Tuner(trainable, param_space=config or {},
                  tune_config=TuneConfig(metric=metric, mode=mode, num_samples=num_samples,
                                         search_alg=search_alg, scheduler=scheduler,
                                         max_concurrent_trials=max_concurrent_trials,
                                         time_budget_s=time_budget_s),
                  run_config=RunConfig(name=name, storage_path=storage_path, stop=stop,
                                       callbacks=callbacks, verbose=verbose))
    grid = tuner.fit()
    return ExperimentAnalysis(grid._trials, grid.experiment_path, metric, mode)
