"""ResultGrid: the results of every trial of an experiment, and how to pick the best."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from ember.tune.checkpoint import Checkpoint
from ember.tune.experiment.trial import Trial
from ember.tune.result import Result

__all__ = ["ResultGrid"]

_SCOPES = ("all", "last", "avg", "last-5-avg", "last-10-avg")


class ResultGrid:
    """Indexable, iterable Results (one per trial, in creation order).

    get_best_result() and get_dataframe() default to the Tuner's metric and mode;
    errors lists the exceptions of trials that failed for good.
    """

    def __init__(self, trials: Any = None, experiment_path: str = "",
                 metric: str | None = None, mode: str | None = None, *,
                 experiment_analysis: Any = None) -> None:
        analysis = experiment_analysis
        if analysis is None and hasattr(trials, "trials"):  # ResultGrid(analysis), as Ray
            analysis = trials
        if analysis is not None:
            trials = analysis.trials
            experiment_path = getattr(analysis, "experiment_path", experiment_path)
            metric = metric or getattr(analysis, "default_metric", None)
            mode = mode or getattr(analysis, "default_mode", None)
        self._trials = list(trials or [])
        self._experiment_path = experiment_path
        self._metric = metric
        self._mode = mode
        self._results = [_to_result(t) for t in self._trials]

    @property
    def experiment_path(self) -> str:
        return self._experiment_path

    @property
    def filesystem(self) -> Any:
        return None

    def __len__(self) -> int:
        return len(self._results)

    def __getitem__(self, i: int) -> Result:
        return self._results[i]

    def __iter__(self) -> Iterator[Result]:
        return iter(self._results)

    @property
    def errors(self) -> list[BaseException]:
        """The exceptions of trials that ended in ERROR (with their remote tracebacks)."""
        return [r.error for r in self._results if r.error is not None]

    @property
    def num_errors(self) -> int:
        return sum(t.status == Trial.ERROR for t in self._trials)

    @property
    def num_terminated(self) -> int:
        return sum(t.status == Trial.TERMINATED for t in self._trials)

    def get_best_result(self, metric: str | None = None, mode: str | None = None,
                        scope: str = "last", filter_nan_and_inf: bool = True) -> Result:
        """The Result of the best trial by `metric`/`mode` (defaults: the TuneConfig's).

        scope: "last" compares last values, "avg"/"last-5-avg"/"last-10-avg" averages,
        "all" each trial's best value ever.
        """
        if len(self._results) == 1:
            return self._results[0]  # a single trial is the best one, whatever the metric
        metric = metric or self._metric
        mode = mode or self._mode
        if not metric:
            raise ValueError("No metric is provided. Either pass in a `metric` arg to "
                             "`get_best_result` or specify a metric in the `TuneConfig` of "
                             "your `Tuner`.")
        if not mode:
            raise ValueError("No mode is provided. Either pass in a `mode` arg to "
                             "`get_best_result` or specify a mode in the `TuneConfig` of "
                             "your `Tuner`.")
        if mode not in ("min", "max"):
            raise ValueError(f"`mode` must be 'min' or 'max', got {mode!r}.")
        if scope not in _SCOPES:
            raise ValueError(f"`scope` must be one of {list(_SCOPES)}, got {scope!r}.")
        best, best_value = None, None
        for i, trial in enumerate(self._trials):
            stats = trial.metric_analysis.get(metric)
            if stats is None:
                continue
            key = (mode if scope == "all" else scope)
            value = stats[key]
            if filter_nan_and_inf and not math.isfinite(value):
                continue
            if best is None or (value > best_value if mode == "max" else value < best_value):
                best, best_value = i, value
        if best is None:
            raise RuntimeError(f"No best trial found for the given metric: {metric}. This "
                               "means that no trial has reported this metric, or all values "
                               "reported for this metric are NaN. To not ignore NaN values, "
                               "you can set the `filter_nan_and_inf` arg to False.")
        return self._results[best]

    def get_dataframe(self, filter_metric: str | None = None,
                      filter_mode: str | None = None) -> Any:
        """One row per trial: its last result (or, with filter_metric/filter_mode, its best
        result by that metric), flattened with '/' and including config/... columns."""
        import pandas as pd

        from ember.tune.search.variant_generator import flatten_dict

        if filter_metric and filter_mode not in ("min", "max"):
            raise ValueError("If `filter_metric` is given, `filter_mode` must be 'min' or 'max'.")
        rows = []
        for trial, result in zip(self._trials, self._results, strict=True):
            row = dict(trial.last_result)
            if filter_metric:
                df = result.metrics_dataframe
                if filter_metric in getattr(df, "columns", ()):
                    idx = df[filter_metric].idxmax() if filter_mode == "max" else \
                        df[filter_metric].idxmin()
                    if idx == idx:  # not NaN
                        row = {**df.loc[idx].to_dict(), "config": trial.config}
            row.setdefault("config", trial.config)
            flat = flatten_dict(row)
            flat.setdefault("trial_id", trial.trial_id)
            flat["logdir"] = trial.path
            rows.append(flat)
        return pd.DataFrame(rows)

    def __repr__(self) -> str:
        body = ",\n".join(r._repr(indent=2) for r in self._results)
        return f"ResultGrid<[\n{body}\n]>"


def _to_result(trial: Trial) -> Result:
    best = [(Checkpoint(p), m) for p, m in trial.checkpoints]
    error = trial.error
    if error is None and trial.status == Trial.ERROR:
        from ember.tune.error import TuneError

        error = TuneError(trial.error_msg or "The trial failed.")
    return Result(metrics=dict(trial.last_result) if trial.last_result else {},
                  checkpoint=trial.checkpoint, error=error if trial.status == Trial.ERROR
                  else None, path=trial.path, best_checkpoints=best)
