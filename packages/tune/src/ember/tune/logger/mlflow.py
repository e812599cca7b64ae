"""MLflowLoggerCallback: one MLflow run per trial (params, metrics per step, status).

Needs `mlflow` (pip install mlflow); it is imported when the callback is created.
"""

from __future__ import annotations

import time
from typing import Any

from ember.tune.logger.logger import LoggerCallback, finite, is_number
from ember.tune.search.variant_generator import flatten_dict

__all__ = ["MLflowLoggerCallback"]


def _import_mlflow() -> Any:
    try:
        import mlflow
    except ImportError:
        raise ImportError("MLflowLoggerCallback needs mlflow: pip install mlflow") from None
    return mlflow


class MLflowLoggerCallback(LoggerCallback):
    """Logs each trial to MLflow: config as params, numeric results as metrics.

    experiment_name defaults to the Tune experiment's name; save_artifact=True uploads
    the trial folder (results and checkpoints) when the trial ends.
    """

    def __init__(self, tracking_uri: str | None = None, *, registry_uri: str | None = None,
                 experiment_name: str | None = None, tags: dict[str, Any] | None = None,
                 tracking_token: str | None = None, save_artifact: bool = False,
                 log_params_on_trial_end: bool = False) -> None:
        _import_mlflow()
        self.tracking_uri = tracking_uri
        self.registry_uri = registry_uri
        self.experiment_name = experiment_name
        self.tags = dict(tags or {})
        self.tracking_token = tracking_token
        self.save_artifact = save_artifact
        self.log_params_on_trial_end = log_params_on_trial_end
        self._client: Any = None
        self._experiment_id: str | None = None
        self._runs: dict[str, str] = {}

    def setup(self, *args: Any, **info: Any) -> None:
        import os

        _import_mlflow()
        from mlflow.tracking import MlflowClient

        if self.tracking_token:
            os.environ["MLFLOW_TRACKING_TOKEN"] = self.tracking_token
        self._client = MlflowClient(tracking_uri=self.tracking_uri,
                                    registry_uri=self.registry_uri)
        name = self.experiment_name or info.get("experiment_name") or "ember-tune"
        experiment = self._client.get_experiment_by_name(name)
        self._experiment_id = experiment.experiment_id if experiment is not None else \
            self._client.create_experiment(name)

    def _params(self, trial: Any) -> dict[str, str]:
        return {k: str(v)[:500] for k, v in flatten_dict(trial.config).items()}

    def log_trial_start(self, trial: Any) -> None:
        if self._client is None:
            self.setup()
        if trial.trial_id in self._runs:
            return
        tags = {**{k: str(v) for k, v in self.tags.items()}, "trial_name": str(trial),
                "trial_id": trial.trial_id}
        run = self._client.create_run(self._experiment_id, tags=tags, run_name=str(trial))
        self._runs[trial.trial_id] = run.info.run_id
        if not self.log_params_on_trial_end:
            for key, value in self._params(trial).items():
                self._client.log_param(run.info.run_id, key, value)

    def log_trial_result(self, iteration: int, trial: Any, result: dict) -> None:
        from mlflow.entities import Metric

        run_id = self._runs.get(trial.trial_id)
        if run_id is None:
            self.log_trial_start(trial)
            run_id = self._runs[trial.trial_id]
        step = int(result.get("training_iteration", iteration))
        now = int(time.time() * 1000)
        flat = flatten_dict({k: v for k, v in result.items() if k != "config"})
        metrics = [Metric(k, float(v), now, step) for k, v in flat.items()
                   if is_number(v) and finite(v)]
        if metrics:
            self._client.log_batch(run_id, metrics=metrics)

    def log_trial_end(self, trial: Any, failed: bool = False) -> None:
        run_id = self._runs.pop(trial.trial_id, None)
        if run_id is None:
            return
        if self.log_params_on_trial_end:
            for key, value in self._params(trial).items():
                self._client.log_param(run_id, key, value)
        if self.save_artifact:
            self._client.log_artifacts(run_id, trial.path)
        self._client.set_terminated(run_id, status="FAILED" if failed else "FINISHED")
