"""WandbLoggerCallback: one Weights & Biases run per trial.

Needs `wandb` (pip install wandb); it is imported when the callback is created. Set
WANDB_MODE=offline to log without an account.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from ember.tune.logger.logger import LoggerCallback, is_number
from ember.tune.search.variant_generator import flatten_dict

__all__ = ["WandbLoggerCallback"]

_AUTO_EXCLUDES = ("done", "should_checkpoint", "pid", "hostname", "node_ip", "date",
                  "timestamp", "trial_id", "experiment_tag")


def _import_wandb() -> Any:
    try:
        import wandb
    except ImportError:
        raise ImportError("WandbLoggerCallback needs wandb: pip install wandb") from None
    return wandb


class WandbLoggerCallback(LoggerCallback):
    """Logs each trial's config and numeric results to W&B (project defaults to the
    experiment name; the run is named after the trial, grouped by `group`)."""

    def __init__(self, project: str | None = None, group: str | None = None,
                 api_key_file: str | None = None, api_key: str | None = None,
                 excludes: Sequence[str] | None = None, log_config: bool = False,
                 upload_checkpoints: bool = False, save_checkpoints: bool = False,
                 **kwargs: Any) -> None:
        _import_wandb()
        self.project = project
        self.group = group
        self.api_key_file = api_key_file
        self.api_key = api_key
        self.excludes = set(excludes or ()) | set(_AUTO_EXCLUDES)
        self.log_config = log_config
        self.upload_checkpoints = upload_checkpoints or save_checkpoints
        self.kwargs = kwargs
        self._experiment_name = "ember-tune"
        self._runs: dict[str, Any] = {}

    def setup(self, *args: Any, **info: Any) -> None:
        if self.api_key_file:
            with open(os.path.expanduser(self.api_key_file)) as f:
                os.environ["WANDB_API_KEY"] = f.read().strip()
        elif self.api_key:
            os.environ["WANDB_API_KEY"] = self.api_key
        self._experiment_name = info.get("experiment_name") or self._experiment_name

    def log_trial_start(self, trial: Any) -> None:
        wandb = _import_wandb()
        if trial.trial_id in self._runs:
            return
        self._runs[trial.trial_id] = wandb.init(
            project=self.project or self._experiment_name, group=self.group,
            name=str(trial), id=trial.trial_id, config=trial.config, dir=trial.path,
            resume="allow", reinit="create_new", **self.kwargs)

    def log_trial_result(self, iteration: int, trial: Any, result: dict) -> None:
        run = self._runs.get(trial.trial_id)
        if run is None:
            self.log_trial_start(trial)
            run = self._runs[trial.trial_id]
        flat = flatten_dict({k: v for k, v in result.items()
                             if k not in self.excludes and (k != "config" or self.log_config)})
        run.log({k: v for k, v in flat.items() if is_number(v)},
                step=int(result.get("training_iteration", iteration)))

    def log_trial_end(self, trial: Any, failed: bool = False) -> None:
        run = self._runs.pop(trial.trial_id, None)
        if run is None:
            return
        if self.upload_checkpoints and trial.latest_checkpoint:
            wandb = _import_wandb()
            artifact = wandb.Artifact(f"checkpoint_{trial.trial_id}", type="model")
            artifact.add_dir(trial.latest_checkpoint)
            run.log_artifact(artifact)
        run.finish(exit_code=1 if failed else 0)
